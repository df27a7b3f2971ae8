"""params.yaml as one typed object: validated once at load, every key named when wrong."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sendlink.errors import ParameterError
from sendlink.link.blocking import KEYS
from sendlink.params import Params, load_params, override, parse_params
from sendlink.params.linkage import BLOCKING_KEYS
from tests.conftest import rules

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def test_the_project_params_yaml_is_valid_and_complete():
    params = load_params(ROOT / "params.yaml")
    assert isinstance(params, Params)
    assert params.source == str(ROOT / "params.yaml")
    assert params.seed == 20220516


def test_the_object_is_immutable(project_params):
    with pytest.raises(Exception, match="frozen"):
        project_params.linkage.thresholds.match = 0.5  # type: ignore[misc]


def test_a_missing_key_is_named_with_its_path_and_file(raw):
    broken = copy.deepcopy(raw)
    del broken["linkage"]["thresholds"]["review"]
    with pytest.raises(ParameterError, match=r"test\.yaml: invalid parameters\n  linkage\.thresholds\.review: Field required"):
        parse_params(broken, "test.yaml")


def test_an_unknown_key_is_named_with_its_path(raw):
    broken = copy.deepcopy(raw)
    broken["disclosure"]["thresold"] = 10
    with pytest.raises(ParameterError, match=r"disclosure\.thresold: Extra inputs are not permitted"):
        parse_params(broken, "test.yaml")


@pytest.mark.parametrize(
    "section, key, value",
    [
        ("disclosure", "threshold", 0),
        ("disclosure", "rounding_base", -5),
        ("disclosure", "dominance_k", 120),
        ("outcomes", "confidence", 1.5),
        ("deidentify", "k", 1),
        ("consent", "age_of_own_consent", 30),
    ],
)
def test_out_of_range_values_are_refused_with_their_path(raw, section, key, value):
    broken = copy.deepcopy(raw)
    broken[section][key] = value
    with pytest.raises(ParameterError, match=rf"{section}\.{key}: .*\(got {value}\)"):
        parse_params(broken, "test.yaml")


def test_a_bad_seed_is_refused(raw):
    with pytest.raises(ParameterError, match=r"seed: Input should be greater than or equal to 0 \(got -1\)"):
        parse_params({**raw, "seed": -1}, "test.yaml")


def test_a_missing_file_and_a_non_mapping_are_clear_errors(tmp_path):
    with pytest.raises(ParameterError, match="parameter file not found"):
        load_params(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ParameterError, match="expected a mapping of sections"):
        load_params(tmp_path / "list.yaml")


def test_override_validates_again_and_names_its_source(project_params):
    changed = override(project_params, {"linkage": {"thresholds": {"match": 0.99}}})
    assert changed.linkage.thresholds.match == 0.99
    assert changed.linkage.thresholds.review == project_params.linkage.thresholds.review
    assert changed.source == "command line"
    with pytest.raises(ParameterError, match=r"(?s)command line: .*linkage\.thresholds.*review threshold 0\.25 is above the match threshold 0\.2"):
        override(project_params, {"linkage": {"thresholds": {"match": 0.2}}})


def test_blocking_passes_must_have_distinct_names(raw):
    broken = copy.deepcopy(raw)
    broken["linkage"]["blocking"]["passes"].append(dict(broken["linkage"]["blocking"]["passes"][0]))
    with pytest.raises(ParameterError, match="blocking pass name\\(s\\) used twice: \\['dob_surname'\\]"):
        parse_params(broken, "test.yaml")


def test_the_blocking_keys_params_accept_are_the_keys_blocking_knows():
    assert set(BLOCKING_KEYS) == set(KEYS)


@pytest.mark.parametrize("base, effective", [(0, 0), (1, 0), (5, 5), (10, 10)])
def test_rounding_base_of_0_or_1_means_no_rounding(base, effective):
    assert rules(rounding_base=base).rounding == effective


def test_rounding_base_may_not_exceed_the_threshold(raw):
    # Base 10 with threshold 3 would publish a count of 3 as "0".
    broken = copy.deepcopy(raw)
    broken["disclosure"].update(threshold=3, rounding_base=10)
    with pytest.raises(ParameterError, match="must not exceed threshold"):
        parse_params(broken, "test.yaml")
    assert rules(threshold=3, rounding_base=0).rounding == 0
