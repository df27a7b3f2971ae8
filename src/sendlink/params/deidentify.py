"""The ``deidentify:`` section of ``params.yaml``: research ids, k-anonymity, the sensitivity extracts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Quasi-identifiers the k-anonymity check knows (see :mod:`sendlink.deidentify.kanon`).
Concept = Literal["birth", "sex", "ethnicity", "geography", "idaci", "school_phase", "provision", "need"]


class Sensitivity(BaseModel):
    """Link thresholds of the two sensitivity extracts.

    Attributes
    ----------
    strict_min_probability
        The strict extract accepts only ``matched`` links at least this
        probable (fewer false matches, more missed ones).
    loose_review_min_probability
        The loose extract also accepts ``clerical_review`` candidates at
        least this probable, as if a reviewer had said yes to each.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    strict_min_probability: float = Field(gt=0, le=1)
    loose_review_min_probability: float = Field(gt=0, le=1)


class DeidentifyParams(BaseModel):
    """Parameters of the extract stage.

    Attributes
    ----------
    key_env
        Environment variable holding the project key for research ids and
        school pseudonyms (a different key from the consent register's).
    key_file
        Else a file holding the key; ``~`` is expanded. It must lie outside
        the project folder, so the key can never be committed with it.
    k
        Every combination of quasi-identifiers shown in an extract is shared
        by at least ``k`` rows.
    quasi_identifiers
        The quasi-identifiers the check covers (the reasons for the default
        choice are in :mod:`sendlink.deidentify.kanon`).
    suppression_order
        After every generalisation, the quasi-identifiers blanked, in this
        order, in rows still in a class smaller than ``k``: the least useful
        to the analysis first. Must list every quasi-identifier checked.
    rare_need_min_rows
        A primary need type held by fewer rows than this is "rare" and is
        grouped into its broad area of need at the first need step.
    school_cluster_min_size
        School pseudonyms are kept only for schools with at least this many
        rows in the extract (a school with fewer adds nothing to clustered
        standard errors and narrows down who the pupils are).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_env: str = Field(min_length=1)
    key_file: str
    k: int = Field(ge=2, le=100)
    quasi_identifiers: list[Concept]
    suppression_order: list[Concept]
    rare_need_min_rows: int = Field(ge=1)
    school_cluster_min_size: int = Field(ge=1)
    sensitivity: Sensitivity

    @model_validator(mode="after")
    def _consistent(self) -> DeidentifyParams:
        if len(set(self.quasi_identifiers)) != len(self.quasi_identifiers):
            raise ValueError("quasi_identifiers lists a name twice")
        if sorted(self.suppression_order) != sorted(self.quasi_identifiers):
            raise ValueError("suppression_order must list each quasi-identifier exactly once")
        return self

    @property
    def key_path(self) -> Path:
        return Path(self.key_file).expanduser()
