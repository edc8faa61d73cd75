"""What the status poll reads, kept in Redis, so a poll answers without waiting on the database.

A page polls `GET /jobs/<id>` every second or so while its listing is written. The poll needs
the job's status fields (and its listing once ready), the account that owns the job, and that
the session's version is still the account's (sign-out, "sign out everywhere" and password
changes move it on). Two entries hold that: ``job:<id>`` (owner and status fields) and
``account:<id>`` (the session version), each with a short lifetime as a backstop.

Who writes: the poll fills both entries from its own query on a miss; whoever changes what
they hold forgets them *after* the commit (`forget_after_commit`): the job lifecycle module for
every state change and deletion of a job (webapp/job_lifecycle.py), `User.end_sessions` for the
session version. Forgetting increments a generation kept beside each entry and deletes the
entry; a fill is written only if the generations it read before its query are unchanged (one
Lua script, atomic in Redis). So a poll that read the old row, then lost the race with a
commit, cannot put the old row back:

    poll: read generations ─▶ SELECT (its snapshot) ──────────────────▶ fill: generation moved? drop it
    writer:                      COMMIT ─▶ generation + 1, entry deleted

(the poll's snapshot is taken by its SELECT, after it read the generations: the view fills
only when that SELECT was the first of its transaction). A fill later than ``FILL_WITHIN``
seconds after the read is dropped too, so a generation key's expiry cannot hide a change.

Redis down: a lookup or fill that fails is skipped, and this process leaves Redis alone for
``PAUSE_SECONDS``: the poll answers from SQL as it did without a cache. A forget that fails
is kept and sent again before this process's next lookup or forget, so its own polls never
read what it could not forget; another process may read such an entry until it expires
(``ACCOUNT_SECONDS`` for a session version, ``JOB_SECONDS`` for a job), the bound on that
case. No REDIS_URL (embedded mode): no cache, the poll reads SQL.
"""
import json
import logging
import threading
import time
from dataclasses import dataclass

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import event

from webapp.extensions import db

log = logging.getLogger(__name__)

JOB_SECONDS = 10  # how stale a job's status can be if a forget was lost (Redis unreachable then)
ACCOUNT_SECONDS = 5  # the same for an ended session: every 5 s the poll checks it in SQL again
GENERATION_SECONDS = 60  # far longer than FILL_WITHIN
FILL_WITHIN = 2.0
# An entry a forget missed is gone by then: filled at most FILL_WITHIN after, it lives at most this long.
OWED_SECONDS = max(JOB_SECONDS, ACCOUNT_SECONDS) + FILL_WITHIN
PAUSE_SECONDS = 1.0
TIMEOUT_SECONDS = 0.5
PENDING = "poll_cache_forget"  # Session.info key: what this transaction changed

# KEYS: job entry, its generation, account entry, its generation.
# ARGV: the two generations the poll read ("" for none), the two values, their lifetimes in ms.
FILL_SCRIPT = """
local filled = 0
if (redis.call('GET', KEYS[2]) or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[5]) filled = filled + 1
end
if (redis.call('GET', KEYS[4]) or '') == ARGV[2] then
  redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[6]) filled = filled + 2
end
return filled
"""


@dataclass
class Lookup:
    """A lookup's answer: the cached status fields (None on a miss) and what a fill needs."""
    fields: dict | None
    generations: tuple[str, str]
    at: float


