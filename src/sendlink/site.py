"""The rendered site: its structure (``_quarto.yml``) and its headline results.

Two things live here, both used by :mod:`sendlink.notebooks` and the tests:

* **Structure.** :func:`load_config` reads ``_quarto.yml``;
  :func:`inputs` lists the files Quarto renders (``project.render``) and
  :func:`navigation` the sidebar, in order, so the nbconvert fallback builds
  the same pages and the same navigation as Quarto, from the same file.
* **Headline results.** :func:`write_headline` turns ``data/summary.json``
  (written by the analysis stage, completed by evaluation) into ``pages/_headline.md``, a Markdown
  include that the landing page pulls in with
  ``{{< include pages/_headline.md >}}``. Numbers are rounded for reading
  (rates to whole per cent, linkage quality to one decimal place or as
  many as it takes not to show 100%, effects to two), the wording is plain, and nothing but numbers and short labels
  is copied from the summary, so no identifier can reach the page. Keys
  that are missing are reported as not yet available, so the page renders
  while the analysis is in progress; with no summary at all the include is
  a placeholder (the committed version before the first run).

Run by: everyone who renders the reports (``make report``); reads only
``data/summary.json``, which holds disclosure-checked aggregates.

Keys read from ``summary.json`` (layout version 1, :func:`sendlink.outcomes.stage.summary`)
----------------------------------------------------------------------------------------
``consent``
    ``households`` and the shares ``parent_answers_granted``,
    ``child_answers_granted``, ``either_granted``, ``both_granted``.
``linkage``
    ``sent``, ``match_rate``, and ``precision``, ``recall``, ``f1`` (null
    until the linkage quality report exists).
``effects``
    a list, one entry per planted effect: ``outcome`` and ``exposure``
    (codes, shown with :data:`OUTCOME_LABELS` and :data:`EXPOSURE_LABELS`),
    ``scale`` (``log odds ratio``, ``log rate ratio`` or ``difference``: the
    scale of ``census_value`` and of each ``estimate``), ``reported_as``,
    ``census_value`` (the target), and ``naive`` and ``weighted``, each with
    ``effect``, ``effect_low``, ``effect_high`` on the reported scale (or
    ``estimate``, ``ci_low``, ``ci_high`` on ``scale``). Population values
    on a log scale are exponentiated to the reported scale.

Every other key is ignored; a key that is missing or null is reported as
not yet available. Counts are rounded to the nearest 10.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sendlink import config
from sendlink.errors import SendlinkError
from sendlink.schema import catalogue

log = logging.getLogger(__name__)

CONFIG_FILE = "_quarto.yml"
#: The include written by :func:`write_headline`, relative to the project root.
HEADLINE_FILE = Path(catalogue.HEADLINE.path)
#: The one Jupyter kernel name used everywhere (notebooks, ``_quarto.yml``, the runner).
KERNEL = "python3"


# --- structure ------------------------------------------------------------------


def load_config(root: Path) -> dict[str, Any]:
    """``_quarto.yml`` as a mapping.

    Raises
    ------
    SendlinkError
        If the file is missing or is not a YAML mapping.
    """
    path = Path(root) / CONFIG_FILE
    if not path.is_file():
        raise SendlinkError(f"{path}: not found (the site's configuration)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SendlinkError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SendlinkError(f"{path}: expected a mapping at the top level")
    return data


def inputs(site: Mapping[str, Any]) -> list[str]:
    """The files the site renders (``project.render``), in the order listed."""
    listed = (site.get("project") or {}).get("render") or []
    return [str(item) for item in listed]


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation: a page (``href``) in a section, or a section heading."""

    href: str | None
    text: str | None
    section: str | None


def navigation(site: Mapping[str, Any]) -> list[NavItem]:
    """The sidebar's entries in order (pages, with the section each sits in).

    ``text`` is ``None`` where ``_quarto.yml`` leaves it to the page's title.
    """
    sidebar = (site.get("website") or {}).get("sidebar") or {}
    if isinstance(sidebar, list):  # several sidebars: the first is the site's
        sidebar = sidebar[0] if sidebar else {}
    items: list[NavItem] = []
    _walk(sidebar.get("contents") or [], None, items)
    return items


