"""Consent rates and consent bias, for notebook 02.

Who consents is not random: if consenters differ from non-consenters on
what the sampling frame and the survey know, an analysis of linked cases
alone is biased. These functions put the consent status next to the frame
variables and the parent's wave-1 answers and compare the two groups.

Two kinds of function:

* raw (:func:`consent_rates`, :func:`consent_bias`, :func:`status_over_time`):
  unrounded counts and shares, for analysis; anything published from them
  must go through ``sendlink.disclosure`` first;
* protected (:func:`overall_rates`, :func:`rate_table`, :func:`bias_table`):
  the same comparisons as :class:`~sendlink.disclosure.ProtectedTable`
  objects, ready to publish. Each characteristic's table is protected on
  its own (:func:`sendlink.disclosure.protect_percentages`) and the tables
  are then stacked: they share only their totals (everyone who was asked),
  and no characteristic here is nested in another, so no cell can be worked
  out by differencing two of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sendlink import disclosure
from sendlink.consent import rules as R
from sendlink.disclosure import DisclosureParams, ProtectedTable, Status

#: Characteristics compared between consenters and non-consenters: column -> label.
FRAME_VARIABLES = {
    "frame_sen_provision": "SEN provision",
    "frame_primary_need": "primary need",
    "frame_fsm": "FSM eligible",
    "frame_eal": "EAL",
    "frame_ethnicity": "ethnicity",
    "frame_idaci_decile": "IDACI decile",
}
ANSWER_VARIABLES = {
    "unmet_need": "unmet need (parent, wave 1)",
    "school_experience": "school experience (parent, wave 1)",
}

#: Readable names of some levels (after :func:`levels` has made them text).
LEVEL_LABELS = {
    "frame_sen_provision": {"E": "EHC plan", "K": "SEN support"},
    "frame_idaci_decile": {"1": "1 (most deprived)", "10": "10 (least deprived)"},
    "school_experience": {"1": "1 (very poor)", "5": "5 (very good)"},
}

#: Outcomes a rate can be computed for.
OUTCOMES = {
    "consent_any": "permission for either scope (as of the date)",
    "consent_parent": "permission to link the parent's answers",
    "consent_child": "permission to link the child's answers",
    "sent_for_linkage": "sent for linkage (permission, not restricted, objected or erased)",
}

#: The two groups :func:`bias_table` compares.
GROUPS = ("consenters", "non-consenters")

MISSING = "missing"


def consent_table(status: pd.DataFrame, sample: pd.DataFrame, parent_w1: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per wave-1 responding household: consent outcomes and characteristics.

    Respondents are those with ``w1_responded`` in the sample, or, if the
    sample lacks it, those asked the consent question. Erased cases are not
    in ``status`` and so not here. Keeps the status's consent columns (and
    ``child_scope_governed_by`` if present) and the sample's columns; the
    parent's wave-1 answers named in :data:`ANSWER_VARIABLES` are added when
    ``parent_w1`` is given.
    """
    keep = ["survey_id", "consent_parent_answers", "consent_child_answers", "child_scope_governed_by", "send_for_linkage"]
    table = status[[c for c in keep if c in status.columns]].merge(sample, on="survey_id", how="left")
    if "w1_responded" in table.columns:
        table = table[table["w1_responded"].fillna(False).astype(bool)]
    else:
        table = table[table["consent_parent_answers"] != "not_asked"]
    if parent_w1 is not None:
        keep = ["survey_id", *[c for c in ANSWER_VARIABLES if c in parent_w1.columns]]
        table = table.merge(parent_w1[keep], on="survey_id", how="left")
    table = table.assign(
        consent_parent=table["consent_parent_answers"] == "granted",
        consent_child=table["consent_child_answers"] == "granted",
        sent_for_linkage=table["send_for_linkage"].astype(bool),
    )
    table["consent_any"] = table["consent_parent"] | table["consent_child"]
    return table.sort_values("survey_id").reset_index(drop=True)


