"""Optional Sentry reporting for the web and worker processes: on only when SENTRY_DSN is set."""


def init_sentry(app) -> bool:
    """Start Sentry with its Flask and Celery integrations; return whether it was started."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return False
    import sentry_sdk  # noqa: PLC0415  (lazy: about 10 MB a web process, only when SENTRY_DSN is set)
    from sentry_sdk.integrations.celery import CeleryIntegration  # noqa: PLC0415  (lazy: about 10 MB a web process, only when SENTRY_DSN is set)
    from sentry_sdk.integrations.flask import FlaskIntegration  # noqa: PLC0415  (lazy: about 10 MB a web process, only when SENTRY_DSN is set)

    sentry_sdk.init(
        dsn=dsn,
        environment=app.config["APP_ENV"],
        release=app.config.get("SENTRY_RELEASE") or None,
        traces_sample_rate=app.config.get("SENTRY_TRACES_SAMPLE_RATE", 0.0),
        send_default_pii=False,  # no emails, cookies or IP addresses leave the app
        integrations=[FlaskIntegration(), CeleryIntegration()],
    )
    return True
