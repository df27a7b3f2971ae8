"""The scan stage: the last check before anything is released (:func:`run`).

Stage ``scan``, the release check, run by whoever publishes (everyone who
renders the reports). **In:** every identifier the survey organisation and
DfE hold, and every research-facing file: ``data/research/``, the run's
summary, ``reports/`` and the notebooks. **Out:** nothing but the verdict:
:class:`~sendlink.scan.scanner.IdentifierLeak` (the command exits 1) when
any identifier is found, naming the file, the place and the value
(:mod:`sendlink.scan.scanner`).
"""

from __future__ import annotations

from sendlink.config import Paths
from sendlink.params import Params
from sendlink.scan.linkage_unit import check_linkage_unit
from sendlink.scan.scanner import ScanResult, run_scan

__all__ = ["run"]


def run(paths: Paths | None = None, params: Params | None = None) -> ScanResult:
    """Scan the research-facing files (no parameters are needed; ``params`` is accepted like every stage's).

    Raises
    ------
    IdentifierLeak
        If anything was found.
    """
    return run_scan(paths, checks=(check_linkage_unit,))
