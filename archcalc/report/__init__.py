"""Reports: HTML (one self-contained file with inline SVG charts and a sortable table) and
GitHub-flavoured Markdown, rendered through the jinja2 templates of the top-level ``templates/``
directory, which the wheel ships as ``archcalc/templates/`` (see setup.py).

Everything heavy (jinja2, matplotlib, pandas) is imported inside functions, so importing archcalc
stays light. Reports are rendered whole in memory before anything is written (see :func:`save`).

>>> from archcalc import analyze
>>> html = render_report(analyze("vgg16"), "html")          # doctest: +SKIP
>>> save(html, "vgg16.html", force=True)                    # doctest: +SKIP
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ArchcalcError
from .._io import OutputExistsError, write_atomic

FORMATS = ("html", "md")
_env = None


def _code(text) -> str:
    """A Markdown code span for names and shapes: shows ``<script>`` and quotes as text; pipes are
    escaped for GFM tables, and the fence grows when the text itself holds backticks."""
    s = str(text).replace("|", "\\|").replace("\n", " ")
    if not s:
        return ""
    run = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (run + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~])")


def _md(text) -> str:
    """Escape free text for a GFM table cell or paragraph (backslash escapes read fine in a terminal)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def templates():
    """The templates folder: ``archcalc/templates`` where a wheel installed it (importlib.resources),
    else ``templates/`` beside the package in a source checkout or an editable install."""
    from importlib.resources import files

    package = files("archcalc")
    shipped = package / "templates"
    if shipped.is_dir():
        return shipped
    checkout = Path(str(package)).parent / "templates"
    if checkout.is_dir():
        return checkout
    raise ArchcalcError(f"archcalc's report templates are missing (looked in {shipped} and {checkout}); "
                        "reinstall archcalc")


def _template_source(folder, name: str):
    # names come from this package's own templates (get_template/include), never from users
    entry = folder / name
    if not entry.is_file():
        return None  # jinja2 raises TemplateNotFound
    return entry.read_text(encoding="utf-8")


def environment():
    global _env
    if _env is None:
        try:
            import jinja2
        except ImportError:
            raise ArchcalcError("reports need jinja2: pip install 'archcalc[report]'") from None
        folder = templates()
        _env = jinja2.Environment(
            # read through importlib.resources' Traversable: a directory, or a zip an installer made
            loader=jinja2.FunctionLoader(lambda name: _template_source(folder, name)),
            autoescape=lambda name: bool(name) and name.endswith(".html"),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        _env.filters["md"] = _md
        _env.filters["code"] = _code
    return _env


def _check(format: str) -> str:
    if format not in FORMATS:
        raise ArchcalcError(f"unknown report format {format!r}; choose one of {', '.join(FORMATS)}")
    return format


def render_report(result, format: str = "html", *, tally=None, charts: bool = True,
                  fragment: bool = False) -> str:
    """One model's report. ``tally``: include the cs231n tally (None = for VGG-16 only).
    ``fragment``: HTML without the document wrapper (what ``_repr_html_`` shows in a notebook)."""
    from . import data

    _check(format)
    ctx = data.context(result, with_tally=tally)
    drawn = []
    if format == "html" and charts and not ctx["symbolic"]:
        from .charts import model_charts

        drawn = model_charts(result, ctx["by_kind"])
    return _render("report", format, ctx, drawn, fragment)


def render_notebook(result) -> str:
    """The compact notebook view (``Result._repr_html_``): summary, top contributors, the module
    tree and every layer collapsed in ``<details>``; no charts, so it displays at once."""
    from . import data

    return environment().get_template("notebook.html").render(data.notebook_context(result))


def render_compare(comparison, format: str = "html", *, charts: bool = True, fragment: bool = False) -> str:
    from .. import __version__
    from .data import CONVENTION

    _check(format)
    ctx = {"rows": comparison.rows, "convention": CONVENTION, "version": __version__}
    return _render("compare", format, ctx, comparison.charts() if format == "html" and charts else [], fragment)


def _render(page: str, format: str, ctx: dict, charts: list, fragment: bool) -> str:
    """``page`` ("report" or "compare") in ``format``, with its drawn ``charts``; an HTML
    ``fragment`` is the page's body between its stylesheet and its sorting script, without the
    document wrapper (a notebook that runs no script shows the plain table)."""
    ctx["charts"] = charts
    ctx["mpl_version"] = ""
    if charts:
        from .charts import matplotlib_version

        ctx["mpl_version"] = matplotlib_version()
    env = environment()
    if fragment and format == "html":
        return ("<style>\n" + env.get_template("_style.css").render() + "</style>\n"
                + env.get_template(f"_{page}_body.html").render(ctx)
                + "<script>\n" + env.get_template("_sort.js").render() + "</script>\n")
    return env.get_template(f"{page}.{format}").render(ctx)


def save(text: str, path, force: bool = False):
    """Write ``text`` to ``path`` atomically; an existing file is replaced only with ``force``."""
    return write_atomic(path, text, force=force)


def compare(models, **kwargs):
    from .comparison import compare as _compare

    return _compare(models, **kwargs)


__all__ = ["render_report", "render_notebook", "render_compare", "save", "compare", "write_atomic", "OutputExistsError", "FORMATS"]
