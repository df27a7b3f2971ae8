"""Proof of the Splink export: Splink (DuckDB) loading the exported settings
scores the project's candidate pairs with the project's match weights.

Splink and DuckDB are part of the ``dev`` extra, so this runs in ``make
test`` (never skipped: a missing Splink is a failure). The same proof on
Splink's Spark backend, at 1 M pupils: ``benchmarks/splink_spark.py``.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rapidfuzz import distance

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "link"))
from _linkdata import LINKAGE, SEED, make_population, survey_from

from sendlink.link import link
from sendlink.link.compare import FIELDS
from sendlink.link.features import encode
from sendlink.link.spine import RawSpine
from sendlink.link.splink_export import (
    register_duckdb_functions,
    splink_export,
    splink_records,
    splink_settings,
    splink_term_frequencies,
    string_scores,
    write_splink_files,
)


def corrupted_survey(npd: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A survey of 120 children whose identifiers differ in every way the comparison levels know."""
    survey = survey_from(npd, range(120))
    edits = {
        0: {"forename": "Bob"}, 1: {"forename": survey.loc[1, "forename"][:-1]}, 3: {"surname": "Smyth-Jones"},
        5: {"date_of_birth": None}, 6: {"postcode": "ZZ9 9ZZ"}, 7: {"sex": None, "school_urn": None},
        8: {"forename": None}, 9: {"postcode": "4223"}, 10: {"surname": "Okafor-Nowak"},
    }
    for row, change in edits.items():
        for column, value in change.items():
            survey.loc[row, column] = value
    # Names transposed exactly, and with a slip.
    for row in (11, 12):
        survey.loc[row, ["forename", "surname"]] = survey.loc[row, ["surname", "forename"]].to_numpy()
    survey.loc[12, "forename"] = survey.loc[12, "forename"][:-1] + "x"
    # Known by a middle name.
    survey.loc[13, ["forename", "middle_names"]] = ["Jane", ""]
    npd.loc[13, "middle_names"] = "Jane"
    # Jaro-Winkler exactly on the "similar" band edge (0.75 + 2 x 0.1 x 0.25 = 0.80), where
    # floating-point rounding decides: engines round it differently.
    npd.loc[14, ["forename", "middle_names"]] = ["Alfred", ""]
    survey.loc[14, ["forename", "middle_names"]] = ["Alex", ""]
    # Dates: day and month swapped, one component off.
    for row in range(20, 40):
        y, m, d = survey.loc[row, "date_of_birth"].split("-")
        survey.loc[row, "date_of_birth"] = f"{y}-{d}-{m}" if int(d) <= 12 else f"{int(y) - 1}-{m}-{d}"
    # Postcodes: same sector, same district, one character swapped.
    for row in range(40, 60):
        pc = survey.loc[row, "postcode"]
        out, inward = pc.split()
        survey.loc[row, "postcode"] = [f"{out} {inward[0]}ZZ", f"{out} 9{inward[1:]}", f"{out} {inward[1]}{inward[0]}{inward[2]}"][row % 3]
    return survey


@pytest.fixture(scope="module")
def linked():
    rng = np.random.default_rng(20220516)
    npd = make_population(800, rng)
    # Siblings of the first 80 pupils (same surname, postcode and school, born two years later):
    # the household correction has something to correct.
    siblings = npd.iloc[:80].copy()
    siblings["upn"] = [f"SIB{i:05d}" for i in range(len(siblings))]
    siblings["forename"] = np.array(["Quinn", "Rowan", "Sasha", "Toby", "Uma", "Vera", "Wren", "Xander"])[np.arange(len(siblings)) % 8]
    siblings["date_of_birth"] = [f"{int(d[:4]) + 2}{d[4:]}" for d in siblings["date_of_birth"]]
    npd = pd.concat([npd, siblings], ignore_index=True)
    survey = corrupted_survey(npd, rng)
    result = link(survey, npd, LINKAGE, seed=SEED)
    s_raw, n_raw = RawSpine.from_frame(survey, "survey_id"), RawSpine.from_frame(npd, "upn")
    return result, s_raw, n_raw


def test_splink_scores_the_same_pairs_with_the_same_weights(linked):
    from splink import DuckDBAPI, Linker

    result, s_raw, n_raw = linked
    features = encode(s_raw, n_raw)
    survey_table, npd_table = splink_records(s_raw, n_raw, features=features)
    settings = splink_settings(result.model)
    json.dumps(settings)  # a plain JSON document, as Splink reads from a file
    db_api = DuckDBAPI()
    register_duckdb_functions(db_api.duckdb_con)
    npd_df = db_api.register(npd_table, dataset_display_name="npd")
    survey_df = db_api.register(survey_table, dataset_display_name="survey")
    linker = Linker([npd_df, survey_df], settings, log_level=logging.WARNING)
    for column, table in splink_term_frequencies(n_raw, features=features, model=result.model).items():
        linker.table_management.register_term_frequency_lookup(db_api.register(table, dataset_display_name=f"tf_{column}"), column)
    pairs = result.pairs
    blocked = pd.DataFrame({"match_key": "0", "join_key_l": "npd-__-" + pairs["upn"].astype(str),
                            "join_key_r": "survey-__-" + pairs["survey_id"].astype(str)})
    linker.table_management.register_blocked_pairs_for_predict(db_api.register(blocked, dataset_display_name="pairs"))
    predicted = linker.inference.predict().as_pandas_dataframe()
    assert len(predicted) == len(pairs)
    ours = pairs.assign(survey_id=pairs["survey_id"].astype(str), upn=pairs["upn"].astype(str))
    both = predicted.merge(ours, left_on=["unique_id_r", "unique_id_l"], right_on=["survey_id", "upn"], how="inner")
    assert len(both) == len(pairs)
    np.testing.assert_allclose(both["match_weight_x"], both["match_weight_y"], atol=1e-6)
    # Level by level too; Splink numbers levels from the top, the null level is -1.
    seen = {}
    for spec in FIELDS:
        if f"gamma_{spec.name}" not in both:
            continue
        theirs = both[f"gamma_{spec.name}"].to_numpy()
        theirs = np.where(theirs < 0, -1, len(spec.levels) - 1 - theirs)
        np.testing.assert_array_equal(both[spec.name].cat.codes.to_numpy(), theirs, err_msg=spec.name)
        seen[spec.name] = set(both[spec.name].dropna().astype(str))
    # The data exercised the levels that need care in SQL, and a band edge.
    assert {"exact", "variant", "close", "middle_name", "transposed", "different"} <= seen["forename"]
    edge = both[(both["survey_id"] == "S000014") & (both["upn"] == "N000014")]
    assert len(edge) == 1
    assert distance.JaroWinkler.similarity("alex", "alfred") == pytest.approx(0.8, abs=1e-12)
    assert {"exact", "part", "different"} <= seen["surname"]
    assert {"exact", "swapped", "one_off", "different"} <= seen["date_of_birth"]
    assert {"unit", "sector", "district", "typo", "different"} <= seen["postcode"]
    # Siblings: the household correction was exercised too.
    assert (both["w_household"] != 0).any() and "gamma_household" in both


