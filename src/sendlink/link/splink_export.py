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

* :func:`write_splink_files` - all of the above (and the candidate pairs)
  as Parquet and JSON files, to copy to where Splink runs.
* :func:`register_duckdb_functions`, :func:`register_spark_functions` -
  the two string measures the levels use (Jaro-Winkler similarity and
  optimal-string-alignment distance), registered in the engine as
  ``sendlink_jaro_winkler`` and ``sendlink_osa``: the very functions
  :mod:`sendlink.link.compare` calls (rapidfuzz, the same cut-offs, single
  precision), as a vectorised DuckDB or pandas UDF. The engines' own
  functions are not the same measure: DuckDB's ``jaro_winkler_similarity``
  rounds differently when a similarity is exactly on a band edge (0.80),
  and the Jaro-Winkler of the jar Splink ships for Spark (Apache Commons
  Text) differs from rapidfuzz's on some names (``norman``/``omar``: 0.806
  against below 0.80). ``splink_settings(..., functions="builtin")`` uses
  the engines' own functions anyway, for engines that cannot run Python
  UDFs; ``benchmarks/splink_spark.py`` measures what that costs.

The proof (``tests/integration/test_link_splink_export.py``, in ``make
test``): Splink with DuckDB, given these settings, tables, functions and
the project's candidate pairs (``register_blocked_pairs_for_predict``),
gives every pair the project's match weight, to rounding.
``benchmarks/splink_spark.py`` does the same on Splink's Spark backend
(local mode) with a 1 M-pupil spine and compares the links too.

The Spark route: prepare the tables with :func:`splink_records`, write them
as Parquet, and on the cluster::

    from splink import Linker, SparkAPI
    db_api = SparkAPI(spark_session=spark)  # the Splink jar on spark.jars, a checkpoint dir set
    register_spark_functions(spark)
    linker = Linker([db_api.register(npd_df, dataset_display_name="npd"),
                     db_api.register(survey_df, dataset_display_name="survey")], settings)
    for column, table in term_frequencies.items():
        linker.table_management.register_term_frequency_lookup(db_api.register(table), column)
    predictions = linker.inference.predict(threshold_match_probability=...)

