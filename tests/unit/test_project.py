"""Project-wide guarantees: data dictionary, notebooks, CLI (the truth boundary is in test_architecture.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from sendlink.schema import dictionary

ROOT = Path(__file__).resolve().parents[2]

def test_data_dictionary_is_in_step_with_the_schema():
    committed = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert committed == dictionary.render(), "data/README.md is stale: run `sendlink dictionary`"


def _notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_notebook_was_restarted_and_run_all_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: execution counts {counts} are not 1..N"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name} has error outputs"


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_notebook_metadata_and_opening(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    party = nb.metadata.get("sendlink", {}).get("party")
    assert party in {"researchers", "dfe", "survey_organisation"}, f"{path.name}: metadata.sendlink.party missing"
    # The first cell may be Quarto front matter (a raw cell), then the opening.
    opening = next(c.source for c in nb.cells if c.cell_type == "markdown")
    assert nb.cells[0].cell_type in {"markdown", "raw"}
    assert opening.startswith(f"# {int(path.name[:2])}. "), f"{path.name}: first cell must be the numbered title"
    assert "What you will learn" in opening and "Time" in opening
    if party != "researchers":
        assert "view.**" in opening, f"{path.name}: a page showing identifiers needs a banner naming the party"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Exercises" in text and "<details>" in text, f"{path.name}: exercises with folded solutions"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sendlink", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_lists_commands():
    out = _cli("--help")
    assert out.returncode == 0
    for command in ("synth", "consent", "link", "extract", "analyse", "evaluate", "scan", "report"):
        assert command in out.stdout


def test_cli_rejects_unknown_command():
    out = _cli("frobnicate")
    assert out.returncode != 0
    assert "invalid choice" in out.stderr


def test_bad_params_file_gives_a_clear_error_and_exit_2(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("seed: 1\nsynth:\n  npd: {pupils_per_year_group: -3}\n")
    out = _cli("synth", "--params", str(bad), "--out", str(tmp_path / "out"))
    assert out.returncode == 2
    assert "synth.npd" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "out").exists()


def test_manifest_of_default_data_matches_parameters(default_data):
    from sendlink.params import load_params
    from sendlink.schema import catalogue
    from sendlink.synth.generate import params_fingerprint

    params = load_params(ROOT / "params.yaml")
    manifest = json.loads((default_data / catalogue.MANIFEST.relative_to(catalogue.SYNTHETIC)).read_text())
    assert manifest["params_sha256"] == params_fingerprint(params.synth, params.seed)
