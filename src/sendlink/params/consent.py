"""The ``consent:`` section of ``params.yaml``: the consent register and the rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ConsentParams(BaseModel):
    """Parameters of the consent stage.

    Attributes
    ----------
    as_of
        The date the pipeline applies consent as of. Fixed in ``params.yaml``
        (never "today") so that the same inputs give the same outputs.
        Requests that *stop* processing and are recorded after it are
        honoured as well (see :func:`sendlink.consent.rules.enforced_status`).
    age_of_own_consent
        From this birthday a young person decides about the linkage of their
        own answers and may make rights requests themself.
    cohort_first_birth_date, cohort_last_birth_date
        The cohort's range of dates of birth (Year 8 in 2021/22: Sept 2008 to
        Aug 2009). Used when a child's date of birth is unknown: the birthday
        could then be anywhere in the range (see ``rules`` module docstring).
    key_env
        Environment variable holding the register's key for keyed hashes
        (at least 32 random bytes, hexadecimal or base64: see
        :mod:`sendlink.keys`).
    key_file
        Else a file holding the key; ``~`` is expanded. It must lie outside
        the project folder and be readable by its owner only. Without
        either, a public demo key is used, loudly, for the generator's own
        synthetic world and refused for anything else.
    young_person_refusal_covers
        What a young person's refusal or withdrawal of linkage stops, at any
        age (rule ``young-person-refusal-covers``): ``npd_record`` (linkage of
        their NPD record altogether: neither the parent's nor the child's
        answers are linked to it from that date) or ``child_answers`` (only
        the child's answers; the parent's answers stay linked).
    request_decisions
        How rights requests are decided (rule ``request-decision``):
        ``grant_on_receipt`` (a request with no decision recorded is granted
        on the date received) or ``recorded`` (a request takes effect only
        when a decision granting it is recorded).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: dt.date
    age_of_own_consent: int = Field(ge=12, le=18)
    cohort_first_birth_date: dt.date
    cohort_last_birth_date: dt.date
    key_env: str = Field(min_length=1)
    key_file: str = Field(min_length=1)
    young_person_refusal_covers: Literal["npd_record", "child_answers"]
    request_decisions: Literal["grant_on_receipt", "recorded"]

    @property
    def key_path(self) -> Path:
        return Path(self.key_file).expanduser()

    @model_validator(mode="after")
    def _ordered(self) -> ConsentParams:
        if self.cohort_first_birth_date > self.cohort_last_birth_date:
            raise ValueError("cohort_first_birth_date must not be after cohort_last_birth_date")
        return self
