"""The fault suite (issue 15): every probe of bad input, fault and tampering, kept as a test.

Each probe is a test named in :data:`PROBES` with what was tried and what
must happen. "Nothing lost" is checked by **content**, never by the exit
status alone: the SHA-256 of every file of the project (inputs, outputs,
hidden files, the register) is taken before and after, and compared
(:func:`snapshot`). Kill tests kill a real process with ``SIGKILL``
(``kill -9``): either at the worst moment, between writing a temporary
file and renaming it into place (the process kills itself from a patched
``os.replace``), or at moments spread over a run. The README's
reliability section summarises this table; a test keeps the two in step.

The world is a small synthetic one made by the generator itself (1,500
pupils per year group, ~220 survey cases), so the public demo keys are
allowed for it; the whole module runs in well under a minute.

Probes of items 2, 4 and 6 (the register's first import, ``--date ""``,
the tamper-evident register) came with the consent work (the register's
atomic creation and keyed hash chain, :mod:`sendlink.consent.chain`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sendlink.cli import main
from sendlink.config import Paths
from sendlink.schema import catalogue
from tests.conftest import ROOT, TEST_OTHER_KEY, TEST_REGISTER_KEY, write_params

#: probe id -> (issue 15 item, what was tried, what must happen). The README's table lists the same ids.
PROBES: dict[str, tuple[str, str, str]] = {
    "F01": ("1", "`link S.csv N.parquet --out S.csv` (an output that is the survey input)", "refused before any work, exit 2; every file unchanged"),
    "F02": ("1", "`--out` equal to `--review-out`", "refused, exit 2; nothing written"),
    "F03": ("1", "`--out` a symbolic link or a hard link to the NPD input", "refused, exit 2; NPD file unchanged"),
    "F04": ("1", "`--out links.xlsx`", "refused before linkage runs, exit 2"),
    "F05": ("1", "`consent status --out` a raw survey file, `consent export --out` the erasure log, `rights access --out params.yaml`", "refused, exit 2; every file unchanged"),
    "F06": ("3", "`kill -9` between a temporary write and its rename (consent stage)", "old outputs intact; the next run removes the hidden copies, says so, and writes complete outputs"),
    "F07": ("3", "a killed run's hidden copy holds a person who is then erased", "the next run removes it; no file of the survey organisation, hidden or not, holds the person"),
    "F08": ("3", "`kill -9` at 5 moments during `sendlink link`", "the output is absent or complete (identical to a clean run); no temporary left after the next run"),
    "F09": ("5", "an erasure, then the consent stage", "the survey organisation's working copy (holdings, status, spine, register, export, log) holds none of the person's identifiers or answers; the generated world is unchanged"),
    "F10": ("7", "no key, on survey files the generator did not write (changed, added, no manifest)", "refused with how to make a key, exit 2; nothing written"),
    "F11": ("7", "the generator's manifest copied beside other survey files", "refused, exit 2"),
    "F12": ("7", "a key of one character, 16 bytes, a passphrase, a repeated pattern", "refused, exit 2; nothing written"),
    "F13": ("7", "the register key in `data/register/register.key` (inside the project)", "refused with how to move it, exit 2"),
    "F14": ("7", "a key file readable by other users (0644)", "refused with `chmod 600`, exit 2"),
    "F15": ("7", "`sendlink keys new` twice on one path, and inside the project", "0600 file of 32 random bytes; never overwritten; refused inside"),
    "F16": ("7", "the research key equal to the register key", "refused, exit 2; no extract written"),
    "F17": ("8", "file modes after the pipeline, an access request and `sendlink link`", "identifiers, consent and keys 0600 (folders made for them 0700); research files published"),
    "F18": ("9", "`=HYPERLINK(...)`, `+cmd|...`, `-2+3`, `@SUM(1)`, tab, CR in a survey spine", "links and review CSVs show them as text (leading `'`); negative weights stay numbers; read back exactly"),
    "F19": ("10", "`synth --seed -1`, `--npd-size 0`, `--survey-size -3`, `--chunk-size 0`, `--survey-size` alone, a survey larger than the NPD", "a clear error naming the option, exit 2, no traceback; nothing written"),
    "F20": ("10", "an unknown top-level section in `params.yaml`", "a clear error naming the key, exit 2"),
    "F21": ("11", "a Parquet list column in a spine", "exit 2 naming file and column; no output"),
    "F22": ("11", "a 0-byte NPD file (CSV, Parquet), an NPD file with a header only", "exit 2 naming the file; no output"),
    "F23": ("11", "dates of birth in the future", "a warning with the count and examples; compared as missing; exit 0"),
    "F24": ("held", "a rights request for an unknown id, dated in the future, a malformed rectification", "refused, exit 2; every file unchanged"),
    "F25": ("held", "duplicate keys, a non-UTF-8 file, a binary file as a spine", "exit 2 naming file (and column); no output"),
    "F26": ("held", "20 rights requests at once (4 processes)", "all 20 recorded, none lost"),
    "F27": ("2", "`kill -9` during the first `consent import`", "every command recognises the half-created register and recovers or says what to do"),
    "F28": ("4", "`rights withdraw ID --date \"\"`", "refused like any malformed date; nothing recorded"),
    "F29": ("6", "a `granted` event INSERTed for a refuser with the sqlite3 library", "every consent command stops, naming the first bad event"),
    "F30": ("6", "`DROP TRIGGER` then `DELETE` of an event", "every consent command stops, naming the first bad event"),
}

# --- the world ---------------------------------------------------------------------------------

SMALL = {
    "synth": {
        "npd": {"pupils_per_year_group": 1500, "local_authorities": 4},
        "survey": {"not_in_npd_cases": 12, "sampling_fraction_web": {"core": 0.7, "seldom_heard": 0.45},
                   "sampling_fraction_f2f": {"core": 0.0, "seldom_heard": 0.55}},
    },
}


def _unset_keys(monkeypatch) -> None:
    for name in ("SENDLINK_REGISTER_KEY", "SENDLINK_RESEARCH_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A small generated world, run through consent, link and extract (made once)."""
    root = tmp_path_factory.mktemp("faults") / "project"
    root.mkdir()
    keys = root.parent / "keys"  # outside the project; the files do not exist: demo keys
    write_params(root / "params.yaml", {**SMALL, "consent": {"key_file": str(keys / "register.key")},
                                        "deidentify": {"key_file": str(keys / "research.key")}})
    (root / "pyproject.toml").write_text("[project]\nname = 'faults'\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("SENDLINK_REGISTER_KEY", "SENDLINK_RESEARCH_KEY")}
    env["SENDLINK_ROOT"] = str(root)
    for command in (["synth"], ["pipeline", "--only", "consent", "link", "extract"]):
        done = subprocess.run([sys.executable, "-m", "sendlink", "-q", *command], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def project(world, tmp_path, monkeypatch) -> Paths:
    """A fresh copy of the world for one probe; SENDLINK_ROOT points at it."""
    root = tmp_path / "project"
    shutil.copytree(world, root, symlinks=True)
    write_params(root / "params.yaml", {**SMALL, "consent": {"key_file": str(tmp_path / "keys" / "register.key")},
                                        "deidentify": {"key_file": str(tmp_path / "keys" / "research.key")}})
    monkeypatch.setenv("SENDLINK_ROOT", str(root))
    _unset_keys(monkeypatch)
    return Paths(root)


def snapshot(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, hidden ones included (SQLite's shared-memory index excepted)."""
    out = {}
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and not path.name.endswith("-shm") and not (path.name.endswith("-wal") and path.stat().st_size == 0):
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_cli(args: list[str], root: Path, *, env: dict[str, str] | None = None, kill_code: str = "") -> subprocess.CompletedProcess:
    """``sendlink ARGS`` in a new process (``kill_code`` runs first: it may arrange for the process to kill itself)."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("SENDLINK_REGISTER_KEY", "SENDLINK_RESEARCH_KEY")}
    full_env.update({"SENDLINK_ROOT": str(root), **(env or {})})
    code = kill_code + "\nimport sys\nfrom sendlink.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, *args], env=full_env, capture_output=True, text=True, cwd=root)


def kill_at_rename(names: list[str]) -> str:
    """Code that makes the process ``kill -9`` itself when it first renames a temporary onto one of ``names``."""
    return (
        "import os, signal\n"
        "_real = os.replace\n"
        f"_names = {names!r}\n"
        "def _replace(src, dst):\n"
        "    if os.path.basename(str(dst)) in _names:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return _real(src, dst)\n"
        "os.replace = _replace\n"
    )


def refused(code: int, capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def survey_holdings_text(paths: Paths) -> dict[str, str]:
    """Every file the survey organisation holds (and the spine it sends), hidden ones included, as text to search."""
    out = {}
    for folder in (paths.survey_org, paths.register, catalogue.SURVEY_SPINE.at(paths).parent):
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            text = path.read_bytes().decode("latin-1")
            if path.suffix == ".parquet":
                try:
                    text += pd.read_parquet(path).to_csv(index=False)
                except Exception:  # a truncated file: its raw bytes are still searched
                    pass
            out[path.relative_to(paths.root).as_posix()] = text
    return out


def person(paths: Paths, survey_id: str) -> list[str]:
    """A case's survey id and the contact details that are unique to it."""
    contacts = pd.read_parquet(catalogue.CONTACTS.at(paths)).set_index("survey_id")
    row = contacts.loc[survey_id]
    return [survey_id, *(str(row[c]) for c in ("email", "phone", "address_line") if pd.notna(row[c]))]


def linked_case(paths: Paths) -> str:
    status = pd.read_parquet(catalogue.CONSENT_STATUS.at(paths))
    sent = status[status["send_for_linkage"] & (status["child_scope_governed_by"] == "parent")]
    return str(sent["survey_id"].iloc[0])


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


# --- item 1: an output can destroy an input --------------------------------------------------------


@pytest.fixture
def spines(project) -> dict[str, Path]:
    """A survey spine (CSV) and an NPD spine (Parquet) of the world, in the project."""
    folder = project.root / "probe"
    folder.mkdir()
    survey = pd.read_parquet(catalogue.SURVEY_SPINE.at(project))
    survey.to_csv(folder / "S.csv", index=False)
    shutil.copy(catalogue.NPD_SPINE.at(project), folder / "N.parquet")
    return {"survey": folder / "S.csv", "npd": folder / "N.parquet", "folder": folder}


def test_F01_an_output_that_is_the_survey_input_is_refused(project, spines, capsys):
    before = snapshot(project.root)
    code = main(["-q", "link", str(spines["survey"]), str(spines["npd"]), "--out", str(spines["survey"])])
    refused(code, capsys, "--out", "same file as SURVEY")
    assert snapshot(project.root) == before


def test_F02_out_equal_to_review_out_is_refused(project, spines, capsys):
    before = snapshot(project.root)
    out = spines["folder"] / "links.csv"
    code = main(["-q", "link", str(spines["survey"]), str(spines["npd"]), "--out", str(out), "--review-out", str(spines["folder"] / "." / "links.csv")])
    refused(code, capsys, "--out and --review-out are the same file")
    assert snapshot(project.root) == before


def test_F03_an_output_linked_to_an_input_is_refused(project, spines, capsys):
    (spines["folder"] / "soft.parquet").symlink_to(spines["npd"])
    os.link(spines["npd"], spines["folder"] / "hard.parquet")
    before = snapshot(project.root)
    for name in ("soft.parquet", "hard.parquet"):
        code = main(["-q", "link", str(spines["survey"]), str(spines["npd"]), "--out", str(spines["folder"] / name)])
        refused(code, capsys, "same file as NPD")
    assert snapshot(project.root) == before


def test_F04_a_wrong_extension_is_refused_before_linkage_runs(project, spines, capsys, monkeypatch):
    import sendlink.link.cli as link_cli

    def must_not_run(*args, **kwargs):
        raise AssertionError("linkage ran before the output was checked")

    monkeypatch.setattr(link_cli, "link_spines", must_not_run)
    before = snapshot(project.root)
    code = main(["-q", "link", str(spines["survey"]), str(spines["npd"]), "--out", str(spines["folder"] / "links.xlsx")])
    refused(code, capsys, "unsupported file type '.xlsx'")
    code = main(["-q", "link", str(spines["survey"]), str(spines["npd"]), "--out", str(spines["folder"] / "l.csv"), "--review-out", str(spines["folder"] / "r.txt")])
    refused(code, capsys, "--review-out", "unsupported file type '.txt'")
    assert snapshot(project.root) == before


def test_F05_consent_and_rights_outputs_never_replace_a_record(project, capsys):
    before = snapshot(project.root)
    sid = linked_case(project)
    for args in (["consent", "status", "--out", str(catalogue.CONTACTS.at(project))],
                 ["consent", "export", "--out", str(catalogue.ERASURE_LOG.at(project))],
                 ["consent", "status", "--out", str(project.root / "status.xlsx")],
                 ["rights", "access", sid, "--out", str(project.params)],
                 ["rights", "access", sid, "--out", str(project.register / "consent.sqlite")]):
        refused(main(["-q", *args]), capsys)
    assert snapshot(project.root) == before


# --- item 3: orphaned temporary files --------------------------------------------------------------------


def test_F06_a_kill_between_write_and_rename_leaves_the_old_outputs_and_the_next_run_cleans_up(project):
    before = snapshot(project.root)
    killed = run_cli(["-q", "consent", "apply"], project.root, kill_code=kill_at_rename(["consent_status.parquet"]))
    assert killed.returncode == -signal.SIGKILL
    after_kill = snapshot(project.root)
    hidden = sorted(set(after_kill) - set(before))
    assert hidden and all(Path(h).name.startswith(".") for h in hidden)  # complete hidden copies, nothing else
    assert {k: v for k, v in after_kill.items() if k in before} == before  # every output as it was
    rerun = run_cli(["consent", "apply"], project.root)
    assert rerun.returncode == 0, rerun.stderr
    for name in hidden:
        assert f"removed {project.root / name}" in rerun.stderr  # said so
    assert snapshot(project.root) == before  # no copy left; outputs complete (the same inputs: the same bytes)


def test_F07_an_erased_person_is_not_left_in_a_killed_runs_hidden_copy(project):
    sid = linked_case(project)
    needles = person(project, sid)
    killed = run_cli(["-q", "consent", "apply"], project.root, kill_code=kill_at_rename(["consent_status.parquet"]))
    assert killed.returncode == -signal.SIGKILL
    hidden = {name: text for name, text in survey_holdings_text(project).items() if Path(name).name.startswith(".")}
    assert any(sid in text for text in hidden.values())  # the killed run's copies hold the person
    assert main(["-q", "rights", "erase", sid]) == 0
    assert main(["-q", "consent", "apply"]) == 0
    found = [(name, n) for name, text in survey_holdings_text(project).items() for n in needles if n in text]
    assert found == []


def test_F08_kills_at_moments_spread_over_a_link_run_never_leave_half_a_file(project, spines):
    out = spines["folder"] / "links.csv"
    command = [sys.executable, "-m", "sendlink", "-q", "link", str(spines["survey"]), str(spines["npd"]), "--out", str(out)]
    env = {**os.environ, "SENDLINK_ROOT": str(project.root)}
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    duration = time.perf_counter() - started  # a clean run, start to finish
    expected = out.read_bytes()
    outcomes = []
    for fraction in (0.5, 0.7, 0.85, 0.95, 0.99):
        out.unlink(missing_ok=True)
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        temporaries = sorted(p.name for p in spines["folder"].glob(".links.csv.*"))
        outcomes.append((fraction, proc.returncode, "complete" if out.exists() else "absent", len(temporaries)))
        assert not out.exists() or out.read_bytes() == expected  # never half a file
    rerun = run_cli(["-q", "link", str(spines["survey"]), str(spines["npd"]), "--out", str(out)], project.root)
    assert rerun.returncode == 0 and out.read_bytes() == expected
    assert not list(spines["folder"].glob(".links.csv.*"))  # the next run removed any copy
    print("kill outcomes (output, temporaries left):", outcomes)


# --- item 5: erasure and the fieldwork files -----------------------------------------------------------------


def test_F09_an_erasure_reaches_every_file_the_survey_organisation_holds(project):
    sid = linked_case(project)
    needles = person(project, sid)
    world_before = {k: v for k, v in snapshot(project.root).items() if k.startswith("data/synthetic/")}
    assert any(n in text for text in survey_holdings_text(project).values() for n in needles)  # held before
    assert main(["-q", "rights", "erase", sid]) == 0
    assert main(["-q", "consent", "apply"]) == 0
    assert [(f, n) for f, text in survey_holdings_text(project).items() for n in needles if n in text] == []
    log = pd.read_csv(catalogue.ERASURE_LOG.at(project), dtype=str)
    held = {catalogue.held(raw).path for raw in catalogue.HOLDINGS if sid in set(pd.read_parquet(raw.at(project))["survey_id"].astype(str))}
    mine = log[log["requested_on"] == log["requested_on"].max()]
    assert held <= set(mine["file"]) and catalogue.CONSENT_STATUS.path in set(mine["file"])  # each working copy says what went
    # The generated world stands for the fieldwork as it happened (docs/DESIGN.md section 2): unchanged.
    assert {k: v for k, v in snapshot(project.root).items() if k.startswith("data/synthetic/")} == world_before


# --- item 7: keys ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("change", ["a survey file changed", "a survey file added", "no manifest"])
def test_F10_without_a_key_data_the_generator_did_not_write_are_refused(project, capsys, change):
    survey = project.survey
    if change == "a survey file changed":
        frame = pd.read_parquet(survey / "contacts.parquet")
        frame.loc[0, "surname"] = "Realperson"
        frame.to_parquet(survey / "contacts.parquet", index=False)
    elif change == "a survey file added":
        shutil.copy(survey / "contacts.parquet", survey / "more_contacts.parquet")
    else:
        catalogue.MANIFEST.at(project).unlink()
    before = snapshot(project.root)
    refused(main(["-q", "consent", "apply"]), capsys, "no consent register key", "sendlink keys new")
    assert snapshot(project.root) == before


def test_F11_a_manifest_copied_beside_other_data_does_not_unlock_the_demo_key(project, tmp_path, capsys, monkeypatch):
    other = tmp_path / "other"
    shutil.copytree(project.root, other, ignore=shutil.ignore_patterns("survey_org", "register", "linkage", "research"))
    contacts = pd.read_parquet(other / "data" / "synthetic" / "survey" / "contacts.parquet")
    contacts["surname"] = "Otherpeople"
    contacts.to_parquet(other / "data" / "synthetic" / "survey" / "contacts.parquet", index=False)
    monkeypatch.setenv("SENDLINK_ROOT", str(other))
    before = snapshot(other)
    refused(main(["-q", "consent", "apply"]), capsys, "missing or changed since the generator wrote them")
    assert snapshot(other) == before


@pytest.mark.parametrize("value", ["x", "ab" * 16, "my secret register passphrase", "00" * 32, "0123456789abcdef" * 4])
def test_F12_weak_keys_are_refused(project, capsys, monkeypatch, value):
    before = snapshot(project.root)
    monkeypatch.setenv("SENDLINK_REGISTER_KEY", value)
    refused(main(["-q", "consent", "apply"]), capsys, "$SENDLINK_REGISTER_KEY")
    monkeypatch.delenv("SENDLINK_REGISTER_KEY")
    monkeypatch.setenv("SENDLINK_RESEARCH_KEY", value)
    refused(main(["-q", "extract"]), capsys, "$SENDLINK_RESEARCH_KEY")
    assert snapshot(project.root) == before


def test_F13_a_key_file_inside_the_project_is_refused(project, capsys):
    inside = project.register / "register.key"
    inside.write_text(TEST_REGISTER_KEY + "\n")
    inside.chmod(0o600)
    before = snapshot(project.root)
    refused(main(["-q", "consent", "status"]), capsys, "inside the project folder", "mv ")
    inside.write_text("sendlink synthetic-only demo key: NOT FOR REAL DATA")  # what older sandboxes wrote
    refused(main(["-q", "consent", "status"]), capsys, "holds the public demo key", "rm ")
    assert {k: v for k, v in snapshot(project.root).items() if not k.endswith("register.key")} == {
        k: v for k, v in before.items() if not k.endswith("register.key")}


def test_F14_a_key_file_readable_by_others_is_refused(project, tmp_path, capsys):
    key = tmp_path / "keys" / "register.key"  # where params.yaml names it
    key.parent.mkdir()
    key.write_text(TEST_REGISTER_KEY + "\n")
    key.chmod(0o644)
    refused(main(["-q", "consent", "status"]), capsys, "mode 0644", f"chmod 600 {key}")


def test_F15_keys_new_writes_an_owner_only_key_once(project, tmp_path, capsys):
    key = tmp_path / "new" / "register.key"
    assert main(["keys", "new", str(key)]) == 0
    text = key.read_text()
    assert mode(key) == 0o600 and mode(key.parent) == 0o700 and re.fullmatch(r"[0-9a-f]{64}\n", text)
    refused(main(["keys", "new", str(key)]), capsys, "already exists")
    assert key.read_text() == text
    refused(main(["keys", "new", str(project.root / "data" / "my.key")]), capsys, "inside the project folder")
    assert not (project.root / "data" / "my.key").exists()


def test_F16_the_research_key_must_not_be_the_register_key(project, capsys, monkeypatch):
    monkeypatch.setenv("SENDLINK_REGISTER_KEY", TEST_OTHER_KEY)
    monkeypatch.setenv("SENDLINK_RESEARCH_KEY", TEST_OTHER_KEY)
    before = snapshot(project.root)
    refused(main(["-q", "extract"]), capsys, "is the consent register's key")
    assert snapshot(project.root) == before


# --- item 8: permissions ----------------------------------------------------------------------------------


def test_F17_identifiers_consent_and_keys_are_owner_only(world, tmp_path, monkeypatch):
    root = tmp_path / "fresh"
    root.mkdir()
    for name in ("params.yaml", "pyproject.toml"):
        shutil.copy(world / name, root / name)
    monkeypatch.setenv("SENDLINK_ROOT", str(root))
    _unset_keys(monkeypatch)
    old = os.umask(0o022)  # a usual umask: without care, every file would be 0644
    try:
        assert main(["-q", "synth"]) == 0
        assert main(["-q", "pipeline", "--only", "consent", "link", "extract"]) == 0
        sid = linked_case(Paths(root))
        assert main(["-q", "rights", "access", sid, "--out", str(root / "outbox" / "access.md")]) == 0
        survey_csv = root / "probe" / "S.csv"
        survey_csv.parent.mkdir()
        pd.read_parquet(catalogue.SURVEY_SPINE.at(Paths(root))).to_csv(survey_csv, index=False)
        assert main(["-q", "link", str(survey_csv), str(catalogue.NPD_SPINE.at(Paths(root))), "--out", str(root / "probe" / "out" / "links.csv"),
                     "--review-out", str(root / "probe" / "out" / "review.csv")]) == 0
        assert main(["-q", "keys", "new", str(tmp_path / "k" / "register.key")]) == 0
    finally:
        os.umask(old)
    paths = Paths(root)
    private = [
        catalogue.REGISTER_DB.at(paths), catalogue.ERASURE_LOG.at(paths), catalogue.WORLD.at(paths),
        catalogue.CONSENT_STATUS.at(paths), catalogue.REGISTER_EXPORT.at(paths),
        *(held.at(paths) for held in catalogue.HOLDINGS.values()),
        catalogue.SURVEY_SPINE.at(paths), catalogue.LINKS.at(paths), catalogue.PAIRS.at(paths), catalogue.REVIEW_QUEUE.at(paths),
        *(f.at(paths) for f in (*catalogue.SURVEY, *catalogue.NPD)),
        root / "outbox" / "access.md", root / "probe" / "out" / "links.csv", root / "probe" / "out" / "review.csv",
        tmp_path / "k" / "register.key",
    ]
    private += [p for p in paths.register.glob("consent.sqlite-*")]
    assert {p.relative_to(tmp_path).as_posix(): oct(mode(p)) for p in private if mode(p) != 0o600} == {}
    folders = [paths.register, paths.survey_org, paths.linkage, paths.synthetic / "survey", paths.synthetic / "npd",
               root / "outbox", root / "probe" / "out", tmp_path / "k"]
    assert {p.name: oct(mode(p)) for p in folders if mode(p) != 0o700} == {}
    published = [*(f.at(paths) for f in catalogue.EXTRACTS.values()), catalogue.K_ANONYMITY.at(paths), catalogue.RESEARCH_README.at(paths),
                 catalogue.MANIFEST.at(paths)]
    assert {p.name: oct(mode(p)) for p in published if mode(p) != 0o644} == {}


# --- item 9: spreadsheet formulas ----------------------------------------------------------------------


def test_F18_formulas_reach_no_spreadsheet(project, spines):
    npd = pd.read_parquet(spines["npd"])
    survey = pd.read_csv(spines["survey"], dtype=str)
    bad = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1)", "\t=1+1", "\r=1+1"]
    survey.loc[: len(bad) - 1, "forename"] = bad  # the rest of each record still finds its NPD match (review or link)
    survey.loc[len(bad), "survey_id"] = "=1+2"
    survey.to_csv(spines["survey"], index=False)
    out, review = spines["folder"] / "links.csv", spines["folder"] / "review.csv"
    assert main(["-q", "link", str(spines["survey"]), str(spines["npd"]), "--out", str(out), "--review-out", str(review)]) == 0
    for path in (out, review):
        cells = pd.read_csv(path, dtype=str, keep_default_na=False)  # as a spreadsheet sees the cells
        text = cells.to_numpy().ravel().tolist() + list(cells.columns)
        dangerous = [v for v in text if v[:1] in ("=", "+", "@", "\t", "\r") or (v[:1] == "-" and not re.fullmatch(r"-[\d.eE+-]+", v))]
        assert dangerous == [], (path.name, dangerous)
    links = pd.read_csv(out)
    assert links["match_weight"].dtype == float and (links["match_weight"] < 0).any()  # negative numbers stay numbers
    assert "=1+2" in set(pd.read_csv(out, dtype=str)["survey_id"].str.lstrip("'"))
    from sendlink.io import read_table

    assert "=1+2" in set(read_table(out)["survey_id"])  # read back exactly
    if review.stat().st_size and len(pd.read_csv(review)):
        shown = set(read_table(review, dtype_str=True)["survey_forename"].dropna())
        assert shown <= set(survey["forename"].dropna())
    del npd


# --- item 10: synth options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--seed", "-1"], "argument --seed: must be at least 0"),
        (["--npd-size", "0"], "argument --npd-size: must be at least 1"),
        (["--npd-size", "100", "--survey-size", "-3"], "argument --survey-size: must be at least 1"),
        (["--npd-size", "100", "--chunk-size", "0"], "argument --chunk-size: must be at least 1"),
        (["--survey-size", "5"], "--survey-size belongs to scale mode and needs --npd-size"),
        (["--chunk-size", "10"], "--chunk-size belongs to scale mode"),
        (["--npd-size", "100", "--survey-size", "300"], "at most --npd-size 100"),
        (["--npd-size", "10", "--if-stale"], "--if-stale applies to the default world only"),
    ],
)
def test_F19_bad_synth_options_give_clear_errors(project, tmp_path, args, needle):
    before = snapshot(project.root)
    done = run_cli(["-q", "synth", *args, "--out", str(tmp_path / "out")], project.root)
    assert done.returncode == 2 and "Traceback" not in done.stderr and needle in done.stderr, done.stderr
    assert not (tmp_path / "out").exists() and snapshot(project.root) == before


def test_F20_an_unknown_section_of_params_yaml_is_named(project, capsys):
    with project.params.open("a", encoding="utf-8") as handle:
        handle.write("\nlinkge:\n  thresholds: {match: 0.9}\n")
    before = snapshot(project.root)
    refused(main(["-q", "synth", "--if-stale"]), capsys, "linkge: Extra inputs are not permitted")
    refused(main(["-q", "consent", "status"]), capsys, "linkge")
    assert snapshot(project.root) == before


# --- item 11: link inputs ---------------------------------------------------------------------------------------


def test_F21_a_parquet_list_column_is_refused(project, spines, capsys):
    table = pq.read_table(spines["npd"])
    forenames = table.column("forename").to_pylist()
    table = table.set_column(table.schema.get_field_index("forename"), "forename", pa.array([[f] for f in forenames]))
    pq.write_table(table, spines["folder"] / "L.parquet")
    before = snapshot(project.root)
    code = main(["-q", "link", str(spines["survey"]), str(spines["folder"] / "L.parquet"), "--out", str(spines["folder"] / "o.csv")])
    refused(code, capsys, "L.parquet, column 'forename'", "not one value per record")
    assert snapshot(project.root) == before


def test_F22_an_empty_npd_file_is_refused(project, spines, capsys):
    (spines["folder"] / "E.csv").write_bytes(b"")
    (spines["folder"] / "E.parquet").write_bytes(b"")
    (spines["folder"] / "H.csv").write_text("upn,forename,surname,date_of_birth\n")
    before = snapshot(project.root)
    for name, needle in (("E.csv", "empty (0 bytes)"), ("E.parquet", "empty (0 bytes)"), ("H.csv", "NPD spine has no records")):
        code = main(["-q", "link", str(spines["survey"]), str(spines["folder"] / name), "--out", str(spines["folder"] / "o.csv")])
        refused(code, capsys, name, needle)
    assert snapshot(project.root) == before


def test_F23_future_dates_of_birth_are_warned_about_and_compared_as_missing(project, spines, caplog):
    survey = pd.read_csv(spines["survey"], dtype=str)
    survey.loc[:2, "date_of_birth"] = ["2099-01-01", "2098-05-05", "2097-12-31"]
    survey.to_csv(spines["survey"], index=False)
    out = spines["folder"] / "links.parquet"
    with caplog.at_level("WARNING"):
        assert main(["link", str(spines["survey"]), str(spines["npd"]), "--out", str(out)]) == 0
    assert "3 record(s) have a date of birth after today" in caplog.text
    assert all(sid in caplog.text for sid in survey["survey_id"].iloc[:3])
    links = pd.read_parquet(out).set_index("survey_id")
    assert (links.loc[survey["survey_id"].iloc[:3], "link_status"] != "unmatched").all()  # the rest of the record still links


# --- refusals that held already (kept as regressions) ---------------------------------------------------------------


def test_F24_refused_rights_requests_change_nothing(project, capsys):
    sid = linked_case(project)
    before = snapshot(project.root)
    refused(main(["-q", "rights", "object", "SF000000"]), capsys, "unknown survey id")
    refused(main(["-q", "rights", "restrict", sid, "--date", "2099-01-01"]), capsys, "future")
    refused(main(["-q", "rights", "rectify", sid, "--set", "surname"]), capsys, "not FIELD=VALUE")
    refused(main(["-q", "rights", "rectify", sid, "--set", "upn=X"]), capsys)
    assert snapshot(project.root) == before


def test_F25_malformed_spines_are_named(project, spines, capsys):
    survey = pd.read_csv(spines["survey"], dtype=str)
    folder = spines["folder"]
    pd.concat([survey, survey.head(2)]).to_csv(folder / "dup.csv", index=False)
    (folder / "latin1.csv").write_bytes("survey_id,surname\nS1,Mu\xf1oz\n".encode("latin-1"))
    (folder / "binary.csv").write_bytes(bytes(range(256)) * 4)
    before = snapshot(project.root)
    for name, needles in (("dup.csv", ("dup.csv", "column 'survey_id'", "duplicate key")), ("latin1.csv", ("latin1.csv", "cannot be read")),
                          ("binary.csv", ("binary.csv",))):
        code = main(["-q", "link", str(folder / name), str(spines["npd"]), "--out", str(folder / "o.csv")])
        refused(code, capsys, *needles)
    assert snapshot(project.root) == before


def _restrict(args: tuple[str, str]) -> int:
    root, sid = args
    os.environ["SENDLINK_ROOT"] = root
    return main(["-q", "rights", "restrict", sid])


def test_F26_twenty_requests_at_once_lose_nothing(project):
    import multiprocessing as mp

    status = pd.read_parquet(catalogue.CONSENT_STATUS.at(project))
    ids = status.loc[~status["restricted"] & ~status["objected"] & (status["child_scope_governed_by"] == "parent"), "survey_id"].astype(str).iloc[:20]
    assert len(ids) == 20
    before = sqlite3.connect(catalogue.REGISTER_DB.at(project)).execute("SELECT COUNT(*) FROM events").fetchone()[0]
    with mp.get_context("fork").Pool(4) as pool:
        codes = pool.map(_restrict, [(str(project.root), sid) for sid in ids])
    assert codes == [0] * 20
    con = sqlite3.connect(catalogue.REGISTER_DB.at(project))
    assert con.execute("SELECT COUNT(*) FROM events").fetchone()[0] == before + 20
    assert con.execute("SELECT COUNT(*) FROM events WHERE kind = 'restriction' AND origin = 'cli'").fetchone()[0] == 20


# --- items 2, 4 and 6: the register's first import, an empty --date, the tamper-evident register -------------------


def test_F27_a_killed_first_import_does_not_brick_the_register(project):
    for name in ("consent.sqlite", "consent.sqlite-wal", "consent.sqlite-shm", "world.json"):
        (project.register / name).unlink(missing_ok=True)
    kill = ("import os, signal\nfrom sendlink.consent import register\n_real = register.Transaction.append\n_n = [0]\n"
            "def _append(self, event):\n    _n[0] += 1\n    if _n[0] == 50:\n        os.kill(os.getpid(), signal.SIGKILL)\n"
            "    return _real(self, event)\nregister.Transaction.append = _append\n")
    assert run_cli(["-q", "consent", "import"], project.root, kill_code=kill).returncode == -signal.SIGKILL
    for args in (["consent", "status"], ["rights", "restrict", linked_case(project)]):
        done = run_cli(["-q", *args], project.root)
        assert "Traceback" not in done.stderr and (done.returncode == 0 or "consent import" in done.stderr), done.stderr


def test_F28_an_empty_date_is_refused(project, capsys):
    sid = linked_case(project)
    before = snapshot(project.root)
    refused(main(["-q", "rights", "withdraw", sid, "--date", ""]), capsys, "--date")
    refused(main(["-q", "rights", "withdraw", sid, "--date", "  "]), capsys, "--date")
    assert snapshot(project.root) == before


def _refuser(paths: Paths) -> str:
    status = pd.read_parquet(catalogue.CONSENT_STATUS.at(paths))
    return str(status.loc[(status["consent_child_answers"] == "refused") & (status["child_scope_governed_by"] == "parent"), "survey_id"].iloc[0])


def test_F29_a_forged_event_stops_every_consent_command(project):
    from sendlink.consent.keys import case_key
    from sendlink.keys import REGISTER_DEMO_KEY

    sid = _refuser(project)
    db = catalogue.REGISTER_DB.at(project)
    columns = "event_key, case_key, person, kind, scope, decision, effective_date, contact, source, origin, details, recorded_at"
    values = "'forged', ?, 'parent', 'consent', 'child_answers', 'granted', '2024-01-01', 'ad_hoc', 'letter', 'cli', '{}', '2024-01-01T00:00:00Z'"
    con = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError, match="digest"), con:  # every event must carry its chain digest
        con.execute(f"INSERT INTO events ({columns}) VALUES ({values})", (case_key(REGISTER_DEMO_KEY, sid),))
    with con:  # so the forger copies the last event's digest (one without the key cannot compute the right one)
        last = con.execute("SELECT digest FROM events ORDER BY seq DESC LIMIT 1").fetchone()[0]
        con.execute(f"INSERT INTO events ({columns}, digest) VALUES ({values}, ?)", (case_key(REGISTER_DEMO_KEY, sid), last))
    con.close()
    before = snapshot(project.root)
    for args in (["consent", "status"], ["consent", "apply"], ["consent", "verify"], ["rights", "restrict", sid], ["rights", "pending"]):
        done = run_cli(["-q", *args], project.root)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "changed outside sendlink" in done.stderr and re.search(r"event \d+ \(ref forged, a granted consent decision", done.stderr), done.stderr
    assert snapshot(project.root) == before  # nothing was recorded or written on the forged log


