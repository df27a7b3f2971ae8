"""The Fellegi-Sunter model: how much is each kind of agreement worth?

Stage ``link``, run by DfE. **In:** comparison levels of the candidate pairs
and of random pairs. **Out:** a :class:`FittedModel` (m and u per field and
level, the prior, the EM trace and diagnostics) and, for any pairs, their
match weights and probabilities.

The idea
--------
For each field and level, *m* = P(level | the pair is a match) and *u* =
P(level | not a match). A pair's evidence is its **Bayes factor**
``m/u``: agreeing on a date of birth is likely for a match (m = 0.9) and
unlikely by chance (u = 1/5,000), so it multiplies the odds of a match by
4,500, about 12 bits. Assuming fields err independently, the **match weight**
``log2(prior odds) + sum over fields of log2(m/u)`` is the posterior
log-odds, and the **match probability** is ``1 / (1 + 2**-weight)``. A
missing field adds 0: no evidence either way.

Estimating m and u without labels
---------------------------------
*u* is measured directly on **random pairs** (:func:`estimate_u`): almost
every random survey x NPD pair is a non-match, so the share of random pairs
at each level is u. The sample size is a parameter (default 1,000,000
pairs, drawn with the project's seeded generator).

*m* and the prior *lambda* (the chance that a random survey x NPD pair is a
match) are fitted by **EM** on the candidate pairs, with u held fixed:

- E step: each distinct comparison pattern gets the posterior probability
  that it is a match under the current m and lambda.
- M step: m of a level = the expected share of matches at that level (with
  a weak pull towards the starting values: a Dirichlet prior worth
  ``prior_strength`` pseudo-matches, so an unseen level never gets m = 0);
  lambda = expected matches / (survey rows x NPD rows).

Pairs outside the blocks are treated as non-matches (that is what blocking
assumes), so lambda is a *full-population* prior, consistent with u.

The degenerate-solution trap, and how it is avoided
---------------------------------------------------
recordlinkage's ``ECMClassifier`` estimates m *and* u from the blocked
pairs. In pairs blocked on date of birth, *everything* agrees on the date,
so EM can explain the data just as well by calling "same date of birth" the
match class: measured on survey-vs-NPD data, it converged there, F1 near 0.
This model cannot fall into it, by construction and by check:

1. u is fixed from random pairs, so non-matches cannot become "the pairs
   with the same birthday": chance agreement is pinned to its true rate.
2. EM starts from m values that say "matches mostly agree"
   (:data:`sendlink.link.compare.FIELDS`).
3. Only patterns that agree on at least ``min_agreeing_fields`` fields may
   count as matches in the M step (agreeing on one field is what a
   coincidence looks like).
4. Expected matches cannot exceed ``min(survey rows, NPD rows)``: matches
   are one-to-one. lambda is clipped there and the clip is reported.
5. :func:`diagnose` checks the fitted model: every field's strongest level
   must be evidence *for* a match (m > u) and its disagreement level
   evidence *against* (m < u), EM must have converged, expected matches must
   be possible. A failed check marks the model ``degenerate`` (with the
   reasons) and the linker falls back to the starting m values, loudly.

Term-frequency adjustment
-------------------------
Agreeing on "Smith" is weaker evidence than agreeing on "Zbigniew". For
fields marked ``term_frequency``, the ``exact`` level's u is replaced by the
frequency of the agreed value among NPD records (the chance that a random
NPD record carries it), as Splink does; the average over values is the
plain u, so the adjustment redistributes evidence between common and rare
values. EM is fitted without it (on patterns, like Splink) and it is applied
when scoring.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sendlink.link.compare import FIELDS, FieldSpec

__all__ = ["FittedModel", "diagnose", "estimate_u", "fit", "score"]

log = logging.getLogger(__name__)

_FIELD = {f.name: f for f in FIELDS}


@dataclass
class FittedModel:
    """m and u per field and level, the prior, and how the fit went.

    Attributes
    ----------
    fields
        Fields with evidence on both sides (the others are left out).
    m, u
        Per field, an array aligned with the field's levels.
    lam
        Prior probability that a random survey x NPD pair is a match.
    n_survey, n_npd
        Sizes of the two sides when fitted.
    trace
        One row per EM iteration: ``iteration, lam, expected_matches,
        max_change, log_likelihood``.
    converged
        Whether EM met its tolerance before its iteration limit.
    diagnostics
        Results of :func:`diagnose`: ``degenerate`` (bool), ``reasons``
        (list of text) and the numbers behind them.
    """

    fields: list[str]
    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    lam: float
    n_survey: int
    n_npd: int
    trace: pd.DataFrame = field(default_factory=pd.DataFrame)
    converged: bool = False
    diagnostics: dict = field(default_factory=dict)
    fallback: bool = False

    @property
    def expected_matches(self) -> float:
        """Matches among all survey x NPD pairs that EM expects."""
        return float(self.lam * self.n_survey * self.n_npd)

    @property
    def in_npd_rate(self) -> float:
        """pi: the estimated share of survey children who have an NPD record.

        Expected matches / survey records, smoothed as (E + 1) / (n + 2)
        (a uniform prior on pi), so that it is never exactly 0 or 1.
        """
        return float((min(self.expected_matches, self.n_survey) + 1.0) / (self.n_survey + 2.0))

    @property
    def prior_weight(self) -> float:
        """log2 prior odds that a given NPD record is a given survey child.

        A survey child has an NPD record with probability pi and then has
        exactly one of the N records, so before any comparison each record
        is the child with probability pi/N, and *no* record is with 1 - pi:
        odds ``pi / (N (1 - pi))``. (The independent-pairs prior
        ``lam / (1 - lam)``, about ``pi / N``, ignores that a child who is in
        the NPD must be *somewhere* in it, and understates the odds of a
        lone good candidate by the factor ``1 / (1 - pi)``.) With competing
        candidates, see :func:`sendlink.link.assign.competing_probability`.
        """
        pi = self.in_npd_rate
        return float(np.log2(pi) - np.log2(max(self.n_npd, 1)) - np.log2(1.0 - pi))

    def table(self) -> pd.DataFrame:
        """The m/u table: one row per field and level, with its Bayes factor and weight."""
        rows = []
        for name in self.fields:
            spec = _FIELD[name]
            for i, level in enumerate(spec.levels):
                m, u = float(self.m[name][i]), float(self.u[name][i])
                rows.append({"field": name, "level": level, "m": m, "u": u, "bayes_factor": m / u, "weight": float(np.log2(m / u))})
        return pd.DataFrame(rows)


def _level_shares(levels: np.ndarray, n_levels: int, pseudo: float = 0.0) -> np.ndarray:
    present = levels[levels >= 0].astype(np.int64)
    if len(present) == 0:
        return np.full(n_levels, np.nan)
    counts = np.bincount(present, minlength=n_levels).astype(float) + pseudo
    return counts / counts.sum()


def estimate_u(random_levels: pd.DataFrame) -> dict[str, np.ndarray]:
    """u per field and level: level shares among random pairs.

    Half a pseudo-count is added to every level so that a level never seen
    among the random pairs (a day/month swap is rare by chance) gets a small
    u, not zero. A field missing in every random pair gets ``nan``.
    """
    return {spec.name: _level_shares(random_levels[spec.name].to_numpy(), len(spec.levels), pseudo=0.5)
            for spec in FIELDS if spec.name in random_levels}


def _log_bf(patterns: np.ndarray, fields: list[FieldSpec], m: dict, u: dict) -> np.ndarray:
    out = np.zeros(len(patterns))
    for j, spec in enumerate(fields):
        levels = patterns[:, j]
        ratio = np.log(m[spec.name]) - np.log(u[spec.name])
        present = levels >= 0
        out[present] += ratio[levels[present]]
    return out


def _agreeing(patterns: np.ndarray, fields: list[FieldSpec]) -> np.ndarray:
    count = np.zeros(len(patterns), dtype=np.int64)
    for j, spec in enumerate(fields):
        levels = patterns[:, j]
        agrees = np.asarray(spec.agrees)
        present = levels >= 0
        count[present] += agrees[levels[present]]
    return count


def fit(
    levels: pd.DataFrame,
    u: dict[str, np.ndarray],
    n_survey: int,
    n_npd: int,
    *,
    max_iterations: int = 200,
    tolerance: float = 1e-6,
    min_agreeing_fields: int = 2,
    prior_strength: float = 10.0,
) -> FittedModel:
    """Fit m and lambda by EM on the candidate pairs' levels, u fixed.

    Parameters
    ----------
    levels
        Comparison levels of the candidate pairs (:func:`compare`).
    u
        From :func:`estimate_u`.
    n_survey, n_npd
        Sizes of both sides (the full product is the population of pairs).
    max_iterations, tolerance
        EM stops when no m or relative lambda changes by more than
        ``tolerance`` between iterations, or after ``max_iterations``.
    min_agreeing_fields
        A pattern agreeing on fewer fields cannot count as a match in the M
        step (see the module docstring).
    prior_strength
        Weight of the starting m values as pseudo-matches.
    """
    fields = [spec for spec in FIELDS if spec.name in levels and spec.name in u
              and np.isfinite(u[spec.name]).all() and (levels[spec.name].to_numpy() >= 0).any()]
    names = [spec.name for spec in fields]
    max_matches = float(min(n_survey, n_npd))
    population = float(n_survey) * float(n_npd)
    m_start = {spec.name: np.asarray(spec.m_start) / np.sum(spec.m_start) for spec in fields}
    m = {k: v.copy() for k, v in m_start.items()}
    # Start: half the survey records have a match.
    lam = 0.5 * max_matches / population if population > 0 else 0.5
    model = FittedModel(fields=names, m=m, u={k: u[k] for k in names}, lam=lam, n_survey=n_survey, n_npd=n_npd)
    if not fields or levels.empty or population == 0:
        model.converged = True
        model.trace = pd.DataFrame(columns=["iteration", "lam", "expected_matches", "max_change", "log_likelihood"])
        model.diagnostics = diagnose(model)
        return model

    # Distinct patterns via one integer per row (np.unique on rows is slow).
    matrix = levels[names].to_numpy(np.int64) + 1  # missing -1 -> 0
    radix = np.array([len(spec.levels) + 1 for spec in fields], dtype=np.int64)
    place = np.concatenate([np.cumprod(radix[::-1])[::-1][1:], [1]])
    codes, counts = np.unique(matrix @ place, return_counts=True)
    patterns = (codes[:, None] // place) % radix - 1
    counts = counts.astype(float)
    eligible = _agreeing(patterns, fields) >= min_agreeing_fields
    wanted = 0.0
    trace = []
    converged = False
    clipped = False
    for iteration in range(1, max_iterations + 1):
        log_bf = _log_bf(patterns, fields, m, model.u)
        logit = np.log(lam) - np.log1p(-lam) + log_bf
        post = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        # log-likelihood of the blocked pairs under the mixture (monitor only)
        log_u = log_bf * 0.0
        for j, spec in enumerate(fields):
            present = patterns[:, j] >= 0
            log_u[present] += np.log(model.u[spec.name][patterns[present, j]])
        loglik = float(np.sum(counts * (log_u + np.logaddexp(np.log(lam) + log_bf, np.log1p(-lam)))))
        weight = counts * post * eligible
        expected = float(weight.sum())
        new_m = {}
        for j, spec in enumerate(fields):
            lv = patterns[:, j]
            present = lv >= 0
            sums = np.bincount(lv[present], weights=weight[present], minlength=len(spec.levels))
            new_m[spec.name] = (sums + prior_strength * m_start[spec.name]) / (sums.sum() + prior_strength)
        new_lam = expected / population
        wanted = expected
        if expected > max_matches:
            new_lam = max_matches / population
            clipped = True
        new_lam = min(max(new_lam, 1e-300), 1 - 1e-12)
        change = max(max(float(np.max(np.abs(new_m[k] - m[k]))) for k in names), abs(new_lam - lam) / lam)
        m, lam = new_m, new_lam
        trace.append({"iteration": iteration, "lam": lam, "expected_matches": lam * population, "max_change": change, "log_likelihood": loglik})
        if change < tolerance:
            converged = True
            break
    model.m, model.lam, model.converged = m, lam, converged
    model.trace = pd.DataFrame(trace)
    model.diagnostics = diagnose(model, lambda_clipped=clipped, unconstrained_matches=wanted)
    log.info(
        "EM %s after %d iterations: expected matches %.1f of at most %.0f",
        "converged" if converged else "did NOT converge", len(trace), model.expected_matches, max_matches,
    )
    if model.diagnostics["degenerate"]:
        log.warning("EM solution looks degenerate: %s; falling back to the starting m values",
                    "; ".join(model.diagnostics["reasons"]))
        model.m = {k: v.copy() for k, v in m_start.items()}
        model.fallback = True
    return model


#: EM may want somewhat more matches than survey records (posterior mass
#: spread over twins' records); this many times more means the "match"
#: class is not "the same child" (the ECM birthday trap gives many times more).
OVERSHOOT_FACTOR = 1.5


def diagnose(model: FittedModel, *, lambda_clipped: bool = False, unconstrained_matches: float | None = None) -> dict:
    """Check a fitted model for the signs of a degenerate EM solution.

    A model is *degenerate* when any of these fails:

    - every field's strongest level is evidence for a match (m > u) and its
      last (disagreement) level evidence against (m < u): otherwise the
      "match" class is not the class of pairs that agree;
    - EM converged;
    - EM did not want more than :data:`OVERSHOOT_FACTOR` times
      ``min(n_survey, n_npd)`` matches (the one-to-one bound; lambda is
      clipped at the bound itself, which is reported as ``lambda_clipped``).

    Returns
    -------
    dict
        ``degenerate``, ``reasons`` and ``fields`` (per field: strongest
        and weakest level weights).
    """
    reasons = []
    per_field = {}
    for name in model.fields:
        m, u = model.m[name], model.u[name]
        best, worst = float(np.log2(m[0] / u[0])), float(np.log2(m[-1] / u[-1]))
        per_field[name] = {"strongest_level_weight": best, "disagreement_weight": worst}
        if best <= 0:
            reasons.append(f"{name}: agreement is not evidence of a match (weight {best:.2f})")
        if worst >= 0:
            reasons.append(f"{name}: disagreement is not evidence against a match (weight {worst:.2f})")
    if not model.converged:
        reasons.append("EM did not converge")
    max_matches = min(model.n_survey, model.n_npd)
    if unconstrained_matches is not None and unconstrained_matches > OVERSHOOT_FACTOR * max_matches:
        reasons.append(f"EM wanted {unconstrained_matches:.0f} matches, over {OVERSHOOT_FACTOR} times the one-to-one bound of {max_matches}")
    return {
        "degenerate": bool(reasons),
        "reasons": reasons,
        "fields": per_field,
        "expected_matches": model.expected_matches,
        "max_matches": max_matches,
        "lambda_clipped": lambda_clipped,
        "unconstrained_matches": unconstrained_matches,
    }


def score(model: FittedModel, levels: pd.DataFrame, tf_u: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Per-field weights, match weight and pairwise probability for each pair.

    Parameters
    ----------
    model
        A fitted model.
    levels
        Comparison levels of the pairs (:func:`compare`).
    tf_u
        Optional, per term-frequency field, an array aligned with ``levels``:
        the frequency among NPD records of the agreed value, used instead of
        u for pairs at the ``exact`` level (ignored elsewhere).

    Returns
    -------
    DataFrame
        ``w_<field>`` (log2 Bayes factor, 0 when missing) per field,
        ``match_weight`` (their sum plus the prior weight) and
        ``match_probability``.
    """
    out = pd.DataFrame(index=levels.index)
    total = np.full(len(levels), model.prior_weight)
    for name in model.fields:
        lv = levels[name].to_numpy().astype(np.int64)
        table = np.log2(model.m[name]) - np.log2(model.u[name])
        w = np.where(lv >= 0, table[np.clip(lv, 0, None)], 0.0)
        if tf_u is not None and name in tf_u and _FIELD[name].term_frequency:
            exact = lv == 0
            freq = np.asarray(tf_u[name], dtype=float)
            ok = exact & (freq > 0)
            w[ok] = np.log2(model.m[name][0]) - np.log2(freq[ok])
        out[f"w_{name}"] = w
        total += w
    out["match_weight"] = total
    out["match_probability"] = 1.0 / (1.0 + np.exp2(-np.clip(total, -1000, 1000)))
    return out
