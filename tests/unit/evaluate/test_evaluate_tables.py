"""Teaching tables that need the truth, on hand-written pairs and links."""

from __future__ import annotations

import pandas as pd
import pytest

from sendlink.evaluate import tables

TRUTH = pd.DataFrame({"survey_id": ["s1", "s2", "s3", "s4"], "upn": ["n1", "n2", "n3", None]})

def test_sent_truth_keeps_only_children_sent_for_linkage():
    sent = tables.sent_truth(TRUTH, ["s1", "s3", "s9"])
    assert sent["survey_id"].tolist() == ["s1", "s3"]

def test_blocking_summary_recall_per_pass_by_hand():
    pairs = pd.DataFrame({
        "survey_id": ["s1", "s1", "s2", "s3"],
        "upn": ["n1", "n7", "n2", "n8"],
        "passes": ["a", "a+b", "b", "b"],
    })
    stats = [{"name": "a", "keys": "dob", "pairs": 2, "new_pairs": 2, "survey_records_capped": 0},
             {"name": "b", "keys": "postcode", "pairs": 3, "new_pairs": 2, "survey_records_capped": 1}]
    table = tables.blocking_summary(pairs, tables.sent_truth(TRUTH, ["s1", "s2", "s3"]), stats)
    # Three true links (s1-n1, s2-n2, s3-n3): pass a finds s1-n1; b finds s2-n2; s3-n3 is never proposed.
    assert table["pass"].tolist() == ["a", "b"]
    assert table["pairs"].tolist() == [2, 3]
    assert table["recall"].tolist() == pytest.approx([1 / 3, 1 / 3])
    assert table["cumulative_recall"].tolist() == pytest.approx([1 / 3, 2 / 3])
    assert table["only_this_pass"].tolist() == [1, 1]
    assert table["capped"].tolist() == [0, 1]

def test_is_true_pair():
    pairs = pd.DataFrame({"survey_id": ["s1", "s1", "s2"], "upn": ["n1", "n2", "n3"]})
    assert tables.is_true_pair(pairs, TRUTH).tolist() == [True, False, False]

def _children() -> pd.DataFrame:
    links = pd.DataFrame({
        "survey_id": ["s1", "s2", "s3", "s4"],
        "upn": ["n1", "n9", "", "n4"],
        "link_status": ["matched", "matched", "unmatched", "matched"],
    })
    truth = TRUTH.assign(twin=[False, True, False, False])
    attributes = pd.DataFrame({"survey_id": ["s1", "s2", "s3", "s4"], "eal": [True, False, True, False]})
    return tables.evaluate_children(links, truth, attributes)

def test_evaluate_children_results_in_plain_words():
    children = _children()
    # s1 right; s2 linked to the wrong pupil; s3 missed; s4 not in the NPD but linked.
    assert children["result"].tolist() == ["linked correctly", "false match", "missed", "false match"]
    assert children["twin"].tolist() == [False, True, False, False]
    assert children["eal"].tolist() == [True, False, True, False]

def test_difference_kinds_and_counts():
    children = _children()
    differences = pd.DataFrame({
        "survey_id": ["s1", "s1", "s1", "s3", "s3", "s3", "s3"],
        "field": ["forename", "postcode", "postcode", "surname", "postcode", "school_urn", "middle_names"],
        "difference": ["nickname", "moved_house", "missing", "changed", "formatting", "changed_school", "omitted"],
    })
    kinds = tables.difference_kinds(children, differences)
    by_child = kinds.groupby("survey_id")["kind"].apply(sorted).to_dict()
    assert by_child == {
        "s1": ["forename: nickname", "postcode: missing", "postcode: moved house"],
        "s2": ["twin in the NPD"],  # no difference, but a twin
        "s3": ["school_urn: changed school", "surname: changed"],  # formatting and an omitted middle name do not count
        "s4": ["none"],
    }
    assert (kinds.loc[kinds["survey_id"] == "s3", "result"] == "missed").all()
    counts = tables.differences_per_child(children, differences, top=2)
    # s1: forename and postcode (one field, counted once) -> 2 ("2 or more"); s3: surname, school -> 2 or more.
    assert counts.astype(str).tolist() == ["2 or more", "0", "2 or more", "0"]
    assert list(counts.cat.categories) == ["0", "1", "2 or more"]

def test_difference_class_worst_first():
    children = _children()
    differences = pd.DataFrame({
        "survey_id": ["s1", "s1", "s2", "s3", "s4"],
        "field": ["postcode", "date_of_birth", "school_urn", "surname", "sex"],
        "difference": ["moved_house", "day_off", "missing", "formatting", "wrong"],
    })
    classes = tables.difference_class(children, differences)
    # s1: a date difference outranks the move; s2: school only; s3: formatting is no difference; s4: sex alone is none.
    assert classes.astype(str).tolist() == ["name or date of birth", "address or school only", "none", "none"]
    assert list(classes.cat.categories) == list(tables.DIFFERENCE_CLASSES)