def test_F30_a_deleted_event_stops_every_consent_command(project):
    con = sqlite3.connect(catalogue.REGISTER_DB.at(project))
    with con:
        deleted = con.execute("SELECT MIN(seq) FROM events WHERE kind = 'consent' AND decision = 'refused'").fetchone()[0]
        con.execute("DROP TRIGGER events_never_deleted")
        con.execute("DELETE FROM events WHERE seq = ?", (deleted,))
    con.close()
    before = snapshot(project.root)
    for args in (["consent", "status"], ["consent", "apply"], ["consent", "verify"], ["rights", "restrict", linked_case(project)]):
        done = run_cli(["-q", *args], project.root)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        # the first bad event is the one after the deleted one: its digest no longer follows
        assert "changed outside sendlink" in done.stderr and f"event {deleted + 1} (ref" in done.stderr, done.stderr
    assert snapshot(project.root) == before


# --- the README keeps the table --------------------------------------------------------------------------------------


def test_every_probe_is_a_test_and_a_row_of_the_readme():
    tests = {name.split("_")[1] for name in globals() if name.startswith("test_F")}
    assert tests == set(PROBES)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Reliability"):]
    section = section[: section.index("\n## ", 4)] if "\n## " in section[4:] else section
    rows = set(re.findall(r"^\| (F\d\d) \|", section, flags=re.MULTILINE))
    assert rows == set(PROBES), sorted(rows ^ set(PROBES))

