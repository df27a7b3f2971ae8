"""The package's shape, checked: layers, no import cycles, the truth boundary, one catalogue of files.

The layers (docs/DESIGN.md section 3), lowest first. A module may import
from its own layer or a lower one, never a higher one, and no group of
modules may import each other in a cycle. The stages sit in data-flow
order, so a stage can use what an earlier stage made but never the other
way round; ``evaluate`` and ``scan`` come after every stage they check.

The truth boundary: only :mod:`sendlink.evaluate` reads ``data/synthetic/truth/``
(the generator writes it; the schema describes it; tests and benchmarks may
read it). A module, or a notebook, that names the truth's contracts, its
catalogue entries, ``Paths.truth`` or a path into the folder is reading it.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"

#: Layers, lowest first: each entry is a module or a package (with its submodules).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("sendlink", "sendlink.errors"),
    ("sendlink.io",),
    ("sendlink.config",),
    ("sendlink.params",),
    ("sendlink.schema",),
    ("sendlink.keys",),  # the rules for secret keys, shared by the register and the research ids
    ("sendlink.disclosure",),  # used by every stage that publishes a table
    ("sendlink.synth",),  # the stages, in data-flow order
    ("sendlink.consent",),
    ("sendlink.link",),
    ("sendlink.pprl",),  # privacy-preserving linkage: encodings of the linker's standardised values
    ("sendlink.deidentify",),
    ("sendlink.outcomes",),
    ("sendlink.evaluate",),  # reads the truth; checks the stages above
    ("sendlink.scan",),  # the release check, after everything
    ("sendlink.display", "sendlink.site"),  # the top: presentation and orchestration
    ("sendlink.notebooks",),
    ("sendlink.pipeline",),
    ("sendlink.cli", "sendlink.__main__"),
)

#: Who may name the truth (read it, write it or describe it).
TRUTH_READERS = ("sendlink.evaluate",)
TRUTH_WRITERS = ("sendlink.synth.generate", "sendlink.synth.scale")
TRUTH_DESCRIBERS = ("sendlink.schema",)


# --------------------------------------------------------------------------- the graph


def modules(src: Path = SRC) -> dict[str, Path]:
    out = {}
    for path in sorted(src.rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(source: str, module: str, is_package: bool, known: dict[str, Path]) -> set[str]:
    """The project modules ``module`` imports, anywhere in its body (``from a import b`` names ``a.b`` when it is a module)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name, known)
                if target:
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            for alias in node.names:
                full = f"{name}.{alias.name}"
                target = full if full in known else _resolve(name, known)
                if target:
                    found.add(target)
    found.discard(module)
    return found


def graph(src: Path = SRC) -> dict[str, set[str]]:
    known = modules(src)
    return {m: imports(p.read_text(encoding="utf-8"), m, p.name == "__init__.py", known) for m, p in known.items()}


def layer_of(module: str, layers=LAYERS) -> int:
    best, index = "", None
    for i, group in enumerate(layers):
        for prefix in group:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, index = prefix, i
    if index is None:
        raise LookupError(f"{module} is in no layer: add it to LAYERS")
    return index


def upward_imports(edges: dict[str, set[str]], layers=LAYERS) -> list[str]:
    return sorted(f"{a} (layer {layer_of(a, layers)}) imports {b} (layer {layer_of(b, layers)})"
                  for a, targets in edges.items() for b in targets if layer_of(b, layers) > layer_of(a, layers))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


EDGES = graph()


def test_every_module_is_in_a_layer():
    for module in EDGES:
        layer_of(module)


def test_no_import_points_up_the_layers():
    assert not upward_imports(EDGES), "imports from a lower layer to a higher one:\n" + "\n".join(upward_imports(EDGES))


def test_no_import_cycles():
    assert not cycles(EDGES), f"modules that import each other: {cycles(EDGES)}"


