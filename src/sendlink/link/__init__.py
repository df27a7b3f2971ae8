"""Record linkage of survey children to the NPD (stage ``link``, run by DfE).

**In:** the survey spine (identifiers of consented children, no answers) and
the NPD spine (docs/DESIGN.md section 4). **Out:** one link per survey record
(``matched`` / ``clerical_review`` / ``unmatched``), the scored candidate
pairs, the fitted Fellegi-Sunter model and the blocking statistics, all
identifiable and kept by DfE (``data/linkage/``).

The method, one module per step: :mod:`~sendlink.link.spine` (reading and
checking the spines), :mod:`~sendlink.link.standardise`,
:mod:`~sendlink.link.features`, :mod:`~sendlink.link.blocking`,
:mod:`~sendlink.link.compare`, :mod:`~sendlink.link.model`,
:mod:`~sendlink.link.assign`, :mod:`~sendlink.link.clerical`; the whole
linker in :mod:`~sendlink.link.engine`; baselines for comparison in
:mod:`~sendlink.link.baselines`; the pipeline stage in
:mod:`~sendlink.link.stage`; the trained model as Splink settings in
:mod:`~sendlink.link.splink_export`; teaching tables in
:mod:`~sendlink.link.explain`. Evaluation against the truth (linkage
quality, blocking recall) is in :mod:`sendlink.evaluate`, not here.

Functions to call
-----------------
* :func:`sendlink.link.stage.run` ``(paths, params)``: the pipeline stage.
* :func:`link` ``(survey, npd, params, seed=...)`` on DataFrames;
  :func:`link_spines` on spines read with :func:`read_spine` (large files);
  :func:`link_files` for two files (``sendlink link``).
* :func:`link_rules`, :func:`link_ecm`: the baselines.
"""

from sendlink.link.baselines import link_ecm, link_rules
from sendlink.link.cli import link_files
from sendlink.link.engine import LinkResult, link, link_spines
from sendlink.link.model import FittedModel
from sendlink.link.spine import read_spine

__all__ = ["FittedModel", "LinkResult", "link", "link_ecm", "link_files", "link_rules", "link_spines", "read_spine"]
