"""The rendered starter's heads: crops around the piece, and flags calibrated on a kind of scene
the head never saw (harder, so more cautious, than a random held-out share)."""
from types import SimpleNamespace

import numpy as np
from PIL import Image

from ml.features import EXTRAS, head_input
from ml.heads import predict
from ml.render.dataset import CROP_SCALES, piece_crops, to_taxonomy
from ml.starter_heads import LISTING_SHARES, train_starter_heads
from ml.taxonomy import DEFAULT, Taxonomy


def test_piece_crops_centre_on_the_mask_at_each_scale():
    image = Image.new("RGB", (160, 160), "white")
    mask = Image.new("L", (160, 160), 0)
    mask.paste(255, (100, 20, 120, 40))  # a 20 px piece, up and to the right
    crops = piece_crops(image, mask)
    assert len(crops) == len(CROP_SCALES)
    for crop, scale in zip(crops, CROP_SCALES, strict=True):
        assert abs(crop.size[0] - 19 * scale) <= 2 and crop.size == (crop.size[0], crop.size[0])
    assert [c.size for c in piece_crops(image, Image.new("L", (160, 160), 0))] == [(160, 160)] * len(CROP_SCALES)


def test_render_labels_fold_into_a_narrower_taxonomy():
    narrow = Taxonomy({"category": ("ring", "earrings"), "metal": ("gold", "silver")})
    assert to_taxonomy({"category": "ring", "metal": "gold vermeil"}, narrow) == {"category": "ring", "metal": "gold"}
    assert to_taxonomy({"category": "ring", "metal": "copper"}, narrow) is None
    copper = {"category": "ring", "metal": "copper"}
    assert to_taxonomy(copper, narrow, partial=True) == {"category": "ring", "metal": None}
    assert to_taxonomy({"category": "watch", "metal": "gold"}, narrow, partial=True) is None
    wide = DEFAULT.subset(("category", "metal"))
    vermeil = {"category": "ring", "metal": "gold vermeil"}
    assert to_taxonomy(vermeil, wide) == vermeil  # the default taxonomy names it...
    assert to_taxonomy(vermeil, wide, lookalikes=True) == {"category": "ring", "metal": "gold"}  # ...a photo does not


def _scenes(seed=0, per_kind=60):
    """Three kinds of scene; in kinds a and b a ring/earrings signal sits in dimension 0, in
    kind c it sits in dimension 1, so a head that never saw c cannot read c."""
    rng = np.random.default_rng(seed)
    x, labels, kinds = [], [], []
    for kind, dim in (("a", 0), ("b", 0), ("c", 1)):
        for _ in range(per_kind):
            k = int(rng.integers(2))
            v = rng.normal(0, 0.3, 1280)
            v[dim] += 3.0 if k else -3.0
            v[2] += 4.0  # keeps every embedding away from the origin
            x.append(v)
            labels.append({"category": ("ring", "earrings")[k]})
            kinds.append(kind)
    x = np.asarray(x, np.float32)
    return x[:, None, :], x, labels, kinds


def test_leave_one_kind_out_is_more_cautious_than_a_random_split():
    views, test_emb, labels, kinds = _scenes()
    tax = DEFAULT.subset(("category",))
    out = {}
    for how in ("kinds", "random"):
        model = SimpleNamespace(taxonomy=tax)
        report = train_starter_heads(model, views, test_emb, labels, kinds, calibrate=how, log=lambda m: None)
        out[how] = (report["category"], model.calibration["category"])
        assert model.heads.get_layer("category").get_weights()[0].shape == (1280, len(tax.values("category")))
    kinds_report, kinds_cal = out["kinds"]
    random_report, random_cal = out["random"]
    assert set(kinds_report["held_out_accuracy_by_kind"]) == {"a", "b", "c"}
    assert kinds_report["held_out_accuracy_by_kind"]["c"] < 0.75 < kinds_report["held_out_accuracy_by_kind"]["a"]
    assert kinds_report["held_out_accuracy"] < random_report["held_out_accuracy"]
    assert kinds_cal["threshold"] >= random_cal["threshold"] and kinds_cal["cal_coverage"] <= random_cal["cal_coverage"]
    assert kinds_cal["calibrated_on"] == "leave-one-kind-out renders"


