"""The admin's label mappings: how a spelling in an imported catalogue reads as one of the
marketplace's values (``rings`` -> ``ring``, ``pendientes`` -> ``earrings``).

The one home of the rules: the importer (workers/training/importer.py) reads labels through
:func:`normalise` and :func:`mappings`; `flask catalog map/unmap/mappings` and the admin's
``/admin/labels`` page change them through :func:`set_mapping` and :func:`remove_mapping`,
which check a mapping before saving it and write its audit entry. No TensorFlow here.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from ml.taxonomy import DEFAULT
from webapp import taxonomy
from webapp.audit import current_actor_id
from webapp.extensions import db
from webapp.history_tables import AuditEvent
from webapp.training_tables import LABEL_ATTRIBUTES, LabelMapping, TrainingItem

MAX_VALUE = 40  # the training_items columns' width: a longer label is refused at import


class MappingRefused(ValueError):
    """A mapping that would not do what it says; the message tells the admin why."""


@dataclass
class MappingChange:
    attribute: str
    raw: str
    value: str | None  # None: removed
    old: str | None  # what ``raw`` was read as before
    relabelled: int = 0  # imported photos whose label changed with it


def normalise(raw) -> str | None:
    """Lower-cased, trimmed label (underscores and runs of spaces as one space); '' / None -> None."""
    value = " ".join(("" if raw is None else str(raw)).replace("_", " ").lower().split())
    return value or None


def mappings() -> dict[str, dict[str, str]]:
    """The admin's label mappings: ``{attribute: {raw: value}}``."""
    out: dict[str, dict[str, str]] = {}
    for m in db.session.scalars(select(LabelMapping).order_by(LabelMapping.attribute, LabelMapping.raw)):
        out.setdefault(m.attribute, {})[m.raw] = m.value
    return out


def check_mapping(attribute: str, raw, value) -> tuple[str, str]:
    """``(raw, value)`` normalised as imports read them; :class:`MappingRefused` when the
    mapping could never apply or would leave another mapping pointing at a mapped spelling."""
    if attribute not in LABEL_ATTRIBUTES:
        raise MappingRefused(f"{attribute!r} is not an attribute imports read (one of {', '.join(LABEL_ATTRIBUTES)}).")
    raw_n, value_n = normalise(raw), normalise(value)
    if not raw_n or not value_n:
        raise MappingRefused("Give both the spelling and the value it means.")
    for what, text in (("spelling", raw_n), ("value", value_n)):
        if len(text) > MAX_VALUE:
            raise MappingRefused(f"The {what} is longer than {MAX_VALUE} characters, the longest label imports keep.")
    if raw_n == value_n:
        raise MappingRefused(f"{raw_n!r} would be read as itself; imports already do that.")
    current = mappings().get(attribute, {})
    if value_n in current:
        raise MappingRefused(f"{value_n!r} is itself read as {current[value_n]!r}: map {raw_n!r} to "
                             f"{current[value_n]!r} instead.")
    pointing = sorted(r for r, v in current.items() if v == raw_n)
    if pointing:
        raise MappingRefused(f"{', '.join(map(repr, pointing))} {'is' if len(pointing) == 1 else 'are'} read as "
                             f"{raw_n!r}: remove or change {'that' if len(pointing) == 1 else 'those'} first.")
    return raw_n, value_n


def set_mapping(attribute: str, raw, value) -> MappingChange:
    """Save (or change) a mapping, relabel the imported photos labelled with ``raw``, record
    it in the audit log, commit. Feedback items are left alone: they are rebuilt from the
    listings on every training run."""
    raw_n, value_n = check_mapping(attribute, raw, value)
    row = db.session.scalar(select(LabelMapping).where(LabelMapping.attribute == attribute,
                                                       LabelMapping.raw == raw_n))
    old = row.value if row is not None else None
    if row is None:
        db.session.add(LabelMapping(attribute=attribute, raw=raw_n, value=value_n))
    else:
        row.value = value_n
    column = getattr(TrainingItem, attribute)
    relabelled = db.session.execute(update(TrainingItem).where(column == raw_n, TrainingItem.source != "feedback")
                                    .values({attribute: value_n})).rowcount
    change = MappingChange(attribute, raw_n, value_n, old, relabelled)
    if old != value_n or relabelled:  # saving the same mapping again changes nothing
        _audit("label_mapping.set", change)
    db.session.commit()
    return change


def remove_mapping(attribute: str, raw) -> MappingChange:
    """Forget a mapping (later imports read ``raw`` as themselves again), with its audit entry;
    ``LookupError`` when there is none. Photos already imported keep their label."""
    raw_n = normalise(raw)
    row = db.session.scalar(select(LabelMapping).where(LabelMapping.attribute == attribute,
                                                       LabelMapping.raw == raw_n))
    if row is None:
        raise LookupError(f"No mapping for {attribute} {raw_n or raw!r}.")
    change = MappingChange(attribute, raw_n, None, row.value)
    db.session.delete(row)
    _audit("label_mapping.remove", change)
    db.session.commit()
    return change


def _audit(action: str, change: MappingChange) -> None:
    changes = {f"{change.attribute} {change.raw!r}": [change.old, change.value]}
    if change.relabelled:
        changes["relabelled photos"] = [None, change.relabelled]
    db.session.add(AuditEvent(actor_id=current_actor_id(), action=action, changes=changes))


def knows(tax, attribute: str, value: str) -> bool:
    """Whether ``value`` is one of the marketplace's values (the default's, for an attribute the
    promoted version does not predict)."""
    return tax.knows(attribute, value) if attribute in tax.names else DEFAULT.knows(attribute, value)


def unknown_values() -> dict[str, list[tuple[str, int]]]:
    """Labels of the active imported photos that the promoted taxonomy does not know yet, with
    how many photos carry each, most first: ``{attribute: [(value, photos)]}``. The next
    training adds them, unless a mapping reads them as a known value."""
    tax = taxonomy.current()
    out: dict[str, list[tuple[str, int]]] = {}
    for attribute in LABEL_ATTRIBUTES:
        column = getattr(TrainingItem, attribute)
        rows = db.session.execute(select(column, func.count()).where(TrainingItem.active.is_(True),
                                                                      column.is_not(None))
                                  .group_by(column).order_by(func.count().desc(), column)).all()
        found = [(v, int(n)) for v, n in rows if not knows(tax, attribute, v)]
        if found:
            out[attribute] = found
    return out
