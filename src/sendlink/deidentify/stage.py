"""The extract stage: from linked identifiable data to ``data/research/`` (:func:`run`).

Run by DfE and the survey organisation together.

**In:** the consent status and the survey organisation's holdings
(``data/survey_org/``), DfE's match results (``data/linkage/links.parquet``)
and the NPD (``data/synthetic/npd/``). **Out:** the de-identified research
extract and its two sensitivity versions, the k-anonymity report and a
readable README, all in ``data/research/``, written together or not at all.

The three parties each do their part (:mod:`sendlink.deidentify.parties`);
the data provider then checks the release (k-anonymity, school clusters,
the schema) before the researchers receive it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sendlink import schema
from sendlink.config import Paths
from sendlink.consent import permitted_ids
from sendlink.consent.files import ConsentFiles
from sendlink.deidentify import kanon
from sendlink.deidentify.attributes import npd_attributes
from sendlink.deidentify.keys import ProjectKey, load_key, school_pseudonyms
from sendlink.deidentify.parties import LinkRule, dfe_side, researcher_file, survey_side
from sendlink.io import StagedWrites, read_table, remove_stale_temporaries
from sendlink.params import Params, load_params
from sendlink.params.deidentify import DeidentifyParams
from sendlink.schema import catalogue
from sendlink.schema.research import EXTRACT

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ExtractResult:
    """What the stage did.

    Attributes
    ----------
    rows, linked
        Rows and linked rows of each extract (``main``, ``strict``, ``loose``).
    report
        The k-anonymity report (as written to ``k_anonymity.json``).
    key_source
        ``environment``, ``file`` or ``demo``.
    written
        The files written.
    """

    rows: dict[str, int]
    linked: dict[str, int]
    report: dict[str, Any]
    key_source: str
    written: tuple[Path, ...]

    def __str__(self) -> str:
        parts = ", ".join(f"{n}: {self.rows[n]} rows ({self.linked[n]} linked)" for n in self.rows)
        return f"research extracts written ({parts}); k-anonymity holds: {self.report['holds']}; key: {self.key_source}"


def link_rules(p: DeidentifyParams) -> dict[str, LinkRule]:
    """The main extract's link rule and the two sensitivity rules."""
    return {
        "main": LinkRule("main"),
        "strict": LinkRule("strict", min_matched_probability=p.sensitivity.strict_min_probability),
        "loose": LinkRule("loose", review_min_probability=p.sensitivity.loose_review_min_probability),
    }


