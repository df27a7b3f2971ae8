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
    "dob", "dob_swapped", "birth_year", "birth_month_day", "forename", "surname",
    "forename_sound", "surname_sound", "forename_initial", "surname_initial",
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
    """One blocking pass: records sharing all ``keys`` are paired."""

    name: str
    keys: list[BlockingKey] = Field(min_length=1)
    split_by: list[BlockingKey] = Field(default_factory=list)


def _default_passes() -> list[BlockingPass]:
    return [
        BlockingPass(name="dob", keys=["dob"], split_by=["sex", "surname_initial", "forename_initial"]),
        BlockingPass(name="dob_swapped", keys=["dob_swapped"], split_by=["sex", "surname_initial"]),
        BlockingPass(name="surname_sound_year", keys=["surname_sound", "birth_year"], split_by=["birth_month_day"]),
        BlockingPass(name="forename_sound_year", keys=["forename_sound", "birth_year"], split_by=["surname_initial", "birth_month_day"]),
        BlockingPass(name="postcode", keys=["postcode"], split_by=["birth_year", "surname_initial"]),
        BlockingPass(name="name_sounds", keys=["forename_sound", "surname_sound"], split_by=["birth_year"]),
        BlockingPass(name="forename_surname_initial", keys=["forename", "surname_initial"], split_by=["birth_year", "sex"]),
        BlockingPass(name="surname_forename_initial", keys=["surname", "forename_initial"], split_by=["birth_year", "sex"]),
    ]


class Blocking(_Strict):
    """Blocking passes (unioned) and the block-size cap."""

    max_block_size: int = Field(1000, ge=1)
    passes: list[BlockingPass] = Field(default_factory=_default_passes, min_length=1)


class Model(_Strict):
    """Fitting the Fellegi-Sunter model (see :mod:`sendlink.link.model`)."""

    u_sample_size: int = Field(1_000_000, ge=1000)
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
