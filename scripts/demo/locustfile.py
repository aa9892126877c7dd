"""locustfile.py -- the AFIRGen load mix: 60% reads, 30% validation, 10%
processing (the suite's Locust plan: 15 users, spawn rate 5).

Request names are the route templates of routes.txt, so Locust's own counts
can be compared with perftap's per-route counts.  Reads favour a hot set of
FIRs, as real traffic does, so the cache has something to hit.  Each request
body carries a canary token that must never reach a dump.
"""

import functools
import json
import os
import random
import time
import uuid

from locust import HttpUser, between, task

with open(os.environ["DEMO_SEED_JSON"]) as f:
    SEED = json.load(f)
HOT = SEED["firs"][:60]

# Users send nothing after the load window, and Locust's run time is longer
# than the window by more than the slowest request, so no request is in
# flight when Locust stops: every request the backend served is one Locust
# counted (a request cut off at the stop would be served, yet not counted).
DEADLINE = time.monotonic() + float(os.environ.get("DEMO_LOAD_SECONDS", "60"))


def during_load(fn):
    @functools.wraps(fn)
    def run(self):
        if time.monotonic() < DEADLINE:
            fn(self)
    return run


def canary():
    return "cnrybody%012x" % random.getrandbits(48)


def pick_fir():
    return random.choice(HOT) if random.random() < 0.9 else random.choice(SEED["firs"])


class Officer(HttpUser):
    wait_time = between(0.05, 0.25)

    # 60% reads, split over the read endpoints.
    @task(18)
    @during_load
    def get_fir(self):
        self.client.get("/fir/" + pick_fir(), name="/fir/{fir_number}")

    @task(12)
    @during_load
    def get_fir_content(self):
        self.client.get("/fir/%s/content" % pick_fir(), name="/fir/{fir_number}/content")

    @task(12)
    @during_load
    def session_status(self):
        self.client.get("/session/%s/status" % random.choice(SEED["sessions"]),
                        name="/session/{session_id}/status")

    @task(8)
    @during_load
    def list_firs(self):
        user = random.choice(SEED["users"]) if random.random() < 0.5 else ""
        page = self.client.get("/list_firs?limit=20&user_id=" + user, name="/list_firs")
        # Follow the keyset cursor to the next page now and then.
        nxt = page.json().get("next") if page.ok else None
        if nxt and random.random() < 0.5:
            self.client.get("/list_firs", name="/list_firs",
                            params={"limit": 20, "cursor": nxt, "user_id": user})

    @task(4)
    @during_load
    def metrics(self):
        self.client.get("/metrics", name="/metrics")

    @task(4)
    @during_load
    def search(self):
        self.client.get("/search?q=" + random.choice(["theft", "fraud", "vehicle", "burglary"]),
                        name="/search")

    @task(2)
    @during_load
    def health(self):
        self.client.get("/health", name="/health")

    # 30% validation (and the occasional finalisation).
    @task(27)
    @during_load
    def validate(self):
        self.client.post("/validate", name="/validate",
                         json={"session_id": random.choice(SEED["sessions"]),
                               "complaint_text": "complaint " + canary()})

    @task(3)
    @during_load
    def authenticate(self):
        self.client.post("/authenticate", name="/authenticate",
                         json={"fir_number": pick_fir()})

    # 10% processing: half of them repeat a prompt, so the model cache hits.
    @task(10)
    @during_load
    def process(self):
        text = "stolen bicycle near the market" if random.random() < 0.5 else \
            "complaint %s %s" % (uuid.uuid4().hex, canary())
        kind = random.choice(["text", "text", "audio", "image"])
        self.client.post("/process", name="/process",
                         json={"user_id": random.choice(SEED["users"]),
                               "complaint_text": text, "kind": kind})
