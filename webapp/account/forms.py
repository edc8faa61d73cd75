from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class TokenForm(FlaskForm):
    name = StringField("Token name (what will use it)", validators=[DataRequired(), Length(max=100)])
