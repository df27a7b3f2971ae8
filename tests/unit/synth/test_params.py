"""Bad synth parameters stop the run with the key's path named."""

import copy

import pytest

from sendlink.errors import ParameterError
from sendlink.params import parse_params


def test_project_parameters_are_valid(project_params):
    assert project_params.synth.npd.cohort_birth_year in project_params.synth.npd.birth_years


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
    raw = copy.deepcopy(project_params.model_dump())
    mutate(raw["synth"])
    with pytest.raises(ParameterError, match=message.replace(".", r"\.")):
        parse_params(raw, "test.yaml")
