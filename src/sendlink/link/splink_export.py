"""The trained model as Splink settings: the route to linking beyond one machine.

Stage ``link``, run by DfE. A survey linked to the NPD fits on one machine
(``benchmarks/scale_benchmark.py``: 10,000 children x 9.1 million pupils in
well under a minute). Linking whole administrative datasets to each other
does not; the path there is an existing distributed engine, not a home-made
one. This module writes the model this project trained as a Splink settings
dictionary, so that Splink's Spark backend (or DuckDB) can score at any
scale with *the same* comparison levels, m and u probabilities, term
frequencies and prior:

* :func:`splink_settings` - ``link_only`` settings: one comparison per
  field, each level a SQL condition that reproduces
  :mod:`sendlink.link.compare` on the prepared columns (each level's own
  ``sql``), with its m and u;
  ``probability_two_random_records_match`` set so that Splink's prior
  weight equals :attr:`FittedModel.prior_weight`; the thresholds as
  metadata.
* :func:`splink_records` - the prepared input tables (standardised
  identifiers, name-group lists, postcode sector and district...): Splink's
  SQL compares columns, so the standardisation this project does in Python
  is done once, here, and written with the data.
* :func:`splink_term_frequencies` - term-frequency lookup tables for
  forename, surname and postcode, counted on the NPD only (the project's
  definition), registered with
  ``linker.table_management.register_term_frequency_lookup``.

The proof (``tests/integration/test_link_splink_export.py``): Splink with
DuckDB, given these settings, tables and the project's candidate pairs
(``register_blocked_pairs_for_predict``), gives every pair the project's
match weight, to rounding.

The Spark route: prepare the tables with :func:`splink_records` (or the
same rules in Spark SQL), write them as Parquet, and on the cluster::

    from splink import Linker, SparkAPI
    linker = Linker([survey_df, npd_df], settings, db_api=SparkAPI(spark_session=spark))
    for column, table in term_frequencies.items():
        linker.table_management.register_term_frequency_lookup(db_api.register(table), column)
    predictions = linker.inference.predict(threshold_match_probability=...)

with ``settings["blocking_rules_to_generate_predictions"]`` set to the
equi-join rules the cluster should use (:func:`splink_blocking_rules` gives
SQL versions of this project's single-valued passes). Splink's pairwise
probability is this project's ``pairwise_probability``; the competing-
candidates step and the one-to-one assignment
(:mod:`sendlink.link.assign`) are then applied to Splink's output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sendlink.link import compare
from sendlink.link.features import Features, encode, postcode_text
from sendlink.link.model import FittedModel
from sendlink.link.spine import RawSpine
from sendlink.link.standardise import TITLE_NAMES
from sendlink.params.linkage import Thresholds

__all__ = ["UNIQUE_ID", "splink_blocking_rules", "splink_export", "splink_records", "splink_settings", "splink_term_frequencies"]

#: The unique id column of the prepared tables (the survey_id or the UPN).
UNIQUE_ID = "unique_id"


_TF_COLUMN = {"forename": "fn_tf", "surname": "sn_tf", "postcode": "pc_tf"}


def splink_settings(model: FittedModel) -> dict[str, Any]:
    """The fitted model as a Splink ``link_only`` settings dictionary (see the module docstring).

    The survey is Splink's left table, the NPD its right table; both carry
    the columns of :func:`splink_records`. Blocking rules are left empty:
    register the candidate pairs, or set rules for the target engine.
    """
    pw = model.prior_weight
    # Splink's prior weight is log2(lambda / (1 - lambda)): choose lambda to make it ours.
    lam = 1.0 / (1.0 + 2.0 ** (-pw))
    comparisons = []
    for spec in compare.FIELDS:
        if spec.name not in model.fields:
            continue
        levels: list[dict[str, Any]] = [{"sql_condition": spec.missing_sql, "label_for_charts": "missing", "is_null_level": True}]
        m, u = model.m[spec.name], model.u[spec.name]
        for i, own in enumerate(spec.levels):
            level = {"sql_condition": own.sql if own.sql is not None else "ELSE", "label_for_charts": own.label,
                     "m_probability": float(m[i]), "u_probability": float(u[i])}
            if i == 0 and spec.term_frequency and model.term_frequency:
                level.update({"tf_adjustment_column": _TF_COLUMN[spec.name], "tf_adjustment_weight": 1.0,
                              "disable_tf_exact_match_detection": True})
            levels.append(level)
        comparisons.append({"output_column_name": spec.name, "comparison_levels": levels,
                            "comparison_description": f"sendlink {spec.name}: " + " / ".join(spec.labels)})
    household = _household_comparison(model)
    if household is not None:
        comparisons.append(household)
    return {
        "link_type": "link_only",
        "unique_id_column_name": UNIQUE_ID,
        "probability_two_random_records_match": lam,
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": [],
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": True,
    }


#: The household comparison's levels and their term-frequency columns (one value per NPD record).
_HOUSEHOLD_LEVELS = (("same_school", "school_l = school_r", "hh_same"), ("other_school", "school_l <> school_r", "hh_other"),
                     ("school_missing", "school_l IS NULL OR school_r IS NULL", "hh_nosch"))


def _household_comparison(model: FittedModel) -> dict[str, Any] | None:
    """The household correction (:func:`sendlink.link.model.household_log_u`) as a Splink comparison.

    Pairs agreeing exactly on surname and full postcode get a level whose
    weight is ``log2(m / tf)`` (``m = u = 1`` and a term-frequency
    adjustment): the per-record ``tf`` values (:func:`splink_term_frequencies`)
    carry the correction, which depends on the NPD record's surname and
    postcode frequencies. Every other pair is at the null level (weight 0).

    Not exported: the correction for a *former* household (surname and a
    past postcode of the pupil, with the NPD history). Splink scores those
    pairs with the independent weights of surname and ``postcode_history``,
    so its weights for them are higher than the linker's.
    """
    chance = float(model.household.get("sibling_chance", 0.0) or 0.0)
    if chance <= 0 or not {"surname", "postcode"} <= set(model.fields):
        return None
    transposed = compare._TRANSPOSED_SQL
    levels: list[dict[str, Any]] = [{"sql_condition": f"NOT (sn_l = sn_r AND pc_l = pc_r) OR sn_l IS NULL OR pc_l IS NULL OR {transposed}",
                                     "label_for_charts": "not one household", "is_null_level": True}]
    names = _HOUSEHOLD_LEVELS if "school" in model.fields else _HOUSEHOLD_LEVELS[2:]
    for label, sql, column in names:
        levels.append({"sql_condition": sql, "label_for_charts": label, "m_probability": 1.0, "u_probability": 1.0,
                       "tf_adjustment_column": column, "tf_adjustment_weight": 1.0, "disable_tf_exact_match_detection": True})
    return {"output_column_name": "household", "comparison_levels": levels,
            "comparison_description": "sendlink household: surname and postcode shared by siblings (sendlink.link.household)"}


def _household_tf(model: FittedModel, features: Features) -> dict[str, pd.DataFrame]:
    """Per NPD record, the term-frequency values that give the household levels their weights."""
    chance = float(model.household.get("sibling_chance", 0.0) or 0.0)
    rate = float(model.household.get("school_rate", float("nan")))
    if chance <= 0:
        return {}
    side = features.npd
    size = max(len(side), 1)
    sn, pc = side.sn(), side.pc()
    _, sn_inv, sn_counts = np.unique(sn, return_inverse=True, return_counts=True)
    _, pc_inv, pc_counts = np.unique(pc, return_inverse=True, return_counts=True)
    product = (sn_counts[sn_inv] / size) * (pc_counts[pc_inv] / size)
    joint_bits = np.log2(1.0 + chance / product)  # the weight the joint chance takes off, in bits
    keys = side.keys.to_pylist()
    out = {}
    u_school = model.u.get("school")
    for label, _, column in _HOUSEHOLD_LEVELS:
        bits = joint_bits.copy()
        if u_school is not None and np.isfinite(rate) and label != "school_missing":
            r = min(max(rate, 1e-3), 1 - 1e-3)
            bits += np.log2(r / u_school[0]) if label == "same_school" else np.log2((1 - r) / u_school[-1])
        out[column] = pd.DataFrame({column: keys, f"tf_{column}": np.exp2(bits)})
    return out


def splink_export(model: FittedModel, thresholds: Thresholds) -> dict[str, Any]:
    """What to hand to a Splink user: the settings plus what Splink does not hold.

    ``settings`` (:func:`splink_settings`); ``thresholds`` (match and
    review, on this project's competing probability); ``prior_weight``,
    ``pi`` and ``n_npd`` (the prior is per survey child; its Splink
    equivalent is ``probability_two_random_records_match``); and the
    blocking rules for a Splink run at scale.
    """
    return {
        "settings": splink_settings(model),
        "thresholds": thresholds.model_dump(),
        "prior_weight": model.prior_weight, "pi": model.pi, "n_npd": model.n_npd,
        "blocking_rules_for_scale": splink_blocking_rules(),
        "note": ("Splink's match_probability is pairwise; sendlink then lets each child's candidates compete "
                 "(sendlink.link.assign.competing_probability), assigns one-to-one and applies the thresholds."),
    }


def _names(features: Features, codes: np.ndarray) -> np.ndarray:
    table = np.append(features.names.astype(object), None)
    return table[np.where(codes < 0, len(features.names), codes)]


def _name_lists(features: Features, codes: np.ndarray) -> list[list[str]]:
    names = _names(features, codes)
    return [[v for v in row if v is not None] for row in names.tolist()]


def _group_lists(features: Features, codes: np.ndarray) -> list[list[int]]:
    groups = features.groups.tocsr()
    out = []
    for code in codes.tolist():
        out.append(groups.indices[groups.indptr[code]:groups.indptr[code + 1]].tolist() if code >= 0 else [])
    return out


def _history_lists(features: Features, rows: np.ndarray, is_npd: bool) -> tuple[list, list]:
    """Per record: its history's postcodes (text) and schools (codes); None on the survey side or without a history."""
    history = features.cache.get("history")
    if not is_npd or history is None:
        return [None] * len(rows), [None] * len(rows)
    postcodes, schools = [], []
    for r in rows.tolist():
        start, stop = int(history.indptr[r]), int(history.indptr[r + 1])
        units = history.postcodes[start:stop]
        postcodes.append([v for v in postcode_text(units[units >= 0], features.long_postcodes) if v is not None])
        codes = history.schools[start:stop]
        schools.append([int(v) for v in codes[codes >= 0]])
    return postcodes, schools


def _side_frame(features: Features, side, rows: np.ndarray, is_npd: bool) -> pd.DataFrame:
    fn, fnfull, sn = side.fn(rows), side.fnfull(rows), side.sn(rows)
    year = side.year(rows)
    present = year >= 0
    sex = side.sex(rows)
    school = side.school(rows)
    frame = pd.DataFrame({
        UNIQUE_ID: side.keys.take(pa.array(rows, type=pa.int64())).to_pylist() if len(rows) else [],
        "fn": _names(features, fn), "fnfull": _names(features, fnfull), "mid": _name_lists(features, side.mid(rows)),
        "fn_groups": _group_lists(features, fn),
        "sn": _names(features, sn), "snparts": _name_lists(features, side.snparts(rows)),
        "dob_y": pd.array(np.where(present, year, 0), dtype="Int64"),
        "dob_m": pd.array(np.where(present, side.month(rows), 0), dtype="Int64"),
        "dob_d": pd.array(np.where(present, side.day(rows), 0), dtype="Int64"),
        "pc": postcode_text(side.pc(rows), features.long_postcodes),
        "pc_sector": pd.array(side.sector(rows), dtype="Int64"), "pc_district": pd.array(side.district(rows), dtype="Int64"),
        "sex": np.where(sex == 0, "F", np.where(sex == 1, "M", None)),
        "school": pd.array(school, dtype="Int64"),
    })
    # The naming-convention levels' prepared columns (sendlink.link.compare).
    core, prefixed = compare.given_name_core(features, side, rows)
    frame["fncore"] = _names(features, core)
    frame["fncore_prefixed"] = prefixed
    frame["fncore_groups"] = _group_lists(features, core)
    frame["sn_groups"] = _group_lists(features, sn)
    frame["snmc"] = [None if v is None else ("mc" + v[3:] if v.startswith("mac") and len(v) > 4 else v) for v in frame["sn"].tolist()]
    frame["sn_title"] = [v is not None and v in TITLE_NAMES for v in frame["sn"].tolist()]
    frame["snparts_nt"] = [[v for v in parts if v not in TITLE_NAMES] for parts in frame["snparts"].tolist()]
    frame.loc[frame["sn"].isna(), "sn_title"] = None
    frame["pc_hist"], frame["school_hist"] = _history_lists(features, rows, is_npd)
    for _, _, column in _HOUSEHOLD_LEVELS:  # the household levels' term-frequency keys: the NPD record itself
        frame[column] = frame[UNIQUE_ID] if is_npd else None
    for column in ("dob_y", "dob_m", "dob_d"):
        frame.loc[~present, column] = pd.NA
    for column in ("pc_sector", "pc_district", "school"):
        frame.loc[frame[column] < 0, column] = pd.NA
    # Term frequencies are the NPD's: only the NPD side carries the key, so Splink
    # (which takes the larger of the two sides' frequencies) uses the NPD value's.
    frame["fn_tf"] = frame["fn"] if is_npd else None
    frame["sn_tf"] = frame["sn"] if is_npd else None
    frame["pc_tf"] = frame["pc"] if is_npd else None
    return frame


def splink_records(survey: RawSpine, npd: RawSpine, npd_rows: np.ndarray | None = None,
                   features: Features | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The prepared (standardised) survey and NPD tables Splink compares.

    ``npd_rows`` limits the NPD table to some records (the candidates of a
    survey), all when None.
    """
    features = features or encode(survey, npd)
    s_rows = np.arange(len(survey), dtype=np.int64)
    n_rows = np.arange(len(npd), dtype=np.int64) if npd_rows is None else np.asarray(npd_rows, dtype=np.int64)
    return _side_frame(features, features.survey, s_rows, False), _side_frame(features, features.npd, n_rows, True)


def splink_term_frequencies(npd: RawSpine, survey: RawSpine | None = None, features: Features | None = None,
                            model: FittedModel | None = None) -> dict[str, pd.DataFrame]:
    """Term-frequency lookup tables (``fn_tf``, ``sn_tf``, ``pc_tf``): each value's share of NPD records;
    with ``model``, also the household levels' per-record values (``hh_same``, ``hh_other``, ``hh_nosch``)."""
    if features is None:
        if survey is None:
            raise ValueError("give the survey spine or the features")
        features = encode(survey, npd)
    side = features.npd
    size = max(len(side), 1)
    out = {}
    for column, codes, text in (("fn_tf", side.fn(), lambda c: _names(features, c)),
                                ("sn_tf", side.sn(), lambda c: _names(features, c)),
                                ("pc_tf", side.pc(), lambda c: postcode_text(c, features.long_postcodes))):
        present = codes[codes >= 0]
        values, counts = np.unique(present, return_counts=True)
        out[column] = pd.DataFrame({column: list(text(values)), f"tf_{column}": counts / size})
    if model is not None:
        out.update(_household_tf(model, features))
    return out


def splink_blocking_rules() -> list[str]:
    """SQL blocking rules for the project's single-valued passes (for a Splink run at scale)."""
    return [
        "l.dob_y = r.dob_y AND l.dob_m = r.dob_m AND l.dob_d = r.dob_d AND l.sn = r.sn",
        "l.dob_y = r.dob_y AND l.dob_m = r.dob_m AND l.dob_d = r.dob_d AND l.fn = r.fn",
        "l.dob_y = r.dob_y AND l.dob_m = r.dob_m AND l.dob_d = r.dob_d AND l.school = r.school",
        "l.dob_y = r.dob_y AND l.dob_m = r.dob_m AND l.dob_d = r.dob_d AND l.pc_district = r.pc_district",
        "l.fn = r.fn AND l.sn = r.sn AND l.dob_y = r.dob_y",
        "l.pc = r.pc",
        "l.school = r.school AND l.sn = r.sn",
    ]
