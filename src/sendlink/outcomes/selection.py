"""Selection into the linked analysis, in its real steps: consent, then linkage.

A respondent reaches a linked analysis in two steps, each with its own
reasons and each modelled where its data are:

1. **Consent** (the survey organisation): permission for the answers the
   analysis uses. The survey organisation holds *every* respondent's
   answers, linked or not, so it fits this model on all of them
   (:func:`~sendlink.weighting.steps.fit_step` on its own holdings, run at the extract stage by
   :mod:`sendlink.deidentify.analysis_support`) and releases each row's
   fitted probability with the extract (``consent_propensity_parent``:
   permission for the parent's answers, among wave-1 respondents;
   ``consent_propensity_both``: permission for the parent's and the
   child's answers, among wave-2 young people), blank where the row's
   answers are withheld, so the number reveals nothing the row does not.
2. **Linkage** (the researchers): among those who consented, was the child
   found in the NPD? Everyone who consented keeps their answers in the
   extract, linked or not, so the researchers can fit this model
   (:func:`link_step`). Linkage fails more for some families (EAL,
   minority-ethnic, those who move) for reasons unrelated to consent, so it
   is a step of its own: folding it into the consent model would mix two
   mechanisms with different predictors.

P(analysable) = P(consent | respondent) x P(linked | consented), and the
analysis weight is the survey weight over that product
(:func:`sendlink.outcomes.weights.analysis_weights`). Both steps are
logistic regressions on what is known about every respondent: the sampling
frame's NPD information, whether they answered wave 2, and the parent's
wave-1 answers (:func:`predictors`). Both assume selection at random given
those: what the survey does not observe cannot be corrected
(:mod:`sendlink.outcomes.sensitivity` asks how much that could matter).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

# The step model is shared with the survey organisation's consent step
# (sendlink.weighting.steps); re-exported here for the analysis.
from sendlink.weighting.glm import fit_params
from sendlink.weighting.predictors import predictors
from sendlink.weighting.steps import CONSENT_STEPS, GRANTED, StepModel, consented, fit_step

__all__ = [
    "CONSENT_STEPS", "GRANTED", "Selection", "StepModel", "consented", "fit_params", "fit_step", "link_step", "predictors",
    "selection",
]

log = logging.getLogger(__name__)


def link_step(extract: pd.DataFrame, population: pd.Series, respondents: str, *, min_category_rows: int = 10,
              weights: np.ndarray | None = None) -> tuple[StepModel, np.ndarray]:
    """The researchers' step: P(linked | consented), fitted on the consented rows of ``population``.

    Returns the model and its probability for every row (NaN outside the
    consented rows of the population).
    """
    rows = population.to_numpy(dtype=bool) & consented(extract, respondents).to_numpy()
    linked = extract["npd_linked"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    p = np.full(len(extract), np.nan)
    if rows.any() and linked[rows].all():
        # Every consenting family was linked: nothing to model, P(linked) = 1.
        log.info("link step: every one of %d consented row(s) is linked; P(linked | consent) = 1", int(rows.sum()))
        step = StepModel("link", ["const"], pd.Series([np.inf], index=["const"]), None, int(rows.sum()), int(rows.sum()))
        p[rows] = 1.0
        return step, p
    step = fit_step("link", extract, rows, linked, min_category_rows=min_category_rows, weights=weights)
    p[rows] = step.predict(extract.loc[rows])
    return step, p


@dataclass
class Selection:
    """The two steps for one analysis population.

    Attributes
    ----------
    respondents
        The population's flag (``p1_responded`` or ``yp2_responded``).
    consent
        P(consent | respondent) per row, as released by the survey
        organisation (NaN where withheld or outside the population).
    link
        P(linked | consented) per row (NaN outside the consented rows).
    link_model
        The fitted link step.
    n_population, n_consented, n_linked
        Respondents, those who consented, and those linked among them.
    """

    respondents: str
    consent: np.ndarray
    link: np.ndarray
    link_model: StepModel
    n_population: int
    n_consented: int
    n_linked: int

    @property
    def probability(self) -> np.ndarray:
        """P(analysable) = P(consent) x P(linked | consent), per row."""
        return self.consent * self.link


def selection(extract: pd.DataFrame, population: pd.Series, respondents: str, *, min_category_rows: int = 10) -> Selection:
    """Both steps for ``population``: the released consent probabilities and a fitted link step.

    Raises
    ------
    ValueError
        If the extract lacks the survey organisation's consent probabilities
        for consented rows of the population (an extract made before the
        consent step was released, or a population the survey organisation
        did not model).
    """
    _, column = CONSENT_STEPS[respondents]
    pop = population.to_numpy(dtype=bool)
    ok = consented(extract, respondents).to_numpy() & pop
    if column not in extract.columns:
        raise ValueError(f"the extract has no {column} (the survey organisation's consent probabilities); rerun `sendlink extract`")
    consent = pd.to_numeric(extract[column], errors="coerce").to_numpy(dtype=float)
    missing = ok & np.isnan(consent)
    if missing.any():
        raise ValueError(f"{int(missing.sum())} consented row(s) of the {respondents} population have no {column}; rerun `sendlink extract`")
    step, link = link_step(extract, population, respondents, min_category_rows=min_category_rows)
    linked = extract["npd_linked"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return Selection(respondents, np.where(pop, consent, np.nan), link, step, int(pop.sum()), int(ok.sum()), int((ok & linked).sum()))