def test_the_graph_checks_can_fail():
    edges = {"p.low": {"p.high"}, "p.high": {"p.low"}, "p.mid": set()}
    layers = (("p.low",), ("p.mid",), ("p.high",))
    assert upward_imports(edges, layers) == ["p.low (layer 0) imports p.high (layer 2)"]
    assert cycles(edges) == [["p.high", "p.low"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    known = {"sendlink": Path(), "sendlink.link": Path(), "sendlink.link.engine": Path(), "sendlink.link.compare": Path()}
    assert imports("from sendlink.link import compare\ndef f():\n    from . import engine\n", "sendlink.link.spine", False, known) == {
        "sendlink.link.compare", "sendlink.link.engine"}
    assert imports("from sendlink.link import link_files", "sendlink.evaluate.x", False, known) == {"sendlink.link"}


# --------------------------------------------------------------------------- the truth boundary


def _is_truth_path(text: str) -> bool:
    # A path into the folder; prose that mentions truth is not a read.
    return "truth/" in text and (text.startswith(("data/", "truth/")) or text.endswith((".parquet", ".csv")))


def truth_reads(source: str) -> list[int]:
    """Lines that reach into the truth: its schema module, ``.truth`` of the folders, a path string into it."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "sendlink.schema.truth":
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "sendlink.schema" and any(a.name == "truth" for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.Import) and any(a.name == "sendlink.schema.truth" for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.Attribute) and node.attr == "truth":
            owner = node.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else ""
            if owner_name != "evaluate":  # sendlink.evaluate.truth is the reader, not the folder
                lines.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _is_truth_path(node.value):
            lines.append(node.lineno)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.right, ast.Constant) and node.right.value == "truth":
            lines.append(node.lineno)  # paths.synthetic / "truth"
    return sorted(lines)


def _may_name_truth(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in (*TRUTH_READERS, *TRUTH_WRITERS, *TRUTH_DESCRIBERS))


def test_only_evaluate_reads_the_truth():
    offenders = [f"{m}:{line}" for m, p in modules().items() if not _may_name_truth(m) for line in truth_reads(p.read_text(encoding="utf-8"))]
    assert not offenders, "only sendlink.evaluate may read data/synthetic/truth/: " + ", ".join(offenders)


def _notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = ["\n".join(line for line in "".join(c["source"]).splitlines() if not line.lstrip().startswith(("%", "!")))
            for c in cells if c["cell_type"] == "code"]
    return "\n\n".join(code)


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name)
def test_notebooks_read_the_truth_only_through_evaluate(path):
    assert not truth_reads(_notebook_code(path)), f"{path.name} reads the truth itself; call sendlink.evaluate instead"


def test_the_truth_check_can_fail():
    assert truth_reads("x = paths.truth / 'links.parquet'") == [1]
    assert truth_reads("open('data/synthetic/truth/links.parquet')") == [1]
    assert truth_reads("p = root / 'data' / 'synthetic' / 'truth' / 'links.parquet'") == [1]
    assert truth_reads("from sendlink.schema.truth import TRUE_LINKS") == [1]
    assert truth_reads("from sendlink.schema import catalogue, truth") == [1]
    assert truth_reads("from sendlink.evaluate import truth\nlinks = truth.true_links(paths)") == []
    assert truth_reads("links = sendlink.evaluate.truth.true_links(paths)") == []
    assert truth_reads("keys = ('census', 'truth')") == []
    assert truth_reads("truthful = 1") == []
    assert truth_reads("doc = 'differences are listed in truth/identifier_differences, see there'") == []


# --------------------------------------------------------------------------- one catalogue of files

#: A file name in a string: ``links.parquet``, ``data/summary.json``.
FILE_NAME = re.compile(r"^[\w.\-/]*\w\.(parquet|csv|json|sqlite|key|md)$")
#: Modules that name files: the catalogue itself and the schema contracts whose ``path`` it takes.
CATALOGUE = ("sendlink.schema",)
#: Names that are not files of the data flow: the generator's name lists (package
#: data in src/sendlink/synth/data/, read with importlib.resources).
NOT_PROJECT_FILES = {"forenames.csv", "surnames.csv", "nicknames.csv", "spelling_variants.csv"}


def file_names(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Constant) and isinstance(child.value, str) and FILE_NAME.match(child.value):
                if child.value not in NOT_PROJECT_FILES and not isinstance(node, ast.Expr):
                    found.append((child.lineno, child.value))
    return sorted(found)


def test_files_are_named_only_in_the_catalogue():
    offenders = [f"{m}:{line} {name!r}" for m, p in modules().items() if not any(m.startswith(c) for c in CATALOGUE)
                 for line, name in file_names(p.read_text(encoding="utf-8"))]
    assert not offenders, "file names outside sendlink.schema.catalogue: " + ", ".join(offenders)


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name)
def test_notebooks_name_files_through_the_catalogue(path):
    names = file_names(_notebook_code(path))
    assert not names, f"{path.name} spells file names {names}; use sendlink.schema.catalogue"


def test_the_file_name_check_can_fail():
    assert file_names("p = paths.linkage / 'links.parquet'") == [(1, "links.parquet")]
    assert file_names("x = read_table(root / 'data/research/extract.parquet')") == [(1, "data/research/extract.parquet")]
    assert file_names('def f():\n    """Reads links.parquet."""\n') == []
    assert file_names("SUFFIXES = ('.csv', '.parquet')") == []


def test_every_catalogue_file_lies_in_its_holders_folder():
    from sendlink.schema import catalogue, truth

    folders = {"dfe": ("data/synthetic/npd/", "data/linkage/"), "survey_organisation": ("data/synthetic/survey/", "data/register/", "data/survey_org/", "data/linkage/incoming/"),
               "researchers": ("data/research/",), "truth": ("data/synthetic/truth/",), "everyone": ("data/", "benchmarks/results/", "pages/")}
    for file in (*catalogue.FILES, *truth.FILES):
        assert file.path.startswith(folders[file.holder]), f"{file.path} is not in a folder of {file.holder}"
    by_path = defaultdict(list)
    for file in (*catalogue.FILES, *truth.FILES):
        by_path[file.path].append(file)
    assert all(len(v) == 1 for v in by_path.values()), "a file is catalogued twice"
