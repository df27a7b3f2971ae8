"""The Fellegi-Sunter model: how much is each kind of agreement worth?

Stage ``link``, run by DfE. **In:** comparison levels of the candidate pairs
(grouped by survey record) and of random pairs. **Out:** a
:class:`FittedModel` (m and u per field and level, the share of survey
children who have an NPD record, the EM trace and diagnostics) and, for any
pairs, their match weights.

The idea
--------
For each field and level, *m* = P(level | the pair is a match) and *u* =
P(level | not a match). A pair's evidence is its **Bayes factor**
``BF = prod over fields of m/u``: agreeing on a date of birth is likely for a
match (m = 0.9) and unlikely by chance (u = 1/5,000), so it multiplies the
odds of a match by 4,500, about 12 bits. A missing field contributes 1 (no
evidence either way). The **match weight** is ``log2`` of the prior odds
plus ``log2 BF``.

The model of a survey linked to a register (one-to-one)
-------------------------------------------------------
A survey child *i* either has an NPD record (probability **pi**) or not; if
it has, it is exactly one of the N NPD records, a priori any of them. So
before comparing, NPD record *j* is child *i* with probability ``pi / N``,
and *none* is with ``1 - pi``. After comparing with the candidates ``C_i``
(the blocked pairs),

    P(i is j | data) = (pi/N) BF_ij / ((1 - pi) + (pi/N) sum over k in C_i of BF_ik)

(:func:`sendlink.link.assign.competing_probability`). Records outside the
blocks are left out of the sum, which is safe for a reason worth knowing:
summed over all non-matching records, the expected Bayes factor is N times
the probability, under m, of the comparison patterns blocking leaves out,
i.e. their contribution to the denominator is ``pi`` times the share of
true matches blocking would miss (about 0.001 here).

**EM** fits m and pi with u fixed:

- E step: the posterior above for every candidate pair (the same formula
  that is used to decide links, so fitting and deciding agree);
- M step: m of a level = the expected share of matches at that level (with
  a weak pull towards the starting values: a Dirichlet prior worth
  ``prior_strength`` pseudo-matches, so an unseen level never gets m = 0);
  pi = (expected matches + 1) / (survey records + 2) (a uniform prior on pi).

Each iteration never lowers the likelihood of the candidate pairs (the
trace records it). Expected matches cannot exceed the number of survey
records: the one-to-one structure is in the model, not a clip afterwards.

Why the earlier model (a prior per pair) wanted 14,255 matches for 3,372 children
-----------------------------------------------------------------------------------
The textbook mixture treats every candidate pair as an independent draw: a
match with probability lambda, lambda fitted as expected matches / all
pairs. On survey-vs-NPD data this counts, as "matches", every pair that
looks like one *on its own*: a twin or a sibling (same surname, postcode and
school), and above all pupils who merely share a common forename and
surname with the child (the name passes put thousands of them in the
blocks). Two things made those look strong: (1) without term-frequency
adjustment in EM, agreeing on "Oliver Smith" was scored with the *average*
u of a name agreement, though blocked pairs that agree on a name are
mostly pairs agreeing on a *common* name (their u is many times larger);
(2) lambda clipped at the one-to-one bound made pi close to 1, which says
"this child is certainly somewhere in the NPD" and inflates every
candidate's prior odds ``pi / (N (1 - pi))``. EM ended up with a match
class of "same name, different person" (m of date-of-birth *disagreement*
rose to 0.3) and the fit was rejected as degenerate. The fix is the model
above: the prior is per survey child (pi), a child's candidates compete in
the E step, and the E step uses the same term-frequency adjusted u as
scoring.

u from random pairs, never from blocked pairs
----------------------------------------------
*u* is measured on **random pairs** (:func:`estimate_u`): almost every
random survey x NPD pair is a non-match, so the share of random pairs at
each level is u. recordlinkage's ``ECMClassifier`` estimates u from the
*blocked* pairs instead; when everything in a block shares a date of birth,
"same date of birth" explains the data as well as "same child" does, and it
converged there (F1 near 0). Fixing u from random pairs pins chance
agreement to its true rate.

Term-frequency adjustment
-------------------------
Agreeing on "Smith" is weaker evidence than agreeing on "Zbigniew". For
fields marked ``term_frequency``, the ``exact`` level's u is replaced by the
frequency of the agreed value among NPD records (the chance that a random
NPD record carries it), as Splink does; the average over values is the
plain u. It is used in EM and in scoring alike.

Checks (:func:`diagnose`)
-------------------------
A fit is *degenerate* when a field's strongest level is not evidence for a
match (m <= u) or its disagreement level not evidence against (m >= u),
when EM did not converge or the objective it maximises decreased (the log
posterior, since m and pi have priors: the likelihood alone may fall by a
hair while the posterior rises, and an earlier check on the likelihood threw
good fits away), or when the fitted
model, read pair by pair (each pair a match with prior lambda = pi/N, on its
own), calls more than :data:`OVERSHOOT_FACTOR` times as many pairs matches
as there are survey children: the match class would then not be "the same
child". A degenerate fit is reported and the linker falls back to the
starting m values, loudly.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sendlink.link.arrays import unique_inverse
from sendlink.link.compare import FIELDS, Comparison

__all__ = ["OVERSHOOT_FACTOR", "FittedModel", "agreement", "automatic_match", "diagnose", "estimate_u", "fit",
           "household_log_u", "jsonable", "pair_log_u", "score"]

log = logging.getLogger(__name__)

_FIELD = {f.name: f for f in FIELDS}

#: The fitted model, read pair by pair, may call somewhat more pairs matches
#: than there are children (a twin's or sibling's record looks like theirs);
#: this many times more means the match class is not "the same child".
OVERSHOOT_FACTOR = 1.5


@dataclass
class FittedModel:
    """m and u per field and level, pi, and how the fit went.

    Attributes
    ----------
    fields
        Fields with evidence on both sides (the others are left out).
    m, u
        Per field, an array aligned with the field's levels.
    pi
        Estimated share of survey children who have an NPD record.
    n_survey, n_npd
        Sizes of the two sides when fitted.
    trace
        One row per EM iteration: ``iteration, pi, expected_matches,
        max_change, log_likelihood``.
    converged
        Whether EM met its tolerance before its iteration limit.
    diagnostics
        Results of :func:`diagnose`: ``degenerate`` (bool), ``reasons``
        (list of text) and the numbers behind them.
    fallback
        True when the fit was degenerate and the starting m values are used.
    term_frequency
        Whether exact agreement on names and postcodes is scored with the
        agreed value's frequency.
    """

    fields: list[str]
    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    pi: float
    n_survey: int
    n_npd: int
    trace: pd.DataFrame = field(default_factory=pd.DataFrame)
    converged: bool = False
    diagnostics: dict = field(default_factory=dict)
    fallback: bool = False
    term_frequency: bool = True
    m_start: dict[str, np.ndarray] = field(default_factory=dict)
    #: The household correction's two numbers (sendlink.link.household): ``sibling_chance``
    #: (the chance per pupil that a non-matching child is a sibling, e / N) and
    #: ``school_rate`` (siblings at one school); empty when it was not used.
    household: dict = field(default_factory=dict)

    @property
    def lam(self) -> float:
        """lambda: the prior probability that a random survey x NPD pair is a match (pi / N)."""
        return float(self.pi / max(self.n_npd, 1))

    @property
    def expected_matches(self) -> float:
        """Survey children EM expects to have an NPD record (pi x survey records)."""
        return float(self.pi * self.n_survey)

    @property
    def prior_weight(self) -> float:
        """log2 prior odds that a given NPD record is a given survey child: ``pi / (N (1 - pi))``."""
        pi = min(max(self.pi, 1e-12), 1 - 1e-12)
        return float(np.log2(pi) - np.log2(max(self.n_npd, 1)) - np.log2(1.0 - pi))

    @property
    def degenerate(self) -> bool:
        return bool(self.diagnostics.get("degenerate", False))

    def table(self) -> pd.DataFrame:
        """The m/u table: one row per field and level, with its Bayes factor and weight (bits)."""
        rows = []
        for name in self.fields:
            spec = _FIELD[name]
            for i, level in enumerate(spec.labels):
                m, u = float(self.m[name][i]), float(self.u[name][i])
                rows.append({"field": name, "level": level, "m": m, "u": u, "bayes_factor": m / u,
                             "weight": float(np.log2(m / u)),
                             "term_frequency": bool(self.term_frequency and spec.term_frequency and i == 0)})
        return pd.DataFrame(rows, columns=["field", "level", "m", "u", "bayes_factor", "weight", "term_frequency"])

    def summary(self) -> dict:
        """The headline numbers (for logs, notebooks and ``model.json``)."""
        return {
            "pi": self.pi, "lambda": self.lam, "prior_weight": self.prior_weight,
            "expected_matches": self.expected_matches, "n_survey": self.n_survey, "n_npd": self.n_npd,
            "em_iterations": len(self.trace), "converged": self.converged, "degenerate": self.degenerate,
            "reasons": list(self.diagnostics.get("reasons", [])), "fallback": self.fallback,
            "term_frequency": self.term_frequency,
        }

    def to_dict(self) -> dict:
        """Everything needed to rebuild or publish the model, as plain JSON-ready values."""
        return {
            "summary": self.summary(),
            "fields": {name: {"levels": list(_FIELD[name].labels), "m": [float(v) for v in self.m[name]],
                              "u": [float(v) for v in self.u[name]],
                              "m_start": [float(v) for v in self.m_start.get(name, [])],
                              "term_frequency": bool(_FIELD[name].term_frequency and self.term_frequency)}
                       for name in self.fields},
            "em_trace": _records(self.trace),
            "diagnostics": jsonable(self.diagnostics),
            "household": jsonable(self.household),
        }

    def __repr__(self) -> str:
        s = self.summary()
        state = "DEGENERATE (fallback to starting m): " + "; ".join(s["reasons"]) if s["degenerate"] else "not degenerate"
        head = (f"FittedModel: pi={s['pi']:.4f} (expected matches {s['expected_matches']:.1f} of {s['n_survey']} survey records), "
                f"lambda={s['lambda']:.3g}, prior weight {s['prior_weight']:.2f} bits, "
                f"EM {'converged' if s['converged'] else 'did NOT converge'} in {s['em_iterations']} iterations, {state}")
        return head + "\n" + self.table().to_string(index=False, float_format=lambda v: f"{v:.4g}")

    def _repr_html_(self) -> str:
        s = self.summary()
        state = ("<b style='color:#b00'>degenerate</b>: " + html.escape("; ".join(s["reasons"]))) if s["degenerate"] else "not degenerate"
        head = (f"<p><b>Fellegi-Sunter model</b>: pi = {s['pi']:.4f} (expected matches {s['expected_matches']:.1f} "
                f"of {s['n_survey']} survey records); lambda = {s['lambda']:.3g}; prior weight {s['prior_weight']:.2f} bits; "
                f"EM {'converged' if s['converged'] else '<b>did not converge</b>'} after {s['em_iterations']} iterations; "
                f"{state}.</p>")
        return head + self.table().to_html(index=False, float_format=lambda v: f"{v:.4g}")


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: jsonable(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if np.isfinite(v) else None
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    return value


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


def _agreeing(patterns: np.ndarray, fields: list[Comparison]) -> np.ndarray:
    count = np.zeros(len(patterns), dtype=np.int64)
    for j, spec in enumerate(fields):
        levels = patterns[:, j]
        agrees = np.asarray(spec.agrees)
        present = levels >= 0
        count[present] += agrees[levels[present]]
    return count


def _field_log_u(levels: pd.DataFrame, u: dict[str, np.ndarray], name: str, tf: dict[str, np.ndarray] | None) -> np.ndarray:
    """Per pair: ln u of the field's level (the agreed value's frequency at a TF exact level; 0 when missing)."""
    lv = levels[name].to_numpy().astype(np.int64)
    present = lv >= 0
    log_u = np.log(u[name])[np.clip(lv, 0, None)]
    if tf is not None and name in tf and _FIELD[name].term_frequency:
        freq = np.asarray(tf[name], dtype=float)
        ok = (lv == 0) & (freq > 0)
        log_u = np.where(ok, np.log(np.where(ok, freq, 1.0)), log_u)
    return np.where(present, log_u, 0.0)


def household_log_u(levels: pd.DataFrame, u: dict[str, np.ndarray], fields: list[str], tf: dict[str, np.ndarray] | None) -> np.ndarray:
    """Per pair: how much ln u changes when surname, postcode and school are scored as one household.

    For pairs agreeing exactly on surname and full postcode, or on surname
    and a past postcode of the pupil (level ``past`` of ``postcode_history``:
    a former household, whose siblings share the address history)
    (``tf["household"]`` > 0, :func:`sendlink.link.household.household_frequencies`): the chance
    of agreeing on both becomes the product of the two fields' chances plus
    the chance of a sibling (``tf["household"]``), and the school's ln u
    becomes ln of the share of sibling pairs at one school (or of those at
    different schools). Zero for every other pair, and when ``tf``
    has no household frequencies.
    """
    out = np.zeros(len(levels))
    if tf is None or "household" not in tf or not {"surname", "postcode"} <= set(fields):
        return out
    joint = np.asarray(tf["household"], dtype=float)
    now = levels["postcode"].to_numpy() == 0
    # A former household: the survey's postcode is one of the pupil's past ones (siblings share
    # the address history as they share the current address).
    past = (levels["postcode_history"].to_numpy() == 0) if "postcode_history" in fields and "postcode_history" in levels else np.zeros(len(levels), bool)
    hh = (joint > 0) & (levels["surname"].to_numpy() == 0) & (now | past)
    if not hh.any():
        return out
    address = _field_log_u(levels, u, "postcode", tf)
    if past.any():
        address = np.where(now, address, _field_log_u(levels, u, "postcode_history", tf))
    separate = _field_log_u(levels, u, "surname", tf) + address
    # Chance agreement on both = by coincidence (independent) + a sibling (the household excess).
    out[hh] = np.log1p(joint[hh] / np.exp(separate[hh]))
    rate = np.asarray(tf.get("school_in_household", np.full(len(levels), np.nan)), dtype=float)
    if "school" in fields:
        lv = levels["school"].to_numpy().astype(np.int64)
        ok = hh & (lv >= 0) & np.isfinite(rate)
        if ok.any():
            r = np.clip(rate[ok], 1e-3, 1 - 1e-3)
            within = np.where(lv[ok] == 0, np.log(r), np.log1p(-r))
            out[ok] += within - _field_log_u(levels, u, "school", tf)[ok]
    return out


def pair_log_u(levels: pd.DataFrame, u: dict[str, np.ndarray], fields: list[str], tf: dict[str, np.ndarray] | None) -> np.ndarray:
    """Per pair: sum over present fields of ln u, with the agreed value's frequency at TF exact levels,
    and surname, postcode and school scored as one household where they agree (:func:`household_log_u`)."""
    out = np.zeros(len(levels))
    for name in fields:
        out += _field_log_u(levels, u, name, tf)
    return out + household_log_u(levels, u, fields, tf)


def _group_posterior(groups: np.ndarray, n_groups: int, a: np.ndarray, log_none: float) -> tuple[np.ndarray, float]:
    """Posterior of each pair given its group's rivals and the 'none' hypothesis; and the log-likelihood.

    ``a`` is ln((pi/N) BF) per pair; ``log_none`` = ln(1 - pi); ``groups``
    must be sorted (pairs of one survey record next to each other).
    """
    top = np.full(n_groups, log_none)
    if len(a):
        starts = np.flatnonzero(np.concatenate([[True], groups[1:] != groups[:-1]]))
        top[groups[starts]] = np.maximum(np.maximum.reduceat(a, starts), log_none)
    total = np.bincount(groups, weights=np.exp(a - top[groups]), minlength=n_groups) + np.exp(log_none - top)
    log_denominator = top + np.log(total)
    post = np.exp(a - log_denominator[groups])
    return post, float(log_denominator.sum())


def fit(
    levels: pd.DataFrame,
    u: dict[str, np.ndarray],
    n_survey: int,
    n_npd: int,
    *,
    survey_rows: np.ndarray,
    tf: dict[str, np.ndarray] | None = None,
    max_iterations: int = 200,
    tolerance: float = 1e-6,
    min_agreeing_fields: int = 2,
    prior_strength: float = 10.0,
) -> FittedModel:
    """Fit m and pi by EM on the candidate pairs, u fixed (see the module docstring).

    Parameters
    ----------
    levels
        Comparison levels of the candidate pairs (:func:`sendlink.link.compare.compare`).
    u
        From :func:`estimate_u`.
    n_survey, n_npd
        Sizes of both sides.
    survey_rows
        The survey record of each pair (pairs of one record compete).
    tf
        Per term-frequency field, the frequency among NPD records of each
        pair's NPD value (used at the exact level); ``None`` for no TF.
    max_iterations, tolerance
        EM stops when no m and not pi changes by more than ``tolerance``
        between iterations, or after ``max_iterations``.
    min_agreeing_fields
        A pattern agreeing on fewer fields does not count towards m and pi
        in the M step (agreeing on one field is what a coincidence looks like).
    prior_strength
        Weight of the starting m values as pseudo-matches.
    """
    fields = [spec for spec in FIELDS if spec.name in levels and spec.name in u
              and np.isfinite(u[spec.name]).all() and (levels[spec.name].to_numpy() >= 0).any()]
    names = [spec.name for spec in fields]
    m_start = {spec.name: np.asarray(spec.m_start) / np.sum(spec.m_start) for spec in FIELDS}
    m = {k: m_start[k].copy() for k in names}
    pi = 0.5
    model = FittedModel(fields=names, m=m, u={k: np.asarray(u[k], dtype=float) for k in names}, pi=pi, n_survey=n_survey,
                        n_npd=n_npd, term_frequency=tf is not None, m_start={k: m_start[k] for k in names})
    columns = ["iteration", "pi", "expected_matches", "max_change", "log_likelihood", "log_posterior"]
    if not fields or levels.empty or n_survey == 0 or n_npd == 0:
        model.converged = True
        model.trace = pd.DataFrame(columns=columns)
        model.diagnostics = diagnose(model)
        return model

    # Pairs of one survey record next to each other (the group sums need it).
    order = np.argsort(np.asarray(survey_rows, dtype=np.int64), kind="stable")
    levels = levels.iloc[order].reset_index(drop=True)
    survey_rows = np.asarray(survey_rows, dtype=np.int64)[order]
    tf = {k: np.asarray(v)[order] for k, v in tf.items()} if tf is not None else None
    groups, _, group_of = unique_inverse(survey_rows)
    n_groups = len(groups)
    # Distinct patterns via one integer per row (np.unique on rows is slow).
    matrix = levels[names].to_numpy(np.int64) + 1  # missing -1 -> 0
    radix = np.array([len(spec.levels) + 1 for spec in fields], dtype=np.int64)
    place = np.concatenate([np.cumprod(radix[::-1])[::-1][1:], [1]])
    codes, _, pattern_of = unique_inverse(matrix @ place)
    patterns = (codes[:, None] // place) % radix - 1
    eligible = (_agreeing(patterns, fields) >= min_agreeing_fields).astype(float)
    # ln BF = sum ln m (depends on the pattern only) - sum ln u (fixed per pair: TF).
    minus_log_u = -pair_log_u(levels, model.u, names, tf)
    log_n = np.log(float(n_npd))

    def log_m_patterns(m_now: dict[str, np.ndarray]) -> np.ndarray:
        out = np.zeros(len(patterns))
        for j, spec in enumerate(fields):
            lv = patterns[:, j]
            present = lv >= 0
            out[present] += np.log(m_now[spec.name])[lv[present]]
        return out

    trace = []
    converged = False
    for iteration in range(1, max_iterations + 1):
        a = np.log(pi) - log_n + log_m_patterns(m)[pattern_of] + minus_log_u
        post, loglik = _group_posterior(group_of, n_groups, a, float(np.log1p(-pi)))
        # What this EM maximises is the posterior, not the likelihood: the m's have a Dirichlet
        # prior (prior_strength pseudo-matches at m_start) and pi a Beta(2, 2) one (the +1/+2).
        # The likelihood alone may fall by a hair while the posterior rises.
        log_prior = prior_strength * sum(float(np.sum(m_start[k] * np.log(m[k]))) for k in names) + np.log(pi) + np.log1p(-pi)
        mass = np.bincount(pattern_of, weights=post, minlength=len(patterns)) * eligible
        expected = float(mass.sum())
        new_m = {}
        for j, spec in enumerate(fields):
            lv = patterns[:, j]
            present = lv >= 0
            sums = np.bincount(lv[present], weights=mass[present], minlength=len(spec.levels))
            new_m[spec.name] = (sums + prior_strength * m_start[spec.name]) / (sums.sum() + prior_strength)
        new_pi = (expected + 1.0) / (n_survey + 2.0)
        change = max(max(float(np.max(np.abs(new_m[k] - m[k]))) for k in names), abs(new_pi - pi))
        m, pi = new_m, new_pi
        trace.append({"iteration": iteration, "pi": pi, "expected_matches": expected, "max_change": change, "log_likelihood": loglik,
                      "log_posterior": loglik + log_prior})
        if change < tolerance:
            converged = True
            break
    model.m, model.pi, model.converged = m, pi, converged
    model.trace = pd.DataFrame(trace, columns=columns)
    # The fitted model read pair by pair, each pair on its own with prior lambda = pi/N.
    a = np.log(pi) - log_n + log_m_patterns(m)[pattern_of] + minus_log_u
    lam = pi / n_npd
    independent = float(np.sum(1.0 / (1.0 + np.exp(-np.clip(a - np.log1p(-lam), -700, 700)))))
    model.diagnostics = diagnose(model, independent_matches=independent)
    log.info("EM %s after %d iterations: pi %.4f, expected matches %.1f of %d survey records",
             "converged" if converged else "did NOT converge", len(trace), pi, model.expected_matches, n_survey)
    if model.diagnostics["degenerate"]:
        reasons = model.diagnostics["reasons"]
        hint = ""
        if len(reasons) == 1 and independent > OVERSHOOT_FACTOR * n_survey:
            # The overshoot alone has a second cause: records that share a household
            # (siblings agree on surname, postcode and school) look like matches pair by pair.
            hint = (" (an overshoot alone can also mean many records share a household, as siblings do: "
                    "the starting values are then the safe choice, not a sign of bad data)")
        log.warning("EM solution looks degenerate: %s; falling back to the starting m values%s", "; ".join(reasons), hint)
        model.m = {k: m_start[k].copy() for k in names}
        model.fallback = True
    return model


def diagnose(model: FittedModel, *, independent_matches: float | None = None) -> dict:
    """Check a fitted model for the signs of a degenerate EM solution.

    A model is *degenerate* when any of these fails:

    - every field's strongest level is evidence for a match (m > u) and its
      disagreement (the levels that do not count as agreement, together)
      evidence against (m < u): otherwise the
      "match" class is not the class of pairs that agree;
    - EM converged, and its objective never decreased: the log posterior
      when the trace has it (EM guarantees that; a decrease means a bug or
      numerical trouble), else the log-likelihood;
    - the fitted model read pair by pair (``independent_matches``: the sum
      over candidate pairs of the probability that the pair is a match
      on its own, with prior lambda = pi/N) does not call more than
      :data:`OVERSHOOT_FACTOR` times ``n_survey`` pairs matches (each
      child is at most one record).

    Returns
    -------
    dict
        ``degenerate``, ``reasons``, ``fields`` (per field: strongest and
        disagreement level weights) and the numbers behind the checks.
    """
    reasons = []
    per_field = {}
    for name in model.fields:
        m, u = model.m[name], model.u[name]
        # Disagreement is every level that does not count as agreement, taken together
        # (the date of birth has two: ``different`` and ``far``).
        apart = ~np.asarray(_FIELD[name].agrees)
        best, worst = float(np.log2(m[0] / u[0])), float(np.log2(m[apart].sum() / u[apart].sum()))
        per_field[name] = {"strongest_level_weight": best, "disagreement_weight": worst}
        if best <= 0:
            reasons.append(f"{name}: agreement is not evidence of a match (weight {best:.2f})")
        if worst >= 0:
            reasons.append(f"{name}: disagreement is not evidence against a match (weight {worst:.2f})")
    if not model.converged:
        reasons.append("EM did not converge")
    # EM never lowers the objective it maximises: the log posterior when the trace has it
    # (the m's and pi have priors), else the log-likelihood.
    objective = "log_posterior" if "log_posterior" in model.trace and model.trace["log_posterior"].notna().all() else "log_likelihood"
    if len(model.trace) > 1 and objective in model.trace:
        steps = np.diff(model.trace[objective].to_numpy(float))
        scale = max(1.0, float(np.abs(model.trace[objective]).max()))
        if (steps < -1e-7 * scale).any():
            reasons.append(f"EM {objective.replace('_', '-')} decreased")
    max_matches = model.n_survey  # each survey child is at most one NPD record
    if independent_matches is not None and independent_matches > OVERSHOOT_FACTOR * max_matches:
        reasons.append(f"read pair by pair, the model calls {independent_matches:.0f} pairs matches, over "
                       f"{OVERSHOOT_FACTOR} times the one-to-one bound of {max_matches}")
    return {
        "degenerate": bool(reasons),
        "reasons": reasons,
        "fields": per_field,
        "pi": model.pi,
        "expected_matches": model.expected_matches,
        "max_matches": max_matches,
        "independent_matches": independent_matches,
    }


#: A field's agreement also counts when its history does (a past postcode, a past school).
_HISTORY_OF = {"postcode": "postcode_history", "school": "school_history"}


#: For the automatic-match rule, an address agrees at these levels only: a postcode district
#: holds thousands of households, and a namesake at the same school usually lives in it.
ADDRESS_LEVELS = ("unit", "sector", "typo")


def agreement(levels: pd.DataFrame, name: str, *, address: bool = False) -> np.ndarray:
    """Per pair: does ``name`` agree (a level that counts as agreement), or, for postcode and school, its history?

    With ``address``, the postcode agrees only at :data:`ADDRESS_LEVELS` (or a past postcode).
    """
    out = np.zeros(len(levels), dtype=bool)
    for field_name in (name, _HISTORY_OF.get(name)):
        if field_name is None or field_name not in levels:
            continue
        lv = levels[field_name].to_numpy().astype(np.int64)
        agrees = np.asarray(_FIELD[field_name].agrees)
        if address and field_name == "postcode":
            agrees = np.isin(_FIELD[field_name].labels, ADDRESS_LEVELS)
        out |= (lv >= 0) & agrees[np.clip(lv, 0, None)]
    return out


def automatic_match(levels: pd.DataFrame, requires: list[str] | tuple[str, ...], min_agreeing: int) -> np.ndarray:
    """Per pair: may the model link it without a person (else clerical review at best)?

    Yes when the date of birth agrees (exactly, day and month swapped, or one
    part off, or a 1 January placeholder of the right year). Without that
    (missing, or disagreeing), the weights of the other fields can still add
    up to a high probability on evidence a stranger can share: a namesake at
    the same school agrees on forename, surname, sex and school, and only
    the date of birth and the address tell them apart. So the pair is linked
    automatically only if every field in ``requires`` agrees (the project:
    the postcode, current or a past one from the history) and at least
    ``min_agreeing`` fields agree in all (a field and its history count
    once). Not a hard rule about the data: the pair keeps its probability
    and a reviewer sees it.

    A first version also required the forename (against siblings, who share
    surname, address and school); on FEBRL4, whose records have no school
    and whose forenames are often corrupted, it sent 2% of true matches to
    review, and siblings are better told apart by their dates of birth (the
    ``far`` level) and forenames, which the weights already count.
    """
    dob = agreement(levels, "date_of_birth")
    names = ["forename", "surname", "postcode", "sex", "school"]
    agree = {name: agreement(levels, name, address=True) for name in names}
    ok = np.ones(len(levels), dtype=bool)
    for name in requires:
        ok &= agree[name]
    count = np.sum([agree[name] for name in names], axis=0) if len(levels) else np.zeros(0)
    return dob | (ok & (count >= min_agreeing))


def score(model: FittedModel, levels: pd.DataFrame, tf: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Per-field weights, match weight and pairwise probability for each pair.

    Parameters
    ----------
    model
        A fitted model.
    levels
        Comparison levels of the pairs (:func:`compare`).
    tf
        Optional, per term-frequency field, an array aligned with ``levels``:
        the frequency among NPD records of the agreed value, used instead of
        u for pairs at the ``exact`` level (ignored elsewhere).

    Returns
    -------
    DataFrame
        ``w_<field>`` (log2 Bayes factor, 0 when missing) per field,
        ``w_household`` (the household correction, 0 for most pairs:
        :func:`household_log_u`), ``match_weight`` (their sum plus the prior
        weight) and
        ``match_probability`` (the pair on its own, before its rivals are
        accounted for: :func:`sendlink.link.assign.competing_probability`).
    """
    out = pd.DataFrame(index=levels.index)
    total = np.full(len(levels), model.prior_weight)
    for name in model.fields:
        lv = levels[name].to_numpy().astype(np.int64)
        table = np.log2(model.m[name]) - np.log2(model.u[name])
        w = np.where(lv >= 0, table[np.clip(lv, 0, None)], 0.0)
        if tf is not None and name in tf and _FIELD[name].term_frequency:
            exact = lv == 0
            freq = np.asarray(tf[name], dtype=float)
            ok = exact & (freq > 0)
            w[ok] = np.log2(model.m[name][0]) - np.log2(freq[ok])
        out[f"w_{name}"] = w
        total += w
    # Surname, postcode and school of one household: scored jointly (sendlink.link.household).
    out["w_household"] = -household_log_u(levels, model.u, model.fields, tf) / np.log(2.0)
    total += out["w_household"].to_numpy()
    out["match_weight"] = total
    out["match_probability"] = 1.0 / (1.0 + np.exp2(-np.clip(total, -1000, 1000)))
    return out
