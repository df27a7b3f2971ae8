"""The disclosure section of params.yaml: defaults, validation, where it is read from."""

import pytest

from sendlink.config import load_params
from sendlink.disclosure import DisclosureParams, settings
from sendlink.errors import ParameterError


def test_defaults_are_the_usual_secure_environment_rules():
    p = DisclosureParams()
    assert p.threshold == 10
    assert p.suppress_zeros is False
    assert p.rounding_base == 5
    assert p.min_contributors == 10
    assert (p.dominance_n, p.dominance_k) == (2, 85.0)


def test_project_params_yaml_has_a_valid_disclosure_section():
    p = settings(load_params())
    assert isinstance(p, DisclosureParams)
    assert p.threshold >= 1


def test_settings_reads_the_disclosure_section_of_a_params_mapping():
    p = settings({"disclosure": {"threshold": 5, "suppress_zeros": True}, "_source": "test.yaml"})
    assert p.threshold == 5
    assert p.suppress_zeros is True
    assert p.rounding_base == 5  # unspecified keys keep their default


def test_settings_passes_a_model_through_and_none_gives_defaults():
    p = DisclosureParams(threshold=5)
    assert settings(p) is p
    assert settings(None) == DisclosureParams()


def test_unknown_key_is_named_with_its_path():
    with pytest.raises(ParameterError, match=r"disclosure\.thresold"):
        settings({"disclosure": {"thresold": 10}, "_source": "test.yaml"})


@pytest.mark.parametrize(
    "key, value",
    [
        ("threshold", 0),
        ("rounding_base", -5),
        ("dominance_k", 120),
        ("min_contributors", 0),
        ("dominance_n", 0),
    ],
)
def test_out_of_range_values_are_refused(key, value):
    with pytest.raises(ParameterError, match=rf"disclosure\.{key}"):
        settings({"disclosure": {key: value}, "_source": "test.yaml"})


def test_missing_section_is_an_error():
    with pytest.raises(ParameterError, match="missing section 'disclosure'"):
        settings({"_source": "test.yaml"})


@pytest.mark.parametrize("base, effective", [(0, 0), (1, 0), (5, 5), (10, 10)])
def test_rounding_base_of_0_or_1_means_no_rounding(base, effective):
    assert DisclosureParams(rounding_base=base).rounding == effective


def test_rounding_base_may_not_exceed_the_threshold():
    # Base 10 with threshold 3 would publish a count of 3 as "0".
    with pytest.raises(ParameterError, match="must not exceed threshold"):
        settings({"disclosure": {"threshold": 3, "rounding_base": 10}, "_source": "test.yaml"})
    assert DisclosureParams(threshold=3, rounding_base=0).rounding == 0
