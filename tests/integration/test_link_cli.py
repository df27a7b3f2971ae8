"""``sendlink link`` on files: formats, outputs, errors, nothing half-written."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "link"))
from _linkdata import make_population, survey_from

from sendlink.cli import main


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(7)
    npd = make_population(300, rng)
    survey = survey_from(npd, range(40))
    survey.loc[0, "forename"] = ""  # a little less sure
    survey.to_csv(tmp_path / "survey.csv", index=False)
    npd.to_parquet(tmp_path / "npd.parquet", index=False)
    return tmp_path


def test_link_csv_and_parquet(files):
    out = files / "out" / "links.csv"
    review = files / "out" / "review.csv"
    code = main(["-q", "link", str(files / "survey.csv"), str(files / "npd.parquet"), "--out", str(out), "--review-out", str(review)])
    assert code == 0
    links = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(links.columns) == ["survey_id", "upn", "match_probability", "match_weight", "link_status"]
    assert len(links) == 40
    assert (links["link_status"] == "matched").sum() >= 38
    assert review.exists()


def test_threshold_override_and_decisions(files):
    out = files / "links.parquet"
    decisions = files / "decisions.csv"
    pd.DataFrame({"survey_id": ["S000001"], "upn": ["N000001"], "decision": ["non-match"], "reviewer": ["x"], "date": ["2024-01-01"]}).to_csv(decisions, index=False)
    code = main(["-q", "link", str(files / "survey.csv"), str(files / "npd.parquet"), "--out", str(out),
                 "--match-threshold", "0.99", "--review-threshold", "0.5", "--decisions", str(decisions)])
    assert code == 0
    links = pd.read_parquet(out).set_index("survey_id")
    assert links.loc["S000001", "upn"] != "N000001"


def test_empty_survey_gives_header_only(files):
    (files / "empty.csv").write_text("survey_id,forename,surname\n")
    out = files / "links.csv"
    assert main(["-q", "link", str(files / "empty.csv"), str(files / "npd.parquet"), "--out", str(out)]) == 0
    assert out.read_text().strip() == "survey_id,upn,match_probability,match_weight,link_status"


def test_bad_input_exits_2_and_writes_nothing(files, capsys):
    out = files / "links.csv"
    pd.read_csv(files / "survey.csv").rename(columns={"survey_id": "id"}).to_csv(files / "nokey.csv", index=False)
    assert main(["-q", "link", str(files / "nokey.csv"), str(files / "npd.parquet"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nokey.csv" in err and "'survey_id'" in err
    (files / "broken.parquet").write_bytes(b"not parquet at all")
    assert main(["-q", "link", str(files / "survey.csv"), str(files / "broken.parquet"), "--out", str(out)]) == 2
    assert main(["-q", "link", str(files / "missing.csv"), str(files / "npd.parquet"), "--out", str(out)]) == 2
    assert not out.exists()
    assert not list(files.glob(".links.csv*"))


def test_bad_threshold_is_a_parameter_error(files, capsys):
    out = files / "links.csv"
    code = main(["-q", "link", str(files / "survey.csv"), str(files / "npd.parquet"), "--out", str(out), "--match-threshold", "0.2", "--review-threshold", "0.5"])
    assert code == 2
    assert "review threshold" in capsys.readouterr().err
