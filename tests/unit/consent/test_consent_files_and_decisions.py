"""Through the command line and the documented files only: bad fieldwork files, decisions, levels, tampering.

The fixture project is the hand-written world of ``_consentdata``; expected
outcomes are worked out by hand in the comments.
"""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from _consentdata import EVENT_COLUMNS, EVENTS, REQUEST_COLUMNS, REQUESTS, write_project

from sendlink.cli import main
from sendlink.consent.files import ConsentFiles
from sendlink.consent.stage import context


def _status(project) -> pd.DataFrame:
    return pd.read_parquet(ConsentFiles(project).status).set_index("survey_id")


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# --- rule 8: bad fieldwork files are refused whole ------------------------------------------


def test_a_date_that_does_not_exist_is_refused_whole_by_every_command(project, capsys):
    bad = [*EVENTS[:-1], (*EVENTS[-1][:5], "2023-02-30", *EVENTS[-1][6:])]  # CE20, the 20th data row
    write_project(project.root, events=bad)
    register = ConsentFiles(project).register
    for argv in (["consent", "status"], ["consent", "import"], ["consent", "apply"], ["consent", "explain", "S001"], ["rights", "pending"]):
        code, out, err = _run(capsys, *argv)
        assert code == 2, argv
        assert "consent_events.csv, column 'event_date'" in err and "20: '2023-02-30'" in err, (argv, err)
        assert "Traceback" not in err
    assert not register.exists()  # nothing imported, not even an empty register
    write_project(project.root)  # the file is fixed: everything works
    assert _run(capsys, "consent", "import")[0] == 0 and _run(capsys, "consent", "status")[0] == 0


def test_a_request_date_that_does_not_exist_is_refused_and_nothing_is_imported(project, capsys):
    assert _run(capsys, "consent", "import")[0] == 0
    before = context().register.count()
    write_project(project.root, requests=[*REQUESTS, ("RR04", "S002", "parent", "objection", "2023-02-31", "")])
    code, _, err = _run(capsys, "consent", "import")
    assert code == 2 and "rights_requests.csv, column 'request_date'" in err and "4: '2023-02-31'" in err
    assert context().register.count() == before


@pytest.mark.parametrize(
    ("extra", "column", "problem"),
    [
        ({"outcome": ["refused", "", ""]}, "outcome_date", "without the date it was decided"),
        ({"outcome": ["refused", "", ""], "outcome_date": ["2024-03-05", "", ""]}, "refusal_reason", "needs a refusal_reason"),
        ({"outcome": ["granted", "", ""], "outcome_date": ["2024-02-01", "", ""]}, "outcome_date", "dated before the request was received"),
        ({"outcome": ["maybe", "", ""], "outcome_date": ["2024-03-05", "", ""]}, "outcome", "isin"),
        ({"refusal_reason": ["manifestly_excessive", "", ""]}, "refusal_reason", "no outcome column"),
        ({"identity_check": ["psychic", "", ""]}, "identity_check", "isin"),
        ({"outcome": ["extended", "", ""], "outcome_date": ["2024-03-31", "", ""]}, None, None),  # fine
    ],
)
def test_decision_columns_of_the_requests_file_are_checked_before_anything_is_written(project, capsys, extra, column, problem):
    frame = pd.DataFrame(REQUESTS, columns=REQUEST_COLUMNS)
    for name, values in extra.items():
        frame[name] = values
    frame.to_csv(project.survey / "rights_requests.csv", index=False)
    code, _, err = _run(capsys, "consent", "import")
    if column is None:
        assert code == 0
        return
    assert code == 2 and f"rights_requests.csv, column '{column}'" in err and problem in err, err
    assert not ConsentFiles(project).register.exists()


def test_a_withdrawal_level_only_on_a_withdrawal(project, capsys):
    frame = pd.DataFrame(EVENTS, columns=EVENT_COLUMNS)
    frame["withdrawal_level"] = ""
    frame.loc[0, "withdrawal_level"] = "no_linkage"  # CE01 is a grant
    frame.to_csv(project.survey / "consent_events.csv", index=False)
    code, _, err = _run(capsys, "consent", "status")
    assert code == 2 and "consent_events.csv, column 'withdrawal_level'" in err and "not a withdrawal" in err


def test_an_unreadable_event_in_an_old_register_is_named_with_how_to_recover(project, capsys, tmp_path):
    # A schema-1 register that took in 2023-02-30 before files were validated (issue 14).
    from test_consent_register import _v1_register  # the same hand-built schema-1 file

    from sendlink.consent import keys

    register = ConsentFiles(project).register
    register.parent.mkdir(parents=True, exist_ok=True)
    _v1_register(register, key=keys.load_key("SENDLINK_TEST_REGISTER_KEY", paths=project))  # the project's key
    code, _, err = _run(capsys, "consent", "status")
    assert code == 2 and "sendlink consent migrate" in err
    code, out, err = _run(capsys, "consent", "migrate")
    assert code == 0, err
    assert "unreadable imported event(s) were left out" in out and "'2023-02-30'" in out and "fieldwork id CE02" in out
    assert _run(capsys, "consent", "verify")[0] == 0


