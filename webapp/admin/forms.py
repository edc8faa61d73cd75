"""Forms a reviewer uses."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from webapp.label_mappings import MAX_VALUE
from webapp.training_tables import LABEL_ATTRIBUTES


class RejectForm(FlaskForm):
    reason = TextAreaField("Reason the artisan will see", validators=[DataRequired(), Length(max=500)])


class LabelMappingForm(FlaskForm):
    """A spelling of an imported label and the value it means; the rules are
    webapp/label_mappings.py :func:`~webapp.label_mappings.check_mapping`'s."""
    attribute = SelectField("Attribute", choices=[(a, a.replace("_", " ")) for a in LABEL_ATTRIBUTES])
    raw = StringField("Spelling in the catalogue", validators=[DataRequired(), Length(max=MAX_VALUE)])
    value = StringField("Read as", validators=[DataRequired(), Length(max=MAX_VALUE)])


class RemoveMappingForm(FlaskForm):
    attribute = HiddenField(validators=[DataRequired()])
    raw = HiddenField(validators=[DataRequired()])
