"""The serving path (TFLite backbone, compiled decoding) gives what the plain Keras models give.

No timings here: speed is measured by `make bench` (bench/), never asserted in a test.
"""
import importlib.metadata as md
from pathlib import Path

import numpy as np
import pytest

from ml import vocab
from ml.grounding import MAX_SENTENCES, has_repeated_trigram, split_sentences
from ml.starter_catalog import generate_catalog

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def drawn():
    return generate_catalog(12, seed=3, image_size=96)


@pytest.fixture(scope="module")
def keras_generator(tiny_bundle, weights_cache):
    from ml.listing import ListingGenerator

    return ListingGenerator.load(tiny_bundle[0], cache_dir=weights_cache, serving="keras")


def test_tflite_embeddings_match_the_keras_backbone(generator, drawn):
    images = [item.image for item in drawn]
    fast = generator.image_model
    assert fast.serving == "tflite" and fast._fast is not None
    # 1, 5 and 12 images: single runs and batches split over several interpreter sizes
    for n in (1, 5, 12):
        got = fast.embed(images[:n])
        want = fast.backbone(np.stack([_square(im, fast.image_size) for im in images[:n]]),
                             training=False).numpy()
        assert got.shape == (n, 1280)
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


def _square(image, size):
    from ml.image_model import to_square

    return to_square(image, size)


def test_serving_path_predicts_what_the_keras_model_predicts(generator, keras_generator, drawn):
    images = [item.image for item in drawn]
    fast, plain = generator.image_model.predict(images), keras_generator.image_model.predict(images)
    for f, p in zip(fast, plain, strict=True):
        for attr in generator.taxonomy.names:
            assert f[attr]["value"] == p[attr]["value"]
            assert abs(f[attr]["confidence"] - p[attr]["confidence"]) < 1e-3


def _conditions(n):
    rng = np.random.default_rng(1)
    attrs = [{a: vals[(i * 5 + j) % len(vals)] for j, (a, vals) in enumerate(vocab.DESCRIBER_VALUES.items())}
             for i in range(n)]
    return rng.uniform(0, 2, (n, 1280)).astype(np.float32), attrs


def test_compiled_greedy_decoding_equals_the_step_by_step_keras_hub_decode(generator):
    model = generator.text_model
    emb, attrs = _conditions(6)
    tones, lengths = list(vocab.TONES) * 2, list(vocab.LENGTHS) * 2
    compiled = model.sample(emb, attrs, tones, lengths, sampler="greedy")
    stepwise = model.sample_stepwise(emb, attrs, tones, lengths, sampler="greedy")
    assert compiled == stepwise
    assert any(compiled)


def test_detokenize_matches_the_keras_hub_tokenizer(generator):
    from ml.text_model import _as_str

    model = generator.text_model
    rows = model._encode(["A luminous {metal} ring, its {gem} held securely. Wear it daily!",
                          "Bracelets and earrings, polished."])
    assert model._detokenize(rows) == [_as_str(model.tokenizer.detokenize([r])[0]) for r in rows]


def test_compiled_top_p_is_seeded_and_stops_at_the_sentence_budget(generator):
    model = generator.text_model
    emb, attrs = _conditions(8)
    tones, lengths = ["elegant"] * 8, ["long"] * 8
    first = model.sample(emb, attrs, tones, lengths, seed=7)
    assert first == model.sample(emb, attrs, tones, lengths, seed=7)
    ctx, h0, c0 = model._initial_state(emb, attrs, tones, lengths, compiled=True)
    ids = model.decoder(ctx, h0, c0, seed=7, max_sentences=[1] * 8)
    assert ids.shape == (8, model.max_len - 1)
    ends = {model.vocabulary.index(t) for t in (".", "!", "?") if t in model.vocabulary}
    for row in ids:
        assert sum(int(i) in ends for i in row) <= 1
        after = list(row[list(row).index(0):]) if 0 in row else []
        assert not any(after), "nothing follows the end of a row"