with ``settings = splink_settings(model, dialect="spark")`` and its
``blocking_rules_to_generate_predictions`` set to the equi-join rules the
cluster should use (:func:`splink_blocking_rules` gives SQL versions of
this project's single-valued passes), or the project's candidate pairs
registered with ``register_blocked_pairs_for_predict``. Splink's pairwise
probability is this project's ``pairwise_probability``; the competing-
candidates step and the one-to-one assignment
(:mod:`sendlink.link.assign`, :func:`sendlink.link.engine.decide`) are then
applied to Splink's output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sendlink.link import compare, sql
from sendlink.link.features import Features, encode, postcode_text
from sendlink.link.model import FittedModel
from sendlink.link.spine import RawSpine
from sendlink.link.standardise import TITLE_NAMES
from sendlink.params.linkage import Thresholds
from sendlink.schema import catalogue

__all__ = ["DIALECTS", "FUNCTIONS", "UNIQUE_ID", "register_duckdb_functions", "register_spark_functions",
           "splink_blocking_rules", "string_scores", "write_splink_files", "splink_export", "splink_records", "splink_settings", "splink_term_frequencies"]

#: The unique id column of the prepared tables (the survey_id or the UPN).
UNIQUE_ID = "unique_id"
#: SQL dialects, sources of string measures, and the SQL names of sendlink's measures (:mod:`sendlink.link.sql`).
DIALECTS, FUNCTIONS, JW_FUNCTION, OSA_FUNCTION = sql.DIALECTS, sql.FUNCTIONS, sql.JW_FUNCTION, sql.OSA_FUNCTION


_TF_COLUMN = {"forename": "fn_tf", "surname": "sn_tf", "postcode": "pc_tf"}


def splink_settings(model: FittedModel, dialect: str = "duckdb", functions: str = "sendlink") -> dict[str, Any]:
    """The fitted model as a Splink ``link_only`` settings dictionary (see the module docstring).

    The survey is Splink's left table, the NPD its right table; both carry
    the columns of :func:`splink_records`. Blocking rules are left empty:
    register the candidate pairs, or set rules for the target engine.
    ``dialect`` is the SQL of the backend that will run it (:data:`DIALECTS`:
    ``"duckdb"`` or ``"spark"``); only function names differ. ``functions``
    (:data:`FUNCTIONS`): ``"sendlink"`` (register them first with
    :func:`register_duckdb_functions` or :func:`register_spark_functions`)
    reproduces every comparison level exactly; ``"builtin"`` uses the
    engine's own string functions, which differ on a few pairs.
    """
    q = sql.Sql(dialect, functions)
    pw = model.prior_weight
    # Splink's prior weight is log2(lambda / (1 - lambda)): choose lambda to make it ours.
    lam = 1.0 / (1.0 + 2.0 ** (-pw))
    comparisons = []
    for spec in compare.FIELDS:
        if spec.name not in model.fields:
            continue
        levels: list[dict[str, Any]] = [{"sql_condition": spec.missing_sql(q), "label_for_charts": "missing", "is_null_level": True}]
        m, u = model.m[spec.name], model.u[spec.name]
        for i, own in enumerate(spec.levels):
            level = {"sql_condition": own.sql(q) if own.sql is not None else "ELSE", "label_for_charts": own.label,
                     "m_probability": float(m[i]), "u_probability": float(u[i])}
            if i == 0 and spec.term_frequency and model.term_frequency:
                level.update({"tf_adjustment_column": _TF_COLUMN[spec.name], "tf_adjustment_weight": 1.0,
                              "disable_tf_exact_match_detection": True})
            levels.append(level)
        comparisons.append({"output_column_name": spec.name, "comparison_levels": levels,
                            "comparison_description": f"sendlink {spec.name}: " + " / ".join(spec.labels)})
    household = _household_comparison(model, q)
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


def _household_comparison(model: FittedModel, q: sql.Sql) -> dict[str, Any] | None:
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
    transposed = compare._transposed_sql(q)
    levels: list[dict[str, Any]] = [{"sql_condition": f"NOT (sn_l = sn_r AND pc_l = pc_r) OR sn_l IS NULL OR pc_l IS NULL OR {transposed}",
                                     "label_for_charts": "not one household", "is_null_level": True}]
    names = _HOUSEHOLD_LEVELS if "school" in model.fields else _HOUSEHOLD_LEVELS[2:]
    for label, condition, column in names:
        levels.append({"sql_condition": condition, "label_for_charts": label, "m_probability": 1.0, "u_probability": 1.0,
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


def splink_export(model: FittedModel, thresholds: Thresholds, dialect: str = "duckdb",
                  functions: str = "sendlink") -> dict[str, Any]:
    """What to hand to a Splink user: the settings plus what Splink does not hold.

    ``settings`` (:func:`splink_settings`); ``thresholds`` (match and
    review, on this project's competing probability); ``prior_weight``,
    ``pi`` and ``n_npd`` (the prior is per survey child; its Splink
    equivalent is ``probability_two_random_records_match``); and the
    blocking rules for a Splink run at scale. ``dialect`` and ``functions``
    as in :func:`splink_settings`.
    """
    return {
        "settings": splink_settings(model, dialect, functions),
        "thresholds": thresholds.model_dump(),
        "prior_weight": model.prior_weight, "pi": model.pi, "n_npd": model.n_npd,
        "blocking_rules_for_scale": splink_blocking_rules(),
        "note": ("Splink's match_probability is pairwise; sendlink then lets each child's candidates compete "
                 "(sendlink.link.assign.competing_probability), assigns one-to-one and applies the thresholds "
                 "(sendlink.link.engine.decide)." + (
                     " The levels call sendlink's string measures: register them in the engine first "
                     "(sendlink.link.splink_export.register_duckdb_functions or register_spark_functions)."
                     if functions == "sendlink" else "")),
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


def _texts(values) -> tuple[list[str], np.ndarray]:
    """Strings for rapidfuzz ("" for missing) and the mask of missing values."""
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values.astype(object)
    missing = series.isna().to_numpy()
    return series.where(~missing, "").astype(str).tolist(), missing


def string_scores(left, right) -> tuple[np.ndarray, np.ndarray]:
    """Jaro-Winkler similarity and OSA distance of two columns of names, as sendlink computes them.

    The same calls as :mod:`sendlink.link.compare` (rapidfuzz, single
    precision, similarity below 0.80 given as 0, distance above 1 given as
    2), so a band test on these values agrees with sendlink's to the bit.
    A missing value on either side gives similarity 0 and distance 2 (the
    comparison levels test for missing before any band).
    """
    from rapidfuzz import distance, process

    a, missing_a = _texts(left)
    b, missing_b = _texts(right)
    if not a:
        return np.zeros(0, np.float64), np.zeros(0, np.int32)
    # workers=1: inside an engine's UDF, the engine already runs one call per core.
    jw = process.cpdist(a, b, scorer=distance.JaroWinkler.similarity, dtype=np.float64, workers=1, score_cutoff=compare.JW_SIMILAR)
    osa = process.cpdist(a, b, scorer=distance.OSA.distance, dtype=np.int32, workers=1, score_cutoff=1)
    missing = missing_a | missing_b
    jw[missing] = 0.0
    osa[missing] = 2
    return jw, osa


def register_duckdb_functions(connection) -> None:
    """Register :data:`JW_FUNCTION` and :data:`OSA_FUNCTION` on a DuckDB connection (vectorised, Arrow)."""
    import pyarrow as pa_

    def jaro_winkler(a, b):
        return pa_.array(string_scores(a.to_pandas(), b.to_pandas())[0], type=pa_.float64())

    def osa(a, b):
        return pa_.array(string_scores(a.to_pandas(), b.to_pandas())[1], type=pa_.int32())

    for name, function, returns in ((JW_FUNCTION, jaro_winkler, "DOUBLE"), (OSA_FUNCTION, osa, "INTEGER")):
        connection.create_function(name, function, ["VARCHAR", "VARCHAR"], returns, type="arrow",
                                   null_handling="special", side_effects=False)


def register_spark_functions(spark) -> None:
    """Register :data:`JW_FUNCTION` and :data:`OSA_FUNCTION` in a Spark session (pandas UDFs).

    The executors need ``sendlink`` (and so ``rapidfuzz``) installed, as
    for any Python UDF.
    """
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("double")
    def jaro_winkler(a: pd.Series, b: pd.Series) -> pd.Series:
        return pd.Series(string_scores(a, b)[0])

    @pandas_udf("int")
    def osa(a: pd.Series, b: pd.Series) -> pd.Series:
        return pd.Series(string_scores(a, b)[1])

    spark.udf.register(JW_FUNCTION, jaro_winkler)
    spark.udf.register(OSA_FUNCTION, osa)


def write_splink_files(result, survey: RawSpine, npd: RawSpine, folder, *, dialect: str = "spark",
                       functions: str = "sendlink", pairs: bool = True) -> dict[str, Any]:
    """Write everything a Splink run elsewhere needs into ``folder``; returns the paths by name.

    ``survey.parquet`` and ``npd.parquet`` (:func:`splink_records`, one
    schema for both), ``fn_tf.parquet``, ``sn_tf.parquet``, ``pc_tf.parquet``
    and, when the model has a household correction, ``hh_same``, ``hh_other``
    and ``hh_nosch.parquet`` (:func:`splink_term_frequencies`; register each
    as the term-frequency lookup of its column), ``settings_<dialect>_<functions>.json``
    (:func:`splink_export`: settings, thresholds, prior, blocking rules) and,
    with ``pairs``, ``pairs.parquet``: the candidate pairs of ``result`` as
    Splink's blocked-pairs table (``match_key, join_key_l, join_key_r``,
    keys ``npd-__-<upn>`` and ``survey-__-<survey_id>``), for
    ``linker.table_management.register_blocked_pairs_for_predict`` with the
    NPD registered as dataset ``npd`` and the survey as ``survey``.
    """
    import json
    from pathlib import Path

    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    features = encode(survey, npd)
    survey_table, npd_table = splink_records(survey, npd, features=features)
    paths: dict[str, Any] = {"survey": folder / catalogue.SPLINK_SURVEY.name, "npd": folder / catalogue.SPLINK_NPD.name,
                             "settings": folder / catalogue.splink_settings_file(dialect, functions).name}
    # One schema for both sides: the survey's term-frequency keys are empty by design (they
    # are the NPD's), and an all-empty column must still be text for Spark to join on it.
    npd_arrow = pa.Table.from_pandas(npd_table, preserve_index=False)
    pq.write_table(npd_arrow, paths["npd"])
    pq.write_table(pa.Table.from_pandas(survey_table, schema=npd_arrow.schema, preserve_index=False), paths["survey"])
    if result.model is None or result.params is None:
        raise ValueError("write_splink_files needs the result of sendlink's own linker (a fitted model and its parameters)")
    # With the model: the household levels' per-record lookups too (their weights live there).
    for column, table in splink_term_frequencies(npd, features=features, model=result.model).items():
        paths[column] = folder / catalogue.SPLINK_TERM_FREQUENCIES[column].name
        table.to_parquet(paths[column], index=False)
    exported = splink_export(result.model, result.params.thresholds, dialect, functions)
    paths["settings"].write_text(json.dumps(exported, indent=1))
    if pairs:
        paths["pairs"] = folder / catalogue.SPLINK_PAIRS.name
        pd.DataFrame({"match_key": "0", "join_key_l": "npd-__-" + result.pairs["upn"].astype(str),
                      "join_key_r": "survey-__-" + result.pairs["survey_id"].astype(str)}).to_parquet(paths["pairs"], index=False)
    return paths
