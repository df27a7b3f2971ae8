"""The ``outcomes:`` section of ``params.yaml``: the analysis's tunable choices.

Validated with the rest of ``params.yaml`` (:func:`sendlink.params.load_params`),
so a misspelt key or a value out of range stops the run with the key's path named.
"""

from __future__ import annotations

from typing import Literal

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
    count_model
        The model for counts (suspensions), fixed in advance: ``poisson``
        (Poisson regression with robust standard errors: consistent for the
        rate ratios whatever the variance, and its target does not depend
        on a dispersion parameter) or ``negative_binomial`` (NB2, its
        dispersion estimated by moments in every fit and every bootstrap
        replicate). No data-driven switch: a pre-test makes the estimate
        depend on the test's outcome. The overdispersion test is still
        reported as a diagnostic.
    imputations
        Imputed data sets for missing covariates (multiple imputation by
        chained equations, :mod:`sendlink.outcomes.imputation`); 0 analyses
        complete cases only.
    bootstrap_replicates
        Replicates of the replicate-weight bootstrap
        (:mod:`sendlink.outcomes.bootstrap`) that the survey organisation
        releases and the analysis uses for the headline intervals; 0 falls
        back to the sandwich. ``make report`` uses this value; the
        benchmarks say how many they use.
    finite_population_correction
        Whether the bootstrap's variance is that around this frame's census
        value (True) or around a super-population value (False). Applied by
        the analysis, per model, with the fraction of its analysis set
        (Kish effective size over the stratum's frame pupils,
        :func:`sendlink.weighting.replicates.effective_fractions`).
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
    count_model: Literal["poisson", "negative_binomial"]
    imputations: int = Field(ge=0, le=200)
    bootstrap_replicates: int = Field(ge=0, le=2000)
    finite_population_correction: bool
    uneven_linkage_column: str
    uneven_linkage_recall: dict[str, float]

    @field_validator("uneven_linkage_recall")
    @classmethod
    def _recalls(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not 0.0 < v <= 1.0}
        if bad:
            raise ValueError(f"recalls must be in (0, 1]: {bad}")
        return value
