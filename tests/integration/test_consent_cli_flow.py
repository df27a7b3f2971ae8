"""The consent stage end to end on a small generated survey world, through the command line.

A seeded generator writes a few hundred households in the layout of
``data/synthetic/survey/`` (the real generator's output is exercised by the
end-to-end tests). The test then plays a year of requests: a withdrawal, an
erasure and a rectification after linkage, and checks each takes effect on
the next run, that erasure leaves no trace in any file the stage writes,
and that reruns are byte-identical.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sendlink.cli import main
from sendlink.config import Paths
from sendlink.consent import linkage_permitted
from sendlink.consent.files import ConsentFiles
from sendlink.schema import catalogue
from tests.conftest import TEST_REGISTER_KEY, write_params

N = 300
COHORT = (dt.date(2008, 9, 1), dt.date(2009, 8, 31))
FORENAMES = np.array(["Amira", "Oliver", "Jack", "Chloe", "Zainab", "Ruby", "Noah", "Leo", "Isla", "Mohammed", "Freya", "Kacper"])
SURNAMES = np.array(["Khan", "Smith", "Brown", "Evans", "Ali", "Taylor", "Wilson", "Patel", "Nowak", "Okafor", "Jones", "Begum"])


def _day(rng, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=int(rng.integers(0, (hi - lo).days + 1)))


def generate(root: Path, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    survey = root / "data" / "synthetic" / "survey"
    survey.mkdir(parents=True, exist_ok=True)
    write_params(root / "params.yaml", {"seed": 1, "consent": {"as_of": dt.date(2025, 12, 1), "key_env": "SENDLINK_TEST_REGISTER_KEY"}})
    (root / "pyproject.toml").write_text("[project]\nname = 'fixture'\n", encoding="utf-8")
    ids = [f"SF{i:05d}" for i in range(N)]
    dob = [_day(rng, *COHORT) for _ in ids]
    contacts = pd.DataFrame(
        {
            "survey_id": ids,
            "forename": rng.choice(FORENAMES, N),
            "middle_names": None,
            # a unique surname each, so a scan for one person's name is meaningful
            "surname": [f"{s}{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}x" for i, s in enumerate(rng.choice(SURNAMES, N))],
            "date_of_birth": [d.isoformat() if rng.random() > 0.05 else None for d in dob],
            "sex": [s or None for s in rng.choice(["F", "M", ""], N, p=[0.45, 0.5, 0.05])],
            "postcode": [f"LS{i % 30} {i % 9}{chr(65 + i % 26)}{chr(65 + (i * 7) % 26)}" for i in range(N)],
            "school_urn": [f"{100000 + i // 5}" for i in range(N)],
            "parent_forename": rng.choice(FORENAMES, N),
            "parent_surname": rng.choice(SURNAMES, N),
            "address_line": [f"Flat {i}, Long Street" for i in range(N)],
            "email": [f"parent{i}@example.org" for i in range(N)],
            "phone": [f"07700 9{i:05d}" for i in range(N)],
        }
    )
    contacts.to_parquet(survey / "contacts.parquet", index=False)
    pd.DataFrame({"survey_id": ids + [f"SN{i:05d}" for i in range(50)], "strand": "web", "design_weight": 12.5}).to_parquet(survey / "sample.parquet", index=False)
    for name in (f.name for f in catalogue.ANSWERS):
        keep = rng.random(N) < 0.8
        pd.DataFrame({"survey_id": np.array(ids)[keep], "interview_date": "2022-06-01", "q_wellbeing": rng.integers(1, 6, keep.sum())}).to_parquet(survey / name, index=False)
    events, requests = [], []
    for sid, born in zip(ids, dob, strict=True):
        w1 = _day(rng, dt.date(2022, 5, 3), dt.date(2022, 9, 30))
        decision = "no_answer" if rng.random() < 0.06 else ("granted" if rng.random() < 0.75 else "refused")
        for scope in ("child_answers", "parent_answers"):
            events.append((sid, "parent", scope, decision, w1.isoformat(), "wave1", "web"))
        if decision == "granted" and rng.random() < 0.04:
            events.append((sid, "parent", "child_answers", "withdrawn", _day(rng, dt.date(2023, 1, 1), dt.date(2025, 6, 1)).isoformat(), "ad_hoc", "email"))
        w3 = _day(rng, dt.date(2025, 9, 8), dt.date(2025, 11, 28))
        if rng.random() < 0.7 and born.replace(year=born.year + 16) <= w3:
            yp = rng.choice(["granted", "refused", "no_answer"], p=[0.8, 0.15, 0.05])
            events.append((sid, "young_person", "child_answers", str(yp), w3.isoformat(), "wave3", "web"))
    events.sort(key=lambda e: (e[4], e[0]))
    pd.DataFrame([(f"CE{i:06d}", *e) for i, e in enumerate(events)], columns=["event_id", "survey_id", "person", "scope", "decision", "event_date", "contact", "source"]).to_csv(
        survey / "consent_events.csv", index=False
    )
    chosen = rng.choice(N, 12, replace=False)
    for j, i in enumerate(chosen):
        kind = ["restriction", "erasure", "objection", "rectification"][j % 4]
        details = json.dumps({"surname": "Corrected"}) if kind == "rectification" else ""
        requests.append((ids[i], "parent", kind, _day(rng, dt.date(2023, 1, 9), dt.date(2025, 10, 1)).isoformat(), details))
    requests.sort(key=lambda r: (r[3], r[0]))
    pd.DataFrame([(f"RR{i:04d}", *r) for i, r in enumerate(requests)], columns=["request_id", "survey_id", "person", "request", "request_date", "details"]).to_csv(
        survey / "rights_requests.csv", index=False
    )


def outputs(root: Path) -> dict[str, str]:
    found = {}
    for folder in ("data/survey_org", "data/register", "data/linkage/incoming"):
        for p in sorted((root / folder).rglob("*")):
            if p.is_file() and not p.name.endswith("-shm") and not (p.name.endswith("-wal") and p.stat().st_size == 0):
                found[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


def scan(root: Path, needles: list[str]) -> list[tuple[str, str]]:
    hits = []
    for folder in ("data/survey_org", "data/register", "data/linkage/incoming"):
        for p in sorted((root / folder).rglob("*")):
            if not p.is_file():
                continue
            text = p.read_bytes().decode("latin-1")
            if p.suffix == ".parquet":
                text += pd.read_parquet(p).to_csv(index=False)
            hits += [(p.name, n) for n in needles if n in text]
    return hits


@pytest.fixture
def world(tmp_path, monkeypatch):
    root = tmp_path / "world"
    generate(root)
    monkeypatch.setenv("SENDLINK_ROOT", str(root))
    monkeypatch.setenv("SENDLINK_TEST_REGISTER_KEY", TEST_REGISTER_KEY)
    return root


def test_a_year_of_requests_through_the_command_line(world, capsys):
    files = ConsentFiles(Paths(world))
    assert main(["consent", "apply"]) == 0
    first = outputs(world)
    status = pd.read_parquet(files.status)
    spine = pd.read_parquet(files.survey_spine)
    assert set(spine["survey_id"]) == set(status.loc[linkage_permitted(status), "survey_id"])
    assert 0 < len(spine) < N
    assert len(pd.read_csv(files.erasure_log)) > 0  # the fieldwork erasures

    # rerun: nothing imported, identical bytes
    assert main(["consent", "apply"]) == 0
    assert outputs(world) == first

    contacts = pd.read_parquet(files.holding("contacts.parquet")).set_index("survey_id")
    by_parent = status.set_index("survey_id")["child_scope_governed_by"] == "parent"
    sent = [s for s in spine["survey_id"] if by_parent[s]]  # so the parent may withdraw both scopes
    to_erase, to_withdraw, to_rectify = sent[0], sent[1], sent[2]
    person = contacts.loc[to_erase]
    needles = [to_erase, person["surname"], person["email"], person["address_line"], person["phone"], person["postcode"]]
    assert not scan(world, needles) == []  # held before the erasure

    today = dt.date.today().isoformat()
    assert main(["rights", "erase", to_erase, "--source", "email"]) == 0
    assert main(["rights", "withdraw", to_withdraw]) == 0
    assert main(["rights", "rectify", to_rectify, "--set", "surname=Fairweather", "--set", "postcode=ls1 4ap"]) == 0
    assert main(["rights", "withdraw", to_withdraw]) == 2  # nothing left to withdraw
    capsys.readouterr()

    assert main(["consent", "apply"]) == 0
    spine = pd.read_parquet(files.survey_spine).set_index("survey_id")
    assert to_erase not in spine.index and to_withdraw not in spine.index
    assert (spine.loc[to_rectify, "surname"], spine.loc[to_rectify, "postcode"]) == ("Fairweather", "LS1 4AP")
    status = pd.read_parquet(files.status).set_index("survey_id")
    assert status.loc[to_withdraw, "may_analyse"] and status.loc[to_withdraw, "later_request_applied"]
    assert to_withdraw in set(pd.read_parquet(files.holding("contacts.parquet"))["survey_id"])  # answers still used
    assert scan(world, needles) == []
    log = pd.read_csv(files.erasure_log, dtype=str)
    assert today in set(log["requested_on"])

    # "make data" again: the raw files come back with the erased case; it stays erased
    second = outputs(world)
    generate(world)
    assert main(["consent", "apply"]) == 0
    assert outputs(world) == second
    assert scan(world, needles) == []
