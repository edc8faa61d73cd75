"""Fault injection for the reliability tests: a TCP proxy that can refuse, stall or cut
connections, a throwaway Redis, apps and workers wired through them, and the check
that every accepted upload finished exactly once.

Shared services (MariaDB on 3306, Redis on 6379) are never stopped: the tests put a
proxy in front of them, or start their own server on a free port.
"""
import contextlib
import socket
import struct
import threading
import time
from pathlib import Path

import psutil
from sqlalchemy import func, select

from tests.harness import kill_group, stop_group


class FaultProxy:
    """Forwards 127.0.0.1:<port> to a target; `refuse()`, `stall()`, `restore()` change how.

    forward: bytes pass both ways. refuse: open connections are reset and new ones are
    accepted and reset at once (the server "went away"). stall: open connections stop
    passing bytes and new ones are accepted but never answered (a timeout). `slow(rate)`:
    bytes trickle at `rate` bytes a second, never slow enough for a read timeout.
    """

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.mode = "forward"
        self.rate = None
        self._changed = threading.Condition()
        self._pairs: set = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url_host = f"127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        with self._changed:
            self._changed.wait_for(lambda: self.mode != "stall")
            mode = self.mode
        if mode == "refuse" or mode == "closed":
            _reset(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
        except OSError:
            _reset(client)
            return
        pair = (client, upstream)
        self._pairs.add(pair)
        for src, dst in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True).start()

    def _pump(self, src, dst, pair):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self._changed:
                    self._changed.wait_for(lambda: self.mode != "stall")
                if pair not in self._pairs:
                    break
                rate = self.rate  # read once: the test may lift the limit while this chunk is sent
                if rate:
                    for start in range(0, len(data), 1024):
                        dst.sendall(data[start:start + 1024])
                        time.sleep(1024 / rate)
                else:
                    dst.sendall(data)
        except OSError:
            pass
        self._drop(pair)

    def _drop(self, pair):
        if pair in self._pairs:
            self._pairs.discard(pair)
            for sock in pair:
                _reset(sock)

    def _set(self, mode):
        with self._changed:
            self.mode = mode
            self._changed.notify_all()

    def refuse(self):
        self._set("refuse")
        for pair in list(self._pairs):
            self._drop(pair)

    def stall(self):
        self._set("stall")

    def slow(self, rate: int):
        self.rate = rate

    def restore(self):
        self.rate = None
        self._set("forward")

    def close(self):
        self._set("closed")
        self._listener.close()
        for pair in list(self._pairs):
            self._drop(pair)


def _reset(sock):
    """Close with RST, as a crashed server or a firewall would.

    shutdown() first: a plain close() would not wake a thread blocked in recv() on the same
    socket, and the connection would stay open (holding the database's row locks)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def kill_worker_hard(proc):
    """kill -9 the worker and its pool processes (its whole process group), as a dyno that vanished."""
    kill_group(proc)


def pool_children(proc) -> list[int]:
    return [child.pid for child in psutil.Process(proc.pid).children()]


def stop_worker(proc, timeout: float = 40):
    """SIGTERM, as Heroku stops a dyno; after `timeout` s whatever is left of its group is killed."""
    stop_group(proc, timeout=timeout)


def worker_env(service_env: dict, model_dir, queue: str, **overrides) -> dict:
    """Environment for a fault-test worker: its own queue, fast reaper, short limits."""
    env = {**service_env, "MODEL_DIR": str(model_dir), "CELERY_QUEUE": queue,
           "REAPER_INTERVAL": "2", "REAPER_UNSENT_AFTER": "3", "REAPER_QUEUED_AFTER": "20",
           "REAPER_PROCESSING_AFTER": "5", "TASK_SOFT_TIME_LIMIT": "20", "TASK_TIME_LIMIT": "65",
           "LOG_FORMAT": "text", "WORKER_HEARTBEAT_SECONDS": "60"}
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def beat_args(env: dict) -> tuple:
    """Embedded beat (the reaper) with its schedule file in the test's instance folder."""
    return ("-B", "-s", str(Path(env["INSTANCE_PATH"]) / f"beat-{time.time_ns()}"))


def assert_finished_exactly_once(app, job_ids, allowed=("ready",)):
    """Every job ended in an allowed state, with exactly one generated listing per ready job."""
    from webapp.extensions import db
    from webapp.models import GeneratedListing, Job

    with app.app_context():
        db.session.remove()
        for job_id in job_ids:
            job = db.session.get(Job, job_id)
            assert job is not None, f"job {job_id} vanished"
            assert job.state in allowed, (job_id, job.state, job.error)
            listings = db.session.scalar(select(func.count()).select_from(GeneratedListing)
                                         .where(GeneratedListing.job_id == job_id))
            assert listings == (1 if job.state == "ready" else 0), (job_id, listings)
            if job.state == "failed":
                assert job.error, f"job {job_id} failed without a reason"
        db.session.remove()


MEASUREMENTS = Path(__file__).resolve().parent.parent / ".cache" / "reliability-last-run.jsonl"


def record(test: str, **figures) -> None:
    """Keep what a fault test measured (for docs/reliability.md); never asserted on."""
    import json

    MEASUREMENTS.parent.mkdir(exist_ok=True)
    with MEASUREMENTS.open("a") as out:
        out.write(json.dumps({"test": test, "at": time.strftime("%Y-%m-%d %H:%M:%S"), **figures}) + "\n")
