"""Sign-up and sign-in forms."""
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from webapp.extensions import db
from webapp.models import User


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Sign in")


class RegisterForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField("Repeat password", validators=[EqualTo("password", "Passwords differ.")])
    submit = SubmitField("Create account")

    def validate_email(self, field):
        if db.session.scalar(select(User).where(User.email == field.data.strip().lower())):
            raise ValidationError("An account with this email already exists.")
