"""The SEND Futures survey in the synthetic world: frame, sample, response, answers.

Design (documented in the data dictionary; rates in ``params.yaml``):

* **Frame**: pupils of the cohort (Year 8 in 2021/22) with SEN provision
  (EHC plan or SEN support) in the spring 2022 census.
* **Strata**: provision (E/K) x seldom-heard (eligible for FSM or from a
  minority ethnic group) = 4 strata. A web strand samples every stratum;
  a face-to-face strand adds seldom-heard pupils. Independent special school
  pupils recruited through local authorities form a fifth stratum: they are
  not in the NPD and can never be linked.
* **Design weights** are 1 / selection probability; **wave 1 weights**
  adjust them for non-response within weighting classes (strand x provision x
  FSM x EAL x minority ethnic group). Non-response depends on those
  characteristics only, so the adjustment removes its bias by construction
  (an assumption of the synthetic world, stated).
* **Answers**: every frame pupil has potential answers (kept in truth, so
  evaluation can compute census values); respondents' answers are observed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from sendlink.params.synth import SurveyParams
from sendlink.synth.calibrate import solve_logistic_intercept
from sendlink.weighting.nonresponse import W1_CLASSES, W2_CLASSES, class_adjusted

EXPECTATIONS = ("university", "college_or_training", "apprenticeship_or_job", "not_sure")


@dataclass
class Frame:
    """Frame pupils with frame variables and latent traits (one row each)."""

    table: pd.DataFrame


def _std(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / (sd if sd > 0 else 1.0)


def _likert(latent: np.ndarray, shares: tuple[float, ...]) -> np.ndarray:
    """Cut a latent score into categories 1..k with the given shares."""
    cuts = np.quantile(latent, np.cumsum(shares)[:-1])
    return (np.searchsorted(cuts, latent, side="right") + 1).astype(int)


def potential_answers(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Answers every frame pupil's family would give (assumed models).

    Unmet need is more common on SEN support, in FSM families, for SEMH and
    ASD needs and for pupils with greater latent need; satisfaction with
    support falls with unmet need and rises with an EHC plan.
    """
    n = len(frame)
    ehc = frame["ehc"].to_numpy()
    fsm = frame["fsm"].to_numpy()
    need = frame["primary_need"].to_numpy()
    z = frame["sen_latent_std"].to_numpy()
    w = frame["school_experience_std"].to_numpy()
    male = frame["male"].to_numpy()
    offsets = -0.7 * ehc + 0.35 * fsm + 0.4 * np.isin(need, ["SEMH", "ASD"]) + 0.35 * z - 0.25 * w
    c = solve_logistic_intercept(offsets, 0.45)
    unmet = rng.random(n) < expit(c + offsets)
    satisfaction = _likert(-1.1 * unmet + 0.45 * ehc + 0.45 * w + rng.normal(0, 1, n), (0.12, 0.15, 0.25, 0.30, 0.18))
    school_experience = _likert(w + rng.normal(0, 0.45, n), (0.08, 0.14, 0.28, 0.32, 0.18))
    support = {}
    base = {"support_teaching_assistant": 0.9, "support_speech_language_therapy": -0.8, "support_educational_psychologist": -1.0,
            "support_counselling": -1.3, "support_occupational_therapy": -1.6, "support_specialist_teacher": -1.2}
    for name, b in base.items():
        extra = 0.0
        if name == "support_speech_language_therapy":
            extra = 1.2 * np.isin(need, ["SLCN", "ASD"])
        elif name == "support_counselling":
            extra = 1.0 * (need == "SEMH")
        elif name == "support_occupational_therapy":
            extra = 1.2 * np.isin(need, ["PD", "MSI", "PMLD"])
        support[name] = rng.random(n) < expit(b + 1.1 * ehc - 0.5 * unmet + extra)
    expectation = np.array(EXPECTATIONS, dtype=object)[
        np.clip(np.searchsorted([-0.6, 0.3, 1.0], -frame["ability_std"].to_numpy() + rng.normal(0, 0.8, n)), 0, 3)
    ]
    # The young person's own answers at wave 1.
    ls1 = np.clip(np.rint(6.9 - 0.5 * unmet + 0.5 * w + 0.3 * male + rng.normal(0, 1.9, n)), 0, 10).astype(int)
    bullied1 = rng.random(n) < expit(0.62 + 0.3 * z - 0.4 * w)
    likes_school = _likert(w + rng.normal(0, 0.6, n), (0.12, 0.16, 0.30, 0.27, 0.15))
    # Wave 2: needs persist; satisfaction moves with them.
    unmet2 = np.where(rng.random(n) < 0.75, unmet, rng.random(n) < 0.45)
    satisfaction2 = _likert(-1.1 * unmet2 + 0.45 * ehc + 0.45 * w + rng.normal(0, 1, n), (0.12, 0.15, 0.25, 0.30, 0.18))
    bullied2 = rng.random(n) < expit(0.35 + 0.3 * z - 0.4 * w)
    return pd.DataFrame(
        {
            "unmet_need_w1": unmet,
            "satisfaction_w1": satisfaction,
            "school_experience_w1": school_experience,
            **{f"{k}_w1": v for k, v in support.items()},
            "expectation_w1": expectation,
            "yp_life_satisfaction_w1": ls1,
            "yp_bullied_w1": bullied1,
            "yp_likes_school_w1": likes_school,
            "unmet_need_w2": unmet2,
            "satisfaction_w2": satisfaction2,
            "yp_bullied_w2": bullied2,
        },
        index=frame.index,
    )


