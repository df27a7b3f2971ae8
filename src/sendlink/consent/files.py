"""The consent stage's files: the catalogue's entries, bound to one project's folders.

The files themselves are named once, in :mod:`sendlink.schema.catalogue`;
:class:`ConsentFiles` turns them into paths under a
:class:`~sendlink.config.Paths` (the project's, or a sandbox's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sendlink.config import Paths
from sendlink.schema import catalogue

#: Identifier columns of the contacts table that describe the child (the
#: linkage spine's columns) and the parent's contact details; the only
#: columns a rectification may correct.
CHILD_IDENTIFIERS = ("forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "school_urn")
PARENT_CONTACT = ("parent_forename", "parent_surname", "address_line", "email", "phone")

#: What each person's part of a case is (rule ``own-requests``): the contact
#: columns blanked and the answer files (by name prefix) emptied when that part
#: alone is erased. The postcode stays with the parent's address.
PERSON_FIELDS = {
    "parent": PARENT_CONTACT,
    "young_person": tuple(c for c in CHILD_IDENTIFIERS if c != "postcode"),
}
PERSON_ANSWER_PREFIX = {"parent": "parent_", "young_person": "young_person_"}


@dataclass(frozen=True)
class ConsentFiles:
    """Paths of the consent stage's inputs and outputs, from the project root."""

    paths: Paths

    # inputs: the survey organisation's raw files
    @property
    def consent_events(self) -> Path:
        return catalogue.CONSENT_EVENTS.at(self.paths)

    @property
    def rights_requests(self) -> Path:
        return catalogue.RIGHTS_REQUESTS.at(self.paths)

    @property
    def contacts(self) -> Path:
        return catalogue.CONTACTS.at(self.paths)

    @property
    def sample(self) -> Path:
        return catalogue.SAMPLE.at(self.paths)

    @property
    def answers(self) -> tuple[Path, ...]:
        return tuple(f.at(self.paths) for f in catalogue.ANSWERS)

    # read only for an access request (DfE's holdings)
    @property
    def npd(self) -> Path:
        return self.paths.npd

    @property
    def links(self) -> Path:
        return catalogue.LINKS.at(self.paths)

    # the register
    @property
    def register(self) -> Path:
        return catalogue.REGISTER_DB.at(self.paths)

    @property
    def erasure_log(self) -> Path:
        return catalogue.ERASURE_LOG.at(self.paths)

    # outputs
    @property
    def status(self) -> Path:
        return catalogue.CONSENT_STATUS.at(self.paths)

    @property
    def register_export(self) -> Path:
        return catalogue.REGISTER_EXPORT.at(self.paths)

    @property
    def holdings(self) -> Path:
        return self.paths.resolve(catalogue.HOLDINGS_FOLDER)

    def holding(self, name: str) -> Path:
        """The working copy of the raw survey file called ``name`` in the holdings."""
        for raw, copy in catalogue.HOLDINGS.items():
            if raw.name == name:
                return copy.at(self.paths)
        raise KeyError(f"{name} is not a survey file carried into the holdings ({', '.join(r.name for r in catalogue.HOLDINGS)})")

    @property
    def survey_spine(self) -> Path:
        return catalogue.SURVEY_SPINE.at(self.paths)

    def relative(self, path: Path) -> str:
        """``path`` relative to the project root, with ``/`` separators."""
        try:
            return Path(path).resolve().relative_to(self.paths.root.resolve()).as_posix()
        except ValueError:
            return Path(path).as_posix()
