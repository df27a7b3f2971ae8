"""What DfE and the survey organisation release beside the extract for the analysis.

Three things the researchers cannot make themselves, each computed by the
party that holds the data:

* **Frame totals** (DfE, :func:`frame_totals`): how many frame pupils (Year 8
  with an EHC plan or SEN support in the spring 2022 census) fall in each
  category of the frame variables and in each sampling stratum. Aggregates
  over thousands of pupils, rounded and checked like any published count.
  The analysis uses them for balance checks (weighted consenters against
  the frame) and for the bootstrap's finite-population correction.
* **Consent probabilities** (the survey organisation,
  :func:`consent_release`): the consent step of
  :mod:`sendlink.weighting.steps`, fitted on *every* respondent's answers,
  linked or not, which only the survey organisation holds. Each extract row
  gets its fitted probability, computed from the row's released values
  (quasi-identifiers as k-anonymity left them), and blank where the row's
  answers are withheld, so the number reveals nothing the row does not.
* **Replicate weights** (the survey organisation): Rao-Wu bootstrap
  multipliers within the survey's strata
  (:func:`sendlink.weighting.replicates.rao_wu_multipliers`) and the consent
  probabilities refitted in each replicate, so the researchers' bootstrap
  can include the consent model's uncertainty (``replicates.parquet``,
  main extract only).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sendlink.io import read_table
from sendlink.schema import catalogue
from sendlink.weighting.predictors import INDEPENDENT_STRATUM, MINORITY, NEED_GROUPS
from sendlink.weighting.replicates import rao_wu_multipliers
from sendlink.weighting.steps import CONSENT_STEPS, consented, fit_step

log = logging.getLogger(__name__)

#: Extract column -> how frame totals group it (the analysis's coding).
FRAME_VARIABLES = ("stratum", "frame_sen_provision", "frame_fsm", "frame_eal", "frame_ethnicity", "frame_idaci_quintile", "frame_sex", "frame_need_area")


def frame_categories(table: pd.DataFrame) -> pd.DataFrame:
    """The frame variables of :data:`FRAME_VARIABLES` as text categories (missing stays missing).

    ``table`` has the extract's ``frame_*`` columns (and ``stratum``).
    """
    out = pd.DataFrame(index=table.index)
    out["stratum"] = table["stratum"].astype("object")
    out["frame_sen_provision"] = table["frame_sen_provision"].astype("object")
    for name in ("frame_fsm", "frame_eal"):
        out[name] = table[name].astype("object").map({True: "yes", False: "no"})
    out["frame_ethnicity"] = table["frame_ethnicity"].astype("object")
    q = pd.to_numeric(table["frame_idaci_quintile"], errors="coerce")
    out["frame_idaci_quintile"] = q.map(lambda v: None if pd.isna(v) else str(int(v)))
    out["frame_sex"] = table["frame_sex"].astype("object")
    out["frame_need_area"] = table["frame_primary_need"].astype("object").map(NEED_GROUPS)
    return out


def frame_totals(npd_dir: str | Path, frame_year: int, *, ncyear: int = 8, rounding: int = 5, threshold: int = 10) -> pd.DataFrame:
    """DfE's counts of frame pupils by category (``variable, category, frame_pupils``).

    The frame is every pupil in Year ``ncyear`` of the spring census of
    ``frame_year`` with provision E or K (as the survey's frame was drawn).
    Counts are rounded to ``rounding`` and counts below ``threshold`` shown
    as missing (they would be suppressed in any published table); the
    strata use the sampling design's definition (provision x seldom heard:
    FSM or a minority ethnic group).
    """
    from sendlink.deidentify.attributes import year_label
    from sendlink.deidentify.parties import idaci_quintile

    npd_dir = Path(npd_dir)
    census = read_table(npd_dir / catalogue.CENSUS.name)
    frame = census[(census["academic_year"] == year_label(frame_year)) & (census["ncyear"] == ncyear) & census["sen_provision"].isin(["E", "K"])]
    spine = read_table(npd_dir / catalogue.NPD_SPINE.name, columns=["upn", "sex"]).set_index("upn")
    seldom = frame["fsm_eligible"].astype(bool) | frame["ethnicity_major"].isin(MINORITY)
    table = pd.DataFrame({
        "stratum": frame["sen_provision"].astype(str) + "_" + np.where(seldom, "seldom_heard", "core"),
        "frame_sen_provision": frame["sen_provision"],
        "frame_fsm": frame["fsm_eligible"].astype(bool),
        "frame_eal": frame["eal"].astype(bool),
        "frame_ethnicity": frame["ethnicity_major"],
        "frame_idaci_quintile": idaci_quintile(frame["idaci_decile"]),
        "frame_sex": frame["upn"].map(spine["sex"]),
        "frame_primary_need": frame["primary_sen_type"],
    }, index=frame.index)
    cats = frame_categories(table)
    rows = [{"variable": "all", "category": "all", "frame_pupils": len(cats)}]
    for name in FRAME_VARIABLES:
        for category, n in cats[name].value_counts(dropna=True).sort_index().items():
            rows.append({"variable": name, "category": str(category), "frame_pupils": int(n)})
    out = pd.DataFrame(rows)
    exact = out["frame_pupils"].astype(float)
    rounded = (np.round(exact / rounding) * rounding) if rounding else exact
    out["frame_pupils"] = rounded.where(exact >= threshold)
    return out


def stratum_sizes(totals: pd.DataFrame) -> dict[str, float]:
    """Stratum -> frame pupils, from :func:`frame_totals` (or the released file)."""
    t = totals[totals["variable"] == "stratum"]
    return {str(c): float(n) for c, n in zip(t["category"], t["frame_pupils"], strict=True) if pd.notna(n)}


@dataclass(frozen=True)
class SupportSettings:
    """How the survey organisation makes the consent release.

    Attributes
    ----------
    replicates
        Bootstrap replicates B (0: none).
    seed
        Seed of the replicates' generator (the project seed).
    min_category_rows
        As in the outcome analysis (:class:`sendlink.params.outcomes.OutcomesParams`).

    The multipliers are released without the finite-population correction:
    the right fraction depends on the analysis set (after consent and
    linkage), so the researchers apply it themselves
    (:func:`sendlink.weighting.replicates.with_fpc`). The consent model is
    refitted with the uncorrected multipliers: consent is a further random
    phase among respondents, whose variance no frame fraction reduces.
    """

    replicates: int
    seed: int
    min_category_rows: int


@dataclass
class ConsentRelease:
    """The survey organisation's consent release.

    Attributes
    ----------
    columns
        Per extract name, the new columns (``consent_propensity_parent``,
        ``consent_propensity_both``), aligned with the extract's rows.
    replicates
        ``research_id`` and, per replicate r, ``multiplier_r``,
        ``consent_propensity_parent_r`` and ``consent_propensity_both_r``
        (main extract's rows); None without replicates.
    summary
        Counts for the extract report.
    """

    columns: dict[str, pd.DataFrame]
    replicates: pd.DataFrame | None
    summary: dict


def _survey_org_view(frame: pd.DataFrame, cases: pd.Series, holdings_dir: Path) -> pd.DataFrame:
    """The extract rows as the survey organisation sees them: withheld parent answers put back."""
    from sendlink.deidentify.attributes import survey_attributes

    full = survey_attributes(holdings_dir, cases.astype(str).tolist()).reindex(cases.astype(str).to_numpy())
    view = frame.copy()
    withheld = view["parent_answers_withheld"].astype(bool).to_numpy()
    if withheld.any():
        for column in [c for c in view.columns if c.startswith("p1_") and c != "p1_responded" and c in full.columns]:
            values = view[column].astype(object).to_numpy()
            values[withheld] = full[column].astype(object).to_numpy()[withheld]
            view[column] = values
    return view


def consent_release(extracts: dict[str, pd.DataFrame], cases: dict[str, pd.Series], holdings_dir: str | Path,
                    frame_sizes: dict[str, float], settings: SupportSettings) -> ConsentRelease:
    """Fit the consent step on every respondent and release it (see the module docstring).

    Parameters
    ----------
    extracts
        The protected extracts (after k-anonymity), by name; ``main`` is used
        to fit.
    cases
        Per extract, the survey id of each row (kept by the survey
        organisation, never released).
    holdings_dir
        ``data/survey_org/holdings`` (every respondent's answers).
    frame_sizes
        Stratum -> frame pupils (:func:`stratum_sizes`); not used by the
        uncorrected multipliers (kept for the release's record).
    """
    holdings_dir = Path(holdings_dir)
    main = extracts["main"]
    view = _survey_org_view(main, cases["main"], holdings_dir)
    in_npd = main["stratum"].astype(str).ne(INDEPENDENT_STRATUM).to_numpy()
    steps = {}
    summary: dict = {"populations": {}}
    for respondents, (_, column) in CONSENT_STEPS.items():
        rows = main[respondents].astype("boolean").fillna(False).to_numpy(dtype=bool) & in_npd
        ok = consented(view, respondents).to_numpy()
        steps[column] = (fit_step("consent", view, rows, ok, min_category_rows=settings.min_category_rows), rows, ok)
        summary["populations"][respondents] = {"respondents": int(rows.sum()), "consented": int((rows & ok).sum())}
    columns = {}
    for name, frame in extracts.items():
        released = ~frame["parent_answers_withheld"].astype(bool).to_numpy()
        out = pd.DataFrame(index=frame.index)
        for respondents, (_, column) in CONSENT_STEPS.items():
            step = steps[column][0]
            population = frame[respondents].astype("boolean").fillna(False).to_numpy(dtype=bool) & frame["stratum"].astype(str).ne(INDEPENDENT_STRATUM).to_numpy()
            p = np.full(len(frame), np.nan)
            keep = population & released
            p[keep] = step.predict(frame.loc[keep])
            out[column] = np.round(p, 6)
        columns[name] = out
    replicates = None
    if settings.replicates > 0:
        rng = np.random.default_rng([settings.seed, 1604])
        mult = rao_wu_multipliers(main["stratum"].astype(str), frame_sizes, settings.replicates, rng, fpc=False)
        parts = {"research_id": main["research_id"].astype(str).to_numpy()}
        released = ~main["parent_answers_withheld"].astype(bool).to_numpy()
        for r in range(settings.replicates):
            parts[f"multiplier_{r + 1:03d}"] = mult[:, r].astype(np.float32)
        for column, (step, rows, ok) in steps.items():
            X_fit = step.matrix(view.loc[rows])
            X_out = step.matrix(main)
            for r in range(settings.replicates):
                refit = step.refit(ok[rows], X_fit, mult[rows, r])
                p = 1.0 / (1.0 + np.exp(-np.clip(X_out @ refit.params.to_numpy(), -35, 35)))
                parts[f"{column}_{r + 1:03d}"] = np.where(released & rows, p, np.nan).astype(np.float32)
        replicates = pd.DataFrame(parts)
        summary["replicates"] = settings.replicates
        summary["finite_population_correction"] = "applied by the analysis"
    log.info("survey organisation: consent step fitted on %s respondents; %d replicate(s)",
             ", ".join(f"{v['respondents']} ({k})" for k, v in summary["populations"].items()), settings.replicates)
    return ConsentRelease(columns, replicates, summary)
