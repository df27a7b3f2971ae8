"""Survey weighting's building blocks, shared by the parties that weight.

Two parties estimate parts of one weighting chain (design weight ->
non-response -> consent -> linkage) and must do it the same way:

* the **survey organisation** fits the consent step on every respondent and
  makes the replicate weights, at the extract stage
  (:mod:`sendlink.deidentify.analysis_support`);
* the **researchers** fit the link step, trim, and refit everything in each
  replicate (:mod:`sendlink.outcomes`).

What both need lives here, below the stages (docs/DESIGN.md section 3), so
that neither imports the other's package:

* :mod:`~sendlink.weighting.glm`: the design matrix, weighted GLM fits
  with a cluster-robust covariance, point estimates for replicate refits;
* :mod:`~sendlink.weighting.predictors`: what is known about every
  respondent (frame information, wave-2 response, the parent's wave-1
  answers) as model terms, and the groupings of need and ethnicity;
* :mod:`~sendlink.weighting.steps`: one selection step (a logistic
  regression with fixed columns, refitted per replicate) and which
  permissions each analysis population needs;
* :mod:`~sendlink.weighting.replicates`: Rao-Wu bootstrap multipliers
  within the survey's strata.
"""

from sendlink.weighting.glm import design, fit_glm, fit_params
from sendlink.weighting.predictors import INDEPENDENT_STRATUM, NEED_GROUPS, predictors
from sendlink.weighting.replicates import rao_wu_multipliers
from sendlink.weighting.steps import CONSENT_STEPS, StepModel, consented, fit_step

__all__ = [
    "CONSENT_STEPS", "INDEPENDENT_STRATUM", "NEED_GROUPS", "StepModel", "consented", "design", "fit_glm", "fit_params", "fit_step",
    "predictors", "rao_wu_multipliers",
]
