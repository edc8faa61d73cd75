"""gunicorn settings for the web dyno; every value can be overridden from the environment."""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", 2))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))  # Heroku's router gives up at 30 s
graceful_timeout = 25
keepalive = 5
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = "*"
