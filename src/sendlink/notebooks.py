"""Execute the numbered notebooks in place, and render them to ``reports/``.

``sendlink notebooks run`` restarts a kernel for each notebook and runs every
cell, saving the outputs into the notebook (execution counts 1..N, no
timing metadata), so committed notebooks are exactly what a fresh run gives
and nbval can check them. ``sendlink notebooks render`` turns them into the
site in ``reports/``: with Quarto when it finds ``quarto`` (on the PATH or in
the virtual environment), otherwise with nbconvert to HTML with the same
pages and navigation, and it says which it used.
"""

from __future__ import annotations

import argparse
import collections
import html
import logging
import os
import posixpath
import re
import shutil
import subprocess
import sys
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
    write_text(text if text.endswith("\n") else text + "\n", path, private=False)
    return time.perf_counter() - start


def _tidy(nb: nbformat.NotebookNode) -> None:
    """Remove run-specific metadata so reruns give byte-identical files.

    Consecutive stream outputs of one cell (stdout, say) are joined into one:
    how the kernel splits printed text into messages depends on timing, so
    unjoined they made two runs of the same notebook differ.
    """
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            outputs: list = []
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("execution", None)
                previous = outputs[-1] if outputs else None
                if (
                    previous is not None
                    and output.get("output_type") == previous.get("output_type") == "stream"
                    and output.get("name") == previous.get("name")
                ):
                    previous["text"] = _joined_text(previous["text"]) + _joined_text(output["text"])
                else:
                    outputs.append(output)
            cell.outputs = outputs


def _joined_text(text: str | list[str]) -> str:
    return "".join(text) if isinstance(text, list) else text


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
#: The stylesheet both renderers use (``_quarto.yml`` lists it under ``css``).
STYLESHEET = "styles.css"
FALLBACK_NOTE = (
    "These pages were rendered by sendlink's nbconvert fallback, because Quarto was not used. "
    "They have the same pages, content and navigation; render with Quarto for search and the PDF summary."
)
#: Where to get Quarto, said whenever the fallback is used.
GET_QUARTO = (
    "install Quarto from conda-forge (environment.yml), with pip install -e '.[site]' "
    "(downloads Quarto from its servers), or from quarto.org"
)


def find_quarto() -> str | None:
    """The ``quarto`` to render with: on the PATH, else inside this virtual environment.

    ``pip install -e '.[site]'`` (the ``quarto-cli`` package) puts ``quarto``
    in ``.venv/bin``, which is not on the PATH when ``make report`` runs
    ``.venv/bin/sendlink``; it is found there too.
    """
    found = shutil.which("quarto")
    if found:
        return found
    for folder in dict.fromkeys((Path(sys.executable).parent, Path(sys.prefix) / "bin")):
        candidate = folder / ("quarto.exe" if os.name == "nt" else "quarto")
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def render(paths: config.Paths, *, force_nbconvert: bool = False) -> str:
    """Render the site into ``reports/``; return the renderer used (``quarto`` or ``nbconvert``).

    Quarto when :func:`find_quarto` finds it (unless ``force_nbconvert``),
    otherwise :func:`render_nbconvert`. Either way the command line says
    which ran, and the nbconvert pages say so at the foot of every page.
    """
    quarto = find_quarto()
    if quarto and not force_nbconvert:
        warnings = run_quarto(quarto, paths.root)
        said = f"; Quarto gave {len(warnings)} warning(s), shown above" if warnings else ""
        print(f"Rendered reports/ with Quarto ({quarto}){said}.")
        return "quarto"
    start = time.perf_counter()
    # Like Quarto, start from an empty output folder, so no page of an
    # earlier render (Quarto's search index, its PDF) is left beside these.
    if paths.reports.is_dir():
        shutil.rmtree(paths.reports)
    written = render_nbconvert(paths.notebooks, paths.reports, paths.root)
    why = "as asked (--nbconvert)" if quarto else "because Quarto is not installed"
    print(
        f"Rendered {len(written)} pages into reports/ with nbconvert in {time.perf_counter() - start:.0f} s, "
        f"{why}. For the full site (search, the PDF summary) {GET_QUARTO}."
    )
    return "nbconvert"


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: How Quarto (and pandoc and its Lua filters, through Quarto) start a warning line.
_QUARTO_WARNING = re.compile(r"^\s*(WARN(ING)?\b|\[WARNING\])", re.IGNORECASE)


