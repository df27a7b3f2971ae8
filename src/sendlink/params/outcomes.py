"""The ``outcomes:`` section of ``params.yaml``: the analysis's tunable choices.

Validated with the rest of ``params.yaml`` (:func:`sendlink.params.load_params`),
so a misspelt key or a value out of range stops the run with the key's path named.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    uneven_linkage_column, uneven_linkage_recall
        A sensitivity analysis of linkage that works less well for some
        groups: the linked cases of each group of ``uneven_linkage_column``
        are kept at that group's recall (the rest treated as missed
        matches) and the analysis is run again, naive and weighted
        (:func:`sendlink.outcomes.stage.uneven_linkage`). The recalls are
        a linker's measured ones, by group (published aggregates of a
        linkage quality report).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    confidence: float = Field(gt=0.5, lt=1.0)
    trim_quantile: float = Field(gt=0.5, le=1.0)
    min_propensity: float = Field(gt=0.0, lt=0.5)
    min_category_rows: int = Field(ge=0)
    overdispersion_alpha: float = Field(gt=0.0, lt=0.5)
    # Defaults: no sensitivity run (an empty recall table), so code that builds
    # these parameters by hand need not know about it.
    uneven_linkage_column: str = "frame_ethnicity"
    uneven_linkage_recall: dict[str, float] = Field(default_factory=dict)

    @field_validator("uneven_linkage_recall")
    @classmethod
    def _recalls(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not 0.0 < v <= 1.0}
        if bad:
            raise ValueError(f"recalls must be in (0, 1]: {bad}")
        return value
