"""The ``outcomes:`` section of ``params.yaml``: the analysis's tunable choices.

Read through :func:`sendlink.config.section`, so a misspelt key or a value
out of range stops the run with the key's path named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sendlink import config


class OutcomesParams(BaseModel):
    """Choices of the outcome analysis.

    Attributes
    ----------
    confidence
        Level of the confidence intervals reported (0.95).
    trim_quantile
        Analysis weights (survey weight x inverse probability of consent and
        link) above this quantile of their distribution in the analysis
        sample are cut down to it. One per cent trimming is the usual
        compromise: a handful of cases with very low estimated probabilities
        of consenting would otherwise dominate the estimates and inflate
        their variance, at the cost of a small bias where the consent model
        is right. Set to 1 to switch trimming off.
    min_propensity
        Floor on the estimated probability of consent and link before it is
        inverted (guards against a near-zero fitted probability; 0.02 means
        no case stands for more than 50 like it on top of its survey weight).
    min_category_rows
        A covariate category (a need area, an ethnic group, an "unknown"
        flag) held by fewer analysed rows than this, or by all but fewer,
        joins the reference category in that model: so rare a category
        adjusts for almost nothing and invites perfect prediction. Exposures
        are never dropped.
    overdispersion_alpha
        Significance level of the test for overdispersion of counts: if the
        Poisson model's conditional variance is significantly larger than the
        mean, suspensions are modelled as negative binomial.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    trim_quantile: float = Field(0.99, gt=0.5, le=1.0)
    min_propensity: float = Field(0.02, gt=0.0, lt=0.5)
    min_category_rows: int = Field(10, ge=0)
    overdispersion_alpha: float = Field(0.05, gt=0.0, lt=0.5)


def settings(params: OutcomesParams | Mapping[str, Any] | None) -> OutcomesParams:
    """The outcome-analysis settings from whatever the caller has.

    ``None`` gives the defaults; a full ``params.yaml`` mapping (with an
    ``outcomes`` key) or the section itself is validated.
    """
    if params is None:
        return OutcomesParams()
    if isinstance(params, OutcomesParams):
        return params
    if "outcomes" in params:
        return config.section(dict(params), "outcomes", OutcomesParams)
    return OutcomesParams.model_validate(dict(params))
