"""Sign-up, sign-in and password forms; passwords are checked for strength (webapp/auth/strength.py)."""
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from webapp.auth.strength import password_problem


class StrongPassword:
    """A validator: long enough and not easy to guess (zxcvbn), with advice when it is not."""

    def __call__(self, form, field):
        email = form.email.data if hasattr(form, "email") else getattr(form, "known_email", "")
        problem = password_problem(field.data or "", *(email or "").split("@"))
        if problem:
            raise ValidationError(problem)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Sign in")


class RegisterForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128), StrongPassword()])
    confirm = PasswordField("Repeat password", validators=[EqualTo("password", "Passwords differ.")])
    submit = SubmitField("Create account")


class ResetRequestForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=255)])
    submit = SubmitField("Send me a link")


class ResendForm(ResetRequestForm):
    submit = SubmitField("Send the link again")


class VerifyForm(FlaskForm):
    """The password chosen at registration, then one button: a mail scanner that opens the link
    verifies nothing, and whoever registered the address after its owner cannot have the owner
    prove the squatter's account."""
    password = PasswordField("The password you chose", validators=[DataRequired(), Length(max=128)])
    submit = SubmitField("Confirm my address and sign in")


class NewPasswordForm(FlaskForm):
    """Setting a password from a reset link; `known_email` feeds the strength check."""
    password = PasswordField("New password", validators=[DataRequired(), Length(max=128), StrongPassword()])
    confirm = PasswordField("Repeat new password", validators=[EqualTo("password", "Passwords differ.")])
    submit = SubmitField("Set password")


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    submit = SubmitField("Change password")