# --- rule 4: rights requests are decisions ------------------------------------------------------


def test_a_refused_request_changes_no_permission(project, capsys):
    assert _run(capsys, "consent", "apply")[0] == 0
    before = _status(project).drop(columns=["reason"])
    code, out, _ = _run(capsys, "rights", "object", "S001", "--date", "2025-11-01", "--identity", "contact_details",
                        "--outcome", "refused", "--reason", "public_interest_task")
    assert code == 0 and "refused on 2025-11-01 (public_interest_task" in out and "nothing changes" in out
    assert _run(capsys, "consent", "apply")[0] == 0
    pd.testing.assert_frame_equal(_status(project).drop(columns=["reason"]), before)
    code, out, _ = _run(capsys, "consent", "explain", "S001")
    assert "-> refused [request-decision]: refused (public_interest_task: an objection to research carried out for a task in the public interest" in out


def test_an_extended_request_is_pending_overdue_then_granted(project, capsys):
    code, out, _ = _run(capsys, "rights", "erase", "S004", "--date", "2025-11-03", "--outcome", "extended")
    assert code == 0 and "extended to 2026-02-03" in out
    ref = out.split("(ref ")[1][:12]
    code, out, _ = _run(capsys, "rights", "pending", "--today", "2026-01-10")
    assert code == 0 and ref in out and "2026-02-03" in out and "extended" in out and "OVERDUE" not in out
    code, out, _ = _run(capsys, "rights", "pending", "--today", "2026-02-04")
    assert "OVERDUE" in out and "1 OVERDUE" in out
    # not erased while open
    assert _run(capsys, "consent", "apply")[0] == 0 and "S004" in _status(project).index
    code, out, _ = _run(capsys, "rights", "decide", ref, "--grant", "--date", "2026-01-20")
    assert code == 0 and "is granted on 2026-01-20" in out
    assert _run(capsys, "rights", "decide", ref, "--refuse", "manifestly_excessive")[0] == 2  # decided once
    assert "no open rights requests" in _run(capsys, "rights", "pending", "--today", "2026-02-04")[1]
    assert _run(capsys, "consent", "apply")[0] == 0
    assert "S004" not in _status(project).index  # S004's child is under 16 (2008-12-05: 16 on 2024-12-05, never asked): the whole case


def test_request_references_are_unique_and_the_same_when_the_same_steps_are_replayed(project, capsys, tmp_path):
    import shutil

    assert _run(capsys, "consent", "import")[0] == 0
    register = ConsentFiles(project).register
    shutil.copy(register, tmp_path / "imported.sqlite")  # the register after the import (checkpointed: one file)

    def refs() -> list[str]:
        found = []
        for argv in (["rights", "restrict", "S001", "--date", "2025-11-05"], ["rights", "unrestrict", "S001", "--date", "2025-11-06"],
                     ["rights", "restrict", "S001", "--date", "2025-11-07"], ["rights", "erase", "S004", "--date", "2025-11-03", "--outcome", "extended"]):
            code, out, err = _run(capsys, *argv)
            assert code == 0, err
            found.append(out.split("(ref ")[1][:12])
        return found

    first = refs()
    assert len(set(first)) == 4  # the same kind of request made again gets a new reference
    for suffix in ("", "-wal", "-shm"):
        register.with_name(register.name + suffix).unlink(missing_ok=True)
    shutil.copy(tmp_path / "imported.sqlite", register)
    assert refs() == first  # replayed on the same register: the same references (a notebook's outputs do not change)


def test_under_the_recorded_policy_a_request_waits_for_its_decision(project, capsys):
    from _consentdata import PARAMS

    from tests.conftest import write_params

    write_params(project.params, {**PARAMS, "consent": {**PARAMS["consent"], "request_decisions": "recorded"}})
    code, out, _ = _run(capsys, "rights", "restrict", "S001", "--date", "2025-11-05")
    assert code == 0 and "open until a decision is recorded" in out
    ref = out.split("(ref ")[1][:12]
    assert _run(capsys, "consent", "apply")[0] == 0
    assert not _status(project).loc["S001", "restricted"]
    assert ref in _run(capsys, "rights", "pending", "--today", "2025-11-06")[1]
    assert _run(capsys, "rights", "decide", ref, "--grant", "--date", "2025-11-20")[0] == 0
    assert _run(capsys, "consent", "apply")[0] == 0
    assert _status(project).loc["S001", "restricted"]