def _walk(contents: Iterable[Any], section: str | None, out: list[NavItem]) -> None:
    for entry in contents:
        if isinstance(entry, str):
            out.append(NavItem(entry, None, section))
        elif isinstance(entry, Mapping) and "section" in entry:
            out.append(NavItem(None, str(entry["section"]), section))
            _walk(entry.get("contents") or [], str(entry["section"]), out)
        elif isinstance(entry, Mapping):
            href = entry.get("href") or entry.get("file")
            out.append(NavItem(str(href) if href else None, entry.get("text"), section))


def output_path(source: str) -> str:
    """Where Quarto writes the page for ``source`` (relative to the output folder)."""
    return str(Path(source).with_suffix(".html").as_posix())


# --- headline results ------------------------------------------------------------

PLACEHOLDER = (
    "The headline results appear here once the analysis has run: `make report` "
    "writes them from `data/summary.json`.\n"
)

#: Consent rates of ``summary["consent"]`` (shares of the wave-1 responding
#: households), in the order they are read out, with what each means.
_CONSENT = (
    (("parent_answers_granted", "parent_answers"), "gave permission to link the parent's answers"),
    (("child_answers_granted", "child_answers"), "gave permission to link the child's answers"),
    (("either_granted", "sent_for_linkage"), "gave at least one of the two"),
    (("both_granted",), "gave both"),
)
#: Plain labels for the outcome and exposure codes of ``summary["effects"]``;
#: an unknown code is shown in words.
OUTCOME_LABELS = {
    "persistent_absence": "Persistent absence, Years 10-11",
    "suspensions": "Suspensions, Years 10-11",
    "attainment8": "Attainment 8",
    "wellbeing": "Life satisfaction (0-10), wave 2",
}
EXPOSURE_LABELS = {
    "ehc": "EHC plan (vs SEN support)",
    "unmet_need": "unmet need (parent, wave 1)",
    "satisfaction": "satisfaction with support (per point)",
    "unmet_need_x_fsm": "extra effect of unmet need with FSM",
    "unmet_need_x_school_experience": "extra effect of unmet need per point of school experience",
}
_TRUTH_KEYS = ("census_value", "census", "truth", "true_value")
_REPORTED_KEYS = ("effect", "effect_low", "effect_high")
_ESTIMATE_KEYS = ("estimate", "ci_low", "ci_high")
#: Labels copied from the summary may hold only these characters, and are cut
#: short: a label is a few words about a variable, never a value about a person.
_LABEL_OK = re.compile(r"[^A-Za-z0-9 ,.()/'+\-]")
_LABEL_MAX = 60


def write_headline(paths: config.Paths) -> Path:
    """Write ``pages/_headline.md`` from ``data/summary.json``; return its path.

    The pipeline's ``report`` calls this after the analysis stage. Without a
    summary the placeholder is written. The output depends on the summary
    alone (no dates, a fixed order), so a rerun gives the same file.
    """
    summary_path = catalogue.SUMMARY.at(paths)
    summary = None
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SendlinkError(f"{summary_path}: not valid JSON: {exc}") from exc
    else:
        log.info("%s not found: writing the placeholder headline", summary_path)
    from sendlink.io import write_text

    target = paths.root / HEADLINE_FILE
    write_text(headline_markdown(summary), target, private=False)
    log.info("wrote %s", target)
    return target


def headline_markdown(summary: Mapping[str, Any] | None) -> str:
    """The headline include for ``summary`` (``None``: the placeholder)."""
    if summary is None:
        return PLACEHOLDER
    if not isinstance(summary, Mapping):
        raise SendlinkError("summary.json: expected a mapping at the top level")
    parts = [_consent_section(summary), _linkage_section(summary), _effects_section(summary)]
    parts.append(
        "*Synthetic data only: these numbers describe an invented population, not real "
        "children. They are read from `data/summary.json`, which the analysis and evaluation stages write; "
        "counts are rounded to the nearest 10.*"
    )
    return "\n\n".join(parts) + "\n"


