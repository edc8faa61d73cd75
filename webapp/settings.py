"""Every setting the app reads from the environment, in one place.

Nothing here is read at import time: `load_settings()` is called by the app
factory so importing never fails on a missing variable.
"""
import os
from pathlib import Path
from urllib.parse import quote_plus

from webapp.instance_keys import instance_key

ROOT = Path(__file__).resolve().parent.parent

# Heroku's MySQL add-ons publish their URL under their own names.
DATABASE_URL_NAMES = ("DATABASE_URL", "JAWSDB_URL", "JAWSDB_MARIA_URL", "CLEARDB_DATABASE_URL")


def _bool(value, default=False):
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def database_url(env):
    """Pick the database: a platform URL, then DB_* parts, then a local SQLite file."""
    for name in DATABASE_URL_NAMES:
        url = env.get(name)
        if url:
            # SQLAlchemy needs the driver named; platforms hand out bare mysql:// URLs.
            for prefix in ("mysql://", "mariadb://"):
                if url.startswith(prefix):
                    return "mysql+mysqlconnector://" + url[len(prefix):]
            return url
    if env.get("DB_HOST"):
        user = quote_plus(env.get("DB_USER", "root"))
        password = quote_plus(env.get("DB_PASSWORD", ""))
        port = env.get("DB_PORT", "3306")
        return (f"mysql+mysqlconnector://{user}:{password}@{env['DB_HOST']}:{port}/"
                f"{env.get('DB_NAME', 'jewellery')}?charset=utf8mb4")
    instance = Path(env.get("INSTANCE_PATH", ROOT / "instance"))
    return f"sqlite:///{instance / 'jewellery.db'}"


def redis_url(env):
    """REDIS_URL, told not to verify TLS when the platform's Redis uses a self-signed certificate."""
    url = env.get("REDIS_URL", "")
    # Heroku Redis hands out rediss:// URLs whose certificate no CA signed.
    if url.startswith("rediss://") and "ssl_cert_reqs" not in url \
            and not _bool(env.get("REDIS_TLS_VERIFY")):
        url += ("&" if "?" in url else "?") + "ssl_cert_reqs=none"
    return url


MIN_SECRET_BYTES = 32


def secret_key(env, production: bool, instance: Path) -> str:
    """SECRET_KEY from the environment; in production at least 32 bytes, elsewhere a random
    key kept in the instance folder when none is given (never a constant anyone can read)."""
    secret = env.get("SECRET_KEY", "")
    if production:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise RuntimeError(f"SECRET_KEY must be set in production, at least {MIN_SECRET_BYTES} "
                               "bytes (python -c 'import secrets; print(secrets.token_hex(32))')")
        return secret
    return secret or instance_key(instance, "secret_key")


def refuse_unsafe_production(env, redis: str) -> None:
    """Settings a public site must not run without; each missing one stops the start."""
    if not redis and _bool(env.get("RATELIMIT_ENABLED"), default=True):
        raise RuntimeError("REDIS_URL must be set in production: rate limits counted in memory "
                           "are per process, so each web process would allow the full limit")
    if not env.get("METRICS_TOKEN"):
        raise RuntimeError("METRICS_TOKEN must be set in production: /metrics is otherwise public")


