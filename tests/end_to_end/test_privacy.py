"""On the default data: build the research extracts, check their promises, and scan them.

Needs the default synthetic data (``make data``) and the consent and linkage
outputs (``make pipeline``); skipped otherwise. The extracts are built in a
temporary folder, so the project's own ``data/research/`` is not touched;
the project's ``data/research/``, summary and ``reports/`` are scanned as they are.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from sendlink import config
from sendlink.deidentify import stage as extract_stage
from sendlink.deidentify.keys import ProjectKey
from sendlink.params import load_params
from sendlink.scan import Scanner, collect_identifiers, scan
from sendlink.schema import catalogue
from sendlink.schema.research import DIRECT_IDENTIFIERS
from tests.conftest import TEST_RESEARCH_KEY

pytestmark = [pytest.mark.needs_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def project(default_data, tmp_path_factory):
    paths = config.Paths.discover()
    needed = [catalogue.CONSENT_STATUS.at(paths), catalogue.LINKS.at(paths)]
    if not all(p.is_file() for p in needed):
        pytest.skip("consent and linkage outputs missing; run `make pipeline`")
    # A copy of the project root whose data/ points at the real inputs, so
    # the stage writes its outputs into the temporary folder.
    root = tmp_path_factory.mktemp("project")
    shutil.copy(paths.params, root / "params.yaml")
    (root / "pyproject.toml").write_text("")
    (root / "data").mkdir()
    for name in ("synthetic", "survey_org", "linkage", "register"):
        if (paths.root / "data" / name).exists():
            (root / "data" / name).symlink_to(paths.root / "data" / name)
    return config.Paths(root)


@pytest.fixture(scope="module")
def built(project, monkeypatch_module):
    monkeypatch_module.setenv("SENDLINK_RESEARCH_KEY", TEST_RESEARCH_KEY)
    result = extract_stage.run(project, load_params(project.params))
    return project, result


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def scanner():
    return Scanner(collect_identifiers())


def test_extracts_hold_their_promises(built):
    project, result = built
    assert result.report["holds"]
    for name, file in catalogue.EXTRACTS.items():
        frame = pd.read_parquet(file.at(project))
        assert not DIRECT_IDENTIFIERS & set(frame.columns)
        assert frame["research_id"].is_unique
        assert len(frame) == result.rows[name]
        # NPD data only where linked, linked only with a permission.
        npd_cols = [c for c in frame.columns if c.startswith("npd_") and c != "npd_linked"]
        assert frame.loc[~frame["npd_linked"], npd_cols].isna().all().all()
        linked = frame[frame["npd_linked"]]
        assert linked["link_status"].isin(["matched", "clerical_review"]).all()
        granted = (linked["consent_parent_answers"] == "granted") | (linked["consent_child_answers"] == "granted")
        assert granted.all()
    main = pd.read_parquet(project.research / "extract.parquet")
    assert (main.loc[main["npd_linked"], "link_status"] == "matched").all()
    assert set(main["link_status"]) >= {"matched", "not_sent"}


def test_key_never_in_outputs(built):
    project, result = built
    assert result.key_source == "environment"
    for path in project.research.iterdir():
        assert b"end-to-end test key" not in path.read_bytes(), path


def test_research_ids_differ_from_the_default_key(built):
    project, _ = built
    ours = set(pd.read_parquet(project.research / "extract.parquet")["research_id"])
    from sendlink.deidentify.keys import research_ids

    links = pd.read_parquet(config.Paths.discover().linkage / "links.parquet")
    upns = links.loc[links["link_status"] == "matched", "upn"]
    demo = set(research_ids(ProjectKey(b"sendlink synthetic-only RESEARCH-ID demo key: NOT FOR REAL DATA", "demo"), upns, "upn"))
    assert not ours & demo


def test_k_anonymity_report_is_part_of_the_extract(built):
    project, result = built
    report = json.loads((project.research / "k_anonymity.json").read_text())
    assert report["k"] == result.report["k"] and report["holds"]
    assert all(s["smallest_class"] >= report["k"] for s in report["after"].values())
    assert "k-anonymity" in (project.research / "README.md").read_text()


def test_scanner_finds_nothing_in_the_new_extract(built, scanner):
    project, _ = built
    result = scan([project.research], scanner)
    assert result.clean, result.summary()
    assert len(result.scanned) == 5


def test_scanner_catches_a_real_identifier_planted_in_the_extract(built, scanner, tmp_path):
    project, _ = built
    frame = pd.read_parquet(project.research / "extract.parquet")
    spine = pd.read_parquet(config.Paths.discover().npd / "spine.parquet", columns=["upn", "forename", "surname"]).iloc[7]
    frame.loc[3, "qi_suppressed"] = f"{spine['forename']} {spine['surname']}"
    frame.to_parquet(tmp_path / "extract.parquet")
    result = scan([tmp_path], scanner)
    assert [(h.kind, h.where) for h in result.hits] == [("full name", "row 3, column 'qi_suppressed'")]


def test_project_research_folder_and_reports_are_clean(scanner):
    paths = config.Paths.discover()
    summary = [catalogue.SUMMARY.at(paths)] if catalogue.SUMMARY.at(paths).is_file() else []
    result = scan([paths.research, *summary, paths.reports, paths.notebooks], scanner, notebooks=paths.notebooks)
    assert result.clean, result.summary()
