"""ml.taxonomy: values, JSON round trip, and the consistency rules checked over every pair."""
import itertools

import numpy as np
import pytest

from ml.taxonomy import DEFAULT, Taxonomy


def test_default_is_the_contract_and_round_trips_through_json():
    for value in ("watch", "anklet", "cufflinks", "charm"):
        assert value in DEFAULT.values("category")
    for value in ("sterling silver", "gold vermeil", "gold plated", "stainless steel", "titanium", "brass", "copper"):
        assert value in DEFAULT.values("metal")
    for value in ("opal", "garnet", "topaz", "onyx", "moonstone", "crystal"):
        assert value in DEFAULT.values("gemstone")
    assert DEFAULT.names == ("category", "type", "metal", "gemstone", "colour", "finish", "stone_count", "style")
    for values in DEFAULT.attributes.values():
        assert len(set(values)) == len(values)
    again = Taxonomy.from_json(DEFAULT.dumps())
    assert again == DEFAULT
    for attr, values in DEFAULT.attributes.items():
        assert [again.index_of(attr, v) for v in values] == list(range(len(values)))
    with pytest.raises(KeyError):
        DEFAULT.index_of("metal", "unobtainium")


def test_extending_keeps_ids_and_gives_a_new_category_a_type():
    tax = DEFAULT.extended({"category": ["tiara"], "metal": ["palladium"]})
    assert tax.values("category")[:len(DEFAULT.values("category"))] == DEFAULT.values("category")
    assert tax.values("category")[-1] == "tiara" and tax.values("metal")[-1] == "palladium"
    assert tax.types["tiara"] == ("other",)
    assert tax.compatible("metal", "palladium", "colour", "silver-tone")  # no tone known: no rule
    assert Taxonomy.from_json(tax.to_json()) == tax


def test_a_catalogues_new_types_become_valid_for_their_category_and_known_pairs_keep_their_rules():
    from ml.train_catalog import catalogue_taxonomy

    labels = [{"category": "bracelet", "type": "tennis"}, {"category": "ring", "type": "hoop"},
              {"category": "tiara", "type": "crown"}, {"category": "tiara", "type": None}]
    tax = catalogue_taxonomy(DEFAULT, labels)
    assert tax.values("type")[:len(DEFAULT.values("type"))] == DEFAULT.values("type")  # ids kept
    assert tax.compatible("category", "bracelet", "type", "tennis")
    assert not tax.compatible("category", "ring", "type", "tennis")
    assert not tax.compatible("category", "ring", "type", "hoop")  # both known: the default rule stands
    assert tax.types["tiara"] == ("other", "crown")
    assert catalogue_taxonomy(tax, []).types == tax.types  # a version's types carry to the next


def _expected(a, v, b, w):
    """The rules written out plainly, to check :meth:`Taxonomy.compatible` against."""
    pair = {a: v, b: w}
    if {a, b} == {"category", "type"}:
        return pair["type"] in DEFAULT.types[pair["category"]]
    if {a, b} == {"metal", "colour"}:
        tones = {"gold-tone", "silver-tone", "rose-tone", "copper-tone"}
        return pair["colour"] not in tones or DEFAULT.tones[pair["metal"]] == pair["colour"]
    if {a, b} == {"gemstone", "stone_count"}:
        return (pair["gemstone"] == "none") == (pair["stone_count"] == "none")
    return True


def test_every_pair_of_values_follows_the_rules_both_ways():
    names = DEFAULT.names
    checked = 0
    for a, b in itertools.combinations(names, 2):
        for v in DEFAULT.values(a):
            for w in DEFAULT.values(b):
                want = _expected(a, v, b, w)
                assert DEFAULT.compatible(a, v, b, w) == want, (a, v, b, w)
                assert DEFAULT.compatible(b, w, a, v) == want, (b, w, a, v)
                checked += 1
    assert checked == sum(len(DEFAULT.values(a)) * len(DEFAULT.values(b)) for a, b in itertools.combinations(names, 2))
    assert not DEFAULT.compatible("metal", "gold", "colour", "silver-tone")
    assert DEFAULT.compatible("metal", "gold", "colour", "red")  # a stone's colour is no metal tone
    assert not DEFAULT.compatible("category", "ring", "type", "hoop")


