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
import logging
import os
import posixpath
import re
import shutil
import subprocess
import time
from pathlib import Path

import nbformat

from sendlink import config, site
from sendlink.errors import SendlinkError
from sendlink.site import KERNEL  # the one kernel name, shared with _quarto.yml

log = logging.getLogger(__name__)

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
        raise SendlinkError(
            f"{path.name}: a cell failed; the notebook was not changed\n{str(exc)[:2000]}"
        ) from None
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

#: Quarto runs with this time zone so that any date it writes is the same on
#: every machine (the Makefile exports it too).
RENDER_TZ = "Europe/London"
FALLBACK_NOTE = (
    "These pages were rendered by sendlink's nbconvert fallback, because Quarto was not used. "
    "They have the same content and layout; render with Quarto for search, folded code and the PDF summary."
)


def render(paths: config.Paths, *, force_nbconvert: bool = False) -> str:
    """Render the site into ``reports/``; return the renderer used (``quarto`` or ``nbconvert``).

    Quarto when ``quarto`` is on the PATH (unless ``force_nbconvert``),
    otherwise :func:`render_nbconvert`. Either way the command line says
    which ran, and the nbconvert pages say so at the foot of every page.
    """
    quarto = shutil.which("quarto")
    if quarto and not force_nbconvert:
        log.info("rendering with Quarto (%s)", quarto)
        env = {**os.environ, "TZ": RENDER_TZ}
        result = subprocess.run([quarto, "render", str(paths.root)], capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise SendlinkError(f"quarto render failed:\n{result.stderr[-3000:]}")
        print(f"Rendered reports/ with Quarto ({quarto}).")
        return "quarto"
    written = render_nbconvert(paths.notebooks, paths.reports, paths.root)
    why = "as asked (--nbconvert)" if quarto else "because Quarto is not installed"
    print(
        f"Rendered {len(written)} pages into reports/ with nbconvert, {why}. "
        "For the full site (search, folded code, the PDF summary) install Quarto from conda-forge "
        "(environment.yml) or quarto.org."
    )
    return "nbconvert"


def render_nbconvert(notebooks: Path, reports: Path, root: Path) -> list[Path]:
    """Render the site as Quarto would, with nbconvert; return the pages written.

    The pages and the navigation come from ``_quarto.yml`` (``project.render``
    and ``website.sidebar``), so both renderers build the same site, and each
    page goes where Quarto would put it (``reports/index.html``,
    ``reports/notebooks/NN_name.html``, ``reports/pages/NAME.html``), so links
    work with either. Notebooks are converted as they are, with their stored
    outputs (figures embedded in the page); ``.qmd`` pages are converted with
    the small part of Quarto's Markdown they use: front matter, ``include``
    shortcodes, fenced divs, heading ids. A Mermaid diagram cannot be drawn
    without Quarto, so it is left out and the text version that follows it
    (``<details class="diagram-text">``) is shown open. Links to ``.qmd`` and
    ``.ipynb`` files are pointed at the rendered ``.html``.

    Parameters
    ----------
    notebooks
        Where the numbered notebooks are (only used to warn about notebooks
        that ``_quarto.yml`` does not list, which Quarto would not render either).
    reports, root
        The output folder and the project root (where ``_quarto.yml`` is).

    Raises
    ------
    SendlinkError
        If ``_quarto.yml`` lists a file that does not exist, or a page
        includes one that does not exist (Quarto fails on both too).
    """
    from sendlink.io import write_text

    cfg = site.load_config(root)
    sources = site.inputs(cfg)
    if not sources:
        raise SendlinkError(f"{root / site.CONFIG_FILE}: project.render lists no files")
    missing = [s for s in sources if not (root / s).is_file()]
    if missing:
        raise SendlinkError(
            f"{root / site.CONFIG_FILE} lists files that do not exist: {', '.join(missing)}"
        )
    for path in numbered_notebooks(notebooks):
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        if rel not in sources:
            log.warning("%s is not listed in %s, so it is not rendered", rel, site.CONFIG_FILE)

    titles = {source: _source_title(root / source) for source in sources}
    nav = site.navigation(cfg)
    site_title = str((cfg.get("website") or {}).get("title") or "sendlink")
    written = []
    for source in sources:
        target = reports / site.output_path(source)
        bar = _nav_html(nav, titles, site_title, current=source)
        if source.endswith(".ipynb"):
            text = _notebook_page(root / source, titles[source], bar)
        else:
            text = _qmd_page(root / source, root, titles[source], bar)
        write_text(_html_links(text), target)
        written.append(target)
    log.info("rendered %d pages into %s with nbconvert", len(written), reports)
    return written


def _source_title(path: Path) -> str:
    if path.suffix == ".ipynb":
        return _title(nbformat.read(path, as_version=4)) or path.stem
    front, _ = _front_matter(path.read_text(encoding="utf-8"))
    return str(front.get("title") or path.stem)


_FIG_ALT = re.compile(r"^#\|\s*fig-alt:\s*(.+?)\s*$", re.MULTILINE)


class _DropMessage(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


def _figure_alts(nb: nbformat.NotebookNode) -> list[str | None]:
    """The alt text of every image output, in order, from ``#| fig-alt:`` (Quarto's cell option)."""
    alts: list[str | None] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        match = _FIG_ALT.search(cell.source)
        alt = match.group(1).strip().strip('"') if match else None
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data or "image/jpeg" in data:
                alts.append(alt)
    return alts


def _with_alt_text(body: str, alts: list[str | None]) -> str:
    """Give the page's figures the alt text their cells declare for Quarto.

    nbconvert's lab template has no alt attribute for outputs (it labels
    them "No description has been provided"), so the declared text is set
    on the rendered images in document order, the order of the outputs.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser")
    images = soup.select("div.jp-RenderedImage img")
    if len(images) != len(alts):
        log.warning("figure alt text not applied: %d images but %d image outputs", len(images), len(alts))
        return body
    for image, alt in zip(images, alts, strict=True):
        if alt:
            image["alt"] = alt
        elif image.get("alt", "").startswith("No description"):
            log.warning("a figure has no alt text: add `#| fig-alt: ...` to its cell")
    return str(soup)


def _title(nb: nbformat.NotebookNode) -> str | None:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


def _front_matter(text: str) -> tuple[dict, str]:
    """Split a ``.qmd`` into its YAML front matter and its body."""
    import yaml

    match = re.match(r"\A---\n(.*?)\n---\n", text, flags=re.DOTALL)
    if not match:
        return {}, text
    front = yaml.safe_load(match.group(1)) or {}
    return (front if isinstance(front, dict) else {}), text[match.end() :]


# Quarto Markdown the fallback understands (everything the site's pages use).
_INCLUDE = re.compile(r"^\{\{<\s*include\s+(\S+)\s*>\}\}\s*$", re.MULTILINE)
_SHORTCODE = re.compile(r"\{\{<.*?>\}\}")
_MERMAID = re.compile(r"^```\{mermaid\}\n.*?^```\s*$\n?", re.MULTILINE | re.DOTALL)
_DIV_OPEN = re.compile(r"^:::+\s*\{([^}]*)\}\s*$", re.MULTILINE)
_DIV_CLOSE = re.compile(r"^:::+\s*$", re.MULTILINE)
_HEADING_ID = re.compile(r"^(#{1,6} .*?)\s*\{#([A-Za-z][\w-]*)\}\s*$", re.MULTILINE)
_LOCAL_LINK = re.compile(
    r'(href=")(?![a-zA-Z][a-zA-Z0-9+.-]*:|#|/)([^"#?]+)\.(?:qmd|ipynb)((?:#[^"]*)?")'
)


def _expand_includes(text: str, folder: Path, root: Path, depth: int = 0) -> str:
    def include(match: re.Match) -> str:
        name = match.group(1)
        path = (root / name.lstrip("/")) if name.startswith("/") else (folder / name)
        if not path.is_file():
            raise SendlinkError(f"include not found: {path} (from {folder})")
        if depth > 5:
            raise SendlinkError(f"includes nested too deeply at {path}")
        return _expand_includes(
            path.read_text(encoding="utf-8"), path.parent, root, depth + 1
        ).rstrip("\n")

    return _INCLUDE.sub(include, text)


def _fenced_divs(text: str) -> str:
    """``::: {.callout-note}`` ... ``:::`` -> ``<div class="callout-note">`` ... ``</div>``."""

    def opening(match: re.Match) -> str:
        classes = " ".join(part[1:] for part in match.group(1).split() if part.startswith("."))
        return f'<div class="{html.escape(classes)}">\n'

    return _DIV_CLOSE.sub("\n</div>", _DIV_OPEN.sub(opening, text))


def _quarto_markdown(text: str, folder: Path, root: Path) -> str:
    """The Markdown of a ``.qmd`` body, with Quarto's own syntax turned into plain Markdown or HTML."""
    text = _expand_includes(text, folder, root)
    text = _MERMAID.sub("", text)
    text = text.replace('<details class="diagram-text">', '<details class="diagram-text" open>')
    text = _fenced_divs(text)
    text = _HEADING_ID.sub(lambda m: f'<a id="{m.group(2)}"></a>\n\n{m.group(1)}', text)
    leftover = _SHORTCODE.findall(text)
    if leftover:
        log.warning(
            "the nbconvert fallback ignores these shortcodes: %s", ", ".join(sorted(set(leftover)))
        )
        text = _SHORTCODE.sub("", text)
    return text


def _markdown_html(text: str) -> str:
    # nbconvert's own Markdown filter (mistune), so pages match the notebooks.
    from nbconvert.filters.markdown import markdown2html

    return markdown2html(text)


def _qmd_page(path: Path, root: Path, title: str, bar: str) -> str:
    front, body = _front_matter(path.read_text(encoding="utf-8"))
    heading = f"<h1>{html.escape(title)}</h1>"
    if front.get("subtitle"):
        heading += f'\n<p class="subtitle">{html.escape(str(front["subtitle"]))}</p>'
    content = _markdown_html(_quarto_markdown(body, path.parent, root))
    return _page(title, bar, f"<header>\n{heading}\n</header>\n{content}")


def _notebook_page(path: Path, title: str, bar: str) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    nb = nbformat.read(path, as_version=4)
    # nbconvert warns about alt text before we add it from the cells'
    # declarations; drop that one warning (a real gap is logged below).
    quiet = _DropMessage("Alternative text is missing")
    exporter.log.addFilter(quiet)
    try:
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    finally:
        exporter.log.removeFilter(quiet)
    body = _with_alt_text(body, _figure_alts(nb))
    body = body.replace("</head>", f"<style>{_NAV_CSS}</style>\n</head>", 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: f"{m.group(1)}\n{bar}", body, count=1)
    return body.replace("</body>", f"{_footer()}\n</body>", 1)


def _relative(target: str, current: str) -> str:
    return posixpath.relpath(target, posixpath.dirname(current) or ".")


def _nav_html(nav: list, titles: dict[str, str], site_title: str, current: str) -> str:
    """The navigation bar: the site's title, then the sidebar's sections and pages, in order."""
    here = site.output_path(current)
    home = _relative("index.html", here)
    parts = [
        f'<nav class="sendlink-nav" aria-label="Site">\n<a class="site-title" href="{home}">{html.escape(site_title)}</a>'
    ]
    for item in nav:
        if item.href is None:
            parts.append(f'<span class="nav-section">{html.escape(item.text or "")}</span>')
            continue
        text = item.text or titles.get(item.href) or item.href
        href = _relative(site.output_path(item.href), here)
        mark = ' aria-current="page"' if item.href == current else ""
        parts.append(f'<a href="{href}"{mark}>{html.escape(text)}</a>')
    parts.append("</nav>")
    return "\n".join(parts)


def _footer() -> str:
    return f'<footer class="sendlink-renderer"><p>{html.escape(FALLBACK_NOTE)}</p></footer>'


def _html_links(text: str) -> str:
    """Point links to ``.qmd`` and ``.ipynb`` sources at their rendered pages, as Quarto does."""
    return _LOCAL_LINK.sub(lambda m: f"{m.group(1)}{m.group(2)}.html{m.group(3)}", text)


_NAV_CSS = (
    ".sendlink-nav{display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:baseline;padding:.6rem 1rem;"
    "background:#2780e3;font-family:system-ui,sans-serif;font-size:.95rem}"
    ".sendlink-nav a{color:#fff;text-decoration:none}.sendlink-nav a:hover{text-decoration:underline}"
    ".sendlink-nav a[aria-current=page]{font-weight:700;text-decoration:underline}"
    ".sendlink-nav .site-title{font-weight:700;margin-right:1rem}"
    ".sendlink-nav .nav-section{color:#cfe3fa;text-transform:uppercase;font-size:.75rem;letter-spacing:.05em}"
    ".sendlink-renderer{margin:3rem auto 1rem;max-width:52rem;padding:0 1rem;color:#666;font-size:.85rem;"
    "font-family:system-ui,sans-serif;border-top:1px solid #ddd}"
)
_PAGE_CSS = (
    "body{margin:0;font-family:system-ui,sans-serif;line-height:1.55;color:#222}"
    "main{max-width:52rem;margin:1.5rem auto;padding:0 1rem}"
    ".subtitle{font-size:1.2rem;color:#555;margin-top:-.5rem}"
    "table{border-collapse:collapse;margin:1rem 0;font-size:.92rem}"
    "td,th{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top;text-align:left}"
    "pre{background:#f6f8fa;padding:.6rem;overflow-x:auto}code{font-size:.92em}"
    "dt{font-weight:700;margin-top:.6rem}dd{margin-left:1.5rem}"
    "details{margin:1rem 0}.anchor-link{display:none}"
    "[class^=callout]{border-left:4px solid #2780e3;background:#f3f8fd;padding:.2rem 1rem;margin:1rem 0}"
)


def _page(title: str, bar: str, body: str) -> str:
    from nbconvert import HTMLExporter

    mathjax = HTMLExporter().mathjax_url
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_NAV_CSS}{_PAGE_CSS}</style>\n"
        "<script>window.MathJax={tex2jax:{inlineMath:[['$','$'],['\\\\(','\\\\)']],processEscapes:true}};</script>\n"
        f'<script src="{mathjax}"></script>\n</head>\n<body>\n{bar}\n<main>\n{body}\n</main>\n{_footer()}\n</body>\n</html>\n'
    )


# --- command line ------------------------------------------------------------------


def configure_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = sub.add_parser("run", help="execute notebooks in place (restart and run all)")
    run.add_argument("only", nargs="*", help="notebook numbers or names (default: all)")
    rend = sub.add_parser("render", help="render notebooks and pages into reports/")
    rend.add_argument(
        "--nbconvert", action="store_true", help="use nbconvert even if Quarto is installed"
    )


def run(args: argparse.Namespace) -> int:
    paths = config.Paths.discover()
    if args.action == "run":
        timings = run_all(paths.notebooks, args.only or None)
        if not timings:
            raise SendlinkError(f"no notebook matched {args.only} in {paths.notebooks}")
        return 0
    render(paths, force_nbconvert=args.nbconvert)
    return 0
