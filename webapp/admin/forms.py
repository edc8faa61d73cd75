"""Forms a reviewer uses."""
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length


class RejectForm(FlaskForm):
    reason = TextAreaField("Reason the artisan will see", validators=[DataRequired(), Length(max=500)])