def test_rows_that_lose_their_opening_get_a_new_one_and_stay_grounded(generator):
    """With retries (the default), a row whose opening sentence grounding dropped is given a
    newly decoded opening sentence; every text still names the category, contradicts nothing
    and repeats no 3-gram, within the length's sentence budget."""
    model = generator.text_model
    emb, attrs = _conditions(24)
    for length in ("short", "long"):
        first = model.generate(emb, attrs, tone="elegant", length=length, attempts=1)
        texts = model.generate(emb, attrs, tone="elegant", length=length)
        assert texts == model.generate(emb, attrs, tone="elegant", length=length)  # seeded
        for a, text in zip(attrs, texts, strict=True):
            assert text and vocab.contradictions(text, a) == [] and not has_repeated_trigram(text), text
            assert a["category"] in vocab.find_claims(text)["category"], text
            assert len(split_sentences(text)) <= MAX_SENTENCES[length]
        # the retry touches only rows that needed it: the others keep their first text
        kept = [t for t, f in zip(texts, first, strict=True) if t == f]
        assert kept, "retries changed every row"


def test_batched_generation_with_mixed_options_is_grounded(generator, drawn):
    images = [item.image for item in drawn[:6]]
    tones = ["elegant", "playful", "minimal", "elegant", "playful", "minimal"]
    lengths = ["short", "medium", "long", "long", "short", "medium"]
    listings = generator.generate(images, tone=tones, length=lengths, seed=3)
    assert len(listings) == 6
    for listing, _tone, length in zip(listings, tones, lengths, strict=True):
        values = {a: p["value"] for a, p in listing["attributes"].items()}
        text = listing["description"]
        assert text and vocab.contradictions(text, values) == [] and not has_repeated_trigram(text)
        assert len(split_sentences(text)) <= MAX_SENTENCES[length]
        assert not set(" ".join(listing["tags"]).split()) & set(vocab.TONES) - {values["style"]}  # no tone words
        assert "jewellery" not in listing["tags"] and len(set(listing["tags"])) == len(listing["tags"])
    # a photo alone gets the attributes it got in the batch
    alone = generator.generate(images[:1], tone="elegant", length="short", seed=3)[0]
    for attr, pred in alone["attributes"].items():
        assert pred["value"] == listings[0]["attributes"][attr]["value"]
        assert abs(pred["confidence"] - listings[0]["attributes"][attr]["confidence"]) < 1e-3
    with pytest.raises(ValueError):
        generator.generate(images[:2], tone=["elegant"], length="short")


def test_warm_up_runs_every_compiled_path(generator):
    generator.warm_up()
    assert set(generator.image_model._fast._interpreters) == {1, 4, 8}
    assert generator.text_model._decoder is not None


def test_installed_set_is_tensorflow_cpu_with_keras_nlp_installed_without_deps(generator):
    """keras-nlp/keras-hub/tensorflow-text come from requirements-nodeps.txt on top of tensorflow-cpu."""
    import keras_nlp
    import tensorflow_text  # noqa: F401  (imports against tensorflow-cpu's `tensorflow` module)

    pins = dict(line.split("==") for line in (ROOT / "requirements-nodeps.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    for name, version in pins.items():
        assert md.version(name) == version, name
    assert md.version("tensorflow-cpu")
    with pytest.raises(md.PackageNotFoundError):
        md.version("tensorflow")  # the 572 MB full wheel stays out
    # keras-nlp's own tokenizer and sampler drive a real generation with the trained model
    model = generator.text_model
    tokenizer = keras_nlp.tokenizers.WordPieceTokenizer(vocabulary=model.vocabulary, lowercase=True,
                                                         oov_token="[UNK]")
    assert [int(i) for i in tokenizer(["a gold ring."])[0]] == model._encode(["a gold ring."])[0]
    emb, attrs = _conditions(2)
    texts = model.sample_stepwise(emb, attrs, ["elegant"] * 2, ["short"] * 2, sampler="greedy")
    assert len(texts) == 2 and any(texts)
    assert isinstance(keras_nlp.samplers.GreedySampler(), keras_nlp.samplers.Sampler)