def _consent_section(summary: Mapping[str, Any]) -> str:
    consent = summary.get("consent")
    consent = consent if isinstance(consent, Mapping) else {}
    said = [
        f"{_percent(value, 0)} {meaning}"
        for keys, meaning in _CONSENT
        if (value := _first(consent, keys)) is not None
    ]
    if not said:
        return "**Consent.** Consent rates are not yet available."
    households = _first(consent, ("households",))
    who = f"Of about {_count(households)} households" if households else "Of the households"
    return (
        f"**Consent.** {who} that answered at wave 1, {_listing(said)}. "
        "These are the households in the research extract: the few families who asked for "
        "their data to be erased, objected to its use or restricted it are not in it, which is "
        "why chapter 1, which counts every family that answered, has slightly more (chapter 2 "
        "follows those requests)."
    )


def _linkage_section(summary: Mapping[str, Any]) -> str:
    linkage = summary.get("linkage")
    linkage = linkage if isinstance(linkage, Mapping) else {}
    scopes = [linkage, linkage.get("quality"), summary.get("quality")]
    found = {}
    for key in ("match_rate", "precision", "recall", "f1", "sent"):
        for scope in scopes:
            if isinstance(scope, Mapping) and _is_number(scope.get(key)):
                found[key] = float(scope[key])
                break
    sentences = []
    if "match_rate" in found:
        who = (
            f"Of about {_count(found['sent'])} children" if found.get("sent") else "Of the children"
        )
        sentences.append(
            f"{who} sent for linkage, {_percent(found['match_rate'], 0)} were matched to an NPD record."
        )
    quality = [
        (name, found[key])
        for key, name in (("precision", "precision"), ("recall", "recall"), ("f1", "F1"))
        if key in found
    ]
    if quality:
        listed = ", ".join(f"{name} {_percent_precise(value)}" for name, value in quality)
        sentences.append(f"Checked against the synthetic truth: {listed}.")
    elif sentences:
        sentences.append("Precision and recall against the truth are not yet available.")
    if not sentences:
        return "**Linkage.** Linkage results are not yet available."
    return "**Linkage.** " + " ".join(sentences)


#: The headline table's columns and their relative widths (the dashes of the
#: Markdown separator line: pandoc sizes a wide table's columns by them, so
#: the PDF summary does not split them evenly).
_EFFECT_COLUMNS = (
    ("Exposure", 40, ":"),
    ("Population value", 12, ":"),
    ("Naive estimate (95% CI)", 24, ":"),
    ("Weighted estimate (95% CI)", 24, ":"),
)
MISSES = "*(misses)*"


def _effects_section(summary: Mapping[str, Any]) -> str:
    effects = _effects(summary)
    if not effects:
        return "**Outcomes.** Estimates of the planted effects are not yet available."
    groups: dict[str, list[list[str]]] = {}
    scales: dict[str, str] = {}
    covered = {"naive": 0, "weighted": 0}
    comparable = 0
    for effect in effects:
        log_scale = str(effect.get("scale") or "").startswith("log")
        truth = _first(effect, _TRUTH_KEYS)
        truth = math.exp(truth) if truth is not None and log_scale else truth
        row = [_code_label(effect.get("exposure"), EXPOSURE_LABELS), _number(truth)]
        checks = []
        for which in ("naive", "weighted"):
            estimate = _estimate(effect, which, log_scale)
            inside = _covers(estimate, truth)
            checks.append(inside)
            covered[which] += bool(inside)
            row.append(_interval(estimate) + (f" {MISSES}" if inside is False else ""))
        comparable += None not in checks
        outcome = _code_label(effect.get("outcome"), OUTCOME_LABELS)
        groups.setdefault(outcome, []).append(row)
        scales.setdefault(outcome, _label(effect.get("reported_as") or effect.get("scale")))
    lines = [
        "**Outcomes.** For each effect planted in the synthetic data: its value in the whole "
        "synthetic population, the estimate from the linked families without weights (naive), "
        f"and the estimate weighted for consent, each with its 95% confidence interval; {MISSES} "
        "marks an interval that does not contain the population value."
    ]
    if comparable == len(effects):
        lines[0] += (
            f" The naive interval contains it for {covered['naive']} of the {len(effects)} effects, "
            f"the weighted interval for {covered['weighted']}. By chance alone about one 95% "
            "interval in twenty misses; chapter 6 also checks every weighted estimate against its "
            "99% interval, the test `make test` applies, which a sound analysis fails by chance "
            "far less often."
        )
    header = [name for name, _, _ in _EFFECT_COLUMNS]
    rule = [("-" * width) + (align if i else "") for i, (_, width, align) in enumerate(_EFFECT_COLUMNS)]
    rule[0] = ":" + rule[0][1:]
    lines += ["", "| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    for outcome, rows in groups.items():
        lines.append(f"| **{outcome}** ({scales[outcome]}) |  |  |  |")
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _effects(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = summary.get("effects")
    if isinstance(value, Mapping):
        return [
            {"outcome": name, **item}
            for name, item in sorted(value.items())
            if isinstance(item, Mapping)
        ]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, Mapping)]
    return []


