"""The merge rule on its own: generated text never replaces what a person wrote."""
from types import SimpleNamespace

from webapp.listings.merge import apply_edits, apply_generated, is_low_confidence, parse_tags

FIRST = {"title": "Gold ring", "description": "A gold ring.", "tags": ["ring"],
         "attributes": {"category": {"value": "ring", "confidence": 0.9},
                        "metal": {"value": "gold", "confidence": 0.4}}}
SECOND = {"title": "Playful ring", "description": "A fun ring.", "tags": ["fun"],
          "attributes": {"category": {"value": "ring", "confidence": 0.95},
                         "metal": {"value": "silver", "confidence": 0.5}}}


def product(**extra):
    fields = dict(title=None, description=None, tags=None, attributes=None, edited_fields=None,
                  category=None, metal=None, min_confidence=None, tone="elegant", length="medium")
    fields.update(extra)
    return SimpleNamespace(**fields)


def job(p, kind="upload", replace=None):
    return SimpleNamespace(product=p, kind=kind, replace_fields=replace, tone=None, length=None)


def test_first_generation_fills_everything_and_the_summary_columns():
    p = product()
    apply_generated(job(p), FIRST)
    assert (p.title, p.tags, p.category, p.metal) == ("Gold ring", ["ring"], "ring", "gold")
    assert p.min_confidence == 0.4 and p.edited_fields == []


def test_regeneration_keeps_fields_a_person_edited():
    p = product()
    apply_generated(job(p), FIRST)
    changed = apply_edits(p, "My own title", "A gold ring.", ["ring"], {"metal": "gold"}, {"metal"})
    assert changed == ["title", "attributes.metal"]
    apply_generated(job(p, "regenerate"), SECOND)
    assert p.title == "My own title"            # written by a person: kept
    assert p.description == "A fun ring."        # untouched by a person: regenerated
    # the person's value, without the model's number; regeneration changed no attribute
    assert p.attributes["metal"] == {"value": "gold", "confidence": None, "confirmed": True, "source": "artisan",
                                     "flagged": False}
    assert p.attributes["category"] == {"value": "ring", "confidence": 0.9, "source": "model"}
    assert set(p.edited_fields) == {"title", "attributes.metal"}
    assert p.min_confidence == 0.9                # a confirmed attribute no longer counts as unsure


def test_a_reviewers_value_is_the_reviewers_and_a_new_photo_does_not_override_it():
    p = product()
    apply_generated(job(p), FIRST)
    apply_edits(p, "Gold ring", "A gold ring.", ["ring"], {"category": "pendant"}, set(), source="reviewer")
    assert p.attributes["category"]["source"] == "reviewer" and p.attributes["category"]["confidence"] is None
    assert not is_low_confidence(p.attributes["category"], 0.99)
    apply_generated(job(p, "photo"), SECOND)  # all photos judged again: the metal follows, the category stays
    assert p.attributes["category"]["value"] == "pendant" and p.attributes["metal"]["value"] == "silver"


def test_a_guess_the_persons_value_rules_out_is_emptied_and_flagged():
    p = product()
    apply_generated(job(p), {**FIRST, "attributes": {**FIRST["attributes"],
                                                     "type": {"value": "band", "confidence": 0.7},
                                                     "colour": {"value": "gold-tone", "confidence": 0.6}}})
    apply_edits(p, "Gold ring", "A gold ring.", ["ring"], {"category": "earrings"}, set())
    assert p.attributes["type"] == {"value": "", "confidence": None, "flagged": True, "source": "model"}
    assert is_low_confidence(p.attributes["type"])
    assert p.attributes["colour"]["value"] == "gold-tone"  # gold-tone goes with gold: kept
    apply_edits(p, "Gold ring", "A gold ring.", ["ring"], {"metal": "silver"}, set())
    assert p.attributes["colour"]["value"] == "" and p.attributes["metal"]["source"] == "artisan"


def test_regeneration_replaces_only_the_edited_fields_the_artisan_names():
    p = product()
    apply_generated(job(p), FIRST)
    apply_edits(p, "Mine", "Mine too.", ["ring"], {}, set())
    apply_generated(job(p, "regenerate", replace=["title"]), SECOND)
    assert p.title == "Playful ring" and p.description == "Mine too."
    assert p.edited_fields == ["description"]


def test_a_photo_added_later_does_not_rewrite_existing_text():
    p = product()
    apply_generated(job(p), FIRST)
    assert apply_generated(job(p, "photo"), SECOND) == ["attributes.category", "attributes.metal"]
    assert p.title == "Gold ring" and p.description == "A gold ring."


def test_unchanged_submission_marks_nothing_as_edited():
    p = product()
    apply_generated(job(p), FIRST)
    assert apply_edits(p, "Gold ring", "A gold ring.", ["ring"], {"category": "ring", "metal": "gold"}, set()) == []
    assert p.edited_fields == []


def test_low_confidence_is_under_the_threshold_and_unconfirmed():
    assert is_low_confidence({"value": "gold", "confidence": 0.59}, 0.6)
    assert not is_low_confidence({"value": "gold", "confidence": 0.6}, 0.6)
    assert not is_low_confidence({"value": "gold", "confidence": 0.1, "confirmed": True}, 0.6)
    # a calibrated model's flag decides, whatever the number
    assert is_low_confidence({"value": "gold", "confidence": 0.97, "flagged": True}, 0.6)
    assert not is_low_confidence({"value": "gold", "confidence": 0.3, "flagged": False}, 0.6)


def test_tags_are_trimmed_and_deduplicated():
    assert parse_tags(" ring, Gold ,, gold, ruby ") == ["ring", "Gold", "ruby"]