def project_key(paths: Paths, params: Params) -> ProjectKey:
    """The project key, from the environment, the key file or the demo key.

    The consent register's key (``consent.key_env``, ``consent.key_file``)
    is passed so that the project key is refused if it is the same: one key
    per purpose.
    """
    p = params.deidentify
    return load_key(
        p.key_env, p.key_path, project_root=paths.root,
        register_key_env=params.consent.key_env, register_key_file=params.consent.key_path, paths=paths,
    )


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Order and type the columns as the :data:`EXTRACT` contract says.

    Nullable integer and boolean columns become ``Int64``/``boolean``; text
    columns hold ``None`` for missing. Columns the contract does not list
    are dropped here and so can never be written (the schema check would
    refuse them anyway). Rows are sorted by ``research_id``.
    """
    out = pd.DataFrame(index=frame.index)
    for name, col in EXTRACT.columns.items():
        values = frame[name] if name in frame.columns else pd.Series(pd.NA, index=frame.index)
        dtype = str(col.dtype)
        if dtype in ("Int64", "boolean"):
            values = pd.array(values.astype(object).where(values.notna(), None), dtype=dtype)
        elif dtype == "bool":
            values = values.astype(object).where(values.notna(), False).astype(bool)
        elif dtype.startswith("float"):
            values = pd.to_numeric(values, errors="coerce").astype(float)
        elif dtype == "int64":
            values = values.astype("int64")
        else:
            values = values.astype(object).where(values.notna(), None)
        out[name] = values
    return out.sort_values("research_id", kind="mergesort").reset_index(drop=True)


def _school_clusters(frame: pd.DataFrame, min_size: int) -> tuple[pd.DataFrame, dict[str, int]]:
    counts = frame["npd_school_cluster"].map(frame["npd_school_cluster"].value_counts())
    small = frame["npd_school_cluster"].notna() & (counts < min_size)
    out = frame.copy()
    out.loc[small, "npd_school_cluster"] = None
    kept = out["npd_school_cluster"].dropna()
    return out, {"clusters_kept": int(kept.nunique()), "rows_with_cluster": int(len(kept)), "rows_cluster_blanked": int(small.sum())}


def build_extracts(
    status: pd.DataFrame,
    holdings_dir: Path,
    links: pd.DataFrame,
    npd_dir: Path,
    key: ProjectKey,
    p: DeidentifyParams,
    year: int,
    *,
    links_path: str | Path = "links",
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Build the three extracts in memory: the parties' parts, joined and checked.

    Returns the extracts (conformed to :data:`EXTRACT`, validated) and the
    report (k-anonymity, school clusters, link rules, the key's source and
    fingerprint). Reads no file but the NPD tables and the holdings.
    """
    linkable = permitted_ids(status, "linkage")
    joined: dict[str, pd.DataFrame] = {}
    cases: dict[str, pd.Series] = {}
    rules = link_rules(p)
    # DfE derives the NPD attributes once, for every UPN any rule may accept.
    candidates = links.loc[links["survey_id"].astype(str).isin(linkable) & links["upn"].notna(), "upn"].astype(str)
    candidates = candidates[candidates != ""]
    attributes = npd_attributes(npd_dir, candidates, year, school_pseudonym=lambda urns: school_pseudonyms(key, urns))
    for name, rule in rules.items():
        dfe = dfe_side(links, linkable, npd_dir, key, year, rule, links_path=links_path, attributes=attributes)
        survey = survey_side(status, holdings_dir, dfe.mapping, key)
        joined[name] = researcher_file(survey.answers, dfe.npd)
        cases[name] = survey.cases
    settings = kanon.Settings(p.k, tuple(p.quasi_identifiers), tuple(p.suppression_order), p.rare_need_min_rows)
    protected, report = kanon.anonymise(joined, cases, settings)
    clusters: dict[str, dict[str, int]] = {}
    out: dict[str, pd.DataFrame] = {}
    for name, frame in protected.items():
        frame, clusters[name] = _school_clusters(frame, p.school_cluster_min_size)
        out[name] = schema.validate(conform(frame), EXTRACT, Path(catalogue.EXTRACTS[name].path))
    report["school_clusters"] = {"min_size": p.school_cluster_min_size, **clusters}
    report["link_rules"] = {name: rule.describe() for name, rule in rules.items()}
    report["rows"] = {name: int(len(f)) for name, f in out.items()}
    report["linked_rows"] = {name: int(f["npd_linked"].sum()) for name, f in out.items()}
    report["key"] = {"source": key.source, "fingerprint": key.fingerprint}
    return out, report


def run(paths: Paths | None = None, params: Params | None = None) -> ExtractResult:
    """Run the extract stage (see the module docstring).

    Parameters
    ----------
    paths, params
        The project's, by default.

    Writes
    ------
    ``data/research/extract.parquet``, ``extract_strict.parquet``,
    ``extract_loose.parquet``, ``k_anonymity.json`` and ``README.md``.

    Raises
    ------
    InputError
        If an input is missing or malformed (names the file and column).
    ParameterError
        If ``deidentify:`` is invalid or the key is misplaced.
    """
    paths = paths or Paths.discover()
    params = params or load_params(paths.params)
    remove_stale_temporaries([*(f.at(paths) for f in catalogue.EXTRACTS.values()), catalogue.K_ANONYMITY.at(paths),
                              catalogue.RESEARCH_README.at(paths)])
    key = project_key(paths, params)
    files = ConsentFiles(paths)
    links_path = catalogue.LINKS.at(paths)
    status = read_table(files.status)
    links = read_table(links_path)
    extracts, report = build_extracts(status, files.holdings, links, paths.npd, key, params.deidentify,
                                      params.synth.survey.frame_year, links_path=links_path)
    written: list[Path] = []
    with StagedWrites(private=False) as out:  # de-identified: the researchers' files
        for name, frame in extracts.items():
            written.append(out.table(frame, catalogue.EXTRACTS[name].at(paths)))
        written.append(out.json(report, catalogue.K_ANONYMITY.at(paths)))
        written.append(out.text(readme(report), catalogue.RESEARCH_README.at(paths)))
    result = ExtractResult(
        rows=dict(report["rows"]), linked=dict(report["linked_rows"]), report=report, key_source=key.source, written=tuple(written)
    )
    log.info("%s", result)
    return result


