"""k-anonymity: class sizes, the generalisation order, nested suppression, the report."""

from __future__ import annotations

import pandas as pd

from sendlink.deidentify.kanon import (
    Settings,
    anonymise,
    birth_academic_year,
    birth_term,
    class_summary,
    violations,
)

QIS = ("birth", "sex", "geography", "idaci")
ORDER = ("birth", "geography", "idaci", "sex")


def table(rows):
    """rows: (birth, sex, la, region, decile) per linked row."""
    return pd.DataFrame(
        {
            "npd_birth_year_month": [r[0] for r in rows],
            "npd_sex": [r[1] for r in rows],
            "frame_sex": [r[1] for r in rows],
            "npd_la_code": [r[2] for r in rows],
            "npd_region": [r[3] for r in rows],
            "frame_region": [r[3] for r in rows],
            "npd_idaci_decile": pd.array([r[4] for r in rows], dtype="Int64"),
            "npd_idaci_quintile": pd.array([(r[4] + 1) // 2 for r in rows], dtype="Int64"),
        }
    )


def test_birth_hierarchy():
    assert birth_term("2008-10") == "2008/09 autumn"
    assert birth_term("2009-03") == "2008/09 spring"
    assert birth_term("2009-08") == "2008/09 summer"
    assert birth_academic_year("2009-08") == "2008/09"
    assert birth_academic_year("2008/09 summer") == "2008/09"


def test_class_summary_counts_sizes_by_hand():
    t = table([("2008-10", "F", "901", "R1", 3)] * 3 + [("2008-11", "F", "901", "R1", 3)] * 2 + [("2009-05", "M", "902", "R2", 9)])
    s = class_summary(t, QIS, k=3)
    # Classes of 3, 2 and 1 rows: two below k = 3, holding 3 rows.
    assert s == {"rows": 6, "classes": 3, "smallest_class": 1, "classes_below_k": 2, "rows_below_k": 3, "classes_by_size_below_k": {"1": 1, "2": 1}}
    assert violations(t, QIS, 3).tolist() == [False] * 3 + [True] * 3


def test_frame_and_npd_copies_count_as_one_attribute():
    t = table([("2008-10", "F", "901", "R1", 3)] * 2)
    unlinked = pd.DataFrame({"frame_sex": ["F"], "frame_region": ["R1"]})
    both = pd.concat([t, unlinked], ignore_index=True)
    # The unlinked row shows no birth, LA or IDACI: a class of its own (empty is a value).
    assert class_summary(both, ("sex", "geography"), 2)["classes"] == 2
    assert class_summary(both, ("sex",), 3)["classes_below_k"] == 0


def test_generalise_in_order_and_stop_when_k_holds():
    # Months differ, terms agree: one step (month -> term) makes classes of 2.
    t = table([("2008-10", "F", "901", "R1", 3), ("2008-11", "F", "901", "R1", 3), ("2009-01", "M", "902", "R1", 5), ("2009-02", "M", "902", "R1", 5)])
    out, report = anonymise({"main": t}, {"main": pd.Series(["a", "b", "c", "d"])}, Settings(2, QIS, ORDER))
    assert [s["step"] for s in report["generalisation"]] == ["birth: month -> term"]
    assert out["main"]["npd_birth_year_month"].tolist() == ["2008/09 autumn", "2008/09 autumn", "2008/09 spring", "2008/09 spring"]
    assert out["main"]["npd_la_code"].tolist() == ["901", "901", "902", "902"]  # not needed, not coarsened
    assert report["holds"] and report["suppression"]["values_blanked"]["main"]["rows"] == 0
    assert report["levels"]["birth"] == "term" and report["levels"]["geography"] == "local authority and region"


def test_la_then_idaci_then_suppression():
    # Two LAs in one region; deciles 3 and 4 share quintile 2; two rows alone in their regions.
    t = table([
        ("2008-10", "F", "901", "R1", 3), ("2008-10", "F", "902", "R1", 4), ("2008-10", "F", "901", "R1", 4),
        ("2008-10", "F", "902", "R1", 3), ("2008-10", "F", "903", "R2", 3), ("2008-10", "F", "904", "R3", 4),
    ])
    cases = pd.Series(list("abcdef"))
    out, report = anonymise({"main": t}, {"main": cases}, Settings(2, QIS, ORDER))
    steps = [s["step"] for s in report["generalisation"]]
    assert steps == ["birth: month -> term", "birth: term -> academic year", "geography: local authority -> region", "idaci: decile -> quintile"]
    o = out["main"]
    assert o["npd_la_code"].isna().all() and o["npd_idaci_decile"].isna().all()
    assert o["npd_idaci_quintile"].tolist() == [2] * 6
    # Rows e and f are still alone: birth goes first (not enough), then region, which pools them.
    assert o["qi_suppressed"].tolist() == [None, None, None, None, "birth,geography", "birth,geography"]
    assert o.loc[4:, ["npd_region", "frame_region", "npd_birth_year_month"]].isna().all().all()
    assert o.loc[4:, "npd_sex"].tolist() == ["F", "F"]
    assert report["holds"]
    assert report["suppression"]["values_blanked"]["main"] == {"birth": 2, "geography": 2, "idaci": 0, "sex": 0, "rows": 2}


def test_a_row_alone_whatever_is_blanked_ends_fully_blank():
    # One row differs in sex from all others: nothing can pool it, so every
    # quasi-identifier is blanked; a fully blank row matches anyone.
    t = table([("2008-10", "F", "901", "R1", 3)] * 2 + [("2008-10", "M", "901", "R1", 3)])
    out, report = anonymise({"main": t}, {"main": pd.Series(list("abc"))}, Settings(2, QIS, ORDER))
    assert out["main"]["qi_suppressed"].tolist()[2] == "birth,geography,idaci,sex"
    assert report["holds"]


def test_report_never_holds_values():
    t = table([("2008-10", "F", "901", "Rare region", 3)])
    _, report = anonymise({"main": t}, {"main": pd.Series(["a"])}, Settings(2, QIS, ORDER))
    assert "Rare region" not in repr(report) and "901" not in repr(report)


def test_same_case_suppressed_alike_in_every_extract():
    t = table([("2008-10", "F", "901", "R1", 3), ("2008-10", "F", "901", "R1", 3), ("2008-10", "F", "901", "R9", 3)])
    loose = table([("2008-10", "F", "901", "R1", 3), ("2008-10", "F", "901", "R1", 3), ("2008-10", "F", "901", "R9", 3), ("2008-10", "F", "901", "R9", 3)])
    out, report = anonymise(
        {"main": t, "loose": loose},
        {"main": pd.Series(["a", "b", "c"]), "loose": pd.Series(["a", "b", "c", "d"])},
        Settings(2, QIS, ORDER),
    )
    # c is alone in main whatever is blanked, so it ends fully blank there, and
    # so in loose too (where it was not alone); d, left alone in loose by that,
    # is blanked in turn. Comparing the files shows nothing one of them hides.
    everything = "birth,geography,idaci,sex"
    assert out["main"]["qi_suppressed"].tolist() == [None, None, everything]
    assert out["loose"]["qi_suppressed"].tolist() == [None, None, everything, everything]
    assert report["holds"]
