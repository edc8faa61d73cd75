"""Fault injection for the reliability tests: a TCP proxy that can refuse, stall or cut
connections, a throwaway Redis, apps and workers wired through them, and the check
that every accepted upload finished exactly once.

Shared services (MariaDB on 3306, Redis on 6379) are never stopped: the tests put a
proxy in front of them, or start their own server on a free port.
"""
import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from tests.conftest import free_port


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
                if self.rate:
                    for start in range(0, len(data), 1024):
                        dst.sendall(data[start:start + 1024])
                        time.sleep(1024 / self.rate)
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


class ThrowawayRedis:
    """A redis-server of our own on a free port, which the tests may stop and start again."""

    def __init__(self, folder: Path, password: str | None = None):
        self.port = free_port()
        self.folder = folder
        self.password = password
        self.proc = None
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self):
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.folder)]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _port_open(self.port), 20, "throwaway redis did not start")

    def stop(self):
        """SIGKILL: the queue and everything in it is gone, as after a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _port_open(port) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def wait_until(check, timeout: float, message: str, interval: float = 0.3):
    """Poll `check` until it returns something truthy; fail with `message` after `timeout`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{message} (waited {timeout:.0f} s)")


@contextlib.contextmanager
def isolated_app(env: dict, config: dict | None = None):
    """An app built from `env` (plus config overrides) that leaves Celery's default app alone."""
    from celery import _state

    from webapp import create_app

    saved_env, saved_default = dict(os.environ), _state.default_app
    os.environ.update(env)
    try:
        app = create_app({"TESTING": True, "RATELIMIT_ENABLED": False, **(config or {})})
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        _state.default_app = saved_default
    try:
        yield app
    finally:
        from webapp.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def kill_worker_hard(proc):
    """kill -9 the worker and its pool processes, as a dyno that vanished."""
    children = _children(proc.pid)
    for pid in [proc.pid, *children]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(10)
    for pid in children:
        wait_until(lambda pid=pid: not Path(f"/proc/{pid}").exists()
                   or "Z" in _state_of(pid), 10, f"pool process {pid} still alive")


def pool_children(proc) -> list[int]:
    return _children(proc.pid)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _state_of(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0]
    return ""


def stop_worker(proc, timeout: float = 40):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_worker_hard(proc)


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
