"""The default synthetic data match the published figures they are calibrated to."""

import pytest

from sendlink.config import Paths
from sendlink.synth.report import PUBLISHED, calibration_table

pytestmark = pytest.mark.needs_data


def test_every_published_figure_is_matched_within_its_tolerance(default_data):
    table = calibration_table(Paths(default_data.parents[1], synthetic_dir=default_data))
    assert len(table) == len(PUBLISHED)
    outside = table[~table["within"]]
    assert outside.empty, "outside tolerance:\n" + outside.to_string()


def test_published_figures_are_the_ones_in_domain_notes():
    # A few anchors from docs/DOMAIN.md, so the table cannot drift silently.
    values = {(p.measure, p.group): p.value for p in PUBLISHED}
    assert values[("EHC plan share of pupils (%)", "2024/25")] == 5.3
    assert values[("FSM eligible (%)", "EHC plan, 2024/25")] == 43.8
    assert values[("Persistent absence (%)", "SEN support, 2023/24")] == 29.9
    assert values[("Attainment 8 (mean)", "EHC plan")] == 14.0
