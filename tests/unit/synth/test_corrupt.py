"""Identifier differences: each kind applied as documented, and recorded."""

import numpy as np
import pandas as pd
import pytest

from sendlink.params.synth import IdentifierParams
from sendlink.synth.corrupt import report_identifiers, typo

ZERO = {name: 0.0 for name in IdentifierParams.model_fields}
ZERO["eal_multiplier"] = 1.0


def _true(**overrides) -> pd.DataFrame:
    row = {
        "forename": "Alfred", "middle_names": "James", "surname": "Smith-Jones", "date_of_birth": "2008-11-03",
        "sex": "M", "postcode": "QA1 2BD", "school_urn": "123456", "npd_postcode": "QA1 2BD", "npd_school_urn": "123456",
    }
    row.update(overrides)
    return pd.DataFrame([row])


def _report(true: pd.DataFrame, **rates):
    params = IdentifierParams(**{**ZERO, **rates})
    return report_identifiers(true, np.array([False]), np.array(["british"]), true["sex"].to_numpy(), params, np.random.default_rng(1))


def test_no_differences_when_all_rates_are_zero():
    reported, log = _report(_true())
    assert reported.iloc[0].to_dict() == {
        "forename": "Alfred", "middle_names": "James", "surname": "Smith-Jones", "date_of_birth": "2008-11-03",
        "sex": "M", "postcode": "QA1 2BD", "school_urn": "123456",
    }
    assert log.frame(np.array(["S1"])).empty


def test_nickname_is_applied_and_recorded():
    reported, log = _report(_true(), forename_nickname=1.0)
    assert reported.loc[0, "forename"] == "Alfie"
    assert log.frame(np.array(["S1"]))[["field", "difference"]].values.tolist() == [["forename", "nickname"]]


def test_day_month_swap_only_when_day_is_a_valid_month():
    reported, _ = _report(_true(date_of_birth="2008-11-03"), dob_day_month_swapped=1.0)
    assert reported.loc[0, "date_of_birth"] == "2008-03-11"
    reported, log = _report(_true(date_of_birth="2008-11-23"), dob_day_month_swapped=1.0)
    assert reported.loc[0, "date_of_birth"] == "2008-11-23"
    assert log.frame(np.array(["S1"])).empty


def test_moves_and_school_changes_are_observed_not_injected():
    _, log = _report(_true(npd_postcode="QB9 9ZZ", npd_school_urn="654321"))
    assert set(map(tuple, log.frame(np.array(["S1"]))[["field", "difference"]].values)) == {
        ("postcode", "moved_house"), ("school_urn", "changed_school")}


def test_missing_values_are_null_not_empty_strings():
    reported, _ = _report(_true(), dob_missing=1.0, sex_missing=1.0, school_missing=1.0)
    assert reported.loc[0, ["date_of_birth", "sex", "school_urn"]].isna().all()


def test_double_barrel_is_reported_in_part_or_spaced():
    reported, log = _report(_true(), surname_double_barrel_one_part=1.0)
    assert reported.loc[0, "surname"] in {"Smith", "Jones", "Smith Jones"}
    assert len(log.frame(np.array(["S1"]))) == 1


def test_transposed_names_swap_the_fields():
    reported, _ = _report(_true(), names_transposed=1.0)
    assert (reported.loc[0, "forename"], reported.loc[0, "surname"]) == ("Smith-Jones", "Alfred")


@pytest.mark.parametrize("seed", range(20))
def test_typo_changes_the_word_but_keeps_the_initial(seed):
    word = "Thompson"
    out = typo(word, np.random.default_rng(seed))
    assert out != word
    assert out[0] == "T"
    assert abs(len(out) - len(word)) <= 1


def _report_origin(true: pd.DataFrame, origin: str, **rates):
    params = IdentifierParams(**{**ZERO, **rates})
    return report_identifiers(true, np.array([False]), np.array([origin]), true["sex"].to_numpy(), params, np.random.default_rng(1))


def test_a_chinese_childs_other_given_name_is_reported_first():
    true = _true(forename="Jason", middle_names="Wei", surname="Tang")
    reported, log = _report_origin(true, "chinese", other_given_name_first=1.0)
    assert (reported.loc[0, "forename"], reported.loc[0, "middle_names"]) == ("Wei", "Jason")
    assert log.frame(np.array(["S1"]))[["field", "difference"]].values.tolist() == [["forename", "other_given_name_first"]]
    unchanged, _ = _report_origin(true, "british", other_given_name_first=1.0)  # a convention of one community
    assert unchanged.loc[0, "forename"] == "Jason"


@pytest.mark.parametrize(("surname", "forms"), [("McDonald", {"MacDonald"}), ("MacLeod", {"McLeod"}), ("O'Brien", {"OBrien", "O Brien"})])
def test_mc_mac_and_o_are_written_another_way(surname, forms):
    reported, log = _report(_true(surname=surname), surname_prefix_form=1.0)
    assert reported.loc[0, "surname"] in forms
    assert log.frame(np.array(["S1"]))[["field", "difference"]].values.tolist() == [["surname", "prefix_form"]]
