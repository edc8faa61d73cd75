"""Jewellery AI web app: the factory that assembles it from small steps.

The app's modules are imported inside the steps, not at the top: every `import webapp.x`
runs this file first, and `webapp.metrics_dir` and `webapp.settings` must stay importable
before prometheus_client's multi-process folder is chosen (gunicorn.conf.py,
workers/make_celery.py) and without loading the whole web app.
"""
from flask import Flask, render_template, request

from webapp.bounds import init_bounds
from webapp.extensions import csrf, db, login_manager, migrate
from webapp.settings import ROOT, load_settings


def create_app(config=None, env=None):
    """Build the app from ``env`` (default: os.environ); ``config`` overrides the settings read from it.

    Tests pass their own ``env`` dict rather than changing the process's environment."""
    settings = load_settings(env)
    settings.update(config or {})
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(settings)
    # Direct uploads never pass through here, except to the local store: bound it.
    app.config.setdefault("MAX_CONTENT_LENGTH", app.config["UPLOAD_MAX_BYTES"] + 64 * 1024)
    configure_logging(app)
    configure_proxy(app)
    init_bounds(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security(app)
    register_commands(app)
    return app


def register_security(app):
    """Security headers and CSP, rate limits on sign-in/registration/uploads, 503 pages for outages."""
    from webapp.limits import init_limits
    from webapp.outages import init_outage_pages
    from webapp.security import init_security_headers

    init_security_headers(app)
    init_limits(app)
    init_outage_pages(app)


def configure_logging(app):
    """JSON lines on stdout with request/user/job ids, request metrics, and Sentry when configured."""
    from webapp.error_reporting import init_sentry
    from webapp.logging_setup import init_request_ids, setup_logging
    from webapp.metrics import init_request_metrics

    setup_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    init_request_ids(app)
    init_request_metrics(app)
    init_sentry(app)


def configure_proxy(app):
    """Trust the router's X-Forwarded-* headers; redirect to HTTPS in production."""
    from webapp.https import init_https

    init_https(app)


def register_extensions(app):
    from webapp.mail import warn_without_mail
    from webapp.poll_cache import init_poll_cache
    from webapp.pool_ping import ping_idle_connections
    from webapp.storage import init_store
    from workers.celery_app import celery_init_app

    db.init_app(app)
    with app.app_context():
        ping_idle_connections(db.engine)  # instead of pool_pre_ping (webapp/pool_ping.py)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    warn_without_mail(app)
    login_manager.init_app(app)
    init_store(app)
    init_poll_cache(app)
    celery_init_app(app)
    import webapp.audit  # noqa: F401  (its session hooks write the audit log)


def register_blueprints(app):
    """Each blueprint is defined in its package; importing its view modules adds their routes."""
    import webapp.account.routes
    import webapp.admin.audit_log
    import webapp.admin.dashboard
    import webapp.admin.exports
    import webapp.admin.labels
    import webapp.admin.routes
    import webapp.api.listing_actions
    import webapp.api.routes
    import webapp.auth.routes
    import webapp.auth.signup
    import webapp.catalog.routes
    import webapp.landing.routes
    import webapp.ops.routes
    import webapp.products.listing_actions
    import webapp.products.managing
    import webapp.products.routes
    import webapp.storage.routes  # noqa: F401
    from webapp import account, admin, api, auth, catalog, landing, ops, products, storage

    for package in (landing, auth, products, storage, account, admin, api, catalog, ops):
        app.register_blueprint(package.bp)


def register_errorhandlers(app):
    def render_error(error):
        code = getattr(error, "code", 500)
        if request.path.startswith("/api/"):
            from webapp.api.errors import from_exception

            return from_exception(error)  # the API always answers in JSON
        return render_template("error.html", code=code, error=error), code

    for code in (400, 403, 404, 405, 413, 429, 500, 503):
        app.errorhandler(code)(render_error)


def register_commands(app):
    from webapp.admin_commands import create_admin
    from webapp.exports.commands import export_cli
    from webapp.training_commands import catalog_cli, ml_cli

    app.cli.add_command(create_admin)
    app.cli.add_command(catalog_cli)
    app.cli.add_command(ml_cli)
    app.cli.add_command(export_cli)
