"""The linkage unit's folder: clean when it holds encodings and pseudonyms, a hit for each planted identifier."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sendlink.pprl.encode import encode_spine, encoding_params, write_encoded
from sendlink.pprl.pseudonyms import pseudonymise
from sendlink.scan.linkage_unit import scan_linkage_unit
from sendlink.scan.scanner import Identifiers, Scanner

SECRET = b"test secret for the linkage unit's scan"

SURVEY = pd.DataFrame({"survey_id": ["SF100001", "SF100002"], "forename": ["Gavin", "Priya"], "middle_names": [None, None],
                       "surname": ["Edwards", "Sharma"], "date_of_birth": ["2009-03-17", "2010-11-25"],
                       "sex": ["M", "F"], "postcode": ["LS6 2AB", "M14 5TQ"], "school_urn": ["100001", "100002"]})
NPD = SURVEY.rename(columns={"survey_id": "upn"}).assign(upn=["A901001713019", "B902002713020"])


@pytest.fixture(scope="module")
def scanner():
    return Scanner(Identifiers.from_frames(children=[SURVEY], codes={
        "upn": NPD["upn"], "survey_id": SURVEY["survey_id"], "postcode": SURVEY["postcode"]}))


@pytest.fixture
def unit(tmp_path, project_params):
    """A linkage unit's folder as the pipeline leaves it: two encoded files and pseudonymous links."""
    params = encoding_params(project_params.pprl)
    rng = np.random.default_rng(7)
    s, s_map = pseudonymise(SURVEY, "survey_id", rng)
    n, n_map = pseudonymise(NPD, "upn", rng)
    folder = tmp_path / "linkage_unit"
    folder.mkdir()
    write_encoded(encode_spine(s, "survey_id", SECRET, params), folder / "survey_encoded.parquet")
    write_encoded(encode_spine(n, "upn", SECRET, params), folder / "npd_encoded.parquet")
    links = pd.DataFrame({"survey_id": s_map["pseudonym"], "upn": n_map["pseudonym"], "match_probability": [0.99, 0.98],
                          "match_weight": [30.0, 28.0], "link_status": ["matched", "matched"]})
    links.to_parquet(folder / "links.parquet")
    (folder / "model.json").write_text(json.dumps({"pi": 0.98, "levels": ["exact", "close"]}))
    return folder


def _kinds(folder, scanner, secrets=(SECRET,)):
    hits, scanned = scan_linkage_unit(folder, scanner, secrets)
    return [h.kind for h in hits], scanned


def test_the_linkage_units_files_are_clean(unit, scanner):
    kinds, scanned = _kinds(unit, scanner)
    assert kinds == []
    assert len(scanned) == 4


def test_a_real_upn_in_the_links_is_found(unit, scanner):
    links = pd.read_parquet(unit / "links.parquet")
    links.loc[0, "upn"] = NPD["upn"].iloc[0]
    links.to_parquet(unit / "links.parquet")
    kinds, _ = _kinds(unit, scanner)
    assert "key that is not a pseudonym" in kinds


def test_a_name_in_a_text_column_is_found(unit, scanner):
    pd.read_parquet(unit / "links.parquet").assign(note=["Gavin Edwards", ""]).to_parquet(unit / "links.parquet")
    kinds, _ = _kinds(unit, scanner)
    assert "full name" in kinds


def test_an_identifier_column_is_found_even_empty(unit, scanner):
    pd.DataFrame({"survey_id": [""], "date_of_birth": [""]}).to_csv(unit / "review.csv", index=False)
    kinds, _ = _kinds(unit, scanner)
    assert kinds == ["identifier column"]


def test_binary_data_outside_a_filter_column_is_found(unit, scanner):
    table = pq.read_table(unit / "survey_encoded.parquet")
    names = pa.array([s.encode() for s in SURVEY["forename"]], pa.binary())
    pq.write_table(table.append_column("extra", names).replace_schema_metadata(table.schema.metadata),
                   unit / "survey_encoded.parquet")
    kinds, _ = _kinds(unit, scanner)
    assert "binary data outside a declared filter column" in kinds


def test_a_token_column_that_is_text_is_found(unit, scanner):
    table = pq.read_table(unit / "npd_encoded.parquet")
    table = table.append_column("tok_forename_plain", pa.array(NPD["forename"].tolist(), pa.string()))
    pq.write_table(table, unit / "npd_encoded.parquet")
    kinds, _ = _kinds(unit, scanner)
    assert "token or blocking key that is not a 64-bit integer" in kinds


def test_the_secret_and_other_files_are_found(unit, scanner):
    (unit / "model.json").write_text(json.dumps({"secret": SECRET.hex()}))
    (unit / "notes.txt").write_text("nothing here")
    kinds, _ = _kinds(unit, scanner)
    assert sorted(kinds) == ["file type the linkage unit may not hold", "the shared secret"]
    # Without the secret given, the check cannot look for it (and says nothing).
    kinds, _ = _kinds(unit, scanner, secrets=())
    assert kinds == ["file type the linkage unit may not hold"]
