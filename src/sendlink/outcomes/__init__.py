"""The outcome analysis: how support relates to outcomes, corrected for consent and linkage bias.

Run by the researchers. Reads the de-identified research extract
(``data/research/``) only; the evaluation against the synthetic truth is
evaluation code, in :mod:`sendlink.evaluate.outcomes`.

Public API
----------
For the pipeline:

* :func:`sendlink.outcomes.stage.run` (``paths, params``): fit every model
  on the research extract, write the disclosure-checked tables to
  ``data/research/analysis/`` and ``data/summary.json`` (keys in
  :func:`sendlink.outcomes.stage.summary`).

For notebooks, tests and the simulation:

* :func:`read_extract`, :func:`analyse` -> :class:`Analysis` (estimates,
  weights, consent models, fits); :data:`OUTCOMES`, :data:`MODELS`,
  :data:`ESTIMATORS`, :data:`EFFECT_TERMS`;
* the model helpers :func:`fit_logistic`, :func:`fit_count`,
  :func:`fit_linear`, :func:`overdispersion`, :func:`design`;
* the weights :func:`consent_propensity`, :func:`analysis_weights`,
  :func:`weight_summary`;
* published outputs :func:`publish_estimates`, :func:`publish_weights`,
  :func:`describe_by_provision`, :func:`forest_plot`.

The second edition's methods, each in its module: selection in two steps
(:mod:`~sendlink.outcomes.selection`, on the shared building blocks of
:mod:`sendlink.weighting`), the replicate-weight bootstrap
(:mod:`~sendlink.outcomes.bootstrap`), multiple imputation
(:mod:`~sendlink.outcomes.imputation`), marginal effects
(:mod:`~sendlink.outcomes.margins`), balance against the frame
(:mod:`~sendlink.outcomes.balance`), delta-adjustment tipping points
(:mod:`~sendlink.outcomes.sensitivity`) and the false-link correction
(:mod:`~sendlink.outcomes.linkage_error`).
"""

from sendlink.outcomes.analysis import (
    EFFECT_TERMS,
    ESTIMATORS,
    MODELS,
    OUTCOMES,
    Analysis,
    analyse,
    read_extract,
)
from sendlink.outcomes.models import (
    ModelFit,
    Overdispersion,
    design,
    fit_count,
    fit_linear,
    fit_logistic,
    overdispersion,
)
from sendlink.outcomes.report import (
    describe_by_provision,
    forest_plot,
    publish_estimates,
    publish_weights,
)
from sendlink.outcomes.stage import StageResult, summary
from sendlink.outcomes.weights import analysis_weights, consent_propensity, weight_summary

__all__ = [
    "EFFECT_TERMS",
    "ESTIMATORS",
    "MODELS",
    "OUTCOMES",
    "Analysis",
    "ModelFit",
    "Overdispersion",
    "StageResult",
    "analyse",
    "analysis_weights",
    "consent_propensity",
    "describe_by_provision",
    "design",
    "fit_count",
    "fit_linear",
    "fit_logistic",
    "forest_plot",
    "overdispersion",
    "publish_estimates",
    "publish_weights",
    "read_extract",
    "summary",
    "weight_summary",
]
