"""The service harness stops what it starts: whole process groups, nothing left behind.

tests/conftest.py makes the test process a child subreaper, so an orphan comes back to it
and shows among its descendants (it would go to init otherwise)."""
import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from bench.stack import Stack
from tests.harness import descendants, describe, kill_group, left_behind, spawn, stop_group, wait_until

# A parent that leaves at once on SIGTERM and a child that ignores it: what `celery worker -B`
# did with its embedded beat when only the worker was terminated.
PARENT_AND_STUBBORN_CHILD = """
import os, signal, sys, time
if os.fork() == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(1)
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def _stubborn_pair(tmp_path):
    before = descendants()
    proc = spawn([sys.executable, "-c", PARENT_AND_STUBBORN_CHILD], env=dict(os.environ),
                 log_path=tmp_path / "pair.log")
    wait_until(lambda: len(left_behind(before)) == 2, 10, "parent and child did not start")
    return proc, before


def test_terminating_only_the_parent_leaves_its_child_running(tmp_path):
    proc, before = _stubborn_pair(tmp_path)
    try:
        proc.terminate()
        proc.wait(10)
        time.sleep(0.5)
        left = left_behind(before)
        assert len(left) == 1 and left[0].ppid() != proc.pid, describe(left)  # an orphan now
    finally:
        stop_group(proc, timeout=1, grace=1)
    assert left_behind(before) == []


def test_stop_group_stops_the_parent_politely_then_kills_what_is_left(tmp_path):
    proc, before = _stubborn_pair(tmp_path)
    started = time.monotonic()
    stop_group(proc, timeout=5, grace=1)
    assert proc.returncode == 0  # the parent left on the polite signal
    assert left_behind(before) == []
    assert time.monotonic() - started < 5  # the child was not waited for longer than the grace


def test_kill_group_kills_every_member_at_once(tmp_path):
    proc, before = _stubborn_pair(tmp_path)
    kill_group(proc)
    assert proc.returncode == -signal.SIGKILL
    assert left_behind(before) == []


def test_wait_until_returns_the_value_or_says_what_it_waited_for():
    assert wait_until(lambda: 42, 1, "never") == 42
    with pytest.raises(TimeoutError, match="the moon"):
        wait_until(lambda: None, 0.3, "the moon", interval=0.1)


def _watch(proc: subprocess.Popen) -> set[str]:
    """Command lines of the processes below ``proc`` seen while it runs."""
    seen = set()
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            for child in parent.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    seen.add(" ".join(child.cmdline()))
        time.sleep(0.5)
    return seen


@pytest.mark.services
def test_a_short_load_test_passes_and_leaves_no_process(model_dir, tmp_path):
    before = descendants()
    out, log = tmp_path / "loadtest.json", tmp_path / "loadtest.log"
    with open(log, "wb") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.loadtest", "--seconds", "3", "--pollers", "4", "--uploaders", "2",
             "--web-workers", "1", "--threads", "2", "--model", str(model_dir), "--out", str(out)],
            stdout=stdout, stderr=subprocess.STDOUT)
    try:
        seen = _watch(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = log.read_text()
    assert proc.returncode == 0, output[-3000:]
    assert out.exists() and "PASSED" in output
    listing = "\n".join(sorted(seen))
    workers = [c for c in seen if "celery" in c and " worker " in c]
    assert workers and not [c for c in workers if " -B" in c], listing
    assert [c for c in seen if "celery" in c and " beat " in c], listing  # beat runs, as a process of its own
    assert [c for c in seen if "redis-server" in c] and [c for c in seen if "localstack" in c], listing
    assert left_behind(before) == [], describe(left_behind(before))


@pytest.mark.services
def test_the_bench_stack_stops_everything_it_started(model_dir):
    import mysql.connector

    before = descendants()
    with Stack(str(model_dir)) as stack:
        stack.start_storage_and_db()
        stack.start_gunicorn()
        stack.start_worker()  # stopped while it may still be loading its models
        running = [" ".join(p.cmdline()) for p in left_behind(before)]
        assert [c for c in running if "gunicorn" in c] and [c for c in running if "localstack" in c], running
        assert [c for c in running if "celery" in c and " worker " in c], running
        db_name = stack.db_name
    assert left_behind(before) == [], describe(left_behind(before))
    conn = mysql.connector.connect(host="127.0.0.1", user="root", password="")
    cursor = conn.cursor()
    cursor.execute("SHOW DATABASES LIKE %s", (db_name,))
    assert cursor.fetchall() == []
    conn.close()