def _fmt(n: object) -> str:
    return f"{n:,}" if isinstance(n, int) else "-" if n is None else str(n)


def readme(report: Mapping[str, Any]) -> str:
    """The README of ``data/research/``: what the files are and what was done."""
    k = report["k"]
    lines = [
        "# Research extract",
        "",
        "Written by `sendlink extract`; do not edit (it is rewritten on every run).",
        "",
        "The de-identified linked file researchers receive (DESIGN.md section 2). Each row is one",
        "wave-1 responding survey case whose answers may be analysed, keyed by `research_id`, a",
        "keyed hash of the child's UPN (linked cases) or of the survey case (others) made with a",
        "project key that DfE and the survey organisation hold and the researchers never see.",
        "There are no names, addresses, postcodes, dates of birth, UPNs, survey ids or school URNs.",
        "Columns are described in the data dictionary (`data/README.md`, section `data/research/`).",
        "",
        "| file | rows | linked | which links are accepted |",
        "| --- | --- | --- | --- |",
    ]
    for name, file in catalogue.EXTRACTS.items():
        lines.append(f"| `{file.name}` | {_fmt(report['rows'][name])} | {_fmt(report['linked_rows'][name])} | {report['link_rules'][name]} |")
    key = report["key"]
    lines += [
        "",
        "`extract_strict` and `extract_loose` are for sensitivity analysis of linkage error only.",
        "",
        f"Key: {'the PUBLIC synthetic-only demo key (anyone can recompute these ids)' if key['source'] == 'demo' else 'the project key from the ' + key['source']}; fingerprint `{key['fingerprint']}`.",
        "",
        "## Consent",
        "",
        "NPD attributes are attached only to cases linked with a permission in force. A linked",
        "row keeps only the answers of the scopes it may link: `parent_answers_withheld` and",
        "`child_answers_withheld` say when answers were removed. A person's objection or erasure covers",
        "their own answers only (the parent's also the child's while the parent decides for the child):",
        "those answers are removed from every row, linked or not. Cases not linked (no permission,",
        "withdrawn, not found or awaiting review) keep their answers, with `link_status`, so that",
        "linkage bias can be studied. Erased and restricted cases, and cases none of whose answers",
        "may be analysed, have no row.",
        "",
        f"## k-anonymity (k = {k})",
        "",
        "Quasi-identifiers: " + "; ".join(f"**{q}** ({', '.join(f'`{c}`' for c in v['columns'])}: {v['why']})" for q, v in report["quasi_identifiers"].items()) + ".",
        "",
        "Class sizes in the main extract (sizes only: the values of small classes would disclose):",
        "",
        "| stage | classes | smallest | classes below k | rows below k |",
        "| --- | --- | --- | --- | --- |",
    ]

    def row(label: str, s: Mapping[str, Any]) -> str:
        return f"| {label} | {_fmt(s['classes'])} | {_fmt(s['smallest_class'])} | {_fmt(s['classes_below_k'])} | {_fmt(s['rows_below_k'])} |"

    lines.append(row("as derived", report["before"]["main"]))
    for step in report["generalisation"]:
        lines.append(row(f"after {step['step']}", step["after"]["main"]))
    lines.append(row("after suppression", report["after"]["main"]))
    sup = report["suppression"]
    blanked = sup["values_blanked"]["main"]
    lines += [
        "",
        "Levels kept: " + "; ".join(f"{q}: {lv}" for q, lv in report["levels"].items()) + ".",
        "",
        f"Suppression (only after every generalisation), in the order {', '.join(sup['order'])}: "
        f"{_fmt(blanked['rows'])} row(s) of the main extract had values blanked ("
        + ", ".join(f"{q} {_fmt(blanked[q])}" for q in sup["order"])
        + "); `qi_suppressed` names them in each row. The same case is treated alike in every extract,",
        "so comparing them reveals nothing one of them hides.",
        "",
        f"k-anonymity holds in every extract: **{'yes' if report['holds'] else 'NO'}**.",
        "",
        f"School pseudonyms (`npd_school_cluster`) are kept for schools with at least {report['school_clusters']['min_size']} rows;",
        f"in the main extract {_fmt(report['school_clusters']['main']['clusters_kept'])} schools keep one and "
        f"{_fmt(report['school_clusters']['main']['rows_cluster_blanked'])} linked rows have none (treat each as its own cluster).",
        "",
        "The full report is `k_anonymity.json`.",
        "",
    ]
    return "\n".join(lines)
