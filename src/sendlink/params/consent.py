"""The ``consent:`` section of ``params.yaml``: the consent register and the rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: dt.date
    age_of_own_consent: int = Field(ge=12, le=18)
    cohort_first_birth_date: dt.date
    cohort_last_birth_date: dt.date
    key_env: str = Field(min_length=1)
    key_file: str = Field(min_length=1)

    @property
    def key_path(self) -> Path:
        return Path(self.key_file).expanduser()

    @model_validator(mode="after")
    def _ordered(self) -> ConsentParams:
        if self.cohort_first_birth_date > self.cohort_last_birth_date:
            raise ValueError("cohort_first_birth_date must not be after cohort_last_birth_date")
        return self
