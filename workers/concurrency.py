"""Storage round trips on threads, under the task's deadline.

boto3 clients are thread-safe; the database session is not, so it stays on the task's thread.
"""
import functools
import time
from concurrent.futures import ThreadPoolExecutor, wait

from celery.exceptions import SoftTimeLimitExceeded

IO_THREADS = 8  # storage round trips in flight at once (botocore keeps 10 connections a client)


class Deadline:
    """When the task's soft time limit runs out, checked at safe points.

    Celery's own signal can land inside a library that catches broad exceptions (the storage
    client swallows it and retries its read), so the task checks the clock itself too.
    """

    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds

    def check(self) -> None:
        """Raise the soft time limit here if it has passed."""
        if time.monotonic() > self.at:
            raise SoftTimeLimitExceeded()


@functools.cache
def io_pool() -> ThreadPoolExecutor:
    """Made on first use, so in the pool process, after the fork."""
    return ThreadPoolExecutor(IO_THREADS, thread_name_prefix="storage")


def concurrently(fn, items, deadline: Deadline) -> list:
    """``fn(item)`` for every item on the storage threads: each entry is its result or the
    exception it raised. Waits in short steps, so the deadline still ends a stuck batch."""
    futures = [io_pool().submit(fn, item) for item in items]
    pending = set(futures)
    while pending:
        _, pending = wait(pending, timeout=0.25)
        deadline.check()
    return [f.exception() or f.result() for f in futures]