def load_settings(env=None):
    """Return the Flask config mapping for this environment."""
    env = os.environ if env is None else env
    production = env.get("APP_ENV", "development") == "production"
    instance = Path(env.get("INSTANCE_PATH", ROOT / "instance"))
    secret = secret_key(env, production, instance)
    redis = redis_url(env)
    if production:
        refuse_unsafe_production(env, redis)
    s3_bucket = env.get("S3_BUCKET_NAME", "")
    hard_limit = int(env.get("TASK_TIME_LIMIT", 120))
    # The task notices its soft limit between steps (workers/tasks.py); one storage call can
    # take 3 tries of 10 s, so the hard limit stays well beyond it.
    soft_limit = max(1, min(int(env.get("TASK_SOFT_TIME_LIMIT", 60)), hard_limit - 45))
    return {
        "APP_ENV": "production" if production else "development",
        "SECRET_KEY": secret,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url(env),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url(env), int(env.get("DB_TIMEOUT", 10))),
        "REDIS_URL": redis,
        # Without Redis, Celery uses kombu's filesystem transport: no server needed.
        "CELERY_BROKER_URL": env.get("CELERY_BROKER_URL") or redis or "filesystem://",
        "CELERY_BROKER_FOLDER": str(instance / "broker"),
        # How often the folder broker looks for new messages (kombu's default is 1 s, which made
        # a 12-photo batch wait up to 17 s behind one task a second; bench/embedded_batch.py).
        "FOLDER_BROKER_POLL_SECONDS": float(env.get("FOLDER_BROKER_POLL_SECONDS", 0.05)),
        "CELERY_QUEUE": env.get("CELERY_QUEUE", "listings"),
        "S3_BUCKET_NAME": s3_bucket,
        "S3_PREFIX": env.get("S3_PREFIX", ""),
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or None,
        "AWS_REGION": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        # Handed to boto3 when set (so an app built from a test's env dict uses that env's keys);
        # unset, boto3 looks where it always does (instance role, ~/.aws).
        "AWS_ACCESS_KEY_ID": env.get("AWS_ACCESS_KEY_ID") or None,
        "AWS_SECRET_ACCESS_KEY": env.get("AWS_SECRET_ACCESS_KEY") or None,
        "AWS_SESSION_TOKEN": env.get("AWS_SESSION_TOKEN") or None,
        "LOCAL_STORAGE_PATH": str(instance / "objects"),
        # The local folder store signs its forms and links with a key of its own (instance
        # folder, made on first use), so a leaked SECRET_KEY does not open the stored photos.
        "LOCAL_STORE_KEY": env.get("LOCAL_STORE_KEY", ""),
        "UPLOAD_MAX_BYTES": int(env.get("UPLOAD_MAX_BYTES", 15 * 1024 * 1024)),
        "UPLOAD_URL_TTL": int(env.get("UPLOAD_URL_TTL", 600)),
        "MODEL_DIR": env.get("MODEL_DIR", str(instance / "models" / "current")),
        # Attributes the model is less sure of than this are marked for the artisan to confirm.
        "LOW_CONFIDENCE_THRESHOLD": float(env.get("LOW_CONFIDENCE_THRESHOLD", 0.6)),
        # --- Training, registry, retraining (workers/training, docs/models.md) ---
        # The marketplace database `flask catalog import-mysql` reads (not the app's own database).
        "CATALOG_DB_HOST": env.get("DB_HOST", ""),
        "CATALOG_DB_PORT": int(env.get("DB_PORT") or 3306),
        "CATALOG_DB_USER": env.get("DB_USER", ""),
        "CATALOG_DB_PASSWORD": env.get("DB_PASSWORD", ""),
        "CATALOG_DB_NAME": env.get("DB_NAME", ""),
        "MODEL_CACHE_DIR": env.get("MODEL_CACHE_DIR", str(instance / "models" / "registry")),
        "FEATURE_CACHE_DIR": env.get("FEATURE_CACHE_DIR", str(instance / "models" / "features")),
        "MODEL_CHECK_SECONDS": float(env.get("MODEL_CHECK_SECONDS", 30)),
        "HOLDOUT_PERCENT": int(env.get("HOLDOUT_PERCENT", 20)),
        "PROMOTION_TOLERANCE": float(env.get("PROMOTION_TOLERANCE", 0.0)),
        "RETRAIN_ENABLED": _bool(env.get("RETRAIN_ENABLED")),
        "RETRAIN_SCHEDULE": env.get("RETRAIN_SCHEDULE", "0 3 * * *"),
        "RETRAIN_MIN_NEW_APPROVED": int(env.get("RETRAIN_MIN_NEW_APPROVED", 25)),
        # A worker started with `-Q <this>` keeps retraining off the listing queue (default: the same queue).
        "RETRAIN_QUEUE": env.get("RETRAIN_QUEUE", ""),
        "RETRAIN_TIME_LIMIT": int(env.get("RETRAIN_TIME_LIMIT", 3 * 3600)),
        # Off by default: on rendered scenes with known piece masks the Grad-CAM map put less of its
        # heat on the piece than a centred blob does (bench/heatmap_quality.py, docs/models.md).
        "HEATMAPS_ENABLED": _bool(env.get("HEATMAPS_ENABLED"), default=False),
        # Heatmaps have a queue of their own, so they never hold up a listing. The worker takes
        # from it only when its listing queue is empty; WORKER_HEATMAPS=0 leaves it to a worker
        # started with `-Q <HEATMAP_QUEUE>` (workers/make_celery.py).
        "HEATMAP_QUEUE": env.get("HEATMAP_QUEUE", ""),  # empty: <CELERY_QUEUE>-heatmaps
        "WORKER_HEATMAPS": _bool(env.get("WORKER_HEATMAPS"), default=True),
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        # --- Email (webapp/mail.py): address verification and password resets ---
        "SMTP_HOST": env.get("SMTP_HOST", ""),
        "SMTP_PORT": int(env.get("SMTP_PORT") or 587),
        "SMTP_USER": env.get("SMTP_USER", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(env.get("SMTP_STARTTLS"), default=True),
        "MAIL_FROM": env.get("MAIL_FROM", "Jewellery AI <no-reply@localhost>"),
        "RESET_LINK_TTL": int(env.get("RESET_LINK_TTL", 3600)),
        "VERIFY_LINK_TTL": int(env.get("VERIFY_LINK_TTL", 86400)),
        "RATELIMIT_RESET": env.get("RATELIMIT_RESET", "5 per hour"),
        # An address listed here becomes an admin only once its owner proves it: the link sent
        # at registration (or a password reset link) is followed.
        "ADMIN_EMAILS": [e.strip().lower() for e in env.get("ADMIN_EMAILS", "").split(",") if e.strip()],
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        # --- Operations (webapp/ops, webapp/metrics.py, webapp/logging_setup.py) ---
        "LOG_FORMAT": env.get("LOG_FORMAT", "json"),
        # Proxies in front that append to X-Forwarded-*: Heroku's router is one. Without a
        # proxy the client writes those headers itself, so none is trusted outside production.
        "PROXY_FIX_HOPS": int(env.get("PROXY_FIX_HOPS") or (1 if production else 0)),
        "FORCE_HTTPS": _bool(env.get("FORCE_HTTPS"), default=production),
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
        "READINESS_TIMEOUT": float(env.get("READINESS_TIMEOUT", 2.0)),
        "WORKER_METRICS_PORT": int(env.get("WORKER_METRICS_PORT") or 0),
        "WORKER_HEARTBEAT_SECONDS": int(env.get("WORKER_HEARTBEAT_SECONDS", 15)),
        "SENTRY_DSN": env.get("SENTRY_DSN", ""),
        "SENTRY_TRACES_SAMPLE_RATE": float(env.get("SENTRY_TRACES_SAMPLE_RATE") or 0.0),
        "SENTRY_RELEASE": env.get("SENTRY_RELEASE") or env.get("HEROKU_SLUG_COMMIT", ""),
        # --- Reliability (workers/celery_app.py, workers/tasks.py, workers/reaper.py) ---
        "TASK_SOFT_TIME_LIMIT": soft_limit,
        "TASK_TIME_LIMIT": hard_limit,
        "TASK_MAX_RETRIES": int(env.get("TASK_MAX_RETRIES", 6)),
        # On SIGTERM (with REMAP_SIGTERM=SIGQUIT) running tasks get this long, then go back to the queue.
        "WORKER_SHUTDOWN_TIMEOUT": float(env.get("WORKER_SHUTDOWN_TIMEOUT", 20)),
        "JOB_MAX_ATTEMPTS": int(env.get("JOB_MAX_ATTEMPTS", 5)),
        # Micro-batching (workers/batch.py): a task takes up to this many queued jobs through the models at once.
        "WORKER_BATCH_MAX": max(1, int(env.get("WORKER_BATCH_MAX", 16))),
        "REAPER_INTERVAL": float(env.get("REAPER_INTERVAL", 60)),
        "REAPER_UNSENT_AFTER": int(env.get("REAPER_UNSENT_AFTER", 60)),
        "REAPER_QUEUED_AFTER": int(env.get("REAPER_QUEUED_AFTER", 900)),
        # Longer than the hard time limit, so a job still running is never handed out twice.
        "REAPER_PROCESSING_AFTER": max(int(env.get("REAPER_PROCESSING_AFTER") or 0), hard_limit + 15),
        "REAPER_UPLOAD_GRACE": int(env.get("REAPER_UPLOAD_GRACE", 300)),
        # --- Security (webapp/security.py, webapp/limits.py) ---
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), default=True),
        "RATELIMIT_STORAGE_URI": redis or "memory://",
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "jai"),
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1} if redis else {},
        "RATELIMIT_SWALLOW_ERRORS": True,  # Redis down: limits fall back to memory, pages still answer
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN", "10 per minute;60 per hour"),
        # Failed sign-ins per account (the email given, known or not): the lockout.
        "RATELIMIT_LOGIN_ACCOUNT": env.get("RATELIMIT_LOGIN_ACCOUNT", "5 per minute;20 per hour"),
        # Sign-ins and registrations for the whole site (each costs a ~100 ms hash): a flood from
        # many addresses is answered 429 before hashing once past it, and the other pages keep their CPU.
        "RATELIMIT_LOGIN_SITE": env.get("RATELIMIT_LOGIN_SITE", "5 per second;120 per minute"),
        # Seconds a sign-in or registration waits for this process's turn to hash; then 429.
        "PASSWORD_HASH_WAIT": float(env.get("PASSWORD_HASH_WAIT", 0.1)),
        "RATELIMIT_REGISTER": env.get("RATELIMIT_REGISTER", "10 per hour"),
        "RATELIMIT_UPLOAD": env.get("RATELIMIT_UPLOAD", "60 per minute;600 per hour"),
        "RATELIMIT_REPORT": env.get("RATELIMIT_REPORT", "5 per hour;20 per day"),
        # Quotas per account across all its credentials (webapp/quotas.py); 0 turns one off.
        "QUOTA_UPLOADS_PER_HOUR": int(env.get("QUOTA_UPLOADS_PER_HOUR", 200)),
        "QUOTA_PRODUCTS": int(env.get("QUOTA_PRODUCTS", 2000)),
        "QUOTA_BYTES": int(env.get("QUOTA_BYTES", 5 * 1024**3)),
        "QUOTA_REGENERATIONS_PER_HOUR": int(env.get("QUOTA_REGENERATIONS_PER_HOUR", 30)),
    }


def engine_options(url: str, timeout: int) -> dict:
    """Pool settings; a network timeout on MySQL so a vanished database fails fast (503), never hangs.

    No ROLLBACK from the pool when a connection comes back (``pool_reset_on_return=None``): the
    session has ended its transaction already (Flask-SQLAlchemy closes it after each request and
    task, and SQLAlchemy rolls back a connection's open transaction when it closes), so the
    pool's own would be a second round trip with nothing to undo. No ping at every checkout
    (``pool_pre_ping``): a connection idle in the pool for a second or more is pinged at checkout
    and replaced if the server or a proxy dropped it (webapp/pool_ping.py); one in constant use
    is not pinged again.
    """
    options = {"pool_pre_ping": False, "pool_recycle": 280, "pool_reset_on_return": None}
    if url.startswith("mysql+mysqlconnector://"):
        options["connect_args"] = {"connection_timeout": timeout}
    return options
