"""The evaluation stage: the run checked against the synthetic truth (:func:`run`).

Stage ``evaluate``, run after ``analyse`` by nobody in the story: it exists
because the data are synthetic, so that linkage error and the analysis's
bias can be measured rather than assumed. **In:** the truth
(:mod:`sendlink.evaluate.truth`), DfE's linkage outputs, the research
extracts and ``data/summary.json`` as the analysis wrote it. **Out:**

* ``data/linkage/linkage_quality.json``: the GUILD-style linkage quality
  report (:mod:`sendlink.evaluate.linkage`; counts and rates only);
* ``data/summary.json``, completed with what only the truth can say: the
  linkage ``precision``, ``recall`` and ``f1`` (and ``quality_report``, the
  report's path); each planted effect's ``generating_value`` and
  ``census_value``; and ``evaluation`` (:mod:`sendlink.evaluate.outcomes`).

Without the truth (a real study) there is nothing to evaluate: the stage
says so and writes nothing. With true links but no frame or planted effects
(a world made for linkage alone), only the linkage report is written.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from sendlink.config import Paths
from sendlink.errors import InputError
from sendlink.evaluate import truth
from sendlink.evaluate.linkage import QualityReport, write_linkage_quality
from sendlink.evaluate.outcomes import Evaluation, evaluate_run
from sendlink.io import remove_stale_temporaries, write_json
from sendlink.outcomes.analysis import analyse, read_extract
from sendlink.outcomes.stage import effect_rows, sensitivity_estimates
from sendlink.params import Params, load_params
from sendlink.schema import catalogue

__all__ = ["EvaluateResult", "complete_summary", "run"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluateResult:
    """What the evaluation stage found."""

    quality: QualityReport
    outcomes: Evaluation | None = None
    summary: dict[str, Any] | None = None

    def __str__(self) -> str:
        m = self.quality.main
        text = f"linkage: matched precision {m['precision']:.4f}, recall {m['recall']:.4f}"
        if self.outcomes is not None:
            text += f"; weighted estimates within 99% of the census: {self.outcomes.summary['weighted_within_99']}"
        return text


def _rounded(value: object) -> float | None:
    """As the summary rounds its numbers (4 decimal places; not finite -> null)."""
    value = float(value)  # type: ignore[arg-type]
    return round(value, 4) if np.isfinite(value) else None


def complete_summary(summary: dict[str, Any], quality: QualityReport, outcomes: Evaluation, effects: list[dict[str, Any]]) -> dict[str, Any]:
    """The analysis's summary with the truth's answers filled in (see the module docstring).

    ``effects`` are the summary's effect entries rebuilt with the generating
    and census values (:func:`sendlink.outcomes.stage.effect_rows`); every
    other key of the analysis's summary is kept as it is.
    """
    out = dict(summary)
    out["linkage"] = {**summary["linkage"], **{k: _rounded(quality.main[k]) for k in ("precision", "recall", "f1")},
                      "quality_report": catalogue.LINKAGE_QUALITY.path}
    out["effects"] = effects
    out["evaluation"] = dict(outcomes.summary)
    return out


def run(paths: Paths | None = None, params: Params | None = None, *, baselines: bool = True) -> EvaluateResult | None:
    """Run the evaluation stage (see the module docstring); ``None`` when there is no truth.

    Parameters
    ----------
    paths, params
        The project's, by default.
    baselines
        Also run the rule cascade and recordlinkage's ECM for the linkage
        report (tens of seconds on the default cohort).

    Raises
    ------
    InputError
        If the analysis's summary is missing (run ``sendlink analyse`` first).
    """
    paths = paths or Paths.discover()
    params = params or load_params(paths.params)
    remove_stale_temporaries([catalogue.LINKAGE_QUALITY.at(paths), catalogue.SUMMARY.at(paths)])
    if not truth.available(paths):
        log.info("no synthetic truth in %s: nothing to evaluate", paths.synthetic)
        return None
    quality = write_linkage_quality(paths, params, baselines=baselines)
    if not truth.has_outcome_truth(paths):
        log.info("no frame or planted effects in the truth: the outcome analysis is not checked")
        return EvaluateResult(quality)
    summary_path = catalogue.SUMMARY.at(paths)
    if not summary_path.is_file():
        raise InputError(summary_path, "file not found (the analysis stage writes it: run `sendlink analyse` first)")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    # The analysis is deterministic: fitting it again here gives the estimates the
    # analysis stage published, at full precision, without the researchers' files
    # ever holding anything from the truth.
    extract = read_extract(catalogue.EXTRACT.at(paths))
    analysis = analyse(extract, params.outcomes)
    sensitivity = sensitivity_estimates(paths, params.outcomes, analysis)
    outcomes = evaluate_run(paths, params, extract, analysis, sensitivity)
    effects = effect_rows(analysis.estimates, outcomes.planted, outcomes.census)
    completed = complete_summary(summary, quality, outcomes, effects)
    write_json(completed, summary_path, private=False)  # for everyone (disclosure-checked aggregates)
    result = EvaluateResult(quality, outcomes, completed)
    log.info("%s", result)
    return result
