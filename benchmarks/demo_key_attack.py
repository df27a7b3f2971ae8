"""What the public demo keys protect: nothing. Measures the attack of issue 15 item 7.

With the demo keys committed in the source, anyone can

* turn research ids back into UPNs: hash every UPN of the NPD spine with the
  research demo key, as :func:`sendlink.deidentify.keys.research_ids` does,
  and look the extract's ids up;
* recover an erased case's survey id from the consent register: hash every
  possible survey id (``SF100000`` to ``SF999999``, the generator's format)
  with the register demo key, as :func:`sendlink.consent.keys.case_key`
  does, and look the register's erasure events up.

This is why the demo keys are allowed only for the generator's own world
(:mod:`sendlink.keys`) and why a real key is 32 random bytes: with one, the
same loops find nothing. Runs on the default data after ``make pipeline``
(seconds); writes ``benchmarks/results/demo_key_attack.json`` and ``.md``.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from pathlib import Path

import pandas as pd

from sendlink.config import Paths
from sendlink.consent.keys import case_key
from sendlink.deidentify.keys import ProjectKey, research_ids
from sendlink.keys import REGISTER_DEMO_KEY, RESEARCH_DEMO_KEY
from sendlink.schema import catalogue

RESULTS = Path(__file__).resolve().parent / "results"


def reverse_research_ids(paths: Paths, secret: bytes) -> dict:
    started = time.perf_counter()
    extract = pd.read_parquet(catalogue.EXTRACT.at(paths), columns=["research_id"])
    upns = pd.read_parquet(catalogue.NPD_SPINE.at(paths), columns=["upn"])["upn"]
    table = pd.Series(upns.to_numpy(), index=research_ids(ProjectKey(secret, "attack"), upns, "upn").to_numpy())
    found = int(extract["research_id"].isin(table.index).sum())
    return {"extract_rows": len(extract), "upns_tried": len(upns), "reversed": found, "seconds": round(time.perf_counter() - started, 1)}


def recover_erased_ids(paths: Paths, secret: bytes) -> dict:
    started = time.perf_counter()
    con = sqlite3.connect(f"{catalogue.REGISTER_DB.at(paths).resolve().as_uri()}?mode=ro", uri=True)
    erased = {row[0] for row in con.execute("SELECT DISTINCT case_key FROM events WHERE kind = 'erasure'")}
    con.close()
    found = {}
    for number in range(100_000, 1_000_000):
        survey_id = f"SF{number}"
        key = case_key(secret, survey_id)
        if key in erased:
            found[key] = survey_id
    return {"erased_cases": len(erased), "ids_tried": 900_000, "recovered": len(found), "seconds": round(time.perf_counter() - started, 1)}


def main() -> int:
    paths = Paths.discover()
    rows = {
        "demo keys": (reverse_research_ids(paths, RESEARCH_DEMO_KEY), recover_erased_ids(paths, REGISTER_DEMO_KEY)),
        "a random 32-byte key": (reverse_research_ids(paths, secrets.token_bytes(32)), recover_erased_ids(paths, secrets.token_bytes(32))),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "demo_key_attack.json").write_text(json.dumps({k: {"research_ids": a, "register": b} for k, (a, b) in rows.items()}, indent=2) + "\n")
    lines = ["What the public demo keys protect (benchmarks/demo_key_attack.py, default world).", "",
             "| key | research ids reversed | time | erased survey ids recovered | time |", "| --- | --- | --- | --- | --- |"]
    for name, (a, b) in rows.items():
        lines.append(f"| {name} | {a['reversed']:,} of {a['extract_rows']:,} (by hashing {a['upns_tried']:,} UPNs) | {a['seconds']} s "
                     f"| {b['recovered']} of {b['erased_cases']} (by hashing {b['ids_tried']:,} ids) | {b['seconds']} s |")
    (RESULTS / "demo_key_attack.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
