"""The one service harness: private services for the tests, `bench/` and the load test.

Every process it starts runs in a process group of its own and is stopped as a group: a
polite signal to the process it started, a wait, then SIGTERM and at last SIGKILL to
whatever is still in the group. A Celery pool child or an embedded beat cannot outlive
its worker that way, nor LocalStack the script that launched it.

A process that calls ``become_subreaper()`` gets back every orphan of what it started
(instead of init), so ``descendants()`` before and after a run shows what the run left.

MariaDB (3306) and Redis (6379) are shared with other people: a run gets its own
database on the shared MariaDB and never stops the server.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
MYSQL_HOST = os.environ.get("TEST_MYSQL_HOST", "127.0.0.1")


# -- small waits ----------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def wait_until(check, timeout: float, message: str, interval: float = 0.3):
    """Poll ``check`` until it returns something truthy, and return that; after ``timeout``
    seconds raise TimeoutError with ``message``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{message} (waited {timeout:.0f} s)")
        time.sleep(interval)


def procfile() -> dict[str, str]:
    """The Procfile's process types and their command lines (comments and blank lines skipped)."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))


# -- process groups ---------------------------------------------------------------------------
def link_in_log(log_path: Path, email: str, path: str, timeout: float = 30) -> str:
    """The last `path` link a web process in development logged for `email` (webapp/mail.py
    writes each email to the log when no SMTP_HOST is set), as a path on the site."""
    pattern = re.compile(rf"to {re.escape(email)}, .*?https?://[^/\s\\]+({re.escape(path)}[A-Za-z0-9_.\-]+)")

    def found():
        matches = pattern.findall(log_path.read_text(errors="replace"))
        return matches[-1] if matches else None
    return wait_until(found, timeout, f"a {path} link for {email} in {log_path}", interval=0.1)


def spawn(args, env: dict, log_path: Path | None = None, cwd: Path = ROOT, **popen) -> subprocess.Popen:
    """Start ``args`` as the leader of a new session (so a new process group), output to ``log_path``.

    ``env`` is the whole environment of the process."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # the child keeps its own copy
    try:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, **popen)
    finally:
        if log_path:
            out.close()
    proc.log_path = log_path
    return proc


def group_members(pgid: int) -> list[psutil.Process]:
    """The live (not zombie) processes of process group ``pgid``."""
    members = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (ProcessLookupError, psutil.Error):
            pass
    return members


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30, grace: float = 10) -> None:
    """Stop ``proc`` and everything in its process group.

    ``sig`` goes to ``proc`` first, as a platform would send it (a Celery worker then stops
    its own pool); after up to ``timeout`` s, SIGTERM goes to whatever is left in the group,
    and after ``grace`` s more, SIGKILL."""
    pgid = proc.pid  # a session leader's group id is its pid
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    if group_members(pgid):
        _signal_group(pgid, signal.SIGTERM)
        if not _group_gone(pgid, grace):
            _signal_group(pgid, signal.SIGKILL)
            _group_gone(pgid, 10)
    proc.wait(10)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc``'s whole group at once, as when a machine vanishes; returns when all are gone."""
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait(10)
    if not _group_gone(proc.pid, 10):
        raise RuntimeError(f"process group {proc.pid} survived SIGKILL")


PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def become_subreaper() -> None:
    """Have orphans of this process's descendants re-parented to it rather than to init (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def descendants() -> list[psutil.Process]:
    """The live (not zombie) processes below this one; with become_subreaper(), orphans included."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
    return found


def left_behind(before: list[psutil.Process]) -> list[psutil.Process]:
    """Descendants now that were not there in ``before`` (a list from descendants())."""
    known = {(p.pid, p.create_time()) for p in before}
    return [p for p in descendants() if (p.pid, p.create_time()) not in known]


def describe(procs: list[psutil.Process]) -> list[str]:
    out = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            out.append(f"{proc.pid} (parent {proc.ppid()}): {' '.join(proc.cmdline())[:200]}")
    return out


# -- databases on the shared MariaDB ---------------------------------------------------------------
def create_database(name: str, host: str = MYSQL_HOST) -> str:
    """An empty utf8mb4 database ``name``; returns its SQLAlchemy URL."""
    import mysql.connector

    conn = mysql.connector.connect(host=host, user="root", password="")
    try:
        conn.cursor().execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        conn.close()
    return f"mysql+mysqlconnector://root:@{host}:3306/{name}?charset=utf8mb4"


def migrate(env: dict) -> None:
    """Build the schema with the Alembic migrations, as the Procfile's release line does."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "webapp:create_app", "db", "upgrade"],
                   check=True, cwd=ROOT, env=env, capture_output=True)


def drop_database(name: str, host: str = MYSQL_HOST) -> None:
    """Drop ``name``, first ending connections that would hold its metadata locks."""
    import mysql.connector

    conn = mysql.connector.connect(host=host, user="root", password="")
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                       (name,))
        for (thread_id,) in cursor.fetchall():
            with contextlib.suppress(mysql.connector.Error):  # it ended by itself meanwhile
                cursor.execute(f"KILL {int(thread_id)}")
        cursor.execute("SET SESSION lock_wait_timeout = 30")
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
    finally:
        conn.close()


# -- Redis of a run's own -----------------------------------------------------------------------------
def redis_args(port: int, folder: Path, password: str | None = None) -> list[str]:
    """A redis-server command line: loopback only, nothing saved to disk."""
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("redis-server is not installed")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(folder)]
    return args + (["--requirepass", password] if password else [])


def redis_url(port: int, password: str | None = None) -> str:
    return f"redis://{f':{password}@' if password else ''}127.0.0.1:{port}/0"


class ThrowawayRedis:
    """A redis-server of a test's own on a fixed free port, which the test may kill and start again."""

    def __init__(self, folder: Path, password: str | None = None):
        self.port, self.folder, self.password = free_port(), Path(folder), password
        self.url = redis_url(self.port, password)
        self.proc = None

    def start(self) -> ThrowawayRedis:
        self.proc = spawn(redis_args(self.port, self.folder, self.password), env=dict(os.environ))
        wait_until(lambda: port_open(self.port), 20, "throwaway redis did not start")
        return self

    def stop(self) -> None:
        """SIGKILL: the queue and everything in it is gone, as after a crash."""
        if self.proc is not None:
            kill_group(self.proc)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- the services of one run -----------------------------------------------------------------------