def _level(values: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(values) and ((values.dropna() % 1) == 0).all():
        values = values.astype("Int64")  # 2.0 -> "2"
    return values.astype("string").fillna("missing")


def levels(values: pd.Series, labels: Mapping[str, str] | None = None) -> pd.Series:
    """A characteristic as ordered text categories, for published tables.

    Booleans become ``no`` / ``yes``; numbers are ordered as numbers (so
    decile 10 comes after 9, not after 1); text is ordered alphabetically;
    a missing value is the level ``missing``, last. ``labels`` renames
    levels (keys are the text before renaming, e.g. ``"E"`` or ``"1"``).

    Examples
    --------
    >>> list(levels(pd.Series([10, 2, None], dtype="Int64")).cat.categories)
    ['2', '10', 'missing']
    """
    present = values.dropna()
    if pd.api.types.is_bool_dtype(values) or (len(present) and present.map(type).isin([bool, np.bool_]).all()):
        order = [v for v in (False, True) if (present == v).any()]
        text = {False: "no", True: "yes"}
    elif pd.api.types.is_numeric_dtype(values):
        order = sorted(present.unique())
        text = {v: (str(int(v)) if float(v).is_integer() else str(v)) for v in order}
    else:
        order = sorted(present.astype(str).unique())
        text = {v: v for v in order}
        values = values.astype(object).where(values.isna(), values.astype(str))
    names = {v: (labels or {}).get(text[v], text[v]) for v in order}
    out = values.astype(object).map(names).where(values.notna(), MISSING)
    categories = [names[v] for v in order] + ([MISSING] if values.isna().any() else [])
    return pd.Series(pd.Categorical(out, categories=categories, ordered=True), index=values.index, name=values.name)


def consent_rates(table: pd.DataFrame, by: str | None = None, *, outcome: str = "consent_any", weight: str | None = None) -> pd.DataFrame:
    """Share with ``outcome`` overall or by ``by``: ``n``, ``consenting``, ``rate``.

    With ``weight`` (e.g. ``w1_weight``) the rate is weighted; ``n`` and
    ``consenting`` stay unweighted counts. Raw: protect before publishing.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {list(OUTCOMES)}, got {outcome!r}")
    groups = _level(table[by]) if by else pd.Series("all", index=table.index)
    w = table[weight].astype(float) if weight else pd.Series(1.0, index=table.index)
    y = table[outcome].astype(bool)
    frame = pd.DataFrame({"group": groups, "y": y, "w": w, "wy": w * y})
    out = frame.groupby("group", sort=True).agg(n=("y", "size"), consenting=("y", "sum"), w=("w", "sum"), wy=("wy", "sum"))
    out["rate"] = out["wy"] / out["w"]
    out = out.drop(columns=["w", "wy"]).reset_index().rename(columns={"group": by or "group"})
    return out


def consent_bias(
    table: pd.DataFrame,
    variables: Mapping[str, str] | Sequence[str] | None = None,
    *,
    outcome: str = "consent_any",
) -> pd.DataFrame:
    """Compare consenters with non-consenters on each characteristic.

    One row per variable and level: the share of consenters and of
    non-consenters at that level, and the difference in percentage points
    (consenters minus non-consenters). Missing values are a level of their
    own. Raw: :func:`bias_table` is the version to publish.
    """
    labels = _variables(table, variables)
    y = table[outcome].astype(bool)
    rows = []
    for col, label in labels.items():
        level = _level(table[col])
        for value in sorted(level.unique()):
            at = level == value
            rows.append(
                {
                    "variable": label,
                    "level": value,
                    "share_consenters": at[y].mean() if y.any() else float("nan"),
                    "share_non_consenters": at[~y].mean() if (~y).any() else float("nan"),
                }
            )
    out = pd.DataFrame(rows, columns=["variable", "level", "share_consenters", "share_non_consenters"])
    out["difference_pp"] = 100 * (out["share_consenters"] - out["share_non_consenters"])
    return out


def _variables(table: pd.DataFrame, variables: Mapping[str, str] | Sequence[str] | None) -> dict[str, str]:
    """Column -> label; by default every known characteristic the table has."""
    if variables is None:
        return {k: v for k, v in {**FRAME_VARIABLES, **ANSWER_VARIABLES}.items() if k in table.columns}
    labels = dict(variables) if isinstance(variables, Mapping) else {v: v for v in variables}
    missing = [c for c in labels if c not in table.columns]
    if missing:
        raise KeyError(f"the consent table has no column(s) {missing}")
    return labels


def _check_outcome(outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {list(OUTCOMES)}, got {outcome!r}")


def _yes(table: pd.DataFrame, outcome: str) -> pd.Series:
    """The outcome as a two-category column, so both categories always exist."""
    return pd.Series(pd.Categorical(table[outcome].astype(bool), categories=[False, True]), index=table.index)


# --- protected tables -----------------------------------------------------------------------


#: A gap takes the status of the worse of its two percentages (later is worse).
_STATUS_RANK = {s.value: i for i, s in enumerate([Status.OK, Status.ROUNDED, Status.NOT_APPLICABLE, Status.UNAVAILABLE, Status.SECONDARY, Status.PRIMARY])}
_SYMBOL = {
    Status.NOT_APPLICABLE.value: disclosure.NOT_APPLICABLE,
    Status.UNAVAILABLE.value: disclosure.UNAVAILABLE,
    Status.SECONDARY.value: disclosure.SUPPRESSED,
    Status.PRIMARY.value: disclosure.SUPPRESSED,
}


def _number(value: float, decimals: int) -> str:
    """As the disclosure tables print a percentage: fixed decimals, no ``-0.0``."""
    text = f"{value:,.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text[1:].replace(",", "")) == 0 else text


def _stack(blocks: Mapping[str, ProtectedTable], names: Sequence[str], *, flatten: bool = False) -> ProtectedTable:
    """Protected tables one under the other, under a first index level naming each block.

    With ``flatten`` each block must have one row, and the block names are
    the index. The footnote keeps each distinct line once, in order.
    """
    parts = {k: v for k, v in blocks.items()}
    first = next(iter(parts.values()))

    def join(attr: str) -> pd.DataFrame:
        frames = {k: getattr(t, attr) for k, t in parts.items()}
        if flatten:
            if any(len(f) != 1 for f in frames.values()):
                raise ValueError("flatten needs one row per block")
            out = pd.concat([f.reset_index(drop=True) for f in frames.values()], ignore_index=True)
            out.index = pd.Index(list(frames), name=names[0], dtype=object)
            return out
        out = pd.concat(frames, names=list(names))
        return out

    lines: list[str] = []
    for table in parts.values():
        lines += [line for line in table.footnote.splitlines() if line not in lines]
    return ProtectedTable(
        display=join("display"),
        status=join("status"),
        values=join("values"),
        footnote="\n".join(lines),
        kind=first.kind,
        params=first.params,
        total_label=None,
        count_columns=first.count_columns,
    )


def overall_rates(table: pd.DataFrame, params: DisclosureParams, outcomes: Mapping[str, str] | None = None) -> ProtectedTable:
    """The share of respondents with each outcome, protected: one row per outcome.

    Columns ``n`` (respondents, rounded) and ``%`` (with the outcome).
    ``params`` are the disclosure rules (``disclosure:`` of ``params.yaml``);
    ``outcomes`` maps outcome -> row label (default
    :data:`OUTCOMES`).
    """
    outcomes = dict(outcomes or OUTCOMES)
    blocks = {}
    for outcome, label in outcomes.items():
        _check_outcome(outcome)
        frame = pd.DataFrame({"all": "all", "y": _yes(table, outcome)}, index=table.index)
        blocks[label] = disclosure.protect_percentages(frame, "all", "y", params, levels=[True], margins=False)
    return _stack(blocks, ["outcome"], flatten=True).rename(columns={"% True": "%"})


def rate_table(
    table: pd.DataFrame,
    params: DisclosureParams,
    variables: Mapping[str, str] | Sequence[str] | None = None,
    *,
    outcome: str = "consent_any",
    labels: Mapping[str, Mapping[str, str]] | None = None,
    missing: str = "level",
) -> ProtectedTable:
    """The consent rate at each level of each characteristic, protected.

    Rows (characteristic, level); columns ``n`` (respondents at that level,
    rounded) and ``% consenting`` (with ``outcome``). Levels are ordered by
    :func:`levels` and renamed by ``labels`` (default :data:`LEVEL_LABELS`).
    ``missing``: ``"level"`` keeps missing values as a level of their own,
    ``"drop"`` leaves them out.
    """
    _check_outcome(outcome)
    names = _variables(table, variables)
    labels = LEVEL_LABELS if labels is None else labels
    y = _yes(table, outcome)
    blocks = {}
    for col, label in names.items():
        frame = _known(pd.DataFrame({"level": levels(table[col], labels.get(col)), "y": y}), missing)
        blocks[label] = disclosure.protect_percentages(frame, "level", "y", params, levels=[True], margins=False)
    return _stack(blocks, ["characteristic", "level"]).rename(columns={"% True": "% consenting"})


def _known(frame: pd.DataFrame, missing: str) -> pd.DataFrame:
    """``frame`` without the rows whose ``level`` is missing, if ``missing == "drop"``."""
    if missing == "level":
        return frame
    if missing != "drop":
        raise ValueError(f"missing must be 'level' or 'drop', got {missing!r}")
    known = frame[frame["level"] != MISSING].copy()
    known["level"] = known["level"].cat.remove_categories([c for c in [MISSING] if c in known["level"].cat.categories])
    return known


def bias_table(
    table: pd.DataFrame,
    params: DisclosureParams,
    variables: Mapping[str, str] | Sequence[str] | None = None,
    *,
    outcome: str = "consent_any",
    labels: Mapping[str, Mapping[str, str]] | None = None,
    missing: str = "level",
) -> ProtectedTable:
    """Consenters against non-consenters: who they are, protected.

    Rows (characteristic, level); columns: the percentage of consenters at
    that level, of non-consenters, of everyone, and the ``gap (pp)``,
    consenters minus non-consenters in percentage points. A positive gap
    means the level is over-represented among the cases that can be linked.

    Each characteristic's table (consenters / non-consenters by level, with
    totals) goes through :func:`sendlink.disclosure.protect_percentages`;
    the gap is the difference of the two *published* percentages, and is
    hidden when either of them is. The denominators (how many consented and
    how many did not) are the same for every characteristic; publish them
    once, e.g. with :func:`overall_rates`. With ``missing="drop"`` the
    percentages are of the people with a known value of each characteristic
    (the footnote says so).
    """
    _check_outcome(outcome)
    names = _variables(table, variables)
    labels = LEVEL_LABELS if labels is None else labels
    yes = table[outcome].astype(bool)
    group = pd.Series(pd.Categorical(np.where(yes, GROUPS[0], GROUPS[1]), categories=list(GROUPS)), index=table.index)
    columns = [f"% of {GROUPS[0]}", f"% of {GROUPS[1]}", "% of all"]
    blocks = {}
    for col, label in names.items():
        frame = _known(pd.DataFrame({"group": group, "level": levels(table[col], labels.get(col))}), missing)
        pt = disclosure.protect_percentages(frame, "group", "level", params, margins=True)
        shares = [c for c in pt.display.columns if c != "n"]
        level_names = pd.Index([c[2:] for c in shares], name="level", dtype=object)
        parts = {}
        for attr in ("display", "status", "values"):
            part = getattr(pt, attr)[shares].T
            part.index = level_names
            part.columns = columns
            parts[attr] = part
        display, status, values = parts["display"], parts["status"], parts["values"]
        gap = values[columns[0]] - values[columns[1]]
        rank = np.maximum(status[columns[0]].map(_STATUS_RANK), status[columns[1]].map(_STATUS_RANK))
        worst = rank.map({v: k for k, v in _STATUS_RANK.items()})
        shown = worst.isin([Status.OK.value, Status.ROUNDED.value])
        decimals = pt.params.percent_decimals
        display["gap (pp)"] = [
            _number(g, decimals) if ok else _SYMBOL[w] for g, ok, w in zip(gap, shown, worst, strict=True)
        ]
        status["gap (pp)"] = worst.where(~shown, Status.OK.value)
        values["gap (pp)"] = gap.round(pt.params.percent_decimals).where(shown)
        blocks[label] = ProtectedTable(display, status, values, pt.footnote, pt.kind, pt.params, None, ())
    out = _stack(blocks, ["characteristic", "level"])
    notes = ["gap (pp) = % of consenters minus % of non-consenters, from the published percentages; hidden when either is."]
    if missing == "drop":
        notes.append("Percentages are of the people with a known value of each characteristic (missing values left out).")
    return ProtectedTable(out.display, out.status, out.values, "\n".join([out.footnote, *notes]), out.kind, out.params, None, ())


# --- consent over time ----------------------------------------------------------------------

#: Columns of :func:`status_over_time`.
OVER_TIME_COLUMNS = (
    "date",
    "asked",
    "permission_parent_answers",
    "permission_child_answers",
    "child_scope_young_person",
    "sent_for_linkage",
)


def status_over_time(
    events: pd.DataFrame,
    cases: pd.DataFrame,
    dates: Sequence[dt.date],
    rp: R.RuleParams | None = None,
) -> pd.DataFrame:
    """Counts of cases by consent state on each date (pure replay, rule ``as-of``).

    One row per date: ``asked`` (cases asked at least once, for either
    scope), ``permission_parent_answers`` and ``permission_child_answers``
    (permission in force), ``child_scope_young_person`` (the young person
    decides about the child's answers), ``sent_for_linkage`` (permission
    and no restriction, objection or erasure). Cases with an erasure in
    ``events`` that took effect (whole case or one person's part), whatever
    its date, are left out of every date: nothing derived from an erased
    case is published, not even for the time before. Raw counts: protect
    before publishing.
    """
    rp = rp or R.RuleParams()
    erased = set(R.erasures(events, cases, rp))
    keep = cases[~cases["survey_id"].astype(str).isin(erased)]
    kept_events = R.to_events(events[~events["survey_id"].astype(str).isin(erased)])  # once, not per date
    rows = []
    for day in dates:
        st = R.status(kept_events, keep, day, rp)
        asked = (st["consent_parent_answers"] != "not_asked") | (st["consent_child_answers"] != "not_asked")
        rows.append(
            {
                "date": day.isoformat(),
                "asked": int(asked.sum()),
                "permission_parent_answers": int((st["consent_parent_answers"] == "granted").sum()),
                "permission_child_answers": int((st["consent_child_answers"] == "granted").sum()),
                "child_scope_young_person": int((st["child_scope_governed_by"] == "young_person").sum()),
                "sent_for_linkage": int(st["send_for_linkage"].sum()),
            }
        )
    return pd.DataFrame(rows, columns=list(OVER_TIME_COLUMNS))


def milestones(events: pd.DataFrame, as_of: dt.date, rp: R.RuleParams | None = None) -> dict[str, dt.date]:
    """Dates worth replaying the register to, from the events and the rules' parameters.

    The last consent decision recorded at wave 1 and at wave 2 (the end of
    each wave's fieldwork, as far as consent goes), the day before the
    cohort's first 16th birthday, the cohort's last 16th birthday (from
    then every young person decides about their own answers once asked),
    and ``as_of``. Label -> date, in date order; a wave with no events is
    left out.
    """
    rp = rp or R.RuleParams()
    consent = events[events["kind"] == "consent"]
    out: dict[str, dt.date] = {}
    for contact, label in (("wave1", "end of wave 1"), ("wave2", "end of wave 2")):
        dates = consent.loc[consent["contact"] == contact, "effective_date"]
        if len(dates):
            out[label] = dt.date.fromisoformat(str(max(dates)))
    first = R.birthday(rp.cohort_first_birth_date, rp.age_of_own_consent)
    out[f"day before the first {rp.age_of_own_consent}th birthday"] = first - dt.timedelta(days=1)
    out[f"every child {rp.age_of_own_consent} or over"] = R.birthday(rp.cohort_last_birth_date, rp.age_of_own_consent)
    out["consent date (as_of)"] = as_of
    return dict(sorted(out.items(), key=lambda kv: kv[1]))


# --- the young person's refusal: both readings of the policy ------------------------------------

#: Rows of :func:`refusal_readings`.
READING_ROWS = {
    "young_person_refused": "young people whose refusal is in force",
    "refused_before_16": "... of whom refused before 16",
    "sent_for_linkage": "cases sent for linkage",
    "parent_answers_linked": "parent's answers linked",
    "child_answers_linked": "child's answers linked",
}


def refusal_readings(events: pd.DataFrame, cases: pd.DataFrame, as_of: dt.date, rp: R.RuleParams | None = None) -> pd.DataFrame:
    """What each reading of ``consent.young_person_refusal_covers`` sends for linkage, as the pipeline enforces it.

    One column per reading (``npd_record``, ``child_answers``), one row per
    :data:`READING_ROWS` measure, and a column ``difference``
    (``child_answers`` minus ``npd_record``): the cases the choice affects.
    Whole-case erasures are left out. Raw counts: protect before
    publishing.
    """
    from dataclasses import replace

    rp = rp or R.RuleParams()
    erased = set(events.loc[[isinstance(d, Mapping) and d.get("erases") == "case" for d in events.get("details", pd.Series([None] * len(events)))], "survey_id"].astype(str)) if len(events) else set()
    columns = {}
    for reading in R.REFUSAL_COVERS:
        states = R.enforced_states(events, cases, as_of, replace(rp, young_person_refusal_covers=reading))
        kept = [st for sid, st in states.items() if not st.erased and sid not in erased]
        refused = [st for st in kept if st.young_person_dissent is not None]
        lo_of = {st.survey_id: (st.consent_age_from or (as_of, as_of))[0] for st in refused}
        columns[reading] = {
            "young_person_refused": len(refused),
            "refused_before_16": sum(1 for st in refused if st.young_person_dissent.date < lo_of[st.survey_id]),  # type: ignore[union-attr]
            "sent_for_linkage": sum(st.send_for_linkage for st in kept),
            "parent_answers_linked": sum(st.may_link_parent_answers for st in kept),
            "child_answers_linked": sum(st.may_link_child_answers for st in kept),
        }
    out = pd.DataFrame(columns).rename(index=READING_ROWS)
    out["difference"] = out["child_answers"] - out["npd_record"]
    out.index.name = "measure"
    return out


def request_outcomes(events: pd.DataFrame, cases: pd.DataFrame, as_of: dt.date, rp: R.RuleParams | None = None) -> pd.DataFrame:
    """Rights requests by kind and how each stands on ``as_of``: one row per request (rule ``request-decision``).

    Columns ``kind``, ``person``, ``outcome`` (``granted on receipt``,
    ``granted``, ``refused``, ``open``) and ``reason`` (a refusal's).
    Erased cases' requests are included (nothing in a row names the case).
    Raw: tabulate and protect before publishing.
    """
    rp = rp or R.RuleParams()
    rows = []
    for st in R.case_states(events, cases, as_of, rp).values():
        for step in st.steps:
            e = step.event
            if e.kind in R.REQUEST_KINDS and step.verdict != "after as-of":
                if step.verdict == "pending":
                    outcome, reason = "open", ""
                else:
                    outcome, reason = ("granted on receipt", "") if step.verdict == "applied" else ("ignored", "")
                rows.append({"key": e.key, "kind": e.kind, "person": e.person, "outcome": outcome, "reason": reason})
            elif e.kind == "decision" and e.request is not None and step.verdict in ("applied", "refused"):
                for row in rows:
                    if row["key"] == e.request.key and e.outcome in ("granted", "refused"):
                        row["outcome"], row["reason"] = e.outcome, str(e.details.get("reason") or "")
    return pd.DataFrame(rows, columns=["key", "kind", "person", "outcome", "reason"]).drop(columns="key")
