"""The ``disclosure:`` section of ``params.yaml``: the rules every published table obeys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DisclosureParams(BaseModel):
    """Statistical disclosure control rules (ONS / DfE practice).

    ``params.yaml`` sets the usual secure-environment rules: counts below 10
    are suppressed, other counts rounded to the nearest 5 (the ONS "10-5
    rule"), means, medians and percentages need at least 10 contributors,
    and a magnitude cell is sensitive when its 2 largest contributions
    exceed 85% of its total (the N-K dominance rule with n=2, k=85).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: int = Field(ge=1, description="counts from 1 to threshold-1 are suppressed (primary suppression)")
    suppress_zeros: bool = Field(description="also suppress zero counts (some secure environments treat 0 as disclosive)")
    rounding_base: int = Field(ge=0, description="round published counts to the nearest multiple of this; 0 or 1 disables")
    min_contributors: int = Field(ge=1, description="fewest people behind a published mean, median or percentage")
    dominance_n: int = Field(ge=1, description="N of the N-K dominance rule")
    dominance_k: float = Field(gt=0, le=100, description="K of the N-K rule: the N largest may make up at most K% of a total")
    magnitude_protection: float = Field(
        gt=0,
        le=100,
        description=(
            "protection interval for sensitive magnitude cells, in percent of the cell's sum: "
            "an attacker must not be able to narrow it to less than this either side"
        ),
    )
    decimals: int = Field(ge=0, le=6, description="decimal places for means, medians and sums")
    percent_decimals: int = Field(ge=0, le=6, description="decimal places for percentages")

    @model_validator(mode="after")
    def _rounding_within_threshold(self) -> DisclosureParams:
        # A base above the threshold would round publishable counts to 0 (or
        # far below the threshold), which reads as a count that was not there.
        if self.rounding > self.threshold:
            raise ValueError(
                f"rounding_base ({self.rounding_base}) must not exceed threshold ({self.threshold})"
            )
        return self

    @property
    def rounding(self) -> int:
        """The rounding base in effect (0 when rounding is off)."""
        return self.rounding_base if self.rounding_base > 1 else 0
