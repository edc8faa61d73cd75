"""gunicorn settings for the web dyno; every value can be overridden from the environment."""
import os

from webapp.metrics_dir import prepare_metrics_dir

# Several web processes count requests: prometheus_client must be in multi-process
# mode before the app (and so prometheus_client) is imported in a worker.
prepare_metrics_dir("jai-web-metrics-")

# Loopback unless told otherwise (BIND, or HOST and PORT): a development server is not for the
# network. The Procfile's web line binds 0.0.0.0:$PORT, which Heroku's router needs.
bind = os.environ.get("BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", 2))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))  # Heroku's router gives up at 30 s
graceful_timeout = 25  # Heroku sends SIGKILL 30 s after SIGTERM
keepalive = 5
accesslog = "-"  # stdout, one JSON line per request (webapp.gunicorn_logging)
errorlog = "-"
logger_class = "webapp.gunicorn_logging.JsonGunicornLogger"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# No control socket: several gunicorns on one machine (tests, make run) would share its path.
control_socket_disable = True
# gunicorn trusts X-Forwarded-Proto only from these peers (its default: loopback). The app's
# ProxyFix reads the router's headers, counting PROXY_FIX_HOPS from the right, so a client's
# own X-Forwarded-For is never taken for its address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Heartbeat files in memory, not on a disk that may stall (the usual advice for containers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None


def child_exit(server, worker):
    """A web process is gone: drop its live gauges from the multi-process metrics."""
    from prometheus_client import multiprocess  # noqa: PLC0415  (lazy: after prepare_metrics_dir chose the folder)

    multiprocess.mark_process_dead(worker.pid)
