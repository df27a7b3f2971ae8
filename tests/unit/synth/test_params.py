"""Bad parameters stop the run with the key's path named."""

import copy

import pytest
import yaml

from sendlink import config
from sendlink.errors import ParameterError
from sendlink.params.synth import SynthParams


def _check(params: dict) -> None:
    config.section(params, "synth", SynthParams)


def test_project_parameters_are_valid(project_params):
    _check(project_params)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["npd"].__setitem__("pupils_per_year_group", -5), "synth.npd.pupils_per_year_group"),
        (lambda p: p["npd"]["ethnicity_shares"].__setitem__("White", 0.9), "ethnicity_shares must sum to 1"),
        (lambda p: p["npd"].__setitem__("colour", "blue"), "synth.npd.colour"),
        (lambda p: p["npd"]["origin_mix"]["White"].__setitem__("martian", 0.0), "unknown origin"),
        (lambda p: p["survey"].__setitem__("wave1_dates", ["2022-09-30", "2022-05-03"]), "start date is after its end date"),
        (lambda p: p["npd"].__setitem__("cohort_birth_year", 1990), "cohort_birth_year"),
        (lambda p: p["survey"]["sampling_fraction_web"].__setitem__("seldom_heard", 0.9), "add to"),
    ],
)
def test_bad_values_are_named(project_params, mutate, message):
    params = copy.deepcopy(project_params)
    mutate(params["synth"])
    with pytest.raises(ParameterError, match=message.replace(".", r"\.")):
        _check(params)


def test_bad_seed_is_refused():
    with pytest.raises(ParameterError, match="seed"):
        config.seed({"seed": -1})


def test_missing_params_file_is_reported(tmp_path):
    with pytest.raises(ParameterError, match="not found"):
        config.load_params(tmp_path / "nope.yaml")


def test_non_mapping_yaml_is_reported(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump([1, 2, 3]))
    with pytest.raises(ParameterError, match="mapping"):
        config.load_params(path)
