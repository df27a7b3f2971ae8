"""The planted effects: how support and unmet need shape later outcomes.

For the surveyed population (the frame: the SEND Futures cohort's pupils
with SEN in spring 2022) outcomes in Years 10-11 are generated from fully
specified models whose coefficients are in ``params.yaml`` (``synth.outcomes``)
and are written to ``truth/planted_effects.csv``:

* persistent absence in each of Years 10 and 11 (2023/24, 2024/25), as DfE
  defines it per year: logistic, with a pupil effect shared by both years;
* suspensions over Years 10-11: negative binomial (gamma-Poisson);
* KS4 Attainment 8 (2024/25): linear, clipped to 0-90;
* the young person's life satisfaction at wave 2: linear, rounded, 0-10.

Each model includes things the analysis adjusts for (FSM, need, sex,
ethnicity, EAL, IDACI, prior attainment) and things it cannot see: the
pupil's latent need and ability, and how well school suits them (which the
parent reports at wave 1 as ``school_experience`` and which also drives
consent). Effects of unmet need are stronger for FSM families and where
school is going badly, and those families consent less: an unweighted
analysis of consenters therefore sees a smaller effect than the population
has (selection on an effect modifier), which weighting by the inverse
probability of consent, estimated from what the survey knows, corrects.

Because models include unobserved terms and clipping, the coefficient an
analysis model estimates on the whole population (the *census* value,
computed by evaluation code from truth) is the reference for checking, and
the generating coefficients are reported beside it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from scipy.stats import truncnorm

from sendlink.params.synth import OutcomeParams

PA_THRESHOLD = 0.10


def linear_predictor(coefs: dict[str, float], terms: dict[str, np.ndarray]) -> np.ndarray:
    """Sum of coefficient x term over the coefficients that name a term."""
    n = len(next(iter(terms.values())))
    eta = np.full(n, coefs.get("intercept", 0.0))
    for name, value in coefs.items():
        if name in ("intercept", "dispersion", "noise_sd", "pupil_sd"):
            continue
        if name not in terms:
            raise KeyError(f"outcome model term {name!r} has no data")
        eta = eta + value * terms[name]
    return eta


def persistent_absence_sessions(
    coefs: dict[str, float],
    terms: dict[str, np.ndarray],
    possible: np.ndarray,
    rate_logit: np.ndarray,
    rate_sd: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw persistent absence in each year, then sessions missed consistent with it.

    Persistent absence is defined per academic year, as DfE defines it: 10%
    or more of that year's possible sessions missed. ``possible`` and
    ``rate_logit`` are (n, 2): sessions possible and the generic model's
    mean absence rate (logit) in Years 10 and 11. In each year the pupil is
    persistently absent with probability expit(eta + u), where eta is the
    planted linear predictor and u ~ N(0, ``pupil_sd``) a pupil effect shared
    by both years (absence persists: a pupil absent in Year 10 is likelier
    to be absent in Year 11), so the planted coefficients are per year and
    conditional on the pupil. The year's absence rate is then drawn from a
    logit-normal around the year's ``rate_logit``, truncated to the side of
    10% that the draw fell on, so the recorded sessions reproduce the
    outcome exactly.

    Returns
    -------
    (pa, missed)
        Both (n, 2): persistently absent in Year 10 and in Year 11, and the
        sessions missed.
    """
    eta = linear_predictor(coefs, terms)
    n = len(eta)
    u = rng.normal(0.0, coefs.get("pupil_sd", 0.0), n)
    p = expit(eta + u)
    pa = rng.random((n, 2)) < p[:, None]
    cut = np.log(PA_THRESHOLD / (1 - PA_THRESHOLD))
    a = np.where(pa, (cut - rate_logit) / rate_sd, -np.inf)
    b = np.where(pa, np.inf, (cut - rate_logit) / rate_sd)
    z = truncnorm.rvs(a.ravel(), b.ravel(), random_state=rng).reshape(n, 2)
    rate = expit(rate_logit + rate_sd * z)
    bound = np.ceil(PA_THRESHOLD * possible).astype(int)
    missed = np.where(pa, np.ceil(rate * possible), np.floor(rate * possible)).astype(int)
    # Guard the boundary after rounding: PA means >= 10% of the year's possible sessions.
    missed = np.where(pa, np.maximum(missed, bound), np.minimum(missed, bound - 1))
    return pa, np.minimum(missed, possible)


def suspension_counts(coefs: dict[str, float], terms: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Suspensions over Years 10-11 (n, 2): gamma-Poisson total, split evenly."""
    mean = np.exp(linear_predictor(coefs, terms))
    shape = coefs["dispersion"]
    total = rng.poisson(rng.gamma(shape, mean / shape))
    first = rng.binomial(total, 0.5)
    return np.column_stack([first, total - first])


def wellbeing_scores(coefs: dict[str, float], terms: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Life satisfaction 0-10 (integers)."""
    raw = linear_predictor(coefs, terms) + rng.normal(0.0, coefs["noise_sd"], len(next(iter(terms.values()))))
    return np.clip(np.rint(raw), 0, 10).astype(int)


def planted_effects_table(params: OutcomeParams) -> list[dict[str, object]]:
    """One row per planted coefficient on an exposure the analysis studies."""
    outcomes = {
        "persistent_absence": ("persistent absence in a year (Years 10 and 11)", "log-odds"),
        "suspensions": ("suspensions, Years 10-11", "log-rate"),
        "attainment8": ("KS4 Attainment 8", "points"),
        "wellbeing": ("young person's life satisfaction (0-10), wave 2", "points"),
    }
    exposures = {
        "ehc": "EHC plan (vs SEN support) in spring 2022",
        "unmet_need": "parent reports unmet need at wave 1",
        "satisfaction": "parent's satisfaction with support at wave 1 (per point, 1-5)",
        "unmet_need_x_fsm": "extra effect of unmet need in FSM families",
        "unmet_need_x_school_experience": "change in the effect of unmet need per SD of how well school suits the child",
    }
    rows = []
    for outcome, (label, scale) in outcomes.items():
        coefs = getattr(params, outcome)
        for exposure, text in exposures.items():
            if exposure in coefs:
                rows.append(
                    {
                        "effect": f"{outcome}:{exposure}",
                        "outcome": outcome,
                        "outcome_label": label,
                        "exposure": exposure,
                        "exposure_label": text,
                        "scale": scale,
                        "generating_value": float(coefs[exposure]),
                    }
                )
    return rows
