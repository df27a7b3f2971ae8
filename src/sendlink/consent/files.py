"""Every file the consent stage reads or writes, named in one place.

The names of the synthetic survey organisation's files (written by
``sendlink synth``) and of the stage's outputs are constants here, so a
change of name is a one-line change. :class:`ConsentFiles` turns them into
paths from a :class:`~sendlink.config.Paths`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sendlink.config import Paths

# --- Inputs: the survey organisation's raw holdings (data/synthetic/survey/) ---
CONSENT_EVENTS = "consent_events.csv"
RIGHTS_REQUESTS = "rights_requests.csv"
CONTACTS = "contacts.parquet"
SAMPLE = "sample.parquet"
#: Answer tables, keyed by ``survey_id``; copied into the holdings with
#: erased cases removed.
ANSWERS = (
    "parent_w1.parquet",
    "parent_w2.parquet",
    "young_person_w1.parquet",
    "young_person_w2.parquet",
)

# --- Inputs read only for an access request (DfE's holdings) -------------------
NPD_SPINE = "spine.parquet"  # in data/synthetic/npd/, with the per-module tables
LINKS = "links.parquet"  # in data/linkage/

# --- The register (data/register/) ----------------------------------------------
REGISTER_DB = "consent.sqlite"
REGISTER_KEY = "register.key"
ERASURE_LOG = "erasure_log.csv"

# --- Outputs of the stage ---------------------------------------------------------
STATUS = "consent_status.parquet"  # in data/survey_org/
REGISTER_EXPORT = "consent_register.parquet"  # in data/survey_org/
HOLDINGS = "holdings"  # folder in data/survey_org/
SURVEY_SPINE = ("incoming", "survey_spine.parquet")  # in data/linkage/

#: Identifier columns of the contacts table that describe the child (the
#: linkage spine's columns) and the parent's contact details; the only
#: columns a rectification may correct.
CHILD_IDENTIFIERS = ("forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "school_urn")
PARENT_CONTACT = ("parent_forename", "parent_surname", "address_line", "email", "phone")


@dataclass(frozen=True)
class ConsentFiles:
    """Paths of the consent stage's inputs and outputs, from the project root."""

    paths: Paths

    # inputs
    @property
    def consent_events(self) -> Path:
        return self.paths.survey / CONSENT_EVENTS

    @property
    def rights_requests(self) -> Path:
        return self.paths.survey / RIGHTS_REQUESTS

    @property
    def contacts(self) -> Path:
        return self.paths.survey / CONTACTS

    @property
    def sample(self) -> Path:
        return self.paths.survey / SAMPLE

    @property
    def answers(self) -> tuple[Path, ...]:
        return tuple(self.paths.survey / name for name in ANSWERS)

    @property
    def npd(self) -> Path:
        return self.paths.npd

    @property
    def links(self) -> Path:
        return self.paths.linkage / LINKS

    # the register
    @property
    def register(self) -> Path:
        return self.paths.register / REGISTER_DB

    @property
    def register_key(self) -> Path:
        return self.paths.register / REGISTER_KEY

    @property
    def erasure_log(self) -> Path:
        return self.paths.register / ERASURE_LOG

    # outputs
    @property
    def status(self) -> Path:
        return self.paths.survey_org / STATUS

    @property
    def register_export(self) -> Path:
        return self.paths.survey_org / REGISTER_EXPORT

    @property
    def holdings(self) -> Path:
        return self.paths.survey_org / HOLDINGS

    def holding(self, name: str) -> Path:
        """The working copy of raw survey file ``name`` in the holdings."""
        return self.holdings / name

    @property
    def survey_spine(self) -> Path:
        return self.paths.linkage.joinpath(*SURVEY_SPINE)

    def relative(self, path: Path) -> str:
        """``path`` relative to the project root, with ``/`` separators."""
        try:
            return Path(path).resolve().relative_to(self.paths.root.resolve()).as_posix()
        except ValueError:
            return Path(path).as_posix()
