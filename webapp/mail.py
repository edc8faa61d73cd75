"""Email for address verification and password resets: SMTP when SMTP_HOST is set, else the log.

In development the message (with its link) is written to the log, so a reset works with
no mail server. In production without SMTP the link is not logged (a link in the logs is
a password in the logs); only the fact that no email could be sent. Apps built with
TESTING keep each message in `app.extensions["mail_outbox"]`, as Flask-Mail does.
"""
import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)


def warn_without_mail(app) -> None:
    """Say at start when production can send no email: nobody could finish registering."""
    if app.config["APP_ENV"] == "production" and not app.config["SMTP_HOST"]:
        log.warning("SMTP_HOST is not set: no email is sent, so nobody can finish registering (the link "
                    "emailed at registration) or reset a password; set the SMTP_* settings")


def send_mail(to: str, subject: str, body: str) -> None:
    config = current_app.config
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = config["MAIL_FROM"], to, subject
    message.set_content(body)
    if config.get("TESTING"):
        current_app.extensions.setdefault("mail_outbox", []).append(message)
    if config["SMTP_HOST"]:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            smtp.send_message(message)
    elif config["APP_ENV"] == "production":
        log.error("email %r not sent: SMTP_HOST is not set", subject)
    else:
        log.warning("email not sent (no SMTP_HOST; development): to %s, %r:\n%s", to, subject, body)