def run_quarto(quarto: str, root: Path) -> list[str]:
    """``quarto render`` the project, passing its output on as it comes; return its warnings.

    Every line Quarto prints goes to the log (its progress at INFO, its
    warnings at WARNING), so a warning is seen in ``make report`` whether or
    not the render fails.

    Raises
    ------
    SendlinkError
        If Quarto exits non-zero (the message repeats the end of its output).
    """
    log.info("rendering with Quarto (%s)", quarto)
    version = subprocess.run([quarto, "--version"], capture_output=True, text=True).stdout.strip()
    log.info("Quarto %s", version or "(version unknown)")
    started = time.perf_counter()
    process = subprocess.Popen(
        [quarto, "render", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env={**os.environ, "TZ": RENDER_TZ},
    )
    warnings: list[str] = []
    tail: collections.deque[str] = collections.deque(maxlen=40)
    assert process.stdout is not None
    for raw in process.stdout:
        line = _ANSI.sub("", raw).rstrip()
        if not line.strip():
            continue
        tail.append(line)
        if _QUARTO_WARNING.match(line):
            warnings.append(line.strip())
            log.warning("quarto: %s", line.strip())
        else:
            log.info("quarto: %s", line.strip())
    code = process.wait()
    if code != 0:
        raise SendlinkError(f"quarto render failed (exit {code}):\n" + "\n".join(tail))
    log.info("Quarto rendered the site in %.0f s with %d warning(s)", time.perf_counter() - started, len(warnings))
    return warnings


# --- the nbconvert fallback --------------------------------------------------------
#
# Every page, notebook or .qmd, becomes a notebook and goes through one
# nbconvert exporter with one template (src/sendlink/templates/sendlink):
# JupyterLab's look, plus the site's navigation, folded code, figure alt
# text from `#| fig-alt:`, and maths as MathML (drawn by the browser:
# nothing is loaded from the network). Callouts and banners are written as
# HTML divs (`<div class="callout-warning">`), which Quarto, Jupyter and this
# fallback all show, so no Quarto syntax needs imitating. It renders what a
# reader needs and nothing of Quarto's beyond that.

TEMPLATES = Path(__file__).parent / "templates"


def render_nbconvert(notebooks: Path, reports: Path, root: Path) -> list[Path]:
    """Render the site with nbconvert; return the pages written.

    The pages and the navigation come from ``_quarto.yml`` (``project.render``
    and ``website.sidebar``), so both renderers build the same pages, each
    where Quarto puts it (``reports/index.html``,
    ``reports/notebooks/NN_name.html``, ``reports/pages/NAME.html``), and
    links work with either. Notebooks are rendered with their stored outputs
    (figures embedded in the page); a ``.qmd`` page is rendered as a
    notebook of one Markdown cell, after its ``include`` shortcodes are
    expanded. A Mermaid diagram needs JavaScript from the network, so it is
    left out: the pages give a text version beside it.

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
        If ``_quarto.yml`` lists a file that does not exist, a page includes
        one that does not exist, or a cell's ``#|`` options are not valid
        YAML (Quarto fails on all three too).
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

    pages = {source: _as_notebook(root / source, root) for source in sources}
    titles = {source: _title(nb) or Path(source).stem for source, nb in pages.items()}
    nav = site.navigation(cfg)
    site_title = str((cfg.get("website") or {}).get("title") or "sendlink")
    css = "\n".join(
        p.read_text(encoding="utf-8") for p in (root / STYLESHEET, TEMPLATES / "sendlink" / "fallback.css") if p.is_file()
    )
    exporter = _exporter(language=str(cfg.get("lang") or "en"))
    written = []
    for source, nb in pages.items():
        resources = {
            "metadata": {"name": titles[source]},
            "sendlink": {
                "nav": _nav_html(nav, titles, site_title, current=source),
                "footer": html.escape(FALLBACK_NOTE),
                "css": css,
            },
        }
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        target = reports / site.output_path(source)
        write_text(body, target, private=False)
        written.append(target)
    log.info("rendered %d pages into %s with nbconvert", len(written), reports)
    return written


def cell_options(source: str, where: str = "cell") -> dict:
    """A code cell's Quarto options: its leading ``#|`` lines, read as YAML.

    Raises
    ------
    SendlinkError
        If they are not a YAML mapping (Quarto refuses them too).
    """
    import yaml

    lines = []
    for line in source.splitlines():
        if not line.startswith("#|"):
            break
        lines.append(line[2:].removeprefix(" "))
    if not lines:
        return {}
    try:
        options = yaml.safe_load("\n".join(lines))
    except yaml.YAMLError as exc:
        raise SendlinkError(f"{where}: its '#|' options are not valid YAML (quote values that hold ': '):\n{exc}") from None
    if not isinstance(options, dict):
        raise SendlinkError(f"{where}: its '#|' options must be 'key: value' lines")
    return options


def front_matter(text: str) -> tuple[dict, str]:
    """Split text into its YAML front matter (between ``---`` lines) and the rest."""
    import yaml

    match = re.match(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", text, flags=re.DOTALL)
    if not match:
        return {}, text
    front = yaml.safe_load(match.group(1)) or {}
    return (front if isinstance(front, dict) else {}), text[match.end() :]


def _as_notebook(path: Path, root: Path) -> nbformat.NotebookNode:
    """A page as a notebook ready to export (a copy: the source is not changed).

    A notebook loses its front-matter cell and its code cells' ``#|`` lines
    (the figure alt text is kept for the template); a ``.qmd`` becomes one
    Markdown cell: its title, subtitle and body.
    """
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        front: dict = {}
        if nb.cells and nb.cells[0].cell_type == "raw":
            front, rest = front_matter(nb.cells[0].source)
            if front and not rest.strip():
                nb.cells.pop(0)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                options = cell_options(cell.source, f"{path.name} cell {i}")
                cell.source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("#|"))
                cell.metadata["sendlink_fig_alt"] = str(options.get("fig-alt") or "")
        if front.get("title"):
            nb.metadata["title"] = str(front["title"])
        return nb
    front, body = front_matter(path.read_text(encoding="utf-8"))
    title = str(front.get("title") or path.stem)
    heading = f"# {title}\n\n"
    if front.get("subtitle"):
        heading += f'<p class="subtitle">{html.escape(str(front["subtitle"]))}</p>\n\n'
    body = _expand_includes(body, path.parent, root)
    leftover = _SHORTCODE.findall(body)
    if leftover:
        log.warning("the nbconvert fallback ignores these shortcodes: %s", ", ".join(sorted(set(leftover))))
        body = _SHORTCODE.sub("", body)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(heading + body)])
    nb.metadata["title"] = title
    return nb


def _title(nb: nbformat.NotebookNode) -> str | None:
    """A page's title: its front matter's, else its first level-1 heading."""
    if nb.metadata.get("title"):
        return str(nb.metadata["title"])
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


_INCLUDE = re.compile(r"^\{\{<\s*include\s+(\S+)\s*>\}\}\s*$", re.MULTILINE)
_SHORTCODE = re.compile(r"\{\{<.*?>\}\}")


def _expand_includes(text: str, folder: Path, root: Path, depth: int = 0) -> str:
    def include(match: re.Match) -> str:
        name = match.group(1)
        path = (root / name.lstrip("/")) if name.startswith("/") else (folder / name)
        if not path.is_file():
            raise SendlinkError(f"include not found: {path} (from {folder})")
        if depth > 5:
            raise SendlinkError(f"includes nested too deeply at {path}")
        return _expand_includes(path.read_text(encoding="utf-8"), path.parent, root, depth + 1).rstrip("\n")

    return _INCLUDE.sub(include, text)


def _exporter(language: str = "en"):
    """The nbconvert exporter of every page: the ``sendlink`` template and :class:`_Markdown`."""
    from jinja2 import pass_context
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class Renderer(IPythonRenderer):
        """nbconvert's Markdown renderer, with what the site's pages need."""

        def block_math(self, body: str) -> str:
            return _mathml(body, display="block")

        def inline_math(self, body: str) -> str:
            return _mathml(body, display="inline")

        def multiline_math(self, text: str) -> str:
            return _mathml(text.strip().strip("$"), display="block")

        def latex_environment(self, name: str, body: str) -> str:
            return _mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display="block")

        def block_code(self, code: str, info: str | None = None) -> str:
            if info and info.strip("{} \t").startswith("mermaid"):
                return ""  # drawn by JavaScript from the network; the page has a text version
            return super().block_code(code, info)

        def heading(self, text: str, level: int, **attrs) -> str:
            # Pandoc's explicit id, "## Methods {#methods}", which links point at.
            match = _HEADING_ID.search(text)
            if not match:
                return super().heading(text, level, **attrs)
            made = super().heading(text[: match.start()], level, **attrs)
            auto = re.search(r'\bid="([^"]*)"', made)
            if auto:  # nbconvert names the anchor from the text; use the declared id
                made = made.replace(f'"{auto.group(1)}"', f'"{match.group(1)}"').replace(
                    f'"#{auto.group(1)}"', f'"#{match.group(1)}"'
                )
            return made

        def block_html(self, html: str) -> str:
            # The diagram is not drawn here, so its text version is shown open.
            html = html.replace('<details class="diagram-text">', '<details class="diagram-text" open>', 1)
            return super().block_html(html)

        def link(self, text: str, url: str, title: str | None = None) -> str:
            return super().link(text, _html_link(url), title)

    class Exporter(HTMLExporter):
        def _init_resources(self, resources):
            resources = super()._init_resources(resources)
            resources["language_code"] = language  # the site's (en-GB), which nbconvert would cut to "en"
            return resources

        @pass_context
        def markdown2html(self, context, source):
            cell = context.get("cell", {})
            renderer = Renderer(
                escape=False,
                attachments=cell.get("attachments", {}),
                anchor_link_text=self.anchor_link_text,
                exclude_anchor_links=self.exclude_anchor_links,
            )
            return MarkdownWithMath(renderer=renderer).render(source)

    exporter = Exporter(template_name="sendlink", extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def _mathml(latex: str, display: str) -> str:
    """LaTeX as MathML, which browsers draw without any script (``latex2mathml``)."""
    from latex2mathml.converter import convert

    try:
        return convert(latex.strip(), display=display)
    except Exception as exc:  # a formula it cannot read: show the source, say so
        log.warning("could not turn a formula into MathML (%s): %s", exc, latex.strip()[:80])
        return f"<code>{html.escape(latex)}</code>"


_HEADING_ID = re.compile(r"\s*\{#([A-Za-z][\w-]*)\}\s*$")
def _html_link(url: str) -> str:
    """A link to a ``.qmd`` or ``.ipynb`` source points at its page, as Quarto makes it."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^#|^/", url):
        return url
    path, hash_, anchor = url.partition("#")
    for suffix in (".qmd", ".ipynb"):
        if path.endswith(suffix):
            return path[: -len(suffix)] + ".html" + hash_ + anchor
    return url


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
