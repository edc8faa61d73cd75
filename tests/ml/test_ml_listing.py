import itertools
import json

import numpy as np
import pytest

from ml import vocab
from ml.grounding import has_repeated_trigram, split_sentences
from ml.starter_catalog import colour_for, render
from ml.taxonomy import DEFAULT, Taxonomy

V = vocab.DESCRIBER_VALUES  # the drawn starter's and describer's values

RING = {"category": "ring", "metal": "gold", "gemstone": "ruby", "style": "classic", "colour": "red"}


def test_bundle_files_and_meta(tiny_bundle):
    out, meta = tiny_bundle
    for name in ("meta.json", "image/image_heads.weights.h5", "text/text_model.weights.h5", "text/vocab.txt"):
        assert (out / name).exists(), name
    saved = json.loads((out / "meta.json").read_text())
    assert saved["version"] == meta["version"] and saved["created_at"]
    assert set(saved["metrics"]["image_val_accuracy"]) == set(vocab.DESCRIBER_VALUES)
    taxonomy = Taxonomy.from_json((out / "taxonomy.json").read_text())  # the bundle carries its taxonomy
    assert taxonomy == DEFAULT.subset(vocab.DESCRIBER_VALUES)
    assert saved["vocab"]["attributes"]["metal"] == list(DEFAULT.values("metal"))


def test_generate_listing_for_a_drawn_ring(generator):
    img = render(RING, np.random.default_rng(0), 128)
    listings = generator.generate([img, img.rotate(90)], tone="playful", length="long")
    assert len(listings) == 2
    for listing in listings:
        assert set(listing) == {"attributes", "predicted", "title", "description", "tags", "model_version",
                                "embedding"}
        assert listing["predicted"] == list(generator.taxonomy.names)  # nothing given: all predicted
        assert listing["embedding"].shape == (1280,)  # for "more like this" and duplicate photos
        assert set(listing["attributes"]) == set(generator.taxonomy.names)
        values = {}
        for attr, pred in listing["attributes"].items():
            assert pred["value"] in generator.taxonomy.values(attr)
            assert 0.0 <= pred["confidence"] <= 1.0
            assert pred["source"] == "model" and pred["flagged"] is True  # the drawn starter is uncalibrated
            values[attr] = pred["value"]
        assert 0 < len(listing["title"]) <= 80
        assert listing["description"].strip()
        assert vocab.contradictions(listing["description"], values) == []
        assert DEFAULT.conflicts(values) == []  # e.g. no gold with silver-tone
        assert not has_repeated_trigram(listing["description"])
        assert listing["tags"] and all(isinstance(t, str) and t for t in listing["tags"])
        assert listing["model_version"] == generator.meta["version"]
    assert generator.generate([]) == []
    with pytest.raises(ValueError):
        generator.generate([img], tone="grumpy")


def test_generated_text_is_grounded_for_many_attribute_combinations(generator):
    combos = []
    for c, m, g in itertools.product(V["category"], V["metal"], V["gemstone"][:6]):
        style = V["style"][len(combos) % len(V["style"])]
        combos.append({"category": c, "metal": m, "gemstone": g, "style": style,
                       "colour": colour_for(m, g)})
    emb = np.random.default_rng(0).uniform(0, 2, (len(combos), 1280)).astype(np.float32)
    for tone, length in (("elegant", "long"), ("minimal", "short")):
        texts = generator.text_model.generate(emb, combos, tone=tone, length=length, attempts=1)
        for attrs, text in zip(combos, texts, strict=True):
            assert text and vocab.contradictions(text, attrs) == [], (attrs, text)
            assert not has_repeated_trigram(text), text
            assert attrs["category"] in vocab.find_claims(text)["category"], text
            if length == "short":
                assert len(split_sentences(text)) == 1, text


def test_title_is_capped_and_keeps_category():
    from ml.listing import compose_title

    title = compose_title({"category": "earrings", "metal": "white gold " * 12, "gemstone": "diamond",
                           "style": "statement", "colour": "white"})
    assert len(title) <= 80 and title.endswith("Earrings")
    assert compose_title(RING) == "Classic Gold Ruby Ring"
