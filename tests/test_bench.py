"""The benchmark's own bookkeeping (no timings are asserted anywhere in the suite)."""
from bench.footprint import RENDER_FILES, requirement_names, trimmed
from bench.hello_app import app as hello
from bench.stats import format_row, summary, target


def test_summary_reports_runs_median_and_spread():
    s = summary([3.0, 1.0, 2.0, 10.0], "ms", "four runs")
    assert (s["runs"], s["median"], s["min"], s["max"], s["p95"]) == (4, 2.5, 1.0, 10.0, 10.0)
    assert s["what"] == "four runs" and summary([], "ms", "none")["runs"] == 0
    assert target(0.3, 0.35) == {"limit": 0.35, "met": True}
    assert target(0.4, 0.5, higher_is_better=True)["met"] is False
    assert "✘ (target 0.35)" in format_row("ratio", {**s, "target": target(2.5, 0.35)})


def test_footprint_counts_both_requirement_files_and_trims_only_headers():
    names = requirement_names()
    assert "tensorflow_cpu" in names and "keras-nlp" in names and "tensorflow-text" in names
    assert "pytest" not in names
    assert "mitsuba" not in names and "drjit" not in names  # the renderer never reaches a dyno
    assert "mitsuba" in requirement_names(RENDER_FILES)
    assert trimmed("tensorflow/include/absl/base/config.h")
    assert not trimmed("tensorflow/python/framework/ops.py")


def test_hello_app_is_bare():
    assert hello.test_client().get("/").get_data(as_text=True) == "hello"