def test_catalogue_prior_predicts_at_the_catalogues_frequencies_where_the_picture_cannot_tell():
    """A picture that hardly tells rings from earrings, in a catalogue of 80 % rings: the balanced head
    answers earrings as often as it can, the catalogue prior mostly rings, and is right more often."""
    rng = np.random.default_rng(0)
    n = 600
    y = (np.arange(n) % 5 == 0).astype(int)  # 1: earrings, one in five
    x = np.zeros((n, 1280), np.float32)
    x[:, 0] = rng.normal(0, 1, n) + 0.4 * y  # a weak sign of earrings
    x[:, 2] = 4.0
    labels = [{"category": ("ring", "earrings")[k]} for k in y]
    kinds = ["a", "b", "c"] * (n // 3)
    tax = DEFAULT.subset(("category",))
    out = {}
    for prior in ("balanced", "catalogue"):
        model = SimpleNamespace(taxonomy=tax)
        report = train_starter_heads(model, x[:, None, :], x, labels, kinds, calibrate="random", prior=prior,
                                     log=lambda m: None)
        assert report["category"]["prior"] == prior
        out[prior] = report["category"]["held_out_accuracy"]
    assert out["balanced"] < 0.7 < 0.75 < out["catalogue"]


def test_market_prior_leaves_category_balanced_and_shifts_metal():
    """``market``: only the attributes the renderer draws from a market prior get the catalogue's shares."""
    rng = np.random.default_rng(1)
    n = 300
    x = np.zeros((n, 1280), np.float32)
    x[:, 0] = rng.normal(0, 1, n)
    x[:, 2] = 4.0
    labels = [{"category": ("ring", "earrings")[i % 5 == 0], "metal": ("gold", "rose gold")[i % 5 == 0]}
              for i in range(n)]
    model = SimpleNamespace(taxonomy=DEFAULT.subset(("category", "metal")))
    report = train_starter_heads(model, x[:, None, :], x, labels, ["a", "b", "c"] * (n // 3), calibrate="random",
                                 prior="market", log=lambda m: None)
    assert (report["category"]["prior"], report["metal"]["prior"]) == ("balanced", "catalogue")
    assert report["metal"]["held_out_accuracy"] > report["category"]["held_out_accuracy"] + 0.1


def test_heads_read_the_extra_feature_parts_as_the_serving_heads_do():
    """With a colour part beside the embedding, each part is scaled to unit length and the heads are that wide."""
    views, test_emb, labels, kinds = _scenes()
    colour = np.random.default_rng(2).random((len(labels), EXTRAS["colour"])).astype(np.float32)
    test_emb = np.concatenate([test_emb, colour], 1)
    model = SimpleNamespace(taxonomy=DEFAULT.subset(("category",)), extras=("colour",))
    train_starter_heads(model, test_emb[:, None, :], test_emb, labels, kinds, log=lambda m: None)
    w, b = model.heads.get_layer("category").get_weights()
    assert w.shape == (1280 + EXTRAS["colour"], len(DEFAULT.values("category")))
    x = head_input(test_emb, ("colour",))
    assert np.allclose(np.linalg.norm(x[:, :1280], axis=1), 1, atol=1e-4)
    assert np.allclose(np.linalg.norm(x[:, 1280:], axis=1), 1, atol=1e-4)


def test_listings_prior_enters_whole_after_the_temperature():
    """The temperature scales what the picture says; the listing shares enter at full strength
    after it, so against the balanced head the odds move by exactly the shares' ratio."""
    views, test_emb, labels, kinds = _scenes(per_kind=90)
    labels = [{"category": ("ring", "brooch")[lab["category"] == "earrings"]} for lab in labels]
    values, shares = DEFAULT.values("category"), LISTING_SHARES["category"]
    blank = np.zeros((1, 1280), np.float32)
    blank[0, 2] = 4.0  # no sign of either piece
    odds, temperature = {}, {}
    for prior in ("balanced", "listings"):
        model = SimpleNamespace(taxonomy=DEFAULT.subset(("category",)))
        report = train_starter_heads(model, views, test_emb, labels, kinds, prior=prior, log=lambda m: None)
        assert report["category"]["prior"] == prior
        p = predict(*model.heads.get_layer("category").get_weights(), blank)[0]
        odds[prior] = np.log(p[values.index("ring")] / p[values.index("brooch")])
        temperature[prior] = report["category"]["temperature"]
    assert temperature["balanced"] == temperature["listings"] and abs(temperature["listings"] - 1) > 0.1
    # Before the temperature the shares would have moved the odds by log(13.5) / T instead.
    assert abs(odds["listings"] - odds["balanced"] - np.log(shares["ring"] / shares["brooch"])) < 0.01
