from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional


class TokenForm(FlaskForm):
    name = StringField("Token name (what will use it)", validators=[DataRequired(), Length(max=100)])


class ShopForm(FlaskForm):
    shop_name = StringField("Shop name (customers see it on your listings)",
                            validators=[Optional(), Length(max=80)])
