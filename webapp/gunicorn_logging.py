"""gunicorn's own lines (access and errors) in the same JSON shape as the app's.

gunicorn.conf.py names `JsonGunicornLogger` as its logger class. The access line
carries the ids the app stored in the WSGI environ (request, user, product, job).
"""
import os

from gunicorn.glogging import Logger

from webapp.logging_setup import make_formatter


class JsonGunicornLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        formatter = make_formatter(os.environ.get("LOG_FORMAT", "json"))
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        headers = {name.lower(): value for name, value in (resp.headers or [])}
        fields = {
            "event": "access",
            "method": req.method,
            "path": req.path,
            "status": resp.status_code,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote_addr": environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
            or environ.get("REMOTE_ADDR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "request_id": headers.get("x-request-id") or environ.get("HTTP_X_REQUEST_ID"),
            **environ.get("jai.log_ids", {}),
        }
        try:
            self.access_log.info("%s %s %s", req.method, req.path, resp.status_code, extra=fields)
        except Exception:
            self.exception("could not write the access line")
