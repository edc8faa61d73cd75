"""Forms on the artisan's product page; Flask-WTF adds and checks the CSRF token."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ml.vocab import LENGTHS, TONES
from webapp import taxonomy
from webapp.listings.seller_facts import FIELDS, LABELS


class ActionForm(FlaskForm):
    """A button that changes state (submit, retry): only the CSRF token."""


class ListingFields(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    # A text area, so a dozen tags are all visible at once instead of scrolling in one line.
    tags = TextAreaField("Tags (separated by commas)", validators=[Optional(), Length(max=1000)])


# The seller's facts: free text here, checked in one place (webapp/listings/seller_facts.py).
for _name in FIELDS:
    _box = TextAreaField if _name in ("care", "story") else StringField
    setattr(ListingFields, f"fact_{_name}", _box(LABELS[_name], validators=[Optional(), Length(max=600)]))

_FORMS: dict = {}


def _with_selects(base, prefix: str, empty: str, confirm: bool):
    """``base`` with one optional select per attribute of the promoted version's taxonomy (and an
    "I checked this" box each with ``confirm``); one class per taxonomy, made on first use."""
    attrs = taxonomy.current().attributes
    key = (base, prefix, tuple((a, tuple(v)) for a, v in attrs.items()))
    if key not in _FORMS:
        fields = {}
        for name, values in attrs.items():
            fields[f"{prefix}{name}"] = SelectField(name.replace("_", " ").capitalize(),
                                                    choices=[("", empty)] + [(v, v) for v in values],
                                                    validators=[Optional()])
            if confirm:
                fields[f"confirm_{name}"] = BooleanField(f"{name.capitalize()} is right")
        _FORMS[key] = type(base.__name__, (base,), fields)
    return _FORMS[key]


def ListingForm(*args, **kwargs):
    """The listing's form: text fields, and a select and a confirm box per attribute."""
    return _with_selects(ListingFields, "attr_", "—", True)(*args, **kwargs)


class RegenerateForm(FlaskForm):
    tone = SelectField("Tone", choices=[(t, t.capitalize()) for t in TONES])
    length = SelectField("Length", choices=[(n, n.capitalize()) for n in LENGTHS])
    # "replace" checkboxes are listed from the product's edited fields and read with getlist.


class RatingForm(FlaskForm):
    useful = RadioField("Was the generated text useful?", choices=[("yes", "Useful"), ("no", "Not useful")],
                        validators=[DataRequired(message="Pick useful or not useful.")])
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=1000)])


class KnownFactsFields(FlaskForm):
    """What the artisan already knows about the pieces they are about to upload (facts)."""


class BulkEditFields(FlaskForm):
    """Values to set on every selected listing."""
    # A price for every selected listing (webapp/listings/seller_facts.py checks it, as on the product page).
    set_price = StringField("Price", validators=[Optional(), Length(max=20)])
    set_currency = StringField("Currency (e.g. EUR)", validators=[Optional(), Length(max=3)])


def KnownFactsForm(*args, **kwargs):
    return _with_selects(KnownFactsFields, "known_", "Let the model tell", False)(*args, **kwargs)


def BulkEditForm(*args, **kwargs):
    return _with_selects(BulkEditFields, "set_", "Leave as it is", False)(*args, **kwargs)
