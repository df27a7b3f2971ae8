"""The three parties on the command line: encode, link --encoded, map-back; and where the shared secret may come from."""

from __future__ import annotations

import pandas as pd
import pytest

from sendlink.cli import main
from sendlink.config import Paths
from sendlink.errors import ParameterError
from sendlink.pprl.keys import DEMO_SECRET, shared_secret
from tests.conftest import TEST_OTHER_KEY, stamp_world

ROWS = [("Zoe", "Smith", "2009-03-17", "F", "SW1A 1AA", "100001"), ("Bob", "O'Neill", "2009-03-17", "M", "SW1A 1AB", "100002"),
        ("Amir", "Khan", "2008-12-03", "M", "E1 6AN", "100003"), ("Layla", "Hussain", "2010-05-04", "F", "N1 9GU", "100004")]
COLS = ["forename", "surname", "date_of_birth", "sex", "postcode", "school_urn"]


def test_encode_link_map_back(tmp_path, monkeypatch):
    monkeypatch.setenv("SENDLINK_PPRL_KEY", TEST_OTHER_KEY)
    survey = pd.DataFrame([(f"SF{i}", *r) for i, r in enumerate(ROWS)], columns=["survey_id", *COLS])
    npd_rows = [*ROWS, ("Ann", "Lee", "2009-01-01", "F", "LS6 2AB", "100009")]
    npd = pd.DataFrame([(f"UPN{i}", *r) for i, r in enumerate(npd_rows)], columns=["upn", *COLS])
    survey.to_csv(tmp_path / "survey.csv", index=False)
    npd.to_parquet(tmp_path / "npd.parquet")
    unit = tmp_path / "unit"
    unit.mkdir()
    assert main(["encode", str(tmp_path / "survey.csv"), "--out", str(unit / "s.parquet"), "--mapping", str(tmp_path / "s_map.parquet")]) == 0
    assert main(["encode", str(tmp_path / "npd.parquet"), "--out", str(unit / "n.parquet"), "--mapping", str(tmp_path / "n_map.parquet")]) == 0
    assert main(["link", "--encoded", str(unit / "s.parquet"), str(unit / "n.parquet"), "--out", str(unit / "links.csv"),
                 "--review-out", str(unit / "review.csv")]) == 0
    returned = pd.read_csv(unit / "links.csv", dtype=str, keep_default_na=False)
    assert list(returned.columns) == ["survey_id", "upn", "match_probability", "match_weight", "link_status"]
    assert returned["survey_id"].str.fullmatch(r"p[0-9a-f]{16}").all()  # the linkage unit saw pseudonyms only
    assert main(["map-back", str(unit / "links.csv"), "--mapping", str(tmp_path / "s_map.parquet"), "--out", str(tmp_path / "l1.csv")]) == 0
    assert main(["map-back", str(tmp_path / "l1.csv"), "--mapping", str(tmp_path / "n_map.parquet"), "--out", str(tmp_path / "l2.csv")]) == 0
    links = pd.read_csv(tmp_path / "l2.csv", dtype=str, keep_default_na=False).set_index("survey_id")
    matched = links[links["link_status"] == "matched"]
    assert len(matched) >= 3
    assert all(upn == f"UPN{sid[2:]}" for sid, upn in matched["upn"].items())  # each child to its own record
    # Two encodings with different secrets are refused by the linkage unit.
    monkeypatch.setenv("SENDLINK_PPRL_KEY", TEST_OTHER_KEY[::-1])
    assert main(["encode", str(tmp_path / "npd.parquet"), "--out", str(unit / "n2.parquet"), "--mapping", str(tmp_path / "n2_map.parquet")]) == 0
    assert main(["link", "--encoded", str(unit / "s.parquet"), str(unit / "n2.parquet"), "--out", str(unit / "x.csv")]) == 2
    assert not (unit / "x.csv").exists()


def test_demo_secret_only_for_the_generators_world(tmp_path, monkeypatch):
    monkeypatch.delenv("SENDLINK_PPRL_KEY", raising=False)
    root = tmp_path / "project"
    for part in ("npd", "survey"):
        (root / "data" / "synthetic" / part).mkdir(parents=True)
        (root / "data" / "synthetic" / part / "x.csv").write_text("a\n1\n")
    stamp_world(root / "data" / "synthetic")
    paths = Paths(root)
    missing_file = tmp_path / "no" / "pprl.key"
    key = shared_secret(paths, "SENDLINK_PPRL_KEY", missing_file, [root / "data" / "linkage" / "incoming" / "spine.parquet"])
    assert key.is_demo and key.secret == DEMO_SECRET
    outside = tmp_path / "real_spine.csv"
    with pytest.raises(ParameterError, match="not part of the generator's synthetic world"):
        shared_secret(paths, "SENDLINK_PPRL_KEY", missing_file, [outside])
    # A world changed by hand is not the generator's: refused even for files inside data/.
    (root / "data" / "synthetic" / "npd" / "x.csv").write_text("a\n2\n")
    with pytest.raises(ParameterError, match="demo key is used only"):
        shared_secret(paths, "SENDLINK_PPRL_KEY", missing_file, [root / "data" / "x.csv"])
    # A proper secret from the environment is used anywhere; a weak one is refused.
    monkeypatch.setenv("SENDLINK_PPRL_KEY", TEST_OTHER_KEY)
    assert shared_secret(paths, "SENDLINK_PPRL_KEY", missing_file, [outside]).source == "environment"
    monkeypatch.setenv("SENDLINK_PPRL_KEY", "correct horse battery staple")
    with pytest.raises(ParameterError):
        shared_secret(paths, "SENDLINK_PPRL_KEY", missing_file, [outside])



def test_encoding_in_chunks_gives_the_same_file(tmp_path, monkeypatch, project_params):
    from sendlink.pprl.cli import encode_file
    from sendlink.pprl.encode import read_encoded

    monkeypatch.setenv("SENDLINK_PPRL_KEY", TEST_OTHER_KEY)
    npd = pd.DataFrame([(f"UPN{i}", *r) for i, r in enumerate(ROWS * 3)], columns=["upn", *COLS])
    npd.to_parquet(tmp_path / "npd.parquet")
    files = {}
    for rows in (5, 1000):
        out = tmp_path / f"enc_{rows}.parquet"
        encode_file(tmp_path / "npd.parquet", out, tmp_path / f"map_{rows}.parquet", project_params,
                    pseudonym_seed=3, chunk_rows=rows)
        files[rows] = read_encoded(out)
    a, b = files[5], files[1000]
    assert (a.keys == b.keys).all()
    assert all((a.filters[k] == b.filters[k]).all() for k in a.filters)
    assert all((a.tokens[k] == b.tokens[k]).all() for k in a.tokens)
    assert all((a.blocking[k] == b.blocking[k]).all() for k in a.blocking)
