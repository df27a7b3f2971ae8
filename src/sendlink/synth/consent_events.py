"""Consent decisions and rights requests as fieldwork records them.

At the end of each parent questionnaire the parent is asked two questions:
may we link *your* answers, and *your child's* answers, to your child's NPD
record? A break-off before the questions is recorded as ``no_answer``.
Parents who did not grant at wave 1 and answer wave 2 are asked again. Some
parents later withdraw (by phone, email or letter), at one of three levels
(no further contact, linkage or use). A few young people answering their own
questionnaire at wave 1 or 2 (aged 12-14) tell the study they do not want
their answers linked: a refusal that counts at any age; asked again at 16,
they say no again. At wave 3 (autumn 2025) the young people, all 16 by
then, are asked directly about their own answers. A handful of rights
requests arrive during the study, each with how the requester's identity
was checked; a few have a recorded decision other than "granted on receipt"
(an objection refused, an access request extended).

The draws added with the levels, the young people's early refusals and the
requests' decisions come from streams spawned off the consent stream, so
every draw made before they existed is unchanged.

Consent is lower for EAL, minority-ethnic and more deprived families (as in
every published linkage study) and depends on the parent's answers (unmet
need, how well school suits the child): the latter is what makes an
unweighted analysis of consenters biased.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
from scipy.special import expit

from sendlink.params.synth import ConsentGenParams
from sendlink.synth.calibrate import solve_logistic_intercept

_WITHDRAWAL_SOURCES = np.array(["email", "phone", "letter"], dtype=object)


def _date_between(start: np.ndarray, end: np.datetime64, rng: np.random.Generator) -> np.ndarray:
    start = start.astype("datetime64[D]")
    span = np.maximum((end - start).astype(int), 1)
    return start + (rng.random(len(start)) * span).astype(int).astype("timedelta64[D]")


def consent_model_terms(cases: pd.DataFrame) -> dict[str, np.ndarray]:
    """The characteristics consent depends on (standardised where continuous)."""
    sx = cases["school_experience_w1"].to_numpy(dtype=float)
    return {
        "fsm": cases["fsm"].to_numpy(dtype=float),
        "eal": cases["eal"].to_numpy(dtype=float),
        "minority": cases["minority"].to_numpy(dtype=float),
        "idaci_low": (cases["idaci_decile"].fillna(5).to_numpy() <= 3).astype(float),
        "f2f": (cases["strand"].to_numpy() == "face_to_face").astype(float),
        "unmet_need": cases["unmet_need_w1"].to_numpy(dtype=float),
        "school_experience": (sx - 3.0) / 1.15,
    }


def make_consent_events(
    cases: pd.DataFrame, p: ConsentGenParams, as_of: dt.date, rng: np.random.Generator
) -> pd.DataFrame:
    """Consent events for wave-1 responding households.

    ``cases`` has one row per responding household with ``survey_id``,
    strand, the frame and answer columns used by :func:`consent_model_terms`,
    ``w1_date``, ``w1_breakoff_before_consent``, ``w2_responded``,
    ``w2_date``, ``w3_responded``, ``w3_date``, ``yp_date_of_birth``.
    """
    terms = consent_model_terms(cases)
    x = sum(p.effects.get(k, 0.0) * v for k, v in terms.items())
    reached = ~cases["w1_breakoff_before_consent"].to_numpy()
    c = solve_logistic_intercept(x[reached], p.base_rate)
    prob = expit(c + x)
    n = len(cases)
    sid = cases["survey_id"].to_numpy()
    source_w1 = np.where(cases["strand"].to_numpy() == "web", "web", "face_to_face")
    events: list[pd.DataFrame] = []

    def emit(rows: np.ndarray, person: str, scope: str, decision: np.ndarray | str, date: np.ndarray, contact: str, source: np.ndarray | str,
             level: np.ndarray | None = None) -> None:
        if len(rows) == 0:
            return
        events.append(
            pd.DataFrame(
                {
                    "survey_id": sid[rows],
                    "person": person,
                    "scope": scope,
                    "decision": np.asarray(decision)[rows] if np.ndim(decision) else decision,
                    "event_date": np.asarray(date)[rows] if np.ndim(date) else date,
                    "contact": contact,
                    "source": np.asarray(source)[rows] if np.ndim(source) else source,
                    "withdrawal_level": None if level is None else level[rows],
                }
            )
        )

    # Wave 1.
    w1_date = cases["w1_date"].to_numpy(dtype=object)
    child = np.where(rng.random(n) < prob, "granted", "refused").astype(object)
    agree = rng.random(n) < p.parent_scope_agreement
    parent = np.where(agree, child, np.where(child == "granted", "refused", "granted")).astype(object)
    child[~reached] = "no_answer"
    parent[~reached] = "no_answer"
    all_rows = np.arange(n)
    emit(all_rows, "parent", "child_answers", child, w1_date, "wave1", source_w1)
    emit(all_rows, "parent", "parent_answers", parent, w1_date, "wave1", source_w1)

    # Wave 2: those without a grant are asked again.
    grant_date = {"child_answers": w1_date.copy(), "parent_answers": w1_date.copy()}
    if p.asked_again_wave2:
        w2 = cases["w2_responded"].to_numpy()
        w2_date = cases["w2_date"].to_numpy(dtype=object)
        for scope, current in (("child_answers", child), ("parent_answers", parent)):
            ask = np.flatnonzero(w2 & (current != "granted"))
            # Refusers rarely change their mind; non-answerers decide afresh.
            p2 = np.where(current[ask] == "refused", prob[ask] * 0.25, prob[ask])
            decision = np.where(rng.random(len(ask)) < p2, "granted", "refused").astype(object)
            emit(ask, "parent", scope, _spread(decision, ask, n), w2_date, "wave2", source_w1)
            current[ask] = decision
            grant_date[scope][ask] = w2_date[ask]

    # Withdrawals by parents, on a date between their grant and as_of.
    end = np.datetime64(as_of) - np.timedelta64(1, "D")
    granted_any = np.flatnonzero((child == "granted") | (parent == "granted"))
    withdraw = granted_any[rng.random(len(granted_any)) < p.withdrawal_rate]
    both = rng.random(len(withdraw)) < 0.6
    wsource = _WITHDRAWAL_SOURCES[rng.integers(0, 3, len(withdraw))]
    latest_grant = np.array(
        [max(d for d in (grant_date["child_answers"][r], grant_date["parent_answers"][r]) if d) for r in withdraw],
        dtype="datetime64[D]",
    )
    wdate = _date_between(latest_grant, end, rng).astype(str).astype(object)
    extra = rng.spawn(1)[0]  # levels, young people's early refusals: draws of their own
    level_codes = np.array(list(p.withdrawal_levels), dtype=object)
    withdrawal_level = np.full(n, None, dtype=object)
    if len(withdraw):
        withdrawal_level[withdraw] = level_codes[extra.choice(len(level_codes), len(withdraw), p=np.array(list(p.withdrawal_levels.values())))]
    for scope, current in (("child_answers", child), ("parent_answers", parent)):
        pick = np.array([current[r] == "granted" and (both[i] or scope == "child_answers") for i, r in enumerate(withdraw)], dtype=bool)
        rows = withdraw[pick]
        emit(rows, "parent", scope, "withdrawn", _spread(wdate[pick], rows, n), "ad_hoc", _spread(wsource[pick], rows, n), withdrawal_level)
        stopped = rows[withdrawal_level[rows] != "no_contact"]  # no further contact leaves the permission in force
        current[stopped] = "withdrawn"

    # Wave 3: young people, 16 by the contact date, decide for themselves.
    w3 = cases["w3_responded"].to_numpy()
    w3_date = cases["w3_date"].to_numpy(dtype=object)
    dob = pd.to_datetime(cases["yp_date_of_birth"]).to_numpy().astype("datetime64[D]")
    sixteen = np.array([_add_years(d, 16) for d in dob], dtype="datetime64[D]")
    asked = np.flatnonzero(w3 & (sixteen <= np.array(w3_date, dtype="datetime64[D]")))
    parent_granted = child[asked] == "granted"
    yp_grant = np.where(parent_granted, rng.random(len(asked)) < p.young_person_agree_with_parent, rng.random(len(asked)) < p.young_person_grant_if_parent_refused)
    decision = np.where(yp_grant, "granted", "refused").astype(object)
    decision[rng.random(len(asked)) < 0.04] = "no_answer"
    source_w3 = np.where(rng.random(n) < 0.8, "web", "face_to_face").astype(object)

    # Young people who said no before 16, at the wave they answered their own questionnaire.
    answered = {w: cases[f"{w}_young_person_responded"].to_numpy(dtype=bool) if f"{w}_young_person_responded" in cases else np.zeros(n, bool) for w in ("w1", "w2")}
    early = np.flatnonzero((answered["w1"] | answered["w2"]) & (extra.random(n) < p.young_person_refusal_under_16))
    at_w1 = answered["w1"][early] & (~answered["w2"][early] | (extra.random(len(early)) < 0.5))
    for wave, contact, rows in (("w1", "wave1", early[at_w1]), ("w2", "wave2", early[~at_w1])):
        emit(rows, "young_person", "child_answers", "refused", cases[f"{wave}_date"].to_numpy(dtype=object), contact, source_w1)
    # Asked again at 16, they say no again.
    decision[np.isin(asked, early)] = "refused"
    emit(asked, "young_person", "child_answers", _spread(decision, asked, n), w3_date, "wave3", source_w3)

    columns = ["survey_id", "person", "scope", "decision", "event_date", "contact", "source", "withdrawal_level"]
    out = pd.concat(events, ignore_index=True) if events else pd.DataFrame(columns=columns)
    out = out.reindex(columns=columns)
    out["withdrawal_level"] = out["withdrawal_level"].astype(object).where(out["withdrawal_level"].notna(), None)
    out = out.sort_values(["event_date", "survey_id", "person", "scope"], kind="stable").reset_index(drop=True)
    out.insert(0, "event_id", [f"CE{i + 1:06d}" for i in range(len(out))])
    return out


def _spread(values: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    full = np.empty(n, dtype=object)
    full[rows] = values
    return full


def _add_years(day: np.datetime64, years: int) -> np.datetime64:
    d = pd.Timestamp(day)
    try:
        return np.datetime64(d.replace(year=d.year + years).date())
    except ValueError:  # 29 February
        return np.datetime64(d.replace(year=d.year + years, day=28).date())


def make_rights_requests(
    cases: pd.DataFrame,
    events: pd.DataFrame,
    reported: pd.DataFrame,
    true_ids: pd.DataFrame,
    counts: dict[str, int],
    as_of: dt.date,
    rng: np.random.Generator,
    *,
    refused_objections: int = 0,
    extended_access: int = 0,
) -> pd.DataFrame:
    """A handful of rights requests received during the study.

    Rectifications correct one field the parent had reported wrongly (the
    corrected value is the true one), so re-linking after rectification is
    a visible improvement. Each case makes at most one request, except that
    a lifted restriction follows a restriction of the same case.
    """
    ids = cases["survey_id"].to_numpy()
    order = rng.permutation(len(ids))
    used = 0
    rows = []
    start = np.datetime64("2023-01-09")
    end = np.datetime64(as_of) - np.timedelta64(30, "D")
    span = int((end - start).astype(int))

    def take() -> int:
        nonlocal used
        i = order[used]
        used += 1
        return int(i)

    def when(after: np.datetime64 = start) -> np.datetime64:
        lo = max(after, start)
        return lo + np.timedelta64(int(rng.integers(1, max(2, int((end - lo).astype(int))))), "D")

    restricted: list[tuple[str, np.datetime64]] = []
    for request in ("access", "erasure", "restriction", "objection"):
        for _ in range(counts.get(request, 0)):
            i = take()
            date = start + np.timedelta64(int(rng.integers(0, span)), "D")
            person = "parent" if rng.random() < 0.8 else "young_person"
            if person == "young_person" and date < _add_years(np.datetime64(true_ids["date_of_birth"].iloc[i]), 16):
                person = "parent"
            rows.append((ids[i], person, request, str(date), ""))
            if request == "restriction":
                restricted.append((ids[i], date))
    for case, date in restricted[: counts.get("lift_restriction", 0)]:
        rows.append((case, "parent", "lift_restriction", str(when(date)), ""))
    # Rectification: pick cases whose report differs from the truth.
    fields = ("surname", "forename", "date_of_birth", "postcode")
    made = 0
    while made < counts.get("rectification", 0) and used < len(order):
        i = take()
        wrong = [f for f in fields if str(reported[f].iloc[i]).strip().lower() != str(true_ids[f].iloc[i]).strip().lower()]
        if not wrong:
            continue
        f = wrong[0]
        rows.append((ids[i], "parent", "rectification", str(start + np.timedelta64(int(rng.integers(0, span)), "D")), json.dumps({f: str(true_ids[f].iloc[i])}, ensure_ascii=False)))
        made += 1
    out = pd.DataFrame(rows, columns=["survey_id", "person", "request", "request_date", "details"])
    out = out.sort_values(["request_date", "survey_id", "request"], kind="stable").reset_index(drop=True)
    out.insert(0, "request_id", [f"RR{i + 1:04d}" for i in range(len(out))])
    return _decisions(out, refused_objections, extended_access, rng.spawn(1)[0])


#: How the identity of a requester was checked, and how often (assumed).
IDENTITY_SHARES = {"contact_details": 0.6, "security_questions": 0.2, "in_person": 0.1, "documents": 0.05, "not_recorded": 0.05}


def _decisions(requests: pd.DataFrame, refused_objections: int, extended_access: int, rng: np.random.Generator) -> pd.DataFrame:
    """Each request's identity check; the last objections refused, the last access requests extended.

    An objection to research done as a public-interest task may be refused
    (UK GDPR Art. 21(6)); an extended access request stays open (one
    outcome per row: the latest decision).
    """
    out = requests.copy()
    codes = np.array(list(IDENTITY_SHARES), dtype=object)
    out["identity_check"] = codes[rng.choice(len(codes), len(out), p=np.array(list(IDENTITY_SHARES.values())))] if len(out) else []
    out["outcome"] = None
    out["outcome_date"] = None
    out["refusal_reason"] = None
    for request, count, outcome, reason in (("objection", refused_objections, "refused", "public_interest_task"),
                                            ("access", extended_access, "extended", None)):
        rows = list(out.index[out["request"] == request][-count:]) if count else []
        for i in rows:
            received = np.datetime64(out.at[i, "request_date"])
            out.at[i, "outcome"] = outcome
            out.at[i, "outcome_date"] = str(received + np.timedelta64(int(rng.integers(5, 26)), "D"))
            out.at[i, "refusal_reason"] = reason
    return out
