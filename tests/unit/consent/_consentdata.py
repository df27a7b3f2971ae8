"""A tiny hand-written survey world for the consent tests.

Eight responding households and one non-respondent, each chosen to exercise
one rule; expected outcomes as of 2025-12-01 are worked out by hand in
:data:`EXPECTED` (not copied from the code's output).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from tests.conftest import write_params

AS_OF = "2025-12-01"

#: The fixture project's parameters: the project's, with this world's consent settings.
PARAMS = {
    "seed": 1,
    "consent": {
        "as_of": dt.date.fromisoformat(AS_OF),
        "age_of_own_consent": 16,
        "cohort_first_birth_date": dt.date(2008, 9, 1),
        "cohort_last_birth_date": dt.date(2009, 8, 31),
        "key_env": "SENDLINK_TEST_REGISTER_KEY",
    },
}

# survey_id, forename, middle, surname, dob, sex, postcode, urn, parent forename, parent surname, address, email, phone
CONTACTS = [
    ("S001", "Amira", "", "Khan", "2009-03-14", "F", "LS6 2AB", "107001", "Samina", "Khan", "1 Elm Road", "samina.khan@example.org", "07700 900001"),
    ("S002", "Oliver", "James", "Smith", "2008-10-02", "M", "M14 5QR", "107002", "Claire", "Smith", "2 Oak Lane", "c.smith@example.org", "07700 900002"),
    ("S003", "Jack", "", "Brown", "2009-01-20", "M", "B12 9TT", "107003", "Dawn", "Brown", "3 Ash Close", "dawn.b@example.org", "07700 900003"),
    ("S004", "Chloe", "", "Evans", "2008-12-05", "F", "CF10 1AA", "107004", "Rhys", "Evans", "4 Beech Way", "rhys.evans@example.org", "07700 900004"),
    ("S005", "Zainab", "", "Ali", "2009-07-30", "F", "E1 6AN", "107005", "Yusuf", "Ali", "5 Cedar Street", "y.ali@example.org", "07700 900005"),
    ("S006", "Ruby", "Mae", "Quigglesworth", "2009-05-11", "F", "NE1 7RU", "107006", "Gemma", "Quigglesworth", "6 Fir Court", "gemma.q@example.org", "07700 900006"),
    ("S007", "Noah", "", "Wilson", "", "M", "BS1 4DJ", "107007", "Paul", "Wilson", "7 Holly Drive", "paulw@example.org", "07700 900007"),
    ("S008", "Leo", "", "Patel", "2009-02-02", "M", "LE1 5WW", "107008", "Nisha", "Patel", "8 Ivy Row", "nisha.p@example.org", "07700 900008"),
]
CONTACT_COLUMNS = ["survey_id", "forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "school_urn",
                   "parent_forename", "parent_surname", "address_line", "email", "phone"]

# event_id, survey_id, person, scope, decision, date, contact, source
EVENTS = [
    ("CE01", "S001", "parent", "child_answers", "granted", "2022-06-10", "wave1", "web"),
    ("CE02", "S001", "parent", "parent_answers", "granted", "2022-06-10", "wave1", "web"),
    ("CE03", "S002", "parent", "child_answers", "refused", "2022-06-11", "wave1", "web"),
    ("CE04", "S002", "parent", "parent_answers", "refused", "2022-06-11", "wave1", "web"),
    ("CE05", "S003", "parent", "child_answers", "no_answer", "2022-06-12", "wave1", "web"),
    ("CE06", "S003", "parent", "parent_answers", "no_answer", "2022-06-12", "wave1", "web"),
    ("CE07", "S003", "parent", "child_answers", "granted", "2023-05-01", "wave2", "web"),
    ("CE08", "S003", "parent", "parent_answers", "granted", "2023-05-01", "wave2", "web"),
    ("CE09", "S004", "parent", "child_answers", "granted", "2022-06-13", "wave1", "face_to_face"),
    ("CE10", "S004", "parent", "parent_answers", "granted", "2022-06-13", "wave1", "face_to_face"),
    ("CE11", "S004", "parent", "child_answers", "withdrawn", "2024-02-01", "ad_hoc", "email"),
    ("CE12", "S005", "parent", "child_answers", "granted", "2022-06-14", "wave1", "web"),
    ("CE13", "S005", "parent", "parent_answers", "granted", "2022-06-14", "wave1", "web"),
    ("CE14", "S005", "young_person", "child_answers", "refused", "2025-10-01", "wave3", "web"),
    ("CE15", "S006", "parent", "child_answers", "granted", "2022-06-15", "wave1", "web"),
    ("CE16", "S006", "parent", "parent_answers", "granted", "2022-06-15", "wave1", "web"),
    ("CE17", "S007", "parent", "child_answers", "granted", "2022-06-16", "wave1", "web"),
    ("CE18", "S007", "parent", "parent_answers", "granted", "2022-06-16", "wave1", "web"),
    ("CE19", "S008", "parent", "child_answers", "granted", "2022-06-17", "wave1", "web"),
    ("CE20", "S008", "parent", "parent_answers", "granted", "2022-06-17", "wave1", "web"),
]
EVENT_COLUMNS = ["event_id", "survey_id", "person", "scope", "decision", "event_date", "contact", "source"]

# request_id, survey_id, person, request, date, details
REQUESTS = [
    ("RR01", "S007", "parent", "restriction", "2024-03-01", ""),
    ("RR02", "S008", "parent", "rectification", "2024-04-04", json.dumps({"surname": "Patel-Shah"})),
    ("RR03", "S006", "parent", "erasure", "2024-06-01", ""),
]
REQUEST_COLUMNS = ["request_id", "survey_id", "person", "request", "request_date", "details"]

#: Hand-worked state as of 2025-12-01 (see each case's comment).
EXPECTED = {
    # granted both at wave 1, child under 16 then; at 16 (2025-03-14) not asked, parent's decision stands
    "S001": dict(may_link_parent_answers=True, may_link_child_answers=True, send_for_linkage=True, may_analyse=True, child_scope_governed_by="parent"),
    # refused both
    "S002": dict(may_link_parent_answers=False, may_link_child_answers=False, send_for_linkage=False, may_analyse=True, child_scope_governed_by="parent"),
    # break-off at wave 1 (no permission), granted at wave 2
    "S003": dict(may_link_parent_answers=True, may_link_child_answers=True, send_for_linkage=True, may_analyse=True, child_scope_governed_by="parent"),
    # withdrew the child's scope in 2024: parent's answers only
    "S004": dict(may_link_parent_answers=True, may_link_child_answers=False, send_for_linkage=True, may_analyse=True, child_scope_governed_by="parent"),
    # 16 on 2025-07-30, refused at wave 3: the young person governs the child's scope, and (policy
    # young_person_refusal_covers: npd_record) their refusal closes their NPD record, so the parent's
    # answers are not linked either; every answer is still analysed
    "S005": dict(may_link_parent_answers=False, may_link_child_answers=False, send_for_linkage=False, may_analyse=True, child_scope_governed_by="young_person"),
    # S006 erased in 2024: in no output at all
    # restricted in 2024, never lifted: kept, not linked, not analysed
    "S007": dict(may_link_parent_answers=False, may_link_child_answers=False, send_for_linkage=False, may_analyse=False, child_scope_governed_by="parent"),
    # rectified surname, still granted
    "S008": dict(may_link_parent_answers=True, may_link_child_answers=True, send_for_linkage=True, may_analyse=True, child_scope_governed_by="parent"),
    # non-respondent: never asked
    "S009": dict(may_link_parent_answers=False, may_link_child_answers=False, send_for_linkage=False, may_analyse=True, child_scope_governed_by="parent"),
}

ERASED = "S006"
#: Everything that would identify the erased person, for the no-trace scans.
ERASED_IDENTIFIERS = ["S006", "Quigglesworth", "2009-05-11", "NE1 7RU", "gemma.q@example.org", "6 Fir Court", "07700 900006"]

NPD_SPINE = [
    ("A100000000001", "Amira", "", "Khan", "2009-03-14", "F", "LS6 2AB", "107001"),
    ("A100000000002", "Oliver", "James", "Smith", "2008-10-02", "M", "M14 5QR", "107002"),
    ("A100000000006", "Ruby", "Mae", "Quigglesworth", "2009-05-11", "F", "NE1 7RU", "107006"),
]


def write_project(root: Path, *, contacts=CONTACTS, events=EVENTS, requests=REQUESTS, links: bool = True) -> Path:
    """Write the world under ``root`` (a project root); return ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    write_params(root / "params.yaml", PARAMS)
    (root / "pyproject.toml").write_text("[project]\nname = 'fixture'\n", encoding="utf-8")
    survey = root / "data" / "synthetic" / "survey"
    survey.mkdir(parents=True, exist_ok=True)
    # missing identifiers are null, as the generator writes them
    frame = pd.DataFrame(contacts, columns=CONTACT_COLUMNS).replace("", None)
    frame.to_parquet(survey / "contacts.parquet", index=False)
    ids = [c[0] for c in contacts] + ["S009"]
    pd.DataFrame(
        {
            "survey_id": ids,
            "strand": ["web"] * (len(ids) - 1) + ["face_to_face"],
            "design_weight": [10.0 + i for i in range(len(ids))],
            "provision": ["K", "E", "K", "K", "E", "K", "K", "E", "K"][: len(ids)],
            "w1_responded": [True] * (len(ids) - 1) + [False],
        }
    ).to_parquet(survey / "sample.parquet", index=False)
    resp = [c[0] for c in contacts]
    pd.DataFrame({"survey_id": resp, "interview_date": "2022-06-10", "unmet_need": [1, 0, 1, 0, 1, 1, 0, 0][: len(resp)], "bullied": ["yes", "no", "no", "yes", "no", "yes", "no", "no"][: len(resp)]}).to_parquet(survey / "parent_w1.parquet", index=False)
    pd.DataFrame({"survey_id": resp[:5], "interview_date": "2023-05-01", "unmet_need": [0, 0, 1, 0, 1][: len(resp[:5])]}).to_parquet(survey / "parent_w2.parquet", index=False)
    pd.DataFrame({"survey_id": resp, "interview_date": "2022-06-10", "happy_with_life": [4, 5, 3, 2, 4, 5, 3, 4][: len(resp)]}).to_parquet(survey / "young_person_w1.parquet", index=False)
    pd.DataFrame({"survey_id": [r for r in resp if r in ("S001", "S005", "S006")], "interview_date": "2023-05-02", "happy_with_life": 4}).to_parquet(survey / "young_person_w2.parquet", index=False)
    pd.DataFrame(events, columns=EVENT_COLUMNS).to_csv(survey / "consent_events.csv", index=False)
    pd.DataFrame(requests, columns=REQUEST_COLUMNS).to_csv(survey / "rights_requests.csv", index=False)
    npd = root / "data" / "synthetic" / "npd"
    npd.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(NPD_SPINE, columns=["upn", *CONTACT_COLUMNS[1:8]]).to_parquet(npd / "spine.parquet", index=False)
    pd.DataFrame({"upn": ["A100000000001", "A100000000001", "A100000000006"], "census_year": [2022, 2023, 2022], "sen_provision": ["K", "E", "K"]}).to_parquet(npd / "census.parquet", index=False)
    if links:
        linkage = root / "data" / "linkage"
        linkage.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(
            {
                "survey_id": ["S001", "S002", "S006"],
                "upn": ["A100000000001", "", "A100000000006"],
                "match_probability": [0.998, float("nan"), 0.97],
                "match_weight": [18.2, float("nan"), 12.0],
                "link_status": ["matched", "unmatched", "matched"],
            }
        ).to_parquet(linkage / "links.parquet", index=False)
    return root


def output_files(root: Path) -> list[Path]:
    """Every file the consent stage (and the register) may have written."""
    root = Path(root)
    found = []
    for folder in (root / "data" / "survey_org", root / "data" / "register", root / "data" / "linkage" / "incoming"):
        if folder.is_dir():
            found += [p for p in folder.rglob("*") if p.is_file()]
    return sorted(found)


def file_text(path: Path) -> str:
    """A file's content as text for scanning (Parquet decoded, others as bytes)."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path).to_csv(index=False) + path.read_bytes().decode("latin-1")
    return path.read_bytes().decode("latin-1")
