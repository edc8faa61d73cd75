"""Running behind Heroku's router: trust its forwarded headers, send plain HTTP to HTTPS.

The router ends TLS and forwards plain HTTP with X-Forwarded-For/-Proto/-Port;
ProxyFix turns those into the request's real scheme and client address, so
url_for(_external=True), secure cookies and rate limits see the truth. The router appends
the address it saw to whatever X-Forwarded-For the client sent, so only the last
PROXY_FIX_HOPS entries are believed (1 in production, 0 elsewhere: with no proxy in
front, every forwarded header is the client's own claim).
"""
from flask import redirect, request
from werkzeug.middleware.proxy_fix import ProxyFix

# Probes and scrapers talk to the dyno directly and may use plain HTTP.
PLAIN_HTTP_ENDPOINTS = {"ops.healthz", "ops.readyz", "ops.metrics"}
HSTS = "max-age=31536000; includeSubDomains"


def init_https(app) -> None:
    hops = app.config["PROXY_FIX_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_port=hops)
    if not app.config["FORCE_HTTPS"]:
        return

    @app.before_request
    def redirect_to_https():
        if request.is_secure or request.endpoint in PLAIN_HTTP_ENDPOINTS:
            return None
        url = request.url.replace("http://", "https://", 1)
        # 308 keeps the method and body of a POST; GETs get the usual permanent redirect.
        return redirect(url, code=301 if request.method in ("GET", "HEAD") else 308)

    @app.after_request
    def strict_transport(response):
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
