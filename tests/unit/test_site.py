"""The site module: the headline include written from summary.json, and the site's structure."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sendlink import config, site
from sendlink.errors import SendlinkError

ROOT = Path(__file__).resolve().parents[2]

#: A summary in the analysis stage's layout, with values chosen so that the
#: rounding and the interval checks can be worked out by hand.
SUMMARY = {
    "version": 1,
    "consent": {
        "households": 3372,
        "parent_answers_granted": 0.614,
        "child_answers_granted": 0.5849,
        "either_granted": 0.7049,
        "both_granted": 0.4951,
    },
    "linkage": {
        "sent": 2384,
        "linked": 2229,
        "match_rate": 0.9349,
        "precision": 0.99561,
        "recall": 0.9712,
        "f1": 0.98326,
    },
    "effects": [
        {
            "outcome": "persistent_absence",
            "exposure": "unmet_need",
            "scale": "log odds ratio",
            "reported_as": "odds ratio",
            "census_value": math.log(1.5),
            "naive": {"estimate": 0.18, "effect": 1.2, "effect_low": 1.0, "effect_high": 1.444},
            "weighted": {
                "estimate": 0.39,
                "effect": 1.476,
                "effect_low": 1.214,
                "effect_high": 1.806,
            },
        },
        {
            "outcome": "attainment8",
            "exposure": "ehc",
            "scale": "difference",
            "reported_as": "difference",
            "census_value": -4.0,
            "naive": {"estimate": -2.004, "ci_low": -3.5, "ci_high": -0.5},
            "weighted": {"effect": -3.2, "effect_low": -3.9, "effect_high": -2.5},
        },
    ],
}


def test_placeholder_without_a_summary():
    assert site.headline_markdown(None) == site.PLACEHOLDER
    assert "make report" in site.PLACEHOLDER


def test_consent_and_linkage_in_words_with_rounded_numbers():
    text = site.headline_markdown(SUMMARY)
    assert (
        "Of about 3,370 households that answered at wave 1, 61% gave permission to link the parent's "
        "answers, 58% gave permission to link the child's answers, 70% gave at least one of the two "
        "and 50% gave both." in text
    )
    # Where the households of chapter 1 that are not counted here went.
    assert "erased, objected to its use or restricted it are not in it" in text
    assert "Of about 2,380 children sent for linkage, 93% were matched to an NPD record." in text
    assert "precision 99.6%, recall 97.1%, F1 98.3%" in text


@pytest.mark.parametrize(
    ("share", "shown"),
    [(0.993, "99.3%"), (0.9996, "99.96%"), (0.99996, "99.996%"), (1.0, "100.0%"), (0.0004, "0.04%"), (0.5, "50.0%")],
)
def test_linkage_quality_never_rounds_to_100_or_0(share, shown):
    text = site.headline_markdown({"linkage": {"match_rate": 0.9, "precision": share}})
    assert f"precision {shown}" in text


def test_effects_table_on_the_reported_scale():
    text = site.headline_markdown(SUMMARY)
    assert "| **Persistent absence, Years 10-11** (odds ratio) |  |  |  |" in text
    # exp(log 1.5) = 1.50 lies above the naive interval and inside the weighted one.
    assert (
        "| unmet need (parent, wave 1) | 1.50 | 1.20 (1.00 to 1.44) *(misses)* | 1.48 (1.21 to 1.81) |"
        in text
    )
    assert "| **Attainment 8** (difference) |  |  |  |" in text
    # Without effect_* fields the estimate and its interval are used; -4.0 lies outside both.
    assert (
        "| EHC plan (vs SEN support) | \u22124.00 | \u22122.00 (\u22123.50 to \u22120.50) *(misses)* "
        "| \u22123.20 (\u22123.90 to \u22122.50) *(misses)* |"
        in text
    )
    assert (
        "The naive interval contains it for 0 of the 2 effects, the weighted interval for 1."
        in text
    )
    assert "99% interval" in text  # the sentence that ties the count to chapter 6's check


def test_effects_table_columns_are_sized_not_equal():
    """Pandoc sizes a wide table's columns by the dashes of its separator line; equal
    dashes gave the PDF summary equal columns that hyphenated words."""
    text = site.headline_markdown(SUMMARY)
    rule = next(line for line in text.splitlines() if line.startswith("|:-") or line.startswith("|-"))
    widths = [cell.count("-") for cell in rule.strip("|").split("|")]
    assert len(widths) == 4 and len(set(widths)) > 1 and widths[0] == max(widths)


def test_log_scale_estimates_are_exponentiated_when_no_effect_fields():
    effect = {
        "outcome": "suspensions",
        "exposure": "satisfaction",
        "scale": "log rate ratio",
        "reported_as": "rate ratio",
        "census_value": 0.0,
        "weighted": {"estimate": math.log(1.1), "ci_low": 0.0, "ci_high": math.log(1.2)},
    }
    text = site.headline_markdown({"effects": [effect]})
    assert "| satisfaction with support (per point) | 1.00 | not available | 1.10 (1.00 to 1.20) |" in text
    assert "The naive interval contains it" not in text  # no naive estimate to compare


def test_missing_or_null_keys_are_reported_not_fatal():
    text = site.headline_markdown({})
    assert "Consent rates are not yet available" in text
    assert "Linkage results are not yet available" in text
    assert "planted effects are not yet available" in text
    partial = site.headline_markdown(
        {"linkage": {"match_rate": 0.9, "precision": None, "recall": None, "f1": None}}
    )
    assert "Of the children sent for linkage, 90% were matched" in partial
    assert "Precision and recall against the truth are not yet available." in partial
    no_truth = site.headline_markdown(
        {"effects": [{"outcome": "wellbeing", "exposure": "new_code", "census_value": None}]}
    )
    assert "| **Life satisfaction (0-10), wave 2** (not available) |" in no_truth
    assert "| new code | not available | not available | not available |" in no_truth


def test_percentages_already_in_per_cent_are_not_multiplied():
    assert "61% gave permission to link the parent's answers" in site.headline_markdown(
        {"consent": {"parent_answers_granted": 61.4}}
    )


def test_labels_cannot_carry_markup_or_long_text():
    text = site.headline_markdown(
        {"effects": [{"outcome": "<script>x</script>|a@b.org", "exposure": "y" * 100}]}
    )
    assert "<" not in text and "@" not in text and "|a" not in text
    assert "y" * 57 + "..." in text and "y" * 58 not in text


def test_write_headline(tmp_path):
    paths = config.Paths(tmp_path)
    target = site.write_headline(paths)
    assert target == tmp_path / "pages" / "_headline.md"
    assert target.read_text(encoding="utf-8") == site.PLACEHOLDER
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "summary.json").write_text(json.dumps(SUMMARY), encoding="utf-8")
    first = site.write_headline(paths).read_text(encoding="utf-8")
    assert first == site.headline_markdown(SUMMARY)
    assert (
        site.write_headline(paths).read_text(encoding="utf-8") == first
    )  # same summary, same file


def test_write_headline_rejects_a_broken_summary(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "summary.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SendlinkError, match="summary.json"):
        site.write_headline(config.Paths(tmp_path))


def test_committed_headline_exists_and_the_landing_page_includes_it():
    assert (ROOT / site.HEADLINE_FILE).is_file()
    assert "{{< include pages/_headline.md >}}" in (ROOT / "index.qmd").read_text(encoding="utf-8")


def test_navigation_reads_sections_and_pages_in_order():
    cfg = {
        "website": {
            "sidebar": {
                "contents": [
                    {"href": "index.qmd", "text": "Home"},
                    {
                        "section": "Chapters",
                        "contents": ["notebooks/01_a.ipynb", "notebooks/02_b.ipynb"],
                    },
                    {"section": "Reference", "contents": [{"href": "pages/x.qmd"}]},
                ]
            }
        },
        "project": {"render": ["index.qmd", "notebooks/01_a.ipynb"]},
    }
    assert site.navigation(cfg) == [
        site.NavItem("index.qmd", "Home", None),
        site.NavItem(None, "Chapters", None),
        site.NavItem("notebooks/01_a.ipynb", None, "Chapters"),
        site.NavItem("notebooks/02_b.ipynb", None, "Chapters"),
        site.NavItem(None, "Reference", None),
        site.NavItem("pages/x.qmd", None, "Reference"),
    ]
    assert site.inputs(cfg) == ["index.qmd", "notebooks/01_a.ipynb"]
    assert site.output_path("notebooks/01_a.ipynb") == "notebooks/01_a.html"


def test_load_config_errors(tmp_path):
    with pytest.raises(SendlinkError, match="not found"):
        site.load_config(tmp_path)
    (tmp_path / "_quarto.yml").write_text("- a list\n", encoding="utf-8")
    with pytest.raises(SendlinkError, match="mapping"):
        site.load_config(tmp_path)
