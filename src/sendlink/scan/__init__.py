"""The identifier scanner: proof that nothing research-facing holds an identifier.

The release check, run last (stage ``scan``, :func:`sendlink.scan.stage.run`;
``sendlink scan``): it collects every identifier the survey organisation and
DfE hold and searches the research data, the run's summary, the rendered
reports and the notebooks for them (:mod:`sendlink.scan.scanner` says what
counts as a hit, and which declared teaching pages are let through).
"""

from sendlink.scan.scanner import (
    IdentifierLeak,
    Identifiers,
    Scanner,
    ScanResult,
    banner,
    collect_identifiers,
    run_scan,
    scan,
)

__all__ = ["IdentifierLeak", "Identifiers", "ScanResult", "Scanner", "banner", "collect_identifiers", "run_scan", "scan"]