class Services:
    """Processes started for one run (Redis, LocalStack, gunicorn, workers, beat), stopped in
    reverse order of start, each as a group. Logs go to ``folder/<name>.log``."""

    def __init__(self, folder: Path, env: dict | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, **(env or {})}
        self.procs: list[subprocess.Popen] = []
        self.logs: dict[str, Path] = {}
        self._stops: dict[int, dict] = {}

    def spawn(self, name: str, args, env: dict | None = None, stop_signal: int = signal.SIGTERM,
              timeout: float = 30, grace: float = 10) -> subprocess.Popen:
        log = self.folder / f"{name}.log"
        proc = spawn(args, {**self.env, **(env or {})}, log)
        self.procs.append(proc)
        self.logs[name] = log
        self._stops[proc.pid] = {"sig": stop_signal, "timeout": timeout, "grace": grace}
        return proc

    def redis(self, password: str | None = None, name: str = "redis") -> str:
        """A redis-server of this run's own on a free port; returns its URL."""
        port = free_port()
        proc = self.spawn(name, redis_args(port, self.folder, password), grace=5)
        wait_until(lambda: port_open(port) or proc.poll() is not None, 20, "redis-server did not start")
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited: {self.logs[name].read_text()[-2000:]}")
        return redis_url(port, password)

    def s3(self, port: int | None = None) -> str:
        """LocalStack's S3 on a free port (scripts/s3_server.sh); returns its endpoint URL.

        The script exits once S3 answers and LocalStack stays in the script's group, so
        stopping the group stops LocalStack."""
        port = port or free_port()
        proc = self.spawn("s3", ["bash", str(ROOT / "scripts" / "s3_server.sh"), "start", str(port),
                                 str(self.folder / "s3")], timeout=0, grace=15)
        if proc.wait(180) != 0:
            raise RuntimeError(f"LocalStack did not start: {self.logs['s3'].read_text()[-2000:]}")
        return f"http://127.0.0.1:{port}"

    def gunicorn(self, env: dict | None = None, app: str = "webapp:create_app()", port: int | None = None,
                 name: str | None = None, timeout: float = 90) -> str:
        """gunicorn with the project's gunicorn.conf.py; returns its base URL once /healthz answers."""
        import requests

        port = port or free_port()
        name = name or f"gunicorn-{port}"
        proc = self.spawn(name, [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", app],
                          env={**(env or {}), "PORT": str(port)})
        url = f"http://127.0.0.1:{port}"

        def answers():
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.logs[name].read_text()[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                return requests.get(url + "/healthz", timeout=5).status_code < 500
            return False

        wait_until(answers, timeout, "gunicorn did not answer /healthz", interval=0.2)
        return url

    def worker(self, env: dict, name: str, args=(), concurrency: int = 1, loglevel: str = "INFO",
               log: str = "worker", ready_timeout: float | None = 120) -> subprocess.Popen:
        """`celery worker` on env's CELERY_QUEUE, as the Procfile runs it; waits for " ready." in
        its log unless ``ready_timeout`` is None."""
        proc = self.spawn(log, [sys.executable, "-m", "celery", "-A", "workers.make_celery", "worker",
                                "-Q", env["CELERY_QUEUE"], "-c", str(concurrency), "--prefetch-multiplier", "1",
                                "--loglevel", loglevel, "-n", name, *args], env=env, timeout=40)
        if ready_timeout is not None:
            wait_worker_ready(proc, ready_timeout)
        return proc

    def beat(self, env: dict, name: str = "beat") -> subprocess.Popen:
        """`celery beat` as its own process, as the Procfile's beat line runs it."""
        return self.spawn(name, [sys.executable, "-m", "celery", "-A", "workers.make_celery", "beat",
                                 "--loglevel", "WARNING", "--schedule", str(self.folder / f"{name}-schedule")],
                          env=env)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop_group(proc, **self._stops[proc.pid])
        self.procs.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def wait_worker_ready(proc: subprocess.Popen, timeout: float = 120) -> None:
    """Wait until a Celery worker logs " ready."; if it exits or takes too long, kill its group and raise."""
    def ready():
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{proc.log_path.read_text()[-3000:]}")
        return b" ready." in proc.log_path.read_bytes()

    try:
        wait_until(ready, timeout, "worker not ready")
    except TimeoutError:
        stop_group(proc, signal.SIGKILL, timeout=5)
        raise TimeoutError(f"worker not ready in {timeout:.0f} s:\n{proc.log_path.read_text()[-3000:]}") from None
    except BaseException:
        stop_group(proc, signal.SIGKILL, timeout=5)
        raise
