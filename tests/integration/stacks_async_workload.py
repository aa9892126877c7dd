"""stacks_async_workload.py -- issued under the shim by test_stacks.py: the
asyncio clients.  Each coroutine below awaits its query, command or HTTP
call at a line marked `# site:NAME`, some through the shared coroutine
helpers repo_fetch and cache_fetch.  The replies are read by the event
loop's callback, not by the coroutine, and the tasks run concurrently, so
a call site taken from the completing stack would name the loop, and one
taken from the wrong send would name another task's function.  Usage:
stacks_async_workload.py HTTP_PORT"""

import asyncio
import os
import sys

import aiomysql
import httpx
import redis
import redis.asyncio

ROUNDS = 4
TASKS = 3  # concurrent copies of each coroutine per round
STREAM_CHUNKS = 8


async def repo_fetch(pool, sql, args):
    async with pool.acquire() as conn:
        async with conn.cursor() as cur:
            await cur.execute(sql, args)  # site:repo_fetch
            return await cur.fetchall()


async def cache_fetch(r, key):
    return await r.get(key)  # site:cache_fetch


async def aiomysql_direct(pool):
    async with pool.acquire() as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT %s AS stk_aiomysql_direct", (1,))  # site:aiomysql_direct
            return await cur.fetchall()


async def aiomysql_layered(pool):
    return await repo_fetch(pool, "SELECT %s AS stk_aiomysql_layered", (2,))


async def aredis_direct(r, i):
    await r.set("astk:direct:%d" % i, "v")  # site:aredis_direct


async def aredis_layered(r, i):
    return await cache_fetch(r, "astk:layered:%d" % i)


async def ahttp_direct(client, base):
    return (await client.get(base + "/astk/direct")).status_code  # site:ahttp_direct


async def chunks():
    for i in range(STREAM_CHUNKS):
        yield b"chunk%d" % i


async def ahttp_streamed(client, base):
    # more writes than the shim keeps send stacks for: the operation is
    # counted with no stack (stack_unsent), never given a wrong one
    return (await client.post(base + "/astk/streamed", content=chunks())).status_code


async def blocking_in_coroutine(r):
    # a blocking client inside a coroutine: the reply is read on this
    # stack, while the coroutine is running
    return r.get("astk:blocking:1")  # site:blocking_in_coroutine


async def main():
    port = int(sys.argv[1])
    env = os.environ
    pool = await aiomysql.create_pool(
        user=env["PERFTAP_MYSQL_USER"], password=env["PERFTAP_MYSQL_PASSWORD"],
        db=env["PERFTAP_MYSQL_DB"], host=env["PERFTAP_MYSQL_HOST"],
        port=int(env["PERFTAP_MYSQL_PORT"]), minsize=1, maxsize=2 * TASKS)
    host, rport = env["PERFTAP_REDIS_HOST"], int(env["PERFTAP_REDIS_PORT"])
    ar = redis.asyncio.Redis(host=host, port=rport)
    sr = redis.Redis(host=host, port=rport)
    client = httpx.AsyncClient()
    base = "http://127.0.0.1:%d" % port
    for _ in range(ROUNDS):
        jobs = []
        for i in range(TASKS):
            jobs += [aiomysql_direct(pool), aiomysql_layered(pool),
                     aredis_direct(ar, i), aredis_layered(ar, i),
                     ahttp_direct(client, base)]
        await asyncio.gather(*jobs)
        await blocking_in_coroutine(sr)
        await ahttp_streamed(client, base)
    await client.aclose()
    await ar.close()
    sr.close()
    pool.close()
    await pool.wait_closed()
    print("done")


if __name__ == "__main__":
    asyncio.run(main())
