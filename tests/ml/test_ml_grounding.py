import itertools

from ml import vocab
from ml.grounding import ground, has_repeated_trigram, is_grounded
from ml.text_checks import split_sentences

V = vocab.DESCRIBER_VALUES  # the drawn starter's and describer's values

WRONG_TEXTS = [
    "A {m2} {c2} set with a {g2}. It is a {m} {c}. It is a {m} {c} with charm.",
    "Lovely {g2} {c2} in {m2}! {m2} {m2} shine.",
    "This {c} is made in {m}. This {c} is made in {m}.",
    "",
]


def _other(values, v):
    return next(x for x in values if x != v and x != "none")


def test_ground_removes_every_contradiction_and_repeat():
    checked = 0
    for c, m, g in itertools.product(V["category"], V["metal"], V["gemstone"]):
        attrs = {"category": c, "metal": m, "gemstone": g, "style": "classic", "colour": "red"}
        fill = dict(c=c, m=m, g=g, c2=_other(V["category"], c), m2=_other(V["metal"], m),
                    g2=_other(V["gemstone"], g))
        for tone in vocab.TONES:
            for raw in WRONG_TEXTS:
                text = ground(raw.format(**fill), attrs, tone)
                assert text
                assert vocab.contradictions(text, attrs) == [], (attrs, raw, text)
                assert not has_repeated_trigram(text), text
                assert c in vocab.find_claims(text)["category"], text
                checked += 1
    assert checked == len(V["category"]) * len(V["metal"]) * len(V["gemstone"]) * 3 * len(WRONG_TEXTS)


def test_ground_keeps_good_sentences():
    attrs = {"category": "ring", "metal": "gold", "gemstone": "ruby", "style": "vintage", "colour": "red"}
    text = "A vintage gold ring set with a ruby. The ruby catches the light."
    long = ground(text, attrs)
    assert long.startswith(text) and len(split_sentences(long)) == 6  # the rest of the budget filled
    assert ground(text, attrs, length="short") == "A vintage gold ring set with a ruby."


def test_repeated_trigram_detection():
    assert has_repeated_trigram("made in gold and made in gold")
    assert not has_repeated_trigram("made in gold and made of silver")
    assert not is_grounded("A gold ring.", {"category": "ring", "metal": "silver", "gemstone": "none"})
