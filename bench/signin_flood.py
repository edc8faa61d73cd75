"""Part: other pages' latency while sign-in is flooded (docs/reliability.md, "Under attack").

The project's gunicorn (gunicorn.conf.py) serves the public catalogue page to 4 keep-alive
clients, first alone (the baseline), then while 16 attacker threads send wrong-password
sign-ins back to back. The attack is the hard case: behind one trusted router
(PROXY_FIX_HOPS=1) with a new client address and a new email on every attempt, so no
per-address or per-account limit stops it and only the bounded password hashing stands
between the flood and the other pages. Baseline and flood run in the same process, rounds
interleaved.

    python -m bench.signin_flood [--quick] [--json]
"""
from __future__ import annotations

import argparse
import itertools
import re
import threading
import time
from collections import Counter

import requests

from bench.stack import Stack
from bench.stats import emit, summary
from bench.web import hammer

ATTACKERS = 16
READERS = 4


def flood(web: str, stop: threading.Event, answers: Counter, latencies: list, lock: threading.Lock) -> None:
    counter = itertools.count()
    http = requests.Session()
    token = re.search(r'name="csrf-token" content="([^"]+)"', http.get(f"{web}/login", timeout=30).text).group(1)
    while not stop.is_set():
        n = next(counter)
        claimed = f"198.{n % 250}.{(n // 250) % 250}.{threading.get_ident() % 250}"
        t0 = time.perf_counter()
        try:
            status = http.post(f"{web}/login", headers={"X-Forwarded-For": claimed},
                               data={"email": f"guess{n}-{threading.get_ident()}@example.com",
                                     "password": "wrong guess", "csrf_token": token},
                               timeout=30, allow_redirects=False).status_code
        except requests.RequestException:
            status = "error"
        with lock:
            answers[status] += 1
            latencies.append((time.perf_counter() - t0) * 1000)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    seconds, rounds = (5.0, 2) if args.quick else (10.0, 3)
    started = time.perf_counter()
    with Stack(web_env={"RATELIMIT_ENABLED": "1", "PROXY_FIX_HOPS": "1"}) as stack:
        stack.start_storage_and_db()
        web = stack.start_gunicorn()
        quiet, flooded, answers, login_ms, lock = [], [], Counter(), [], threading.Lock()
        for _ in range(rounds):
            quiet.extend(hammer(f"{web}/catalogue/", seconds, requests.Session, READERS)["latencies_ms"])
            stop = threading.Event()
            attackers = [threading.Thread(target=flood, args=(web, stop, answers, login_ms, lock))
                         for _ in range(ATTACKERS)]
            for thread in attackers:
                thread.start()
            time.sleep(1.0)  # the flood is under way before the readers start
            flooded.extend(hammer(f"{web}/catalogue/", seconds, requests.Session, READERS)["latencies_ms"])
            stop.set()
            for thread in attackers:
                thread.join()
    what = f"{READERS} keep-alive readers, {rounds} rounds of {seconds:.0f} s"
    figures = {
        "flood: catalogue latency, no flood (baseline), ms": summary(quiet, "ms", what),
        "flood: catalogue latency during the sign-in flood, ms": summary(
            flooded, "ms", f"{what}, {ATTACKERS} attackers, new address and email each attempt"),
        "flood: sign-in answers during the flood": {
            "value": ", ".join(f"{k}: {v}" for k, v in sorted(answers.items(), key=str)), "unit": "",
            "what": "429: no turn to hash within PASSWORD_HASH_WAIT; 200: checked, wrong"},
        "flood: sign-in latency during the flood, ms": summary(login_ms, "ms", "per attempt"),
    }
    emit("signin_flood", {"figures": figures, "wall_s": round(time.perf_counter() - started, 1)}, args.json)


if __name__ == "__main__":
    main()
