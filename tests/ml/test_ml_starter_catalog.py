import numpy as np

from ml import vocab
from ml.starter_catalog import generate_catalog


def test_catalogue_is_deterministic_and_labelled_in_vocab():
    a = generate_catalog(14, seed=3, image_size=48)
    b = generate_catalog(14, seed=3, image_size=48)
    c = generate_catalog(14, seed=4, image_size=48)
    assert [x.labels for x in a] == [x.labels for x in b]
    assert all(np.array_equal(np.asarray(x.image), np.asarray(y.image)) for x, y in zip(a, b, strict=True))
    assert [x.description for x in a] != [x.description for x in c]
    for item in a:
        assert item.image.size == (48, 48) and item.image.mode == "RGB"
        assert set(item.labels) == set(vocab.DESCRIBER_VALUES)
        assert all(v in vocab.DESCRIBER_VALUES[a] for a, v in item.labels.items())
        assert item.tone in vocab.TONES and item.length in vocab.LENGTHS


def test_descriptions_are_filled_grounded_and_sized_by_length():
    items = generate_catalog(90, seed=0, image_size=32)
    assert {it.labels["category"] for it in items} == set(vocab.DESCRIBER_VALUES["category"])
    sentences = {n: [] for n in vocab.LENGTHS}
    for it in items:
        assert "{" not in it.description and "x" + "metalx" not in it.description
        assert vocab.contradictions(it.description, it.labels) == [], it.description
        sentences[it.length].append(it.description.count(".") + it.description.count("!"))
    assert max(sentences["short"]) <= 2 < np.mean(sentences["long"])
