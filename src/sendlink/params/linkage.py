"""The ``linkage:`` section of ``params.yaml``: standardisation, blocking, the Fellegi-Sunter model.

The linker's tunable numbers, typed and ranged, so a typo in a key or a
threshold outside (0, 1] stops the run naming the key. The values, the 15
blocking passes among them, are in ``params.yaml`` only. The linker's random
draws (the u sample) use the project seed, passed to it explicitly.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["BLOCKING_KEYS", "Blocking", "BlockingKey", "BlockingPass", "LinkageParams", "Model", "Thresholds"]

#: The blocking keys :mod:`sendlink.link.blocking` knows (a test keeps them in step with ``blocking.KEYS``).
BlockingKey = Literal[
    "dob", "dob_swapped", "birth_year", "birth_month_day", "forename", "forename_group", "forename_sound",
    "forename_initial", "surname", "surname_part", "surname_sound", "surname_initial", "names_unordered",
    "postcode", "pc_sector", "pc_district", "sex", "school",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """Decision thresholds on the match probability.

    ``match``: at or above, the pair is linked (DfE's matcher accepts at
    confidence 0.95: at most 1 in 20 pairs at the margin is wrong, and far
    fewer on average above it). ``review``: at or above (and below
    ``match``), a person reviews the pair; 0.25 means a reviewer sees every
    pair with at least a one-in-four chance of being the child, because a
    missed link is not neutral (children who link less often are not a
    random subset: docs/DOMAIN.md).
    """

    match: float = Field(gt=0, le=1)
    review: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review > self.match:
            raise ValueError(f"review threshold {self.review} is above the match threshold {self.match}")
        return self


class BlockingPass(_Strict):
    """One blocking pass: records sharing all ``keys`` are paired.

    A survey record whose block holds more than ``max_block_size`` NPD
    records (the section's value unless the pass sets its own) is split by
    the ``split_by`` keys in turn, then capped (see :mod:`sendlink.link.blocking`).
    """

    name: str
    keys: list[BlockingKey] = Field(min_length=1)
    split_by: list[BlockingKey] = Field(default_factory=list)
    max_block_size: int | None = Field(None, ge=1)


class Blocking(_Strict):
    """Blocking passes (unioned) and the block-size cap."""

    max_block_size: int = Field(ge=1)
    passes: list[BlockingPass] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Blocking:
        names = [p.name for p in self.passes]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"blocking pass name(s) used twice: {repeated}")
        return self


class Model(_Strict):
    """Fitting the Fellegi-Sunter model (see :mod:`sendlink.link.model`)."""

    u_sample_size: int = Field(ge=1000)
    em_max_iterations: int = Field(ge=1)
    em_tolerance: float = Field(gt=0)
    min_agreeing_fields: int = Field(ge=1)
    prior_strength: float = Field(ge=0)
    term_frequency: bool


class LinkageParams(_Strict):
    """The ``linkage:`` section of ``params.yaml``.

    ``audit_sample_size``: how many of the links the model accepted on its
    own go to clerical review at random every run, besides the uncertain
    pairs (:func:`sendlink.link.clerical.audit_sample`), so that no decision
    is purely automated and the error rate of accepted links can be
    estimated; 0 turns the audit off.
    """

    thresholds: Thresholds
    blocking: Blocking
    model: Model
    audit_sample_size: int = Field(ge=0)


#: The keys of :data:`BlockingKey`, in order.
BLOCKING_KEYS: tuple[str, ...] = get_args(BlockingKey)
