"""De-identification: from linked identifiable data to the research extract.

Run by DfE and the survey organisation together (docs/DESIGN.md section 2):
DfE derives the NPD attributes of linked pupils and pseudonymises them; the
survey organisation attaches answers through a mapping only the two hold;
researchers receive the joined, de-identified file in ``data/research/``.

Public API
----------
For the pipeline: :func:`sendlink.deidentify.stage.run` (``paths, params``)
writes ``data/research/`` (the extract and its two sensitivity versions,
the k-anonymity report and a README).

For notebooks and tests, the parts: the parties :func:`dfe_side`,
:func:`survey_side`, :func:`researcher_file` with :class:`LinkRule`;
:func:`build_extracts`; the key (:func:`load_key`, :class:`ProjectKey`,
:func:`research_ids`, :func:`school_pseudonyms`); k-anonymity
(:func:`anonymise`, :func:`class_summary`, :data:`QUASI_IDENTIFIERS`).
The identifier scanner that checks the release is :mod:`sendlink.scan`.
"""

from sendlink.deidentify.kanon import QUASI_IDENTIFIERS, Settings, anonymise, class_summary
from sendlink.deidentify.keys import ProjectKey, load_key, research_ids, school_pseudonyms
from sendlink.deidentify.parties import (
    DfeRelease,
    LinkRule,
    SurveyRelease,
    dfe_side,
    researcher_file,
    survey_side,
)
from sendlink.deidentify.stage import ExtractResult, build_extracts, link_rules, project_key

__all__ = [
    "QUASI_IDENTIFIERS",
    "DfeRelease",
    "ExtractResult",
    "LinkRule",
    "ProjectKey",
    "Settings",
    "SurveyRelease",
    "anonymise",
    "build_extracts",
    "class_summary",
    "dfe_side",
    "link_rules",
    "load_key",
    "project_key",
    "research_ids",
    "researcher_file",
    "school_pseudonyms",
    "survey_side",
]