def test_export_holds_thresholds_and_the_prior(linked):
    result, *_ = linked
    exported = splink_export(result.model, result.params.thresholds)
    assert exported["thresholds"] == {"match": 0.95, "review": 0.25}
    lam = exported["settings"]["probability_two_random_records_match"]
    assert np.log2(lam / (1 - lam)) == pytest.approx(result.model.prior_weight)
    forename = next(c for c in exported["settings"]["comparisons"] if c["output_column_name"] == "forename")
    assert [lvl["label_for_charts"] for lvl in forename["comparison_levels"]] == ["missing", *FIELDS[0].labels]
    assert forename["comparison_levels"][1]["m_probability"] == pytest.approx(float(result.model.m["forename"][0]))


def test_string_scores_are_sendlinks_own():
    """The functions registered in an engine compute exactly what compare computes."""
    from sendlink.link.compare import _string_scores

    names = np.array(["alex", "alfred", "norman", "omar", "martha", "marhta", "jon", "john", "", "x"], dtype=object)
    a, b = np.meshgrid(np.arange(len(names)), np.arange(len(names)))
    a, b = a.ravel(), b.ravel()
    expected_jw, expected_osa = _string_scores(names, a, b)
    jw, osa = string_scores(list(names[a]), list(names[b]))
    np.testing.assert_array_equal(jw, expected_jw)
    np.testing.assert_array_equal(osa, expected_osa)
    jw, osa = string_scores(["alex", None], [None, "alex"])  # missing: never within a band
    assert jw.tolist() == [0.0, 0.0] and osa.tolist() == [2, 2]


@pytest.mark.parametrize("functions", ["sendlink", "builtin"])
def test_spark_settings_are_spark_sql(linked, functions):
    import sqlglot

    result, *_ = linked
    settings = splink_settings(result.model, dialect="spark", functions=functions)
    text = json.dumps(settings)
    for duckdb_only in ("list_has_any", "list_contains", "regexp_matches", "jaro_winkler_similarity", "::INT"):
        assert duckdb_only not in text
    assert ("sendlink_jaro_winkler" in text) == (functions == "sendlink")
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level["sql_condition"] != "ELSE":
                sqlglot.parse_one(level["sql_condition"], read="spark")
    with pytest.raises(ValueError, match="dialect"):
        splink_settings(result.model, dialect="postgres")


def test_the_files_a_cluster_gets_score_the_same(linked, tmp_path):
    """write_splink_files -> Parquet + JSON -> Splink (DuckDB) reading them: the route to a cluster, end to end."""
    import duckdb
    from splink import DuckDBAPI, Linker

    result, s_raw, n_raw = linked
    paths = write_splink_files(result, s_raw, n_raw, tmp_path, dialect="duckdb")
    exported = json.loads(paths["settings"].read_text())
    assert exported["thresholds"] == result.params.thresholds.model_dump()
    con = duckdb.connect()
    register_duckdb_functions(con)
    db_api = DuckDBAPI(connection=con)
    linker = Linker([db_api.register(con.read_parquet(str(paths["npd"])), dataset_display_name="npd"),
                     db_api.register(con.read_parquet(str(paths["survey"])), dataset_display_name="survey")],
                    exported["settings"], log_level=logging.WARNING)
    lookups = [c for c in ("fn_tf", "sn_tf", "pc_tf", "hh_same", "hh_other", "hh_nosch") if c in paths]
    assert {"hh_same", "hh_other", "hh_nosch"} <= set(lookups)  # the cohort's model has a household correction
    for column in lookups:
        linker.table_management.register_term_frequency_lookup(db_api.register(con.read_parquet(str(paths[column]))), column)
    linker.table_management.register_blocked_pairs_for_predict(db_api.register(con.read_parquet(str(paths["pairs"]))))
    predicted = linker.inference.predict().as_pandas_dataframe()
    ours = pd.DataFrame({"unique_id_r": result.pairs["survey_id"].astype(str), "unique_id_l": result.pairs["upn"].astype(str),
                         "expected": result.pairs["match_weight"].to_numpy(float)})
    both = predicted.merge(ours, on=["unique_id_l", "unique_id_r"], how="outer", indicator=True)
    assert (both["_merge"] == "both").all()
    np.testing.assert_allclose(both["match_weight"], both["expected"], atol=1e-9)
