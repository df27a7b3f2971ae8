"""Rights requests through the library and the command line."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pandas as pd
import pytest
from _consentdata import output_files

from sendlink.cli import main
from sendlink.consent import stage
from sendlink.consent.files import ConsentFiles
from sendlink.consent.requests import Request, record_request
from sendlink.consent.stage import context
from sendlink.errors import RequestError

TODAY = dt.date(2026, 1, 15)
D = dt.date.fromisoformat


def state_of(root):
    """Every byte the stage and the register hold (the -shm index excluded), and the event count."""
    files = {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in output_files(root) if not p.name.endswith("-shm")}
    files = {k: v for k, v in files.items() if not (k.endswith("-wal") and v == hashlib.sha256(b"").hexdigest())}
    return files


def register_count(root):
    return context().register.count()


BAD = [
    (Request("withdraw", "S999"), "unknown survey id 'S999'"),
    (Request("erase", "S001", on=D("2026-01-16")), "in the future"),
    (Request("withdraw", "S002"), "no permission to withdraw"),
    (Request("withdraw", "S005", scope="child_answers"), "the young person decides"),
    (Request("withdraw", "S005", person="young_person", scope="parent_answers"), "only the parent decides"),
    (Request("rectify", "S001", person="young_person", on=D("2024-01-01"), fields={"surname": "Khan-Ali"}), "under 16"),
    (Request("access", "S001", person="young_person", on=D("2024-01-01")), "under 16"),
    (Request("erase", "S001", outcome="refused"), "needs --reason"),
    (Request("erase", "S001", outcome="granted", reason="manifestly_excessive"), "--reason is for a refused request"),
    (Request("erase", "S001", outcome="refused", reason="because"), "needs --reason"),
    (Request("withdraw", "S001", outcome="refused", reason="seriously_impairs_research"), "always honoured"),
    (Request("withdraw", "S001", level="everything"), "level must be one of"),
    (Request("object", "S001", identity="by guessing"), "identity check must be one of"),
    (Request("erase", "S001", on=D("2025-01-10"), outcome="refused", reason="manifestly_excessive", decided_on=D("2025-01-09")), "before the request was received"),
    (Request("rectify", "S001", fields={"postcode": "not a postcode"}), "malformed rectification: 'postcode'"),
    (Request("rectify", "S001", fields={"nhs_number": "123"}), "'nhs_number' cannot be corrected"),
    (Request("rectify", "S001", person="young_person", fields={"email": "me@example.org"}), "only the parent may correct"),
    (Request("rectify", "S001", fields={"surname": "Khan"}), "nothing to correct"),
    (Request("rectify", "S001", fields={}), "at least one field"),
    (Request("rectify", "S009", fields={"surname": "Jones"}), "did not respond"),
    (Request("unrestrict", "S001"), "no restriction in force to lift"),
    (Request("restrict", "S007"), "already restricted"),
    (Request("erase", "S006"), "was erased on 2024-06-01"),
    (Request("object", "S001", on=D("2020-01-01")), "before the case's first contact"),
]


@pytest.mark.parametrize("stage_first", [False, True], ids=["no-register-yet", "after-a-run"])
@pytest.mark.parametrize(("request_", "message"), BAD, ids=[f"{r.action}-{m[:20]}" for r, m in BAD])
def test_bad_requests_are_refused_and_change_nothing(project, request_, message, stage_first):
    if stage_first:
        stage.run(project)
    before = state_of(project.root)
    count = register_count(project.root)
    with pytest.raises(RequestError, match=message):
        record_request(context(), request_, today=TODAY)
    assert state_of(project.root) == before
    assert register_count(project.root) == count


def test_second_objection_by_the_same_person_is_refused(project):
    ctx = context()
    record_request(ctx, Request("object", "S001", on=D("2025-01-01")), today=TODAY)
    with pytest.raises(RequestError, match="already objected on 2025-01-01"):
        record_request(ctx, Request("object", "S001"), today=TODAY)


def test_withdrawal_of_all_withdraws_what_the_person_may(project):
    ctx = context()
    done = record_request(ctx, Request("withdraw", "S005"), today=TODAY)
    # S005's child scope is governed by the young person (asked 2025-10-01): only the parent's scope
    assert [e.scope for e in done.events] == ["parent_answers"]
    done = record_request(ctx, Request("withdraw", "S001"), today=TODAY)
    assert sorted(e.scope for e in done.events) == ["child_answers", "parent_answers"]
    assert all(e.origin == "cli" and e.effective_date == "2026-01-15" for e in done.events)
    assert "withdrawal (no further use) by the parent of permission to link" in done.message


def test_young_person_of_16_may_withdraw_the_permission_their_parent_gave(project):
    done = record_request(context(), Request("withdraw", "S001", person="young_person", on=D("2025-06-01")), today=TODAY)
    assert [e.scope for e in done.events] == ["child_answers"]


def test_recorded_requests_take_effect_at_the_next_run(project):
    ctx = context()
    stage.run(project)
    spine = lambda: list(pd.read_parquet(ConsentFiles(project).survey_spine)["survey_id"])  # noqa: E731
    assert "S001" in spine() and "S003" in spine()
    record_request(ctx, Request("withdraw", "S001"), today=TODAY)  # after as_of: honoured (later-stop)
    record_request(ctx, Request("restrict", "S003"), today=TODAY)
    record_request(ctx, Request("rectify", "S004", fields={"surname": "Evans-Price", "postcode": "cf10 3ab"}), today=TODAY)
    record_request(ctx, Request("unrestrict", "S007"), today=TODAY)  # a lift after as_of does not count yet
    stage.run(project)
    assert "S001" not in spine() and "S003" not in spine() and "S007" not in spine()
    row = pd.read_parquet(ConsentFiles(project).survey_spine).set_index("survey_id").loc["S004"]
    assert (row["surname"], row["postcode"]) == ("Evans-Price", "CF10 3AB")
    status = pd.read_parquet(ConsentFiles(project).status).set_index("survey_id")
    assert status.loc["S001", "may_analyse"] and status.loc["S001", "later_request_applied"]
    assert status.loc["S004", "rectified_on"] == "2026-01-15"


def test_erasure_through_the_command_line_then_the_next_run(project, capsys):
    stage.run(project)
    assert main(["rights", "erase", "S001", "--date", "2025-11-01", "--source", "email"]) == 0
    assert "erasure request by the parent" in capsys.readouterr().out
    stage.run(project)
    for path in output_files(project.root):
        from _consentdata import file_text

        text = file_text(path)
        for ident in ("S001", "Amira", "samina.khan@example.org", "LS6 2AB"):
            assert ident not in text, (path, ident)
    log = pd.read_csv(ConsentFiles(project).erasure_log, dtype=str)
    assert sorted(set(log["requested_on"])) == ["2024-06-01", "2025-11-01"]


def test_access_writes_a_readable_file_with_everything_held(project, tmp_path, capsys):
    stage.run(project)
    out = tmp_path / "access" / "S001.md"
    assert main(["rights", "access", "S001", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    for expected in (
        "What the study holds about survey case S001",
        "SYNTHETIC DATA",
        "| forename | Amira |",
        "samina.khan@example.org",  # the parent's contact details
        "### parent w1",  # answers
        "| unmet_need | 1 |",
        "the parent gave permission for linking the child's answers",  # consent history
        "linked: the child's NPD record was found with confidence",
        "| match_probability | 0.998 |",
        "### census",  # the linked NPD record
        "A100000000001",
    ):
        assert expected in text, expected
    assert "written to" in capsys.readouterr().out
    events = context().register.events()
    assert (events["kind"] == "access").sum() == 1
    js = tmp_path / "S001.json"
    assert main(["rights", "access", "S001", "--out", str(js), "--person", "young_person"]) == 0
    report = json.loads(js.read_text(encoding="utf-8"))
    assert report["identifiers"]["child"]["surname"] == "Khan" and report["npd"]["census"][0]["upn"] == "A100000000001"


def test_access_for_a_non_respondent_and_an_unlinked_case(project, tmp_path):
    out = tmp_path / "S009.md"
    assert main(["rights", "access", "S009", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "No names, addresses or contact details are held" in text
    assert "No National Pupil Database record is linked" in text


def test_command_line_refusals_exit_2_with_a_clear_message(project, tmp_path, capsys):
    out = tmp_path / "x.md"
    cases = [
        (["rights", "withdraw", "S999"], "unknown survey id"),
        (["rights", "erase", "S001", "--date", "2999-01-01"], "in the future"),
        (["rights", "erase", "S001", "--date", "01/02/2024"], "not a date written YYYY-MM-DD"),
        (["rights", "rectify", "S001", "--set", "surname"], "is not FIELD=VALUE"),
        (["rights", "rectify", "S001", "--set", "date_of_birth=2009-13-01"], "date_of_birth"),
        (["rights", "rectify", "S001", "--person", "young_person", "--date", "2024-01-01", "--set", "surname=Ali"], "under 16"),
        (["rights", "withdraw", "S001", "--date", ""], "--date: the value is empty"),
        (["rights", "erase", "S001", "--date", "   "], "--date: the value is empty"),
        (["rights", "erase", "S001", "--outcome", "refused"], "needs --reason"),
        (["rights", "decide", "0000", "--grant"], "at least 8 characters"),
        (["rights", "decide", "00000000", "--grant"], "no rights request with reference"),
        (["rights", "pending", "--today", ""], "--today: the value is empty"),
        (["consent", "status", "--as-of", ""], "--as-of: the value is empty"),
        (["rights", "access", "S001", "--out", str(tmp_path / "x.pdf")], "must end in .md or .json"),
        (["rights", "access", "S999", "--out", str(out)], "unknown survey id"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.startswith(f"sendlink {argv[0]}: error:"), (argv, err)
    assert not out.exists()
    assert not ConsentFiles(project).register.exists()


def test_consent_command_line(project, tmp_path, capsys):
    assert main(["consent", "import"]) == 0
    assert "23 event(s) added" in capsys.readouterr().out
    assert main(["consent", "import"]) == 0
    assert "0 event(s) added, 23 already in the register" in capsys.readouterr().out
    out = tmp_path / "status.csv"
    assert main(["consent", "status", "--as-of", "2023-01-01", "--out", str(out)]) == 0
    status = pd.read_csv(out, dtype=str).set_index("survey_id")
    assert "S006" not in status.index  # erased: never listed
    assert status.loc["S003", "send_for_linkage"] == "False"  # granted only at wave 2 (2023-05-01)
    assert main(["consent", "explain", "S005"]) == 0
    text = capsys.readouterr().out
    assert "[young-person-governs]" in text and "the young person refused on 2025-10-01" in text
    assert main(["consent", "explain", "S404"]) == 2
    assert main(["consent", "status", "--as-of", "yesterday"]) == 2
    capsys.readouterr()
    assert main(["consent", "export", "--out", str(tmp_path / "events.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "events.csv")) == 23
    assert main(["consent", "apply"]) == 0
    # S001, S003, S004, S008 (S005's young person refused at wave 3, closing their NPD record)
    assert "4 sent for linkage" in capsys.readouterr().out
    assert main(["consent", "rules"]) == 0
    assert "[later-stop]" in capsys.readouterr().out