def test_excluded_pairs_are_ruled_out():
    tax = Taxonomy(DEFAULT.attributes, DEFAULT.types, DEFAULT.tones, ((("category", "watch"), ("gemstone", "pearl")),),
                   DEFAULT.claim_terms)
    assert not tax.compatible("gemstone", "pearl", "category", "watch")
    assert tax.compatible("gemstone", "pearl", "category", "ring")
    assert Taxonomy.from_json(tax.dumps()) == tax


def _random_scores(rng, tax):
    return {a: dict(zip(tax.values(a), rng.dirichlet(np.ones(len(tax.values(a))) * 0.3), strict=True))
            for a in tax.names}


def test_resolve_never_returns_a_contradiction_and_keeps_a_persons_values():
    rng = np.random.default_rng(0)
    for _ in range(200):
        scores = _random_scores(rng, DEFAULT)
        chosen = DEFAULT.resolve(scores)
        values = {a: v for a, (v, _) in chosen.items()}
        assert DEFAULT.conflicts(values) == []
        for a, (v, p) in chosen.items():
            assert 0 <= p <= scores[a][v] + 1e-9  # never surer than the head was
    scores = {"metal": {"gold": 0.9, "silver": 0.1}, "colour": {"silver-tone": 0.8, "gold-tone": 0.2}}
    assert DEFAULT.subset(["metal", "colour"]).resolve(scores)["colour"][0] == "gold-tone"
    # A person said silver: the colour follows the person, and the metal is not predicted.
    fixed = DEFAULT.subset(["metal", "colour"]).resolve(scores, fixed={"metal": "silver"})
    assert fixed == {"colour": ("silver-tone", pytest.approx(0.8))}


def test_a_category_with_one_type_does_not_win_on_the_type_heads_other():
    # The category head prefers ring; the type head's mass on ring types is split five ways
    # and its "other" (shared by five type-less categories) is larger than any one of them.
    scores = {"category": {"ring": 0.45, "brooch": 0.40, "earrings": 0.15},
              "type": {"other": 0.36, "band": 0.16, "solitaire": 0.16, "signet": 0.16, "cocktail": 0.16}}
    chosen = DEFAULT.subset(["category", "type"]).resolve(scores)
    assert chosen["category"][0] == "ring"  # 0.45 x 0.64 of ring types, against 0.40 x 0.36
    assert chosen["type"][0] in DEFAULT.types["ring"]
    # The single most probable pair would have been (brooch, other): 0.144 against 0.072.
    assert 0.40 * 0.36 > 0.45 * 0.16
    # With the type head sure of "other", the type-less category the category head prefers wins.
    sure = {"category": {"ring": 0.45, "brooch": 0.40, "earrings": 0.15},
            "type": {"other": 0.9, "band": 0.1}}
    assert DEFAULT.subset(["category", "type"]).resolve(sure)["category"][0] == "brooch"


def test_normalise_reads_spellings_plurals_and_a_mapping():
    assert DEFAULT.normalise("category", "Rings") == "ring"
    assert DEFAULT.normalise("category", "wristwatch") == "watch"
    assert DEFAULT.normalise("category", "pendientes") is None
    assert DEFAULT.normalise("category", "pendientes", {"pendientes": "earrings"}) == "earrings"
    assert DEFAULT.normalise("metal", "Sterling_Silver") == "sterling silver"
    assert DEFAULT.normalise("metal", "") is None


def test_photos_of_one_product_combine_into_one_judgement():
    from ml.combine import combine

    probs = {"category": np.array([[0.6, 0.4], [0.7, 0.3], [0.1, 0.9]])}
    combined = combine(probs)["category"]
    assert combined.shape == (1, 2) and abs(combined.sum() - 1) < 1e-9
    geo = np.exp(np.log(probs["category"]).mean(0))
    np.testing.assert_allclose(combined[0], geo / geo.sum())
    one = combine({"category": probs["category"][:1]})["category"][0]
    np.testing.assert_allclose(one, probs["category"][0])  # one photo: its own numbers
    agree = combine({"category": np.array([[0.8, 0.2], [0.8, 0.2]])})["category"][0]
    np.testing.assert_allclose(agree, [0.8, 0.2])  # two alike photos are not twice as sure
