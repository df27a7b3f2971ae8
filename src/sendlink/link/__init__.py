"""Record linkage of survey children to the NPD (stage ``link``, run by DfE).

**In:** the survey spine (identifiers of consented children, no answers) and
the NPD spine (DESIGN.md section 4). **Out:** one link per survey record
(``matched`` / ``clerical_review`` / ``unmatched``), the scored candidate
pairs, the fitted Fellegi-Sunter model and the blocking statistics, all
identifiable and kept by DfE (``data/linkage/``).

The method, one module per step: :mod:`~sendlink.link.standardise`,
:mod:`~sendlink.link.blocking`, :mod:`~sendlink.link.compare`,
:mod:`~sendlink.link.model`, :mod:`~sendlink.link.assign`,
:mod:`~sendlink.link.clerical`; baselines for comparison in
:mod:`~sendlink.link.baselines`.
"""

from sendlink.link.baselines import link_ecm, link_rules
from sendlink.link.blocking import blocking_recall
from sendlink.link.cli import link_files
from sendlink.link.engine import LinkResult, link
from sendlink.link.params import LinkageParams
from sendlink.link.params import load as load_params

__all__ = ["LinkResult", "LinkageParams", "blocking_recall", "link", "link_ecm", "link_files", "link_rules", "load_params"]
