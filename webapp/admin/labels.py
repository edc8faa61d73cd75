"""The label mappings page: how the marketplace's spellings read as its values on import, and the
imported labels the taxonomy does not know yet. The same functions as `flask catalog map/unmap`."""
from flask import flash, redirect, render_template, request, url_for

from webapp import taxonomy
from webapp.admin import bp
from webapp.admin.forms import LabelMappingForm, RemoveMappingForm
from webapp.label_mappings import MappingRefused, knows, mappings, remove_mapping, set_mapping, unknown_values
from webapp.training_tables import LABEL_ATTRIBUTES


def render_labels(form, status=200):
    tax = taxonomy.current()
    known = {a: tax.values(a) for a in LABEL_ATTRIBUTES}
    return render_template("admin/labels.html", form=form, remove_form=RemoveMappingForm(formdata=None),
                           mappings=mappings(), unknown=unknown_values(), known=known,
                           attributes=LABEL_ATTRIBUTES), status


@bp.get("/labels")
def labels():
    # A link from the list of unknown values fills the form in (?attribute=&raw=).
    form = LabelMappingForm(formdata=None, attribute=request.args.get("attribute", "category"),
                            raw=request.args.get("raw", ""))
    return render_labels(form)


@bp.post("/labels")
def add_label_mapping():
    form = LabelMappingForm()
    if not form.validate_on_submit():
        return render_labels(form, 400)
    try:
        change = set_mapping(form.attribute.data, form.raw.data, form.value.data)
    except MappingRefused as exc:
        form.raw.errors = [*form.raw.errors, str(exc)]
        return render_labels(form, 400)
    note = f" {change.relabelled} imported photo{'' if change.relabelled == 1 else 's'} relabelled." \
        if change.relabelled else ""
    if not knows(taxonomy.current(), change.attribute, change.value):
        note += f" {change.value!r} is new to the taxonomy: the next training adds it."
    flash(f"Imports now read {change.attribute} {change.raw!r} as {change.value!r}.{note}", "success")
    return redirect(url_for("admin.labels"))


@bp.post("/labels/remove")
def remove_label_mapping():
    form = RemoveMappingForm()
    if not form.validate_on_submit():
        flash("That form had expired; please try again.", "error")
        return redirect(url_for("admin.labels"))
    try:
        change = remove_mapping(form.attribute.data, form.raw.data)
    except LookupError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Imports read {change.attribute} {change.raw!r} as itself again; photos already imported "
              "keep their label.", "success")
    return redirect(url_for("admin.labels"))
