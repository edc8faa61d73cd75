"""ml.describe_report: the figures, the frame masking and the baseline, on the tiny bundle."""
import csv

import numpy as np

from ml import describe_report
from ml.describe_report import frame, held_out, max_frame_share, reference_scores
from ml.starter_catalog import generate_catalog


def test_frames_mask_values_adjectives_and_numbers():
    assert frame("A refined classic silver ring, 18 mm wide.") == frame("A timeless vintage gold earrings, 4 mm wide.")
    share, top = max_frame_share(["A silver ring. Made to last.", "A gold ring. Easy to wear.", "Pure fun!"])
    assert share == 2 / 3 and top == "a _ _."


def test_reference_scores_rank_the_right_text_first():
    refs = ["a classic gold ring set with a ruby", "silver hoop earrings with a hammered finish"]
    right = reference_scores(refs, refs)
    wrong = reference_scores(list(reversed(refs)), refs)
    assert right["cider"] > wrong["cider"] and right["bleu4"] > wrong["bleu4"] and right["rouge_l"] > wrong["rouge_l"]


def test_report_on_a_folder_with_descriptions_has_the_describer_and_the_baseline(tmp_path, capsys, tiny_bundle):
    out, _ = tiny_bundle
    rows = []
    for i, it in enumerate(generate_catalog(30, seed=5, image_size=64)):
        (tmp_path / "p").mkdir(exist_ok=True)
        it.image.save(tmp_path / f"p/{i}.jpg")
        rows.append({"path": f"p/{i}.jpg", **it.labels, "description": it.description, "tone": it.tone})
    with open(tmp_path / "labels.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert 0 < sum(held_out(r["path"]) for r in rows) < len(rows)
    describe_report.main(["--bundle", str(out), "--data", str(tmp_path), "--json"])
    import json

    result = json.loads(capsys.readouterr().out)
    for name in ("describer", "retrieval_baseline"):
        figures = result[name]
        assert set(figures) >= {"n", "distinct_2", "max_frame_share", "broken_fills", "contradictions", "bleu4",
                                "rouge_l", "cider"}
        assert figures["n"] == result["held_out"] and np.isfinite(figures["cider"])
    assert result["describer"]["broken_fills"] == 0 and result["describer"]["contradictions"] == 0