class PollCache:
    def __init__(self, client: redis.Redis, prefix: str):
        self.client, self.prefix = client, prefix
        self._fill = client.register_script(FILL_SCRIPT)
        self._paused_until = 0.0
        self._owed: dict[str, float] = {}  # entries a forget could not reach, and since when
        self._lock = threading.Lock()

    def keys(self, job_id: str, user_id: int) -> list[str]:
        job, account = f"{self.prefix}job:{job_id}", f"{self.prefix}account:{user_id}"
        return [job, job + ":gen", account, account + ":gen"]

    def lookup(self, job_id: str, user_id: int, version: int) -> Lookup | None:
        """One round trip; None when Redis is unreachable (the caller reads SQL and fills nothing)."""
        if time.monotonic() < self._paused_until or (self._owed and not self._forget(set())):
            return None
        try:
            job, job_gen, account, account_gen = self.client.mget(self.keys(job_id, user_id))
        except redis.RedisError as error:
            self._pause("lookup", error)
            return None
        fields = None
        if job is not None and account is not None and int(account) == version:
            entry = json.loads(job)
            if entry["owner"] == user_id:  # another account's job: SQL decides (404)
                fields = entry["fields"]
        return Lookup(fields, (_text(job_gen), _text(account_gen)), time.monotonic())

    def fill(self, looked: Lookup, job_id: str, user_id: int, version: int, fields: dict) -> None:
        """Store what the poll's query confirmed, unless a forget came after the lookup."""
        if time.monotonic() - looked.at > FILL_WITHIN:
            return
        value = json.dumps({"owner": user_id, "fields": fields}, separators=(",", ":"))
        try:
            self._fill(keys=self.keys(job_id, user_id),
                       args=[*looked.generations, value, version, JOB_SECONDS * 1000, ACCOUNT_SECONDS * 1000])
        except redis.RedisError as error:
            self._pause("fill", error)

    def forget(self, jobs=(), accounts=()) -> None:
        """Move the generations on and delete the entries (one round trip); call after the commit."""
        self._forget({f"{self.prefix}job:{j}" for j in jobs} | {f"{self.prefix}account:{a}" for a in accounts})

    def _forget(self, entries: set) -> bool:
        """Forget ``entries`` and any this process could not forget before; False if Redis failed."""
        now = time.monotonic()
        with self._lock:
            owed, self._owed = self._owed, {}
        entries |= {entry for entry, since in owed.items() if now - since < OWED_SECONDS}  # the rest expired
        if not entries:
            return True
        pipe = self.client.pipeline(transaction=True)
        for entry in entries:
            pipe.incr(entry + ":gen")
            pipe.expire(entry + ":gen", GENERATION_SECONDS)
            pipe.delete(entry)
        try:
            pipe.execute()
            return True
        except redis.RedisError as error:
            with self._lock:
                self._owed.update({entry: owed.get(entry, now) for entry in entries})
            self._pause("forget", error)
            return False

    def _pause(self, what: str, error: Exception) -> None:
        self._paused_until = time.monotonic() + PAUSE_SECONDS
        log.warning("poll cache: %s failed (%s: %s); polls read the database for %.0f s, %d entries to forget",
                    what, type(error).__name__, error, PAUSE_SECONDS, len(self._owed))


def _text(value) -> str:
    return "" if value is None else value.decode()


def init_poll_cache(app) -> None:
    """A cache when REDIS_URL is set, keyed by the database it mirrors (apps may share a Redis)."""
    url = app.config.get("REDIS_URL")
    if not url:
        return
    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS,
                                  retry=Retry(NoBackoff(), 0))
    with app.app_context():
        database = db.engine.url
    prefix = f"poll:{database.host}:{database.port}/{database.database}:"
    app.extensions["poll_cache"] = PollCache(client, prefix)


def poll_cache() -> PollCache | None:
    return current_app.extensions.get("poll_cache")


def forget_after_commit(jobs=(), accounts=()) -> None:
    """Forget these jobs' and accounts' entries once the current transaction commits."""
    pending = db.session.info.setdefault(PENDING, (set(), set()))
    pending[0].update(jobs)
    pending[1].update(accounts)


@event.listens_for(db.session, "after_commit")
def _forget_committed(session):
    jobs, accounts = session.info.pop(PENDING, ((), ()))
    cache = poll_cache() if jobs or accounts else None
    if cache is None:
        return
    try:
        cache.forget(jobs, accounts)
    except Exception:  # the commit stands: its caller must not see it as failed
        log.exception("poll cache: forgetting %s jobs and %s accounts failed", len(jobs), len(accounts))


@event.listens_for(db.session, "after_rollback")
def _nothing_committed(session):
    session.info.pop(PENDING, None)
