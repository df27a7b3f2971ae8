"""De-identification: from linked identifiable data to the research extract.

Run by DfE and the survey organisation together (DESIGN.md section 2):
DfE derives the NPD attributes of linked pupils and pseudonymises them; the
survey organisation attaches answers through a mapping only the two hold;
researchers receive the joined, de-identified file in ``data/research/``.

Public API
----------
For the pipeline, in order:

* :func:`run_extract_stage` (``paths, params``): writes ``data/research/``
  (``extract.parquet``, ``extract_strict.parquet``,
  ``extract_loose.parquet``, ``k_anonymity.json``, ``README.md``);
* :func:`run_scan` (``paths``; :func:`scan_outputs` in the pipeline): searches ``data/research/``, ``reports/``
  and the notebooks for identifiers of the synthetic people; raises
  :class:`IdentifierLeak` on any hit (``sendlink scan`` exits 1).

For notebooks and tests, the parts: the parties :func:`dfe_side`,
:func:`survey_side`, :func:`researcher_file` with :class:`LinkRule`;
:func:`build_extracts`; the key (:func:`load_key`, :class:`ProjectKey`,
:func:`research_ids`, :func:`school_pseudonyms`); k-anonymity
(:func:`anonymise`, :func:`class_summary`, :data:`QUASI_IDENTIFIERS`);
the scanner (:class:`Scanner`, :func:`scan`, :func:`collect_identifiers`,
:func:`banner`).
"""

from sendlink.deidentify.stage import (
    ExtractResult,
    build_extracts,
    link_rules,
    project_key,
    run_extract_stage,
)
from sendlink.deidentify.kanon import QUASI_IDENTIFIERS, Settings, anonymise, class_summary
from sendlink.deidentify.keys import ProjectKey, load_key, research_ids, school_pseudonyms
from sendlink.params.deidentify import DeidentifyParams, deidentify_params
from sendlink.deidentify.parties import (
    DfeRelease,
    LinkRule,
    SurveyRelease,
    dfe_side,
    researcher_file,
    survey_side,
)
from sendlink.scan.scanner import (
    IdentifierLeak,
    Identifiers,
    Scanner,
    ScanResult,
    banner,
    collect_identifiers,
    run_scan,
    scan,
    scan_outputs,
)

__all__ = [
    "QUASI_IDENTIFIERS",
    "DeidentifyParams",
    "DfeRelease",
    "ExtractResult",
    "IdentifierLeak",
    "Identifiers",
    "LinkRule",
    "ProjectKey",
    "ScanResult",
    "Scanner",
    "Settings",
    "SurveyRelease",
    "anonymise",
    "banner",
    "build_extracts",
    "class_summary",
    "collect_identifiers",
    "deidentify_params",
    "dfe_side",
    "link_rules",
    "load_key",
    "project_key",
    "research_ids",
    "researcher_file",
    "run_extract_stage",
    "run_scan",
    "scan",
    "scan_outputs",
    "school_pseudonyms",
    "survey_side",
]
