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
:mod:`~sendlink.link.baselines`; the pipeline stage in
:mod:`~sendlink.link.stage`; the trained model as Splink settings in
:mod:`~sendlink.link.splink_export`.

Functions to call
-----------------
* :func:`run_linkage_stage` ``(paths, params)``: the pipeline stage.
* :func:`link` ``(survey, npd, params)`` on DataFrames; :func:`link_spines`
  on spines read with :func:`read_spine` (large files); :func:`link_files`
  for two files (``sendlink link``).
* :func:`blocking_recall`, :func:`pass_recall`: blocking against truth
  (evaluation code only).
* :func:`link_rules`, :func:`link_ecm`: the baselines.
"""

from sendlink.link.features import read_spine
from sendlink.link.baselines import link_ecm, link_rules
from sendlink.link.blocking import blocking_recall, pass_recall
from sendlink.link.cli import link_files
from sendlink.link.engine import LinkResult, link, link_spines
from sendlink.link.model import FittedModel
from sendlink.params.linkage import LinkageParams
from sendlink.params.linkage import load as load_params
from sendlink.link.stage import run_linkage_stage

__all__ = [
    "FittedModel", "LinkResult", "LinkageParams", "blocking_recall", "link", "link_ecm", "link_files", "link_rules",
    "link_spines", "load_params", "pass_recall", "read_spine", "run_linkage_stage",
]
