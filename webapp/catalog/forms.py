"""The customer's "report an inaccuracy" form."""
from flask_wtf import FlaskForm
from wtforms import EmailField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional


class ReportForm(FlaskForm):
    message = TextAreaField("What is not right?", validators=[DataRequired(), Length(min=5, max=2000)])
    email = EmailField("Your email (optional, if you would like a reply)",
                       validators=[Optional(), Email(), Length(max=255)])
