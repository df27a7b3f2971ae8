"""A real ``kill -9`` during the first import of the consent register (issue 15 item 2).

A subprocess imports a few thousand events into a new register and is
killed with SIGKILL at staggered moments, before, during and after the
register is created. Whatever moment the kill lands on, what is left is
either no register at all or a whole one: readable, its hash chain intact,
holding none or all of the events (one transaction), never the SQLite file
without tables that the earlier code left; and the next import completes
it. Each attempt takes well under a second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sendlink.consent.register import NewEvent, Register

KEY = b"kill-test-key-of-at-least-32-bytes!!"
N = 3000

CHILD = textwrap.dedent(
    f"""
    import sys
    from sendlink.consent.register import NewEvent, Register
    events = [NewEvent(survey_id=f"S{{i}}", person="parent", kind="consent", scope="child_answers", decision="granted",
                       effective_date="2022-06-10", contact="wave1", source="web", origin="fieldwork_consent",
                       source_ref=f"CE{{i}}", natural_key=f"consent_events:CE{{i}}", recorded_at="2022-06-10") for i in range({N})]
    print("ready", flush=True)
    Register(sys.argv[1], {KEY!r}).import_events(events)
    print("done", flush=True)
    """
)


def _events() -> list[NewEvent]:
    return [NewEvent(survey_id=f"S{i}", person="parent", kind="consent", scope="child_answers", decision="granted",
                     effective_date="2022-06-10", contact="wave1", source="web", origin="fieldwork_consent",
                     source_ref=f"CE{i}", natural_key=f"consent_events:CE{i}", recorded_at="2022-06-10") for i in range(N)]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.6])
def test_a_kill_during_the_first_import_leaves_no_register_or_a_whole_one(tmp_path: Path, delay: float) -> None:
    path = tmp_path / "register" / "consent.sqlite"
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    child = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    time.sleep(delay)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    reg = Register(path, KEY)
    if path.exists():
        count = reg.count()  # readable, chain verified: no "no such table: meta"
        assert count in (0, N), count
    leftovers = sorted(path.parent.glob(".*")) if path.parent.exists() else []
    # a temporary file of an interrupted creation may remain; it is never the register and holds nothing imported
    assert all(".creating-" in p.name for p in leftovers), leftovers
    for stale in leftovers:  # as if the kill had been an hour ago: the next write removes them
        os.utime(stale, (time.time() - 3600, time.time() - 3600))
    result = reg.import_events(_events())
    assert result.added + result.already_present == N
    assert reg.verify()[0] == N
    assert not any(p.exists() for p in leftovers)