def draw_sample(frame: pd.DataFrame, p: SurveyParams, rng: np.random.Generator) -> pd.DataFrame:
    """Select the issued sample: strand, stratum, selection probability."""
    seldom = frame["seldom_heard"].to_numpy()
    kind = np.where(seldom, "seldom_heard", "core")
    f_web = np.array([p.sampling_fraction_web[k] for k in kind])
    f_f2f = np.array([p.sampling_fraction_f2f.get(k, 0.0) for k in kind])
    u = rng.random(len(frame))
    strand = np.where(u < f_web, "web", np.where(u < f_web + f_f2f, "face_to_face", ""))
    out = frame.assign(
        strand=strand,
        stratum=np.char.add(np.char.add(frame["provision"].to_numpy().astype(str), "_"), kind.astype(str)),
        selection_probability=f_web + f_f2f,
    )
    return out[out["strand"] != ""].copy()


def respond(sample: pd.DataFrame, p: SurveyParams, rng: np.random.Generator) -> pd.DataFrame:
    """Wave 1-3 response, break-off and weights for the issued sample."""
    n = len(sample)
    eff = p.response_effects
    x = (
        eff.get("fsm", 0) * sample["fsm"].to_numpy()
        + eff.get("eal", 0) * sample["eal"].to_numpy()
        + eff.get("minority", 0) * sample["minority"].to_numpy()
        + eff.get("ehc", 0) * sample["ehc"].to_numpy()
    )
    strand = sample["strand"].to_numpy()
    prob = np.zeros(n)
    for name, target in (("web", p.response_web), ("face_to_face", p.response_f2f)):
        rows = strand == name
        if rows.any():
            prob[rows] = expit(solve_logistic_intercept(x[rows], target) + x[rows])
    w1 = rng.random(n) < prob
    breakoff_rate = np.where(strand == "web", p.breakoff_before_consent["web"], p.breakoff_before_consent["face_to_face"])
    breakoff = w1 & (rng.random(n) < breakoff_rate)
    yp1 = w1 & (rng.random(n) < p.young_person_response)
    eff2 = p.wave2_retention_effects
    x2 = (
        eff2.get("fsm", 0) * sample["fsm"].to_numpy()
        + eff2.get("eal", 0) * sample["eal"].to_numpy()
        + eff2.get("ehc", 0) * sample["ehc"].to_numpy()
    )
    c2 = solve_logistic_intercept(x2[w1], p.wave2_retention) if w1.any() else 0.0
    w2 = w1 & (rng.random(n) < expit(c2 + x2))
    yp2 = w2 & (rng.random(n) < p.young_person_response)
    w3 = w1 & (rng.random(n) < np.where(w2, p.wave3_retention, 0.3))
    out = sample.assign(
        w1_responded=w1,
        w1_breakoff_before_consent=breakoff,
        w1_young_person_responded=yp1,
        w2_responded=w2,
        w2_young_person_responded=yp2,
        w3_responded=w3,
        design_weight=1.0 / sample["selection_probability"].to_numpy(),
    )
    # The survey organisation's non-response adjustment (sendlink.weighting.nonresponse,
    # which it redoes in every bootstrap replicate).
    out["w1_weight"] = class_adjusted(out, "design_weight", out["w1_responded"].to_numpy(), W1_CLASSES)
    out["w2_weight"] = class_adjusted(out, "w1_weight", out["w2_young_person_responded"].to_numpy(), W2_CLASSES, within=out["w1_responded"].to_numpy())
    return out


def interview_dates(n: int, window: tuple[dt.date, dt.date], rng: np.random.Generator) -> np.ndarray:
    """Uniform dates within a fieldwork window, ISO text."""
    start = np.datetime64(window[0])
    days = (np.datetime64(window[1]) - start).astype(int) + 1
    return (start + rng.integers(0, days, n).astype("timedelta64[D]")).astype(str).astype(object)
