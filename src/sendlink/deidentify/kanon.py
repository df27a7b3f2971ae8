"""k-anonymity of the research extract: generalise first, suppress last.

**In:** the assembled extracts (the main one and the sensitivity ones),
with each row's case known to the data provider. **Out:** the same
extracts in which every combination of quasi-identifiers shown is shared by
at least ``k`` rows, and a report of what was done (part of the extract).
Run by the data provider (DfE) before release; researchers see only the
result.

Which quasi-identifiers, and why (the default of ``deidentify.quasi_identifiers``)
-----------------------------------------------------------------------------
A quasi-identifier is something a person who knows a child (a neighbour, a
relative, another parent) could know and use to find the child's row:

* ``birth`` (year and month of birth), ``sex``, ``ethnicity``: known to
  anyone who knows the child, and in many other data sets;
* ``geography`` (local authority, region) and ``idaci`` (the deprivation
  decile of the home postcode, which anyone who knows the address can look
  up): where the child lives;
* ``school_phase`` (special school or mainstream): visible every day.

Not in the default set, though the machinery handles them
(``provision``, ``need``): the SEN provision and the type of need. They are
the study's subject and the analysis needs them in full; they are known
mainly to the school and the local authority, whose staff know the child's
name anyway, so k-anonymity cannot protect against them: the secure
setting, the researchers' accreditation and output checking do (the Five
Safes). Adding them is one line in ``params.yaml``; on a survey of a few
thousand, each added attribute multiplies the combinations and, with them,
the suppression (notebook 05 shows by how much).

Not quasi-identifiers: survey answers and NPD outcomes (no outsider knows
them), the consent and link flags, the design weights. The school
pseudonym is handled apart: kept only for schools with enough rows
(``school_cluster_min_size``).

Equivalence classes
-------------------
Rows are in the same class when they show the same values of every
quasi-identifier. The sampling frame's copy (``frame_*``) and the NPD's copy
(``npd_*``) of the same attribute count as one attribute, so a linked row
and an unlinked row with the same frame values can share a class on it; an
empty value is a value of its own (a conservative choice: an outsider could
not rule out the row, but the class does not count it). A row whose every
quasi-identifier is blank shows nothing to single it out and is never a
violation. Classes are checked in every extract, and suppression is
decided per *case* across all of them, so comparing the main and the
sensitivity extracts never reveals a value one of them hides.

The procedure
-------------
1. Report the class sizes (sizes only: the values of small classes are the
   disclosure).
2. Generalise, one step at a time in the order of :data:`STEPS`, for every
   row (global recoding keeps the columns analysable), until every class in
   every extract has at least ``k`` rows: birth month -> term -> academic
   year; local authority -> region; IDACI decile -> quintile; rare need
   types -> their broad area of need -> all types as broad areas.
3. Only then suppress: in rows still in a class below ``k``, blank the
   quasi-identifiers in ``suppression_order`` (least useful to the analysis
   first), one more per round, until none is left below ``k``. Suppression
   is nested (a row with ``idaci`` blanked also has every earlier one
   blanked), so suppressed rows pool into a few shared patterns.
   ``qi_suppressed`` names what was blanked in each row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuasiIdentifier:
    """A quasi-identifier and the extract columns that show it.

    ``slots`` groups columns holding the same information (the frame's and
    the NPD's copy); each slot shows one value per row.
    """

    name: str
    slots: tuple[tuple[str, ...], ...]
    why: str

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for slot in self.slots for c in slot)


QUASI_IDENTIFIERS: dict[str, QuasiIdentifier] = {
    q.name: q
    for q in (
        QuasiIdentifier("birth", (("npd_birth_year_month",),), "date of birth is known to anyone who knows the child"),
        QuasiIdentifier("sex", (("frame_sex", "npd_sex"),), "visible"),
        QuasiIdentifier("ethnicity", (("frame_ethnicity", "npd_ethnicity"),), "visible, and in many other data sets"),
        QuasiIdentifier(
            "geography", (("frame_region", "npd_region"), ("npd_la_code",)), "where the child lives and goes to school"
        ),
        QuasiIdentifier(
            "idaci",
            (("frame_idaci_decile", "npd_idaci_decile"), ("frame_idaci_quintile", "npd_idaci_quintile")),
            "looked up from the home postcode by anyone who knows the address",
        ),
        QuasiIdentifier("school_phase", (("npd_school_phase",),), "a special school is visible every day"),
        QuasiIdentifier(
            "provision", (("frame_sen_provision", "npd_sen_provision"),), "known to the school and the local authority"
        ),
        QuasiIdentifier(
            "need", (("frame_primary_need", "npd_primary_need"),), "known to the school; visible for some needs"
        ),
    )
}

#: The SEND Code of Practice's four broad areas of need (6.28-6.35): each need
#: type's area code in the extract (described in :data:`sendlink.schema.research.NEED_AREAS`);
#: OTH and NSA belong to none.
NEED_AREAS = {
    "SLCN": "CI", "ASD": "CI",
    "SPLD": "CL", "MLD": "CL", "SLD": "CL", "PMLD": "CL",
    "SEMH": "SEMH",
    "HI": "SP", "VI": "SP", "MSI": "SP", "PD": "SP",
    "OTH": "OTH_NSA", "NSA": "OTH_NSA",
}
_TERMS = {9: "autumn", 10: "autumn", 11: "autumn", 12: "autumn", 1: "spring", 2: "spring", 3: "spring", 4: "spring"}


def _academic_year(year: int, month: int) -> str:
    start = year if month >= 9 else year - 1
    return f"{start}/{str(start + 1)[-2:]}"


def birth_term(value: object) -> object:
    """'2008-10' -> '2008/09 autumn' (terms: Sept-Dec, Jan-Apr, May-Aug)."""
    if not isinstance(value, str) or len(value) != 7:
        return value
    year, month = int(value[:4]), int(value[5:])
    return f"{_academic_year(year, month)} {_TERMS.get(month, 'summer')}"


def birth_academic_year(value: object) -> object:
    """'2008/09 autumn' (or '2008-10') -> '2008/09'."""
    if not isinstance(value, str):
        return value
    if len(value) == 7 and value[4] == "-":
        return _academic_year(int(value[:4]), int(value[5:]))
    return value.split(" ")[0]


@dataclass(frozen=True)
class Step:
    """One generalisation step: what it does, which attribute, how."""

    name: str
    quasi_identifier: str
    apply: Callable[[pd.DataFrame, Mapping[str, object]], None]


def _map_columns(frame: pd.DataFrame, columns: Sequence[str], fn: Callable[[object], object]) -> None:
    for c in columns:
        if c in frame.columns:
            frame[c] = frame[c].map(fn, na_action="ignore").astype(object)


def _blank(frame: pd.DataFrame, columns: Sequence[str], rows: pd.Series | None = None) -> None:
    for c in columns:
        if c in frame.columns:
            if rows is None:
                frame[c] = pd.Series(pd.NA, index=frame.index, dtype=frame[c].dtype if str(frame[c].dtype) in ("Int64", "boolean") else object)
            else:
                frame.loc[rows.to_numpy(), c] = pd.NA if str(frame[c].dtype) in ("Int64", "boolean") else None


def _rare_needs(frame: pd.DataFrame, context: Mapping[str, object]) -> None:
    rare = set(context.get("rare_needs", ()))
    _map_columns(frame, QUASI_IDENTIFIERS["need"].columns, lambda v: NEED_AREAS.get(str(v), v) if v in rare else v)


def _all_needs(frame: pd.DataFrame, context: Mapping[str, object]) -> None:
    _map_columns(frame, QUASI_IDENTIFIERS["need"].columns, lambda v: NEED_AREAS.get(str(v), v))


#: Generalisation steps, in the order they are tried.
STEPS: tuple[Step, ...] = (
    Step("birth: month -> term", "birth", lambda f, _: _map_columns(f, ["npd_birth_year_month"], birth_term)),
    Step("birth: term -> academic year", "birth", lambda f, _: _map_columns(f, ["npd_birth_year_month"], birth_academic_year)),
    Step("geography: local authority -> region", "geography", lambda f, _: _blank(f, ["npd_la_code"])),
    Step("idaci: decile -> quintile", "idaci", lambda f, _: _blank(f, ["frame_idaci_decile", "npd_idaci_decile"])),
    Step("need: rare types -> broad area", "need", _rare_needs),
    Step("need: all types -> broad area", "need", _all_needs),
)


def _slot_key(frame: pd.DataFrame, slot: Sequence[str]) -> pd.Series:
    """One text per row: the distinct values the slot's columns show ('' if none)."""
    present = [c for c in slot if c in frame.columns]
    if not present:
        return pd.Series("", index=frame.index)
    values = frame[present].astype(object).where(frame[present].notna(), None)
    if len(present) == 1:
        return values[present[0]].map(lambda v: "" if v is None else str(v))
    return values.apply(lambda row: "/".join(sorted({str(v) for v in row if v is not None})), axis=1, raw=True)


def class_keys(frame: pd.DataFrame, quasi_identifiers: Sequence[str]) -> pd.Series:
    """The equivalence class of each row, as one text (see module docstring)."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    parts = [_slot_key(frame, slot) for q in quasi_identifiers for slot in QUASI_IDENTIFIERS[q].slots]
    key = parts[0].astype(str)
    for part in parts[1:]:
        key = key + "\x1f" + part.astype(str)
    return key


def _blank_key(quasi_identifiers: Sequence[str]) -> str:
    return "\x1f" * (sum(len(QUASI_IDENTIFIERS[q].slots) for q in quasi_identifiers) - 1)


def violations(frame: pd.DataFrame, quasi_identifiers: Sequence[str], k: int) -> pd.Series:
    """Boolean per row: in a class of fewer than ``k`` rows (blank rows never are)."""
    keys = class_keys(frame, quasi_identifiers)
    sizes = keys.map(keys.value_counts())
    return (sizes < k) & (keys != _blank_key(quasi_identifiers))


def class_summary(frame: pd.DataFrame, quasi_identifiers: Sequence[str], k: int) -> dict[str, object]:
    """Sizes of the equivalence classes (never their values).

    Returns rows, classes, the smallest class size, how many classes and rows
    are below ``k``, and the number of classes of each size below ``k``.
    """
    keys = class_keys(frame, quasi_identifiers)
    counts = keys[keys != _blank_key(quasi_identifiers)].value_counts()
    small = counts[counts < k]
    return {
        "rows": int(len(frame)),
        "classes": int(len(counts)),
        "smallest_class": int(counts.min()) if len(counts) else None,
        "classes_below_k": int(len(small)),
        "rows_below_k": int(small.sum()),
        "classes_by_size_below_k": {str(s): int(n) for s, n in small.value_counts().sort_index().items()},
    }


def _suppress(frame: pd.DataFrame, levels: pd.Series, order: Sequence[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Blank the first ``level`` quasi-identifiers of ``order`` in each row."""
    out = frame.copy()
    blanked = pd.Series("", index=frame.index, dtype=object)
    lv = levels.to_numpy()
    for j, name in enumerate(order):
        rows = pd.Series(lv > j, index=frame.index)
        if not rows.any():
            break
        cols = [c for c in QUASI_IDENTIFIERS[name].columns if c in out.columns]
        had = out[cols].notna().any(axis=1) & rows
        blanked[had] = blanked[had].map(lambda s, n=name: f"{s},{n}" if s else n)
        _blank(out, cols, rows)
    return out, blanked


@dataclass(frozen=True)
class Settings:
    """What :func:`anonymise` needs (from ``deidentify:`` in ``params.yaml``)."""

    k: int
    quasi_identifiers: tuple[str, ...]
    suppression_order: tuple[str, ...]
    rare_need_min_rows: int = 20


def anonymise(
    extracts: Mapping[str, pd.DataFrame],
    cases: Mapping[str, pd.Series],
    settings: Settings,
) -> tuple[dict[str, pd.DataFrame], dict[str, object]]:
    """Make every extract k-anonymous; return them and the report.

    Parameters
    ----------
    extracts
        Name -> assembled extract (the first is the main one; rare need
        types are counted in it).
    cases
        Name -> the case of each row (aligned with the extract's index):
        the same case in two extracts gets the same suppression. Held by
        the data provider; never written.
    settings
        ``k``, the quasi-identifiers and the suppression order.

    Returns
    -------
    The protected extracts (with a ``qi_suppressed`` column) and a report:
    class sizes before, after each generalisation step and at the end, the
    steps applied, and how many values of each quasi-identifier were blanked.
    """
    qis, k = settings.quasi_identifiers, settings.k
    work = {name: frame.copy() for name, frame in extracts.items()}
    report: dict[str, object] = {
        "k": k,
        "quasi_identifiers": {q: {"columns": list(QUASI_IDENTIFIERS[q].columns), "why": QUASI_IDENTIFIERS[q].why} for q in qis},
        "before": {name: class_summary(f, qis, k) for name, f in work.items()},
    }
    main = next(iter(work.values()))
    need = pd.Series(None, index=main.index, dtype=object)
    for c in ("npd_primary_need", "frame_primary_need"):
        if c in main.columns:
            need = need.combine_first(main[c].astype(object))
    counts = need.value_counts()
    context = {"rare_needs": sorted(str(v) for v, n in counts.items() if n < settings.rare_need_min_rows)}

    def holds() -> bool:
        return not any(violations(f, qis, k).any() for f in work.values())

    steps: list[dict[str, object]] = []
    for step in STEPS:
        if step.quasi_identifier not in qis:
            continue
        if holds():
            break
        for frame in work.values():
            step.apply(frame, context)
        entry: dict[str, object] = {"step": step.name, "after": {name: class_summary(f, qis, k) for name, f in work.items()}}
        if step.name.startswith("need: rare"):
            entry["rare_types"] = context["rare_needs"]
        steps.append(entry)
        log.info("k-anonymity: %s -> %s rows below k", step.name, {n: s["rows_below_k"] for n, s in entry["after"].items()})
    report["generalisation"] = steps

    order = [q for q in settings.suppression_order if q in qis]
    all_cases = pd.Index(pd.unique(pd.concat([s.astype(str) for s in cases.values()], ignore_index=True)))
    level = pd.Series(0, index=all_cases)
    rounds = 0
    while True:
        bumped = False
        for name, frame in work.items():
            ids = cases[name].astype(str)
            suppressed, _ = _suppress(frame, ids.map(level), order)
            bad = violations(suppressed, qis, k)
            if bad.any():
                hit = pd.Index(ids[bad.to_numpy()].unique())
                hit = hit[level.reindex(hit).to_numpy() < len(order)]
                if len(hit):
                    level[hit] += 1
                    bumped = True
        if not bumped:
            break
        rounds += 1
    out: dict[str, pd.DataFrame] = {}
    blanked_counts: dict[str, dict[str, int]] = {}
    for name, frame in work.items():
        protected, blanked = _suppress(frame, cases[name].astype(str).map(level), order)
        protected["qi_suppressed"] = blanked.where(blanked != "", None)
        out[name] = protected
        blanked_counts[name] = {q: int(blanked.str.split(",").map(lambda parts, q=q: q in parts).sum()) for q in order}
        blanked_counts[name]["rows"] = int((blanked != "").sum())
    report["suppression"] = {"order": order, "rounds": rounds, "values_blanked": blanked_counts}
    report["after"] = {name: class_summary(f, qis, k) for name, f in out.items()}
    report["holds"] = not any(violations(f, qis, k).any() for f in out.values())
    report["levels"] = _levels(report["generalisation"], qis)
    return out, report


def _levels(steps: Sequence[Mapping[str, object]], qis: Sequence[str]) -> dict[str, str]:
    """The level each quasi-identifier ended at, in words."""
    done = {str(s["step"]) for s in steps}
    level = {
        "birth": "academic year" if "birth: term -> academic year" in done else "term" if "birth: month -> term" in done else "year and month",
        "geography": "region" if "geography: local authority -> region" in done else "local authority and region",
        "idaci": "quintile" if "idaci: decile -> quintile" in done else "decile and quintile",
        "need": "broad area" if "need: all types -> broad area" in done else "type, rare types as broad area" if "need: rare types -> broad area" in done else "type",
    }
    return {q: level.get(q, "as recorded") for q in qis}