def test_an_access_request_granted_later_writes_its_copy_then(project, capsys, tmp_path):
    out_file = tmp_path / "copy.md"
    code, out, _ = _run(capsys, "rights", "access", "S001", "--out", str(out_file), "--outcome", "extended")
    assert code == 0 and "No copy was written" in out and not out_file.exists()
    ref = out.split("(ref ")[1][:12]
    assert _run(capsys, "rights", "decide", ref, "--grant")[0] == 2  # needs --out
    code, out, _ = _run(capsys, "rights", "decide", ref, "--grant", "--out", str(out_file))
    assert code == 0 and out_file.is_file() and "Amira" in out_file.read_text(encoding="utf-8")


def test_requests_in_the_fieldwork_file_carry_their_decisions(project, capsys):
    frame = pd.DataFrame(REQUESTS, columns=REQUEST_COLUMNS)
    # RR03 (S006's erasure, 2024-06-01) refused for the research exemption; RR01 (S007's restriction) granted a week later
    frame["identity_check"] = ["in_person", "", "documents"]
    frame["outcome"] = ["granted", "", "refused"]
    frame["outcome_date"] = ["2024-03-08", "", "2024-06-20"]
    frame["refusal_reason"] = ["", "", "seriously_impairs_research"]
    frame.to_csv(project.survey / "rights_requests.csv", index=False)
    assert _run(capsys, "consent", "apply")[0] == 0
    status = _status(project)
    assert "S006" in status.index  # not erased: refused
    assert status.loc["S007", "restricted"]
    code, out, _ = _run(capsys, "consent", "explain", "S006")
    assert "refused (seriously_impairs_research" in out
    code, out, _ = _run(capsys, "consent", "explain", "S007", "--as-of", "2024-03-05")
    assert "awaiting the study's decision (due 2024-04-01)" in out


# --- rule 5: withdrawal levels -------------------------------------------------------------------


def test_withdrawal_levels_through_the_command_line(project, capsys):
    # S001: parent granted both at wave 1 (child under 16 until 2025-03-14, never asked: the parent decides)
    code, out, _ = _run(capsys, "rights", "withdraw", "S001", "--date", "2025-11-01", "--level", "no_contact")
    assert code == 0 and "will not be contacted again" in out
    assert _run(capsys, "consent", "apply")[0] == 0
    row = _status(project).loc["S001"]
    assert row["no_further_contact"] and row["send_for_linkage"]
    # no further linkage, recorded after the consent date (2025-12-01): the run as of then keeps its linkage
    code, out, _ = _run(capsys, "rights", "withdraw", "S003", "--date", "2025-12-10", "--level", "no_linkage")
    assert code == 0 and "data linked at a run before today may still be used" in out
    assert _run(capsys, "consent", "apply")[0] == 0
    assert _status(project).loc["S003", "send_for_linkage"]
    assert _run(capsys, "consent", "apply", "--as-of", "2025-12-10")[0] == 0
    assert not _status(project).loc["S003", "send_for_linkage"]


# --- rule 1 through the command line: a young person's withdrawal at 15 ----------------------------


def test_a_young_person_under_16_may_withdraw_and_it_closes_their_record(project, capsys):
    code, out, err = _run(capsys, "rights", "withdraw", "S001", "--person", "young_person", "--date", "2024-05-01")
    assert code == 0, err
    assert "counts at any age" in out and "closes their NPD record" in out
    assert _run(capsys, "consent", "apply")[0] == 0
    row = _status(project).loc["S001"]
    assert not row["send_for_linkage"] and row["young_person_refused_on"] == "2024-05-01" and row["may_analyse"]


# --- tampering and half-created registers, through the command line -------------------------------


def test_a_tampered_register_stops_every_consent_command(project, capsys):
    assert _run(capsys, "consent", "apply")[0] == 0
    register = ConsentFiles(project).register
    con = sqlite3.connect(register)
    con.execute("DROP TRIGGER events_never_updated")
    con.execute("UPDATE events SET decision = 'granted' WHERE seq = 3")  # CE03: S002's refusal becomes a grant
    con.commit()
    con.close()
    for argv in (["consent", "status"], ["consent", "apply"], ["consent", "import"], ["consent", "explain", "S002"],
                 ["consent", "export"], ["consent", "verify"], ["rights", "pending"], ["rights", "object", "S001"]):
        code, _, err = _run(capsys, *argv)
        assert code == 2, argv
        assert "changed outside sendlink" in err and "at event 3 " in err, (argv, err)


def test_a_half_created_register_is_recognised_by_every_command(project, capsys, caplog):
    register = ConsentFiles(project).register
    register.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(register)
    con.execute("PRAGMA journal_mode = WAL")  # what a kill -9 during the first import left before: no tables
    con.close()
    for argv in (["consent", "status"], ["rights", "pending"], ["consent", "explain", "S001"], ["consent", "verify"]):
        assert _run(capsys, *argv)[0] == 0, argv
    assert "half-created" in caplog.text
    code, out, _ = _run(capsys, "consent", "import")
    assert code == 0 and "23 event(s) added" in out
    assert _run(capsys, "consent", "verify")[0] == 0
