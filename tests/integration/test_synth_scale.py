"""Scale mode: a national-style spine written in chunks, survey spines drawn from it."""

import pandas as pd

from sendlink.synth.scale import write_scale
from tests.conftest import small_synth_params


def test_scale_mode_writes_valid_unique_upns_and_nested_surveys(project_params, tmp_path):
    synth = small_synth_params(project_params)
    write_scale(synth, 7, tmp_path, npd_size=3_000, survey_sizes=[50, 120], chunk_size=1_000)
    spine = pd.read_parquet(tmp_path / "npd" / "spine.parquet")
    assert len(spine) == 3_000
    assert spine["upn"].is_unique
    # 13 characters: check letter, three-digit LA code, nine-digit serial.
    assert spine["upn"].str.fullmatch(r"[A-HJ-NP-RT-Z]\d{12}").all()
    small = pd.read_parquet(tmp_path / "survey" / "survey_spine_50.parquet")
    large = pd.read_parquet(tmp_path / "survey" / "survey_spine_120.parquet")
    assert large["survey_id"].head(50).tolist() == small["survey_id"].tolist()
    links = pd.read_parquet(tmp_path / "truth" / "links_120.parquet")
    assert links["upn"].isin(spine["upn"]).all()
    assert links["survey_id"].tolist() == large["survey_id"].tolist()


def test_same_seed_gives_the_same_spine(project_params, tmp_path):
    synth = small_synth_params(project_params)
    write_scale(synth, 7, tmp_path / "a", npd_size=2_000, survey_sizes=[], chunk_size=2_000)
    write_scale(synth, 7, tmp_path / "b", npd_size=2_000, survey_sizes=[], chunk_size=2_000)
    a = pd.read_parquet(tmp_path / "a" / "npd" / "spine.parquet")
    b = pd.read_parquet(tmp_path / "b" / "npd" / "spine.parquet")
    pd.testing.assert_frame_equal(a, b)
