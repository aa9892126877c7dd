"""stacks_pipeline.py -- deep pipelines under the shim for test_stacks.py:
two functions on one connection each send a pipeline of DEPTH GETs, in
turn, ROUNDS times; every reply comes back in reads that end thousands of
operations at once, and each operation's stack must still be its own
function's.  Prints "done"."""

import os

import redis

DEPTH = 5000
ROUNDS = 2


def pipeline_a(r):
    p = r.pipeline(transaction=False)
    for i in range(DEPTH):
        p.get("stk:deepa:%d" % i)
    return p.execute()  # site:pipeline_a


def pipeline_b(r):
    p = r.pipeline(transaction=False)
    for i in range(DEPTH):
        p.get("stk:deepb:%d" % i)
    return p.execute()  # site:pipeline_b


def main():
    r = redis.Redis(host=os.environ["PERFTAP_REDIS_HOST"],
                    port=int(os.environ["PERFTAP_REDIS_PORT"]))
    for _ in range(ROUNDS):
        assert len(pipeline_a(r)) == DEPTH
        assert len(pipeline_b(r)) == DEPTH
    print("done")


if __name__ == "__main__":
    main()
