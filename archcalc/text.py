"""The one place counts, bytes, shapes, formulas and receptive fields become text.

Every renderer (terminal table, CSV, Markdown, the report context, memory, zoo and verify output)
takes its text from here, so one figure reads the same everywhere. Standard library only; sympy is
touched only through :mod:`archcalc.dims` when a value is symbolic.
"""

from __future__ import annotations

import functools

from . import dims
from .dims import format_dim

__all__ = ["format_dim", "fmt_int", "count_or_float", "short", "compact", "percent", "count_formula",
           "human_bytes", "binary_bytes", "mib", "shape", "shape_or_dash", "shape_tuple", "hwc", "rf",
           "terminal_safe", "md_cell", "csv_cell", "FormulaText", "formula_text", "has_formulas"]


# ----------------------------------------------------------------------------------------- counts

def fmt_int(x) -> str:
    """``15,470,264,320`` for ints (thousands separators), the expression for symbolic counts."""
    if isinstance(x, int):
        return f"{x:,}"
    return format_dim(x)


def count_or_float(v) -> str:
    """A count with separators, a float with one decimal (times in ms), ``-`` for a missing value."""
    if v is None:
        return "-"
    return fmt_int(v) if not isinstance(v, float) else f"{v:,.1f}"


def short(n) -> str:
    """138,357,544 -> ``138.4M`` (decimal units, as the papers write them)."""
    if not isinstance(n, int):
        return format_dim(n)
    for suffix, scale in (("T", 10 ** 12), ("G", 10 ** 9), ("M", 10 ** 6), ("K", 10 ** 3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{suffix}"
    return str(n)


def count_formula(x) -> str:
    """``1,234`` for ints; for a symbolic count a sum of terms with grouped coefficients, constant
    last: ``119,967,744*R + 188,637,124,608``."""
    if isinstance(x, int):
        return f"{x:,}"
    if dims.is_concrete(x):
        return format_dim(x)
    sp = dims.sympy()
    terms = sp.expand(x).as_coefficients_dict()
    parts = []
    # sorted by the monomial's text from format_dim (cached; sympy's str() is slow on floor terms)
    for mono, coeff in sorted(terms.items(), key=lambda kv: (kv[0] == 1, format_dim(kv[0]))):
        c = dims.normalize(coeff)
        c_txt = f"{c:,}" if isinstance(c, int) else format_dim(c)
        if mono == 1:
            parts.append(c_txt)
        else:
            parts.append(("" if c == 1 else c_txt + "*") + format_dim(mono))
    return " + ".join(parts).replace("+ -", "- ")


# ------------------------------------------------------------------------------------------ bytes

_DECIMAL = {"GiB": 10 ** 9, "MiB": 10 ** 6, "KiB": 10 ** 3}


def human_bytes(n) -> str:
    """``527.79 MiB (553.4 MB)``: binary units, the decimal figure beside them."""
    if not isinstance(n, int):
        return format_dim(n) + " B"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit} ({n / _DECIMAL[unit]:.1f} {unit[0]}B)"
    return f"{n} B"


def binary_bytes(n) -> str:
    """``527.79 MiB``: :func:`human_bytes` without the decimal figure."""
    if not isinstance(n, int):
        return format_dim(n) + " B"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def mib(n) -> str:
    """Bytes as MiB with one decimal and separators, no unit: ``1,234.5`` (tables say 'sizes in MiB')."""
    return f"{n / 2 ** 20:,.1f}"


# ----------------------------------------------------------------------------------------- shapes

@functools.lru_cache(maxsize=4096)  # a network repeats a few dozen shapes over hundreds of rows
def shape(s) -> str:
    """``3x224x224`` when every size is a number; a shape with a formula in it in brackets,
    ``[64, floor(H/4), floor(W/4)]`` (an ``x`` between formulas would read as a product)."""
    if all(type(d) is int for d in s):
        return "x".join([str(d) for d in s])
    from .formula import shape_str

    return shape_str(s)


def shape_or_dash(s) -> str:
    return shape(tuple(s)) if s else "-"


def shape_tuple(s) -> str:
    """``(3, 224, 224)``, the form error messages use."""
    return "(" + ", ".join(format_dim(d) for d in s) + ")"


def hwc(s) -> str:
    """A (C, H, W) shape as the cs231n notes write it, ``224x224x3``; a vector as ``1x1xN``."""
    if len(s) == 3:
        c, h, w = s
        return f"{format_dim(h)}x{format_dim(w)}x{format_dim(c)}"
    return "1x1x" + format_dim(s[-1])


# ------------------------------------------------------------------------------- long formulas

class FormulaText:
    """Symbolic values written short enough for a table, defined once below it.

    A value whose text is longer than ``limit`` has its floor/ceiling parts named (``h1 =
    floor(H/32)``, shared by every value of the rendering, see
    :class:`archcalc.formula.FloorNames`); one still longer than ``cap`` is named whole (``f1``,
    the same name wherever the same formula is shown). ``definitions`` lists ``(name, text)`` in
    the order a reader needs them (a name before the formulas that use it). Numbers, and formulas
    within ``limit``, pass through :meth:`value` unchanged. ``reserved``: names no definition may
    take (the result's own symbols, :attr:`archcalc.analysis.Result.symbols`).
    """

    def __init__(self, limit: int = 40, cap: int = 0, reserved=()):
        self.limit, self.cap = limit, cap
        self.reserved = tuple(reserved)
        self._floors = None
        self._whole: dict = {}  # (formula, render) -> (name, text)

    @property
    def definitions(self) -> list:
        """Floor names by symbol and number (``h1`` before ``h2 = floor(2*h1/7)``), whole formulas last."""
        floors = self._floors.definitions if self._floors is not None else []
        return sorted(floors, key=_name_order) + list(self._whole.values())

    def value(self, x, render=format_dim, cap=None) -> str:
        """``render(x)`` (``format_dim``, ``count_formula``, ...), shortened as described above;
        ``cap`` overrides the instance's (a total may run longer than a cell)."""
        text = render(x)
        if len(text) <= self.limit or isinstance(x, int) or dims.is_concrete(x):
            return text
        if self._floors is None:
            from .formula import FloorNames

            self._floors = FloorNames(self.reserved)
        text = render(self._floors.rewrite(x))
        cap = self.cap if cap is None else cap
        if cap and len(text) > cap:
            if (x, render) not in self._whole:
                self._whole[(x, render)] = (self._floors.fresh("f"), text)
            return self._whole[(x, render)][0]
        return text

    def shape(self, s) -> str:
        """A shape in brackets, each formula shortened by :meth:`value`: ``[512, h1, w1]``. Every
        shape of a symbolic rendering is bracketed, the numeric ones too (``[512, 7, 7]``), so
        one table reads one way."""
        return "[" + ", ".join(self.value(d) for d in s) + "]"

    def rf(self, field, cap=None) -> str:
        """:func:`rf` with each formula shortened by :meth:`value`; a height and a width that are
        formulas are joined by `` x `` (spaced: ``x`` alone would run into the formulas)."""
        h, w = field.size
        if (type(h) is int and type(w) is int) or field.mode == "undefined":
            return rf(field)
        return self.value(h, cap=cap) if h == w else f"{self.value(h, cap=cap)} x {self.value(w, cap=cap)}"


def formula_text(result, limit: int = 40, cap: int = 0):
    """A :class:`FormulaText` for ``result`` when it has formulas in it (:func:`has_formulas`),
    its definitions kept clear of the result's own symbol names; None for a numeric result."""
    return FormulaText(limit, cap, result.symbols) if has_formulas(result) else None


def has_formulas(result) -> bool:
    """Whether any size of ``result`` is a formula (a symbolic input, or a count such as the RoIs
    ``R`` of a detector): its renderings then bracket every shape and shorten long formulas."""
    return result.is_symbolic or not all(type(d) is int for r in result.layers for d in r.output_shape)


def _name_order(definition) -> tuple:
    name = definition[0]
    stem = name.rstrip("0123456789")
    return (stem, int(name[len(stem):] or 0))


# ------------------------------------------------------------------------------ receptive fields

def rf(field) -> str:
    """A receptive field's size: ``212`` when square, ``HxW`` otherwise; ``n/a`` when undefined
    (the walk could not follow a layer's spatial mapping)."""
    h, w = field.size
    if type(h) is int and h == w:
        return str(h)
    if field.mode == "undefined":
        return "n/a"
    return format_dim(h) if h == w else f"{format_dim(h)}x{format_dim(w)}"  # ==: structural, str() of a formula is slow


def rf_total(field, layer: str, size: str, known=None) -> str:
    """The totals' receptive-field line after its label; ``size`` is :func:`rf` (or a formula's
    shortened text) of ``field``; ``known``: (field, layer) of the deepest exact one, for an
    undefined ``field``."""
    if field.mode == "undefined":
        text = f"n/a: {field.why}"
        if known is not None:
            text += f"; deepest exact field: {rf_total(known[0], known[1], rf(known[0]))}"
        return text
    jump = format_dim(field.jump[0])
    if field.mode == "whole":
        return f"{size} px at {layer}: the whole input (every output reads every position)"
    if field.mode == "tokens":
        return f"{size} px per image token at {layer} (jump {jump})"
    return f"{size} px at {layer} (jump {jump})"


def rf_jump(field) -> str:
    """A receptive field's jump along H (``n/a`` when undefined)."""
    return "n/a" if field.mode == "undefined" else format_dim(field.jump[0])


# ------------------------------------------------------------------------------- compact units

_SI = (("E", 10 ** 18), ("P", 10 ** 15), ("T", 10 ** 12), ("G", 10 ** 9), ("M", 10 ** 6), ("K", 10 ** 3))


def compact(x) -> str:
    """Four significant digits and a decimal SI unit: ``15.47 G``, ``138.4 M``, ``1.792 K``; below
    1,000 the integer itself. A display rounding for the terminal; ``--exact`` prints :func:`fmt_int`.
    Symbolic counts print as their formula, coefficients grouped (no value to round)."""
    if not isinstance(x, int):
        return count_formula(x)
    n = abs(x)
    if n < 1000:
        return str(x)
    sign = "-" if x < 0 else ""
    for i, (suffix, scale) in enumerate(_SI):
        if n >= scale or i == len(_SI) - 1:
            v = n / scale
            text = f"{v:.1f}" if v >= 100 else f"{v:.2f}" if v >= 10 else f"{v:.3f}"
            if float(text) >= 1000 and i > 0:  # 999.96 K rounds to the next unit
                suffix, scale = _SI[i - 1]
                text = f"{n / scale:.3f}"
            return f"{sign}{text} {suffix}"
    return str(x)  # unreachable


def percent(part, whole) -> str:
    """``12.3%`` of a concrete whole; ``-`` when either is symbolic or the whole is 0."""
    if not isinstance(part, int) or not isinstance(whole, int) or whole == 0:
        return "-"
    return f"{100 * part / whole:.1f}%"


# ------------------------------------------------------------------------------ escaping per medium

def terminal_safe(s: str) -> str:
    """Control characters (ESC, BEL, CR, newlines...) shown escaped, so a name cannot drive the terminal."""
    s = str(s)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def md_cell(s: str) -> str:
    """Text in a Markdown table cell: ``<`` and an ``&`` that could start an entity HTML-escaped (a
    name is text, never markup; ``>`` cannot open a tag and stays readable in ``-> 1000``, a lone
    ``& `` cannot mean anything else), ``|`` escaped, and CR/LF (or any control character) unable
    to end the row."""
    s = str(s)
    if "&" in s:
        import re

        s = re.sub(r"&(?=[#A-Za-z0-9])", "&amp;", s)
    s = s.replace("<", "&lt;").replace("|", "\\|")
    if not s.isprintable():
        s = "".join(c if c.isprintable() else " " for c in s)
    return s


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(s: str) -> str:
    """A CSV cell that a spreadsheet will not run: text starting with = + - @ gets a leading
    apostrophe (OWASP's advice), control characters (tab, CR, ESC...) are written escaped; plain
    numbers, negative ones included, stay numbers."""
    s = terminal_safe(s)  # a name's control characters are data, shown escaped (\x1b), never sent raw
    if s.startswith(_FORMULA_START) and not _is_number(s):
        return "'" + s
    return s


def _is_number(s: str) -> bool:
    body = s[1:] if s[:1] in "+-" else s
    return body.replace(",", "").replace(".", "", 1).isdigit()