def _estimate(
    effect: Mapping[str, Any], which: str, log_scale: bool
) -> tuple[float | None, ...] | None:
    """(estimate, low, high) on the reported scale (odds ratio, rate ratio or difference)."""
    value = effect.get(which)
    if not isinstance(value, Mapping):
        return None
    reported = tuple(_first(value, (k,)) for k in _REPORTED_KEYS)
    if reported[0] is not None:
        return reported
    raw = tuple(_first(value, (k,)) for k in _ESTIMATE_KEYS)
    if raw[0] is None:
        return None
    return tuple(math.exp(v) if v is not None and log_scale else v for v in raw)


def _covers(estimate: tuple[float | None, ...] | None, truth: float | None) -> bool | None:
    if estimate is None or truth is None or estimate[1] is None or estimate[2] is None:
        return None
    return estimate[1] <= truth <= estimate[2]


def _first(mapping: Mapping[str, Any], keys: Iterable[str]) -> float | None:
    for key in keys:
        if _is_number(mapping.get(key)):
            return float(mapping[key])
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _count(value: float) -> str:
    """A count rounded to the nearest 10, with thousands separated."""
    return f"{int(round(value, -1)):,}"


def _percent(value: float, places: int) -> str:
    """A share (0-1) as a percentage; a value above 1 is taken to be a percentage already."""
    share = value * 100 if value <= 1 else value
    return f"{_round(share, places)}%"


def _percent_precise(value: float) -> str:
    """A share as a percentage with enough decimals to tell it from 100% or 0%.

    0.993 is "99.3%", but 0.9996 is "99.96%", not "100.0%": a precision
    shown as 100% reads as "no false matches", which is not what was found.
    """
    share = value * 100 if value <= 1 else value
    for places in range(1, 5):
        text = _round(share, places)
        if (float(text) < 100 or share >= 100) and (float(text) > 0 or share <= 0):
            return f"{text}%"
    return f"{_round(share, 4)}%"


def _round(value: float, places: int) -> str:
    """``value`` to ``places`` decimals, negative with a minus sign (U+2212), never "-0"."""
    text = f"{value:.{places}f}"
    if re.fullmatch(r"-0(\.0+)?", text):
        return text[1:]
    return "\u2212" + text[1:] if text.startswith("-") else text


def _number(value: float | None) -> str:
    return "not available" if value is None else _round(value, 2)


def _interval(estimate: tuple[float | None, ...] | None) -> str:
    if estimate is None or estimate[0] is None:
        return "not available"
    point, low, high = estimate
    if low is None or high is None:
        return _round(point, 2)
    return f"{_round(point, 2)} ({_round(low, 2)} to {_round(high, 2)})"


def _code_label(code: Any, labels: Mapping[str, str]) -> str:
    return labels.get(str(code), _label(code)) if code is not None else "not available"


def _label(value: Any) -> str:
    if value is None:
        return "not available"
    text = _LABEL_OK.sub("", str(value).replace("_", " ")).strip()
    return (text[: _LABEL_MAX - 3] + "...") if len(text) > _LABEL_MAX else (text or "not available")
