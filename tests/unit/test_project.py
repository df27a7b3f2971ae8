"""Project-wide guarantees: truth quarantine, data dictionary, notebooks, CLI."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from sendlink.schema import dictionary

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "sendlink"

#: The only modules allowed to read data/synthetic/truth/: the generator
#: that writes it and the evaluation code that checks against it.
TRUTH_READERS = {
    "synth",  # writes truth
    "quality.py",  # linkage evaluation
    "outcomes/truth.py",  # analysis evaluation
    "config.py",  # defines the path
    "schema/truth.py",  # its contract
    "schema/dictionary.py",  # documents it
    "synth/report.py",  # notebook 01's description of the synthetic data
}


def _allowed(path: Path) -> bool:
    rel = path.relative_to(SRC).as_posix()
    return any(rel == allowed or rel.startswith(allowed + "/") for allowed in TRUTH_READERS)


def _is_truth_path(text: str) -> bool:
    # A path into the folder; prose that mentions truth (docstrings, column
    # descriptions, dictionary keys) is not a read.
    return "truth/" in text and (text.startswith(("data/", "truth/")) or text.endswith((".parquet", ".csv")))


def _mentions_truth(source: str) -> list[int]:
    """Lines that name the truth folder: a `.truth` attribute or a "truth" path string."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "truth":
            lines.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _is_truth_path(node.value):
            lines.append(node.lineno)
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Div)
            and isinstance(node.right, ast.Constant)
            and node.right.value == "truth"
        ):
            lines.append(node.lineno)  # paths.synthetic / "truth"
    return lines


def test_truth_is_read_only_by_evaluation_code():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if _allowed(path):
            continue
        for line in _mentions_truth(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert not offenders, "pipeline code must not read data/synthetic/truth/: " + ", ".join(offenders)


def test_the_quarantine_check_can_fail():
    assert _mentions_truth("x = paths.truth / 'links.parquet'") == [1]
    assert _mentions_truth("open('data/synthetic/truth/links.parquet')") == [1]
    assert _mentions_truth("p = root / 'data' / 'synthetic' / 'truth' / 'links.parquet'") == [1]
    assert _mentions_truth("keys = ('census', 'truth')") == []
    assert _mentions_truth("truthful = 1") == []
    assert _mentions_truth("doc = 'differences are listed in truth/identifier_differences, see there'") == []


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
    for command in ("synth", "consent", "link", "extract", "analyse", "report"):
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
    from sendlink import config
    from sendlink.synth.generate import params_fingerprint
    from sendlink.synth.params import SynthParams

    params = config.load_params(ROOT / "params.yaml")
    manifest = json.loads((default_data / "manifest.json").read_text())
    assert manifest["params_sha256"] == params_fingerprint(config.section(params, "synth", SynthParams), params["seed"])
