"""Password hashing that an attacker cannot turn into a slow site or an account oracle.

werkzeug's scrypt (N=32768, r=8) takes about 100 ms of CPU and 32 MiB of memory per hash:
four web threads signing people in at once lifted a web process from 115 to 244 MB, so a
process hashes one password at a time. The sign-in and registration pages wait at most
PASSWORD_HASH_WAIT seconds for that turn and otherwise answer 429 at once, instead of
holding a web thread in a queue (a flood of sign-ins used to take every thread, and the
catalogue waited behind it). An unknown email is checked against a dummy hash, so it
costs the same time as a known one.
"""
import secrets
import threading

from werkzeug.exceptions import TooManyRequests
from werkzeug.security import check_password_hash, generate_password_hash

_TURN = threading.BoundedSemaphore(1)
_dummy: list[str] = []


class HashingBusy(TooManyRequests):
    description = "Many people are signing in right now; please try again in a moment."

    def __init__(self):
        super().__init__(retry_after=2)


def _hashing(work, wait: float | None):
    """Run `work` in this process's hashing turn; give up after `wait` seconds (None: no limit)."""
    if not _TURN.acquire(timeout=wait):
        raise HashingBusy()
    try:
        return work()
    finally:
        _TURN.release()


def hash_password(password: str, wait: float | None = None) -> str:
    return _hashing(lambda: generate_password_hash(password), wait)


def verify_password(password_hash: str | None, password: str, wait: float | None = None) -> bool:
    """True when `password` matches; with no hash (unknown account) a dummy one is checked."""
    if password_hash is None:
        if not _dummy:
            _dummy.append(generate_password_hash(secrets.token_hex(16)))
        _hashing(lambda: check_password_hash(_dummy[0], password), wait)
        return False
    return _hashing(lambda: check_password_hash(password_hash, password), wait)
