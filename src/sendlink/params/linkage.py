"""The ``linkage:`` section of ``params.yaml``, validated.

Every tunable number of the linker lives here; :func:`load` reads and
validates it through :func:`sendlink.config.section`, so a typo in a key or
a threshold outside (0, 1] stops the run naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sendlink.config import load_params, section
from sendlink.config import seed as project_seed

__all__ = ["BlockingPass", "LinkageParams", "load"]

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
    random subset: DOMAIN.md).
    """

    match: float = Field(0.95, gt=0, le=1)
    review: float = Field(0.25, gt=0, le=1)

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


def _default_passes() -> list[BlockingPass]:
    """The default passes (the same as ``params.yaml``; see :mod:`sendlink.link.blocking`)."""
    def p(name: str, keys: list[str], split_by: list[str] | None = None, max_block_size: int | None = None) -> BlockingPass:
        return BlockingPass(name=name, keys=keys, split_by=split_by or [], max_block_size=max_block_size)

    by_year = ["birth_year", "sex"]
    return [
        p("dob_surname", ["dob", "surname_part"]),
        p("dob_forename", ["dob", "forename_group"]),
        p("dob_initials", ["dob", "forename_initial", "surname_initial"]),
        p("dob_swapped_surname", ["dob_swapped", "surname_sound"]),
        p("dob_school", ["dob", "school"]),
        p("dob_district", ["dob", "pc_district"]),
        p("names", ["forename_group", "surname_part"], by_year, 100),
        p("name_sounds", ["forename_sound", "surname_sound"], by_year, 100),
        p("names_transposed", ["names_unordered"], by_year, 100),
        p("postcode", ["postcode"], ["birth_year"]),
        p("school_surname", ["school", "surname_part"]),
        p("school_forename", ["school", "forename_group"]),
        p("dob_rare", ["dob"], None, 50),
        p("surname_rare", ["surname_part"], None, 50),
        p("forename_rare", ["forename_group"], None, 50),
    ]


class Blocking(_Strict):
    """Blocking passes (unioned) and the block-size cap."""

    max_block_size: int = Field(1000, ge=1)
    passes: list[BlockingPass] = Field(default_factory=_default_passes, min_length=1)


class Model(_Strict):
    """Fitting the Fellegi-Sunter model (see :mod:`sendlink.link.model`)."""

    u_sample_size: int = Field(300_000, ge=1000)
    em_max_iterations: int = Field(200, ge=1)
    em_tolerance: float = Field(1e-6, gt=0)
    min_agreeing_fields: int = Field(2, ge=1)
    prior_strength: float = Field(10.0, ge=0)
    term_frequency: bool = True


class LinkageParams(_Strict):
    """The ``linkage:`` section of ``params.yaml``."""

    seed: int = Field(20220516, ge=0)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    blocking: Blocking = Field(default_factory=Blocking)
    model: Model = Field(default_factory=Model)


def load(path: str | Path | None = None) -> LinkageParams:
    """Read and validate the ``linkage:`` section (and the project seed)."""
    params = load_params(path)
    raw = dict(params.get("linkage") or {})
    if "seed" not in raw and "seed" in params:
        raw["seed"] = project_seed(params)
    return section({**params, "linkage": raw}, "linkage", LinkageParams)
