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

from sendlink.link.blocking import blocking_recall
from sendlink.link.engine import LinkResult, link
from sendlink.link.params import LinkageParams

__all__ = ["LinkResult", "LinkageParams", "blocking_recall", "link"]
