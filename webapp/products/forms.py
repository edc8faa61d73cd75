"""Forms on the artisan's product page; Flask-WTF adds and checks the CSRF token."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ml.vocab import LENGTHS, TONES
from webapp import taxonomy
from webapp.listings.seller_facts import FIELDS, LABELS


class ActionForm(FlaskForm):
    """A button that changes state (submit, retry): only the CSRF token."""


class ListingForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    # A text area, so a dozen tags are all visible at once instead of scrolling in one line.
    tags = TextAreaField("Tags (separated by commas)", validators=[Optional(), Length(max=1000)])


# The seller's facts: free text here, checked in one place (webapp/listings/seller_facts.py).
for _name in FIELDS:
    _box = TextAreaField if _name in ("care", "story") else StringField
    setattr(ListingForm, f"fact_{_name}", _box(LABELS[_name], validators=[Optional(), Length(max=600)]))

# One select and one "I checked this" box per attribute the models predict.
for _name, _values in taxonomy.current().attributes.items():
    setattr(ListingForm, f"attr_{_name}", SelectField(
        _name.capitalize(), choices=[("", "—")] + [(v, v) for v in _values],
        validators=[Optional()]))
    setattr(ListingForm, f"confirm_{_name}", BooleanField(f"{_name.capitalize()} is right"))


class RegenerateForm(FlaskForm):
    tone = SelectField("Tone", choices=[(t, t.capitalize()) for t in TONES])
    length = SelectField("Length", choices=[(n, n.capitalize()) for n in LENGTHS])
    # "replace" checkboxes are listed from the product's edited fields and read with getlist.


class RatingForm(FlaskForm):
    useful = RadioField("Was the generated text useful?", choices=[("yes", "Useful"), ("no", "Not useful")],
                        validators=[DataRequired(message="Pick useful or not useful.")])
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=1000)])


def _fact_selects(form_class, prefix: str, empty: str):
    """One optional select per attribute, named prefix + attribute."""
    for name, values in taxonomy.current().attributes.items():
        setattr(form_class, f"{prefix}{name}", SelectField(
            name.capitalize(), choices=[("", empty)] + [(v, v) for v in values], validators=[Optional()]))
    return form_class


class KnownFactsForm(FlaskForm):
    """What the artisan already knows about the pieces they are about to upload (facts)."""


class BulkEditForm(FlaskForm):
    """Values to set on every selected listing."""


_fact_selects(KnownFactsForm, "known_", "Let the model tell")
_fact_selects(BulkEditForm, "set_", "Leave as it is")


# A price for every selected listing (webapp/listings/seller_facts.py checks it, as on the product page).
BulkEditForm.set_price = StringField("Price", validators=[Optional(), Length(max=20)])
BulkEditForm.set_currency = StringField("Currency (e.g. EUR)", validators=[Optional(), Length(max=3)])
