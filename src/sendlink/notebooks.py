"""Execute the numbered notebooks in place, and render them to ``reports/``.

``sendlink notebooks run`` restarts a kernel for each notebook and runs every
cell, saving the outputs into the notebook (execution counts 1..N, no
timing metadata), so committed notebooks are exactly what a fresh run gives
and nbval can check them. ``sendlink notebooks render`` turns them into the
site in ``reports/``: with Quarto when ``quarto`` is on the PATH, otherwise
with nbconvert to HTML in the same layout, and it says which it used.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import re
import shutil
import subprocess
import time
from pathlib import Path

import nbformat

from sendlink import config
from sendlink.errors import SendlinkError

log = logging.getLogger(__name__)

KERNEL = "python3"
NOTEBOOK_PATTERN = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
#: Seconds a single cell may run before the run fails.
CELL_TIMEOUT = 900


def numbered_notebooks(folder: Path) -> list[Path]:
    """The course notebooks, in the order of their numbers."""
    return sorted(p for p in folder.glob("*.ipynb") if NOTEBOOK_PATTERN.match(p.name))


def execute(path: Path, *, timeout: int = CELL_TIMEOUT) -> float:
    """Restart-and-run-all ``path`` in place; return the seconds it took.

    Raises
    ------
    SendlinkError
        If a cell fails (the notebook on disk is left unchanged).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        allow_errors=False,
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        raise SendlinkError(f"{path.name}: a cell failed; the notebook was not changed\n{str(exc)[:2000]}") from None
    _tidy(nb)
    from sendlink.io import write_text

    text = nbformat.writes(nb)
    write_text(text if text.endswith("\n") else text + "\n", path)
    return time.perf_counter() - start


def _tidy(nb: nbformat.NotebookNode) -> None:
    """Remove run-specific metadata so reruns give byte-identical files."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("execution", None)


def run_all(folder: Path, only: list[str] | None = None) -> dict[str, float]:
    """Execute every numbered notebook (or those named) in order."""
    timings = {}
    for path in numbered_notebooks(folder):
        if only and not any(path.name.startswith(o) or path.stem == o for o in only):
            continue
        log.info("running %s", path.name)
        timings[path.name] = round(execute(path), 1)
        log.info("ran %s in %.1f s", path.name, timings[path.name])
    return timings


# --- rendering -------------------------------------------------------------------


def render(paths: config.Paths, *, force_nbconvert: bool = False) -> str:
    """Render the site into ``reports/``; return the renderer used."""
    quarto = shutil.which("quarto")
    if quarto and not force_nbconvert:
        log.info("rendering with Quarto (%s)", quarto)
        result = subprocess.run([quarto, "render", str(paths.root)], capture_output=True, text=True)
        if result.returncode != 0:
            raise SendlinkError(f"quarto render failed:\n{result.stderr[-3000:]}")
        print("Rendered reports/ with Quarto.")
        return "quarto"
    render_nbconvert(paths.notebooks, paths.reports, paths.root)
    print(
        "Rendered reports/ with nbconvert (Quarto is not installed: get it from conda-forge "
        "(environment.yml) or quarto.org for the full site)."
    )
    return "nbconvert"


def render_nbconvert(notebooks: Path, reports: Path, root: Path) -> list[Path]:
    """HTML pages for every numbered notebook and the extra pages, plus an index.

    Pages go where Quarto would put them (``reports/notebooks/NN_name.html``,
    ``reports/index.html``), so links work with either renderer.
    """
    from nbconvert import HTMLExporter

    from sendlink.io import write_text

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    written = []
    pages = []
    for path in numbered_notebooks(notebooks):
        nb = nbformat.read(path, as_version=4)
        body, _ = exporter.from_notebook_node(nb)
        target = reports / "notebooks" / f"{path.stem}.html"
        write_text(body, target)
        written.append(target)
        pages.append((path.stem, _title(nb) or path.stem, f"notebooks/{path.stem}.html"))
    for qmd in sorted(root.glob("*.qmd")):
        if qmd.name == "index.qmd":
            continue
        target = reports / f"{qmd.stem}.html"
        write_text(_markdown_page(qmd), target)
        written.append(target)
        pages.append((qmd.stem, _qmd_title(qmd) or qmd.stem, f"{qmd.stem}.html"))
    index = reports / "index.html"
    write_text(_index_page(root, pages), index)
    written.append(index)
    return written


def _title(nb: nbformat.NotebookNode) -> str | None:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


def _qmd_title(path: Path) -> str | None:
    match = re.search(r"^title:\s*\"?(.+?)\"?\s*$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return match.group(1) if match else None


def _markdown_html(text: str) -> str:
    # nbconvert's own Markdown filter (mistune), so pages match the notebooks.
    from nbconvert.filters.markdown import markdown2html

    return markdown2html(text)


def _strip_front_matter(text: str) -> str:
    return re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.DOTALL)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def _markdown_page(qmd: Path) -> str:
    text = _strip_front_matter(qmd.read_text(encoding="utf-8"))
    title = _qmd_title(qmd) or qmd.stem
    return _page(title, f"<h1>{html.escape(title)}</h1>\n" + _markdown_html(text))


def _index_page(root: Path, pages: list[tuple[str, str, str]]) -> str:
    index_qmd = root / "index.qmd"
    intro = _markdown_html(_strip_front_matter(index_qmd.read_text(encoding="utf-8"))) if index_qmd.is_file() else ""
    summary = root / "reports" / "summary.json"
    facts = ""
    if summary.is_file():
        data = json.loads(summary.read_text(encoding="utf-8"))
        facts = "<h2>Headline results</h2><pre>" + html.escape(json.dumps(data, indent=2)[:4000]) + "</pre>"
    items = "\n".join(f'<li><a href="{href}">{html.escape(title)}</a></li>' for _, title, href in pages)
    return _page("sendlink", f"<h1>sendlink</h1>\n{intro}\n{facts}\n<h2>Chapters</h2>\n<ul>\n{items}\n</ul>")


# --- command line ------------------------------------------------------------------


def configure_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = sub.add_parser("run", help="execute notebooks in place (restart and run all)")
    run.add_argument("only", nargs="*", help="notebook numbers or names (default: all)")
    rend = sub.add_parser("render", help="render notebooks and pages into reports/")
    rend.add_argument("--nbconvert", action="store_true", help="use nbconvert even if Quarto is installed")


def run(args: argparse.Namespace) -> int:
    paths = config.Paths.discover()
    if args.action == "run":
        timings = run_all(paths.notebooks, args.only or None)
        if not timings:
            raise SendlinkError(f"no notebook matched {args.only} in {paths.notebooks}")
        return 0
    render(paths, force_nbconvert=args.nbconvert)
    return 0
