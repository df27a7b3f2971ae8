"""On the default data, the weighted estimates recover the census values of the planted effects.

The census value of an effect is the analysis model fitted on the whole
frame with true values (:mod:`sendlink.evaluate.outcomes`); it is the target
because the analysis model is not the generating model. Every weighted
estimate must lie within its 99% confidence interval of it, so a
regression in any stage (generation, consent, linkage, extract, weights,
models) shows up here. The simulation in ``benchmarks/simulation.py``
measures how often this holds across seeds (the check is not tuned to this
seed): with exact intervals all 17 weighted estimates would lie inside their
99% intervals in 0.99**17 = 84% of seeds (``benchmarks/results/simulation_runs.csv``
has the per-seed results). So on a population generated with another seed
this test is expected to fail about one time in six by chance alone; there, read the failure as "look at this effect", and judge
calibration by the simulation, not by one seed.
"""

from __future__ import annotations

import pytest

from sendlink import config
from sendlink.evaluate import outcomes, truth
from sendlink.outcomes.stage import fit
from sendlink.params import load_params
from sendlink.schema import catalogue

pytestmark = pytest.mark.needs_data


@pytest.fixture(scope="module")
def evaluation(default_data):
    paths = config.Paths(default_data.parents[1])
    extract_path = catalogue.EXTRACT.at(paths)
    if not extract_path.is_file():
        pytest.skip(f"{extract_path} not found: run the pipeline (`sendlink pipeline`) on the default data first")
    params = load_params(paths.params)
    # As the evaluation stage does: the published estimates, bootstrap intervals included.
    _, analysis, _ = fit(paths, params)
    census = outcomes.census_values(paths, params.synth.survey.frame_year, count_model=params.outcomes.count_model)
    return outcomes.comparison(analysis.estimates, census, truth.planted_effects(paths))


def test_every_weighted_estimate_is_within_its_99_percent_interval_of_the_census_value(evaluation):
    weighted = evaluation[evaluation["estimator"] == "weighted"]
    assert len(weighted) == evaluation["effect"].nunique() > 0
    outside = weighted[~weighted["within_check"]]
    assert outside.empty, ("weighted estimates outside their 99% interval of the census value (on a seed other than "
                           "the default, expected about one run in six by chance: see this module's docstring):\n") + outside[
        ["effect", "census", "estimate", "se", "z"]
    ].round(3).to_string(index=False)


def test_census_values_differ_from_generating_values_where_the_model_is_misspecified(evaluation):
    # The analysis model leaves out latent need, ability and how school suits
    # the child: its population coefficient on an EHC plan is not the
    # generating one (the generating effect is conditional on latent need).
    ehc = evaluation[(evaluation["effect"] == "persistent_absence:ehc")].iloc[0]
    assert abs(ehc["census"] - ehc["generating"]) > 0.2
