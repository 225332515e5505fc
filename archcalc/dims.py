"""Dimensions: ``Dim = int | sympy.Expr``, and the only helpers rules may use to combine them.

Every rule is written once and runs on plain ints (the fast path, sympy never imported) and on
sympy expressions (``H``, ``W``, ``N`` declared ``integer=True, positive=True``). Rules never branch
on a dimension's value; the few places that must look at a value (validation, ``max``) live here and
treat a symbolic value as "cannot decide now".
"""

from __future__ import annotations

import functools
import math
import re
import threading
from fractions import Fraction
from typing import Any, Iterable, Union

from .errors import ArchcalcError

Dim = Union[int, Any]  # int | sympy.Expr; sympy is not imported for type checks

_sympy = None


def sympy():
    """Import sympy on first symbolic use (numeric runs never reach this)."""
    global _sympy
    if _sympy is None:
        import sympy as sp

        _sympy = sp
    return _sympy


_CONCRETE = (int, Fraction)


def is_concrete(x: Any) -> bool:
    """True for plain numbers (int, Fraction); False for sympy expressions."""
    return type(x) is int or isinstance(x, _CONCRETE)  # the exact-int test first: the hot path


def normalize(x: Any) -> Any:
    """Turn a sympy number that has become concrete back into an int/Fraction."""
    if type(x) is int or isinstance(x, _CONCRETE):
        return x
    if getattr(x, "is_Integer", False):
        return int(x)
    if getattr(x, "is_Rational", False):
        return Fraction(int(x.p), int(x.q))
    return x


_SYMBOLS: dict[str, Any] = {}


def symbol(name: str):
    """A positive integer symbol (cached so ``H`` is always the same object)."""
    s = _SYMBOLS.get(name)
    if s is None:
        s = sympy().Symbol(name, integer=True, positive=True)
        _SYMBOLS[name] = s
    return s


def floordiv(a: Dim, b: Dim) -> Dim:
    if is_concrete(a) and is_concrete(b):
        return a // b
    return _div(a, b, False)


def ceildiv(a: Dim, b: Dim) -> Dim:
    if is_concrete(a) and is_concrete(b):
        return -((-a) // b)
    return _div(a, b, True)


def _div(a: Dim, b: Dim, ceil: bool) -> Dim:
    sp = sympy()
    if type(b) is int and b > 0:
        return _canonical_div(a if not is_concrete(a) else sp.Rational(a), b, ceil)
    fn = sp.ceiling if ceil else sp.floor
    return normalize(fn(sp.Rational(1, 1) * a / b))


@functools.lru_cache(maxsize=65536)
def _canonical_div(a, b: int, ceil: bool) -> Dim:
    """``floor(a/b)`` (``ceil`` with ceil=True) for a positive integer ``b``, in the canonical form
    ``floor((P + r)/q) + k`` with ``P`` integer-valued and ``0 <= r < q``:

    - a ceiling becomes a floor (``ceil(P/q) = floor((P + q - 1)/q)``), so equal sizes are the same
      expression whichever rule produced them, and sympy collects like terms in totals;
    - nested divisions collapse: ``floor((floor(X) + k)/b) = floor((X + k)/b)`` and
      ``ceil((floor(P/q) + k)/b) = ceil((P - q + 1 + k*q)/(q*b))``;
    - ``(m*F + k)/b`` with ``b`` dividing ``m`` splits off ``(m/b)*F``.
    """
    sp = sympy()
    k, rest = a.as_coeff_Add()
    if k.is_Integer:
        m, f = rest.as_coeff_Mul()
        if m.is_Integer and isinstance(f, sp.floor):
            m, k = int(m), int(k)
            if m % b == 0:
                return normalize((m // b) * f + (-((-k) // b) if ceil else k // b))
            if m == 1:
                inner = f.args[0]
                if not ceil:
                    return _canonical_floor((inner + k) / sp.Integer(b))
                q = _denominator(inner)
                if q:
                    p = sp.expand(q * inner)
                    return _canonical_floor((p + k * q + q * b - q) / sp.Integer(q * b)) \
                        if p.is_integer else normalize(sp.ceiling(a / sp.Integer(b)))
    if ceil:
        if not a.is_integer:
            return normalize(sp.ceiling(a / sp.Integer(b)))
        return _canonical_floor((a + b - 1) / sp.Integer(b))
    return _canonical_floor(a / sp.Integer(b))


def _denominator(x) -> int:
    """The lcm of the denominators of x's coefficients (0 if one is not rational)."""
    q = 1
    for c in x.as_coefficients_dict().values():
        if not c.is_Rational:
            return 0
        q = q * int(c.q) // math.gcd(q, int(c.q))
    return q


def _canonical_floor(x) -> Dim:
    """floor(x) as ``floor((P + r)/q) + k`` with ``0 <= r < q`` (P integer-valued, no constant)."""
    sp = sympy()
    q = _denominator(x)
    if q == 0:
        return normalize(sp.floor(x))
    p = sp.expand(q * x)
    if not p.is_integer:
        return normalize(sp.floor(x))
    if q == 1:
        return normalize(p)
    k0, rest = p.as_coeff_Add()
    k0 = int(k0)
    r = k0 % q
    # floor((g*A + r)/(g*q')) = floor((A + floor(r/g))/q'): divide out the content g the
    # coefficients share with q, so that what is left is a genuine floor (its argument is not an
    # integer for every input) and sympy's own floor evaluation, the slow part, has nothing to do
    g = q
    for c in rest.as_coefficients_dict().values():
        if not c.is_Integer:
            return normalize(sp.floor(x))
        g = math.gcd(g, int(c))
    if g > 1:
        rest, q, r = sp.expand(rest / g), q // g, r // g
    base = (k0 - k0 % (q * g)) // (q * g)
    if q == 1:
        return normalize(rest + r + base)
    return normalize(sp.floor(rest / sp.Integer(q) + sp.Rational(r, q), evaluate=False) + base)


def exact_div(a: Dim, b: Dim) -> Dim:
    """a / b where the result is known to be integral or a rational (receptive-field centres)."""
    if is_concrete(a) and is_concrete(b):
        q = Fraction(a, b)
        return int(q) if q.denominator == 1 else q
    sp = sympy()
    return normalize(sp.Rational(1, 1) * a / b)


def smax(*xs: Dim) -> Dim:
    """The largest of ``xs``, kept flat: nested maxima are merged, constants folded, equal terms
    and terms that differ only by a constant keep the larger one, and a term another one provably
    bounds (their difference is periodic with a known sign) is dropped. So a receptive field merged
    at every residual and squeeze-excite join stays a handful of terms instead of a tree."""
    if all(is_concrete(x) for x in xs):
        return max(xs)
    return _extreme(xs, True)


def smin(*xs: Dim) -> Dim:
    if all(is_concrete(x) for x in xs):
        return min(xs)
    return _extreme(xs, False)


def _extreme(xs, is_max: bool) -> Dim:
    sp = sympy()
    kind = sp.Max if is_max else sp.Min
    flat = []
    for x in xs:
        if not is_concrete(x) and x.is_Add and any(isinstance(t, kind) for t in x.args):
            inner = next(t for t in x.args if isinstance(t, kind))
            x = add(inner, x - inner)  # max(a, b) + c: max(a + c, b + c)
        flat.extend(x.args if isinstance(x, kind) else (x,))
    const = None
    by_rest: dict = {}
    for x in flat:
        if is_concrete(x) or getattr(x, "is_Number", False):
            x = normalize(x)
            const = x if const is None else (max if is_max else min)(const, x)
            continue
        k, rest = x.as_coeff_Add()
        old = by_rest.get(rest)
        by_rest[rest] = k if old is None else (max if is_max else min)(old, k)
    terms = [normalize(rest + k) for rest, k in by_rest.items()]
    if const is not None:
        terms.append(const)
    terms = _drop_bounded(terms, is_max)
    if len(terms) == 1:
        return terms[0]
    # unevaluated: sympy's pairwise simplification of Max is exponential on floor/ceiling terms
    return kind(*terms, evaluate=False)


def _drop_bounded(terms: list, is_max: bool) -> list:
    """Drop a term that another bounds for every input (their difference is periodic, so one
    period decides; see archcalc.formula)."""
    if len(terms) < 2:
        return terms
    from .formula import sign_range

    keep = list(terms)
    for t in terms:
        for u in keep:
            if u is t:
                continue
            lo_hi = sign_range(u, t)  # range of u - t over all inputs, or None
            if lo_hi is not None and (lo_hi[0] >= 0 if is_max else lo_hi[1] <= 0):
                keep.remove(t)
                break
    return keep


def add(a: Dim, b: Dim) -> Dim:
    """a + b, with a sum pushed inside a max/min (``max(x, y) + c = max(x + c, y + c)``) so that
    receptive-field sizes stay flat maxima."""
    if type(a) is int and type(b) is int:  # the hot path: numeric receptive fields
        return a + b
    if is_concrete(a) and is_concrete(b):
        return a + b
    sp = sympy()
    for x, y in ((a, b), (b, a)):
        if isinstance(x, (sp.Max, sp.Min)) and not isinstance(y, (sp.Max, sp.Min)):
            return _extreme([add(t, y) for t in x.args], isinstance(x, sp.Max))
    return normalize(a + b)


def prod(xs: Iterable[Dim]) -> Dim:
    const, syms = 1, []
    for x in xs:
        if type(x) is int or isinstance(x, _CONCRETE):  # is_concrete, inlined: hot path
            const *= x
        else:
            syms.append(x)
    if not syms:
        return const
    return normalize(sympy().Mul(const, *syms))


def total(xs: Iterable[Dim]) -> Dim:
    """Sum; symbolic terms are added in one sympy.Add (incremental adds are quadratic)."""
    xs = list(xs)
    ints = [x for x in xs if type(x) is int]
    if len(ints) == len(xs):  # the common case: plain ints, summed in C
        return sum(ints)
    const, syms = sum(ints), []
    for x in xs:
        if type(x) is int:
            continue
        if isinstance(x, _CONCRETE):
            const += x
        else:
            syms.append(x)
    if not syms:
        return const
    return normalize(sympy().Add(const, *syms))


def divides(a: Dim, b: Dim) -> bool | None:
    """Whether b divides a: True/False when decidable, None when symbolic."""
    if is_concrete(a) and is_concrete(b):
        return a % b == 0
    if type(b) is int and b > 0:
        # integer coefficients of integer-valued terms: decidable when every coefficient is a
        # multiple of b (then the constant decides), else it depends on the sizes (sympy's Mod is slow)
        coeffs = a.as_coefficients_dict()
        if all(c.is_Integer for c in coeffs.values()) and all(t.is_integer for t in coeffs if t != 1):
            if all(int(c) % b == 0 for t, c in coeffs.items() if t != 1):
                return int(coeffs.get(1, 0)) % b == 0
            return None
    r = normalize(sympy().Mod(a, b))
    return (r == 0) if is_concrete(r) else None


def known_lt(a: Dim, b: Dim) -> bool:
    """True only when a < b is certain (concrete, or provable from the symbols' assumptions)."""
    if is_concrete(a) and is_concrete(b):
        return a < b
    return bool((sympy().sympify(a) - b).is_negative)


# While an analysis runs a rule, the conditions under which the rule's equality checks hold (a
# branch join valid only for odd H) are collected per thread (analyses may run in threads).
_collecting = threading.local()


def collect_conditions() -> list:
    """Start collecting the conditions :func:`known_ne` finds (in this thread); returns the list
    they are appended to (the caller may read and clear it as it goes)."""
    _collecting.conditions = []
    return _collecting.conditions


def collected_conditions() -> tuple:
    """Stop collecting; the distinct conditions found since :func:`collect_conditions`."""
    found = getattr(_collecting, "conditions", None) or []
    _collecting.conditions = None
    return tuple(dict.fromkeys(found))


def known_ne(a: Dim, b: Dim) -> bool:
    """True only when a != b for every input. When they agree for some inputs only (a ceil-mode
    pool beside a floor conv agree for odd H), return False and record that condition (a
    :class:`archcalc.formula.Condition`) for :func:`collected_conditions`."""
    if is_concrete(a) and is_concrete(b):
        return a != b
    if a == b:
        return False
    from .formula import equal_condition

    c = equal_condition(a, b)
    if c is True:
        return False
    if c is False:
        return True
    if c is not None:
        sink = getattr(_collecting, "conditions", None)
        if sink is not None:
            sink.append(c)
        return False
    d = normalize(sympy().expand(a - b))
    if is_concrete(d):
        return d != 0
    if d.count_ops() > _SIMPLIFY_OPS:
        # simplify() on nested floor/Min expressions (a ceil_mode pool beside conv branches of an
        # Inception concat) takes minutes; such a difference is "not known" rather than proven
        return False
    d = normalize(sympy().simplify(d))
    return is_concrete(d) and d != 0


_SIMPLIFY_OPS = 40  # largest difference expression known_ne hands to sympy.simplify


def same(a: Dim, b: Dim) -> bool:
    """Structural equality (ints compare by value, expressions after expansion)."""
    if is_concrete(a) and is_concrete(b):
        return a == b
    if is_concrete(a) != is_concrete(b):
        return False
    return normalize(sympy().expand(a - b)) == 0


def evaluate(x: Dim, values: dict[str, int] | None = None) -> Dim:
    """Substitute symbol values (by name) into a dim; ints pass through untouched."""
    if is_concrete(x) or not values:
        return x
    subs = {symbol(k): coerce_dim(v) for k, v in values.items()}  # text via the restricted parser, never sympify
    return normalize(x.subs(subs))


def free_symbols(x: Dim) -> set[str]:
    if is_concrete(x):
        return set()
    return {str(s) for s in x.free_symbols}


def to_json(x: Any) -> Any:
    """ints stay ints, Fractions become floats, symbolic values become strings."""
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        return x
    if isinstance(x, Fraction):
        return float(x)
    if isinstance(x, float):
        return x
    return format_dim(x)


def format_dim(x: Any) -> str:
    """A dimension as readable text (``floor((H - 1)/2) + 1``); see archcalc.formula.dim_str."""
    if type(x) is int:
        return str(x)
    if isinstance(x, Fraction):
        return str(float(x))
    if is_concrete(x):
        return str(x)
    from .formula import dim_str

    return dim_str(x)


def fmt_int(x: Any) -> str:
    """Thousands separators for ints, plain text for expressions."""
    if isinstance(x, int):
        return f"{x:,}"
    return format_dim(x)


# ---------------------------------------------------------------------------------------------
# A restricted parser for user-written dimensions ("3xHxW", "H//2+1"): names, integers, + - * //
# and parentheses. No eval, no sympify of raw text: names become positive integer symbols, numbers
# ASCII integers, and the text, the integers and the nesting depth are bounded so no input can hang
# or exhaust the interpreter.

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*()]))", re.ASCII)
MAX_DIM_TEXT = 200  # characters in one dimension or shape
MAX_DIM_DIGITS = 18  # digits in one integer literal (sizes are far below 10**18)
MAX_DIM_DEPTH = 32  # nested parentheses / unary minus


class DimSyntaxError(ArchcalcError, ValueError):
    """A dimension or shape the restricted parser rejects (one line, names the text)."""


def _is_ascii_int(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= MAX_DIM_DIGITS


def parse_dim(text: str) -> Dim:
    """Parse one dimension: ``224``, ``H``, ``H//2``, ``2*H+1``."""
    if not isinstance(text, str):
        raise DimSyntaxError(f"dimension must be text or an integer, got {type(text).__name__}")
    text_s = text.strip()
    if len(text_s) > MAX_DIM_TEXT:
        raise DimSyntaxError(f"dimension {text_s[:20]!r}... is longer than {MAX_DIM_TEXT} characters")
    tokens = []
    pos = 0
    while pos < len(text_s):
        m = _TOKEN.match(text_s, pos)
        if not m or m.end() == pos:
            raise DimSyntaxError(f"bad dimension {text!r}: unexpected {text_s[pos:pos + 8]!r} "
                                 "(allowed: names, integers, + - * // and parentheses)")
        num, name, op = m.groups()
        if num and len(num) > MAX_DIM_DIGITS:
            raise DimSyntaxError(f"bad dimension {text!r}: integer {num[:8]}... has more than {MAX_DIM_DIGITS} digits")
        tokens.append(("num", int(num)) if num else ("name", name) if name else ("op", op))
        pos = m.end()
    if not tokens:
        raise DimSyntaxError(f"empty dimension {text!r}")
    parser = _Parser(tokens, text)
    value = parser.expr()
    if parser.i != len(tokens):
        raise DimSyntaxError(f"bad dimension {text!r}: unexpected {tokens[parser.i][1]!r}")
    return value


class _Parser:
    """Recursive descent: ``expr := term (('+'|'-') term)*``, ``term := atom (('*'|'//') atom)*``,
    ``atom := INT | NAME | '(' expr ')' | '-' atom``."""

    def __init__(self, tokens, text):
        self.t = tokens
        self.i = 0
        self.text = text
        self.depth = 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def expr(self):
        v = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.t[self.i][1]
            self.i += 1
            r = self.term()
            v = normalize(v + r) if op == "+" else normalize(v - r)
        return v

    def term(self):
        v = self.atom()
        while self.peek() in (("op", "*"), ("op", "//")):
            op = self.t[self.i][1]
            self.i += 1
            r = self.atom()
            if op == "*":
                v = normalize(v * r)
            elif is_concrete(r) and r == 0:
                raise DimSyntaxError(f"bad dimension {self.text!r}: division by zero")
            else:
                v = floordiv(v, r)
        return v

    def atom(self):
        kind, val = self.peek()
        if kind is None:
            raise DimSyntaxError(f"bad dimension {self.text!r}: ends too early")
        self.i += 1
        if kind == "num":
            return val
        if kind == "name":
            return symbol(val)
        self.depth += 1
        if self.depth > MAX_DIM_DEPTH:
            raise DimSyntaxError(f"bad dimension {self.text!r}: nested deeper than {MAX_DIM_DEPTH}")
        try:
            if val == "(":
                v = self.expr()
                if self.peek() != ("op", ")"):
                    raise DimSyntaxError(f"bad dimension {self.text!r}: missing ')'")
                self.i += 1
                return v
            if val == "-":
                return normalize(-self.atom())
        finally:
            self.depth -= 1
        raise DimSyntaxError(f"bad dimension {self.text!r}: unexpected {val!r}")


def check_size(d: Dim, what: str = "dimension") -> Dim:
    """A size must be >= 1: reject concrete values below 1 and expressions sympy proves are not
    positive (``-H``, ``H - H``). Expressions it cannot decide (``H - 3``) are accepted."""
    if is_concrete(d):
        if d < 1 or not isinstance(d, int):
            raise DimSyntaxError(f"{what} must be a positive integer, got {format_dim(d)}")
        return d
    if getattr(d, "is_positive", None) is False or getattr(d, "is_integer", None) is False:
        raise DimSyntaxError(f"{what} {format_dim(d)} cannot be a positive integer")
    return d


def parse_shape(text: str) -> tuple:
    """Parse ``3x224x224`` / ``3xHxW`` / ``(3, H, W)`` into a tuple of Dims, each >= 1.

    With commas the parts are split on commas only (names may then contain ``x``); otherwise on
    ``x`` (or ``×``)."""
    if not isinstance(text, str):
        raise DimSyntaxError(f"shape must be text such as 3x224x224, got {type(text).__name__}")
    if len(text) > MAX_DIM_TEXT:
        raise DimSyntaxError(f"shape {text[:20]!r}... is longer than {MAX_DIM_TEXT} characters")
    s = text.strip()
    if s[:1] in "([" and s[-1:] in ")]":
        s = s[1:-1].strip()
    parts = re.split(r"\s*,\s*" if "," in s else r"\s*[x×]\s*", s) if s else []
    if not parts or any(p == "" for p in parts):
        raise DimSyntaxError(f"bad shape {text!r}: expected something like 3x224x224 or 3xHxW")
    return tuple(check_size(int(p) if _is_ascii_int(p) else parse_dim(p), f"size {p!r} in shape {text!r}")
                 for p in parts)


def dim_text(x: Dim) -> str:
    """Write a dimension in the restricted grammar, so ``parse_dim(dim_text(d)) == d``: integers,
    names, + - *, and ``floor(a/b)`` as ``a//b``. Raises DimSyntaxError for anything else."""
    if isinstance(x, bool) or not isinstance(x, (int,)) and is_concrete(x):
        raise DimSyntaxError(f"cannot write {x!r} as a dimension (not an integer)")
    if isinstance(x, int):
        return str(x)
    sp = sympy()

    def w(e, prec):  # prec 0: a sum may stand bare; 1: a product may; 2: only an atom may
        if e.is_Integer:
            v = int(e)
            return str(v) if v >= 0 or prec == 0 else f"({v})"
        if e.is_Symbol:
            return e.name
        if isinstance(e, sp.floor):
            num, den = sp.fraction(sp.together(e.args[0]))
            text = f"{w(num, 1)}//{w(den, 2)}"
            return text if prec <= 1 else f"({text})"
        if e.is_Add:
            k, rest = e.as_coeff_Add()
            if k.is_Integer and isinstance(rest, sp.floor):  # floor(a/q) + k = (a + k*q)//q
                num, den = sp.fraction(sp.together(rest.args[0]))
                num = sp.expand(num)
                new = num + int(k) * den
                if den.is_Integer and abs(new.as_coeff_Add()[0]) < abs(num.as_coeff_Add()[0]) + abs(k):
                    return w(sp.floor(new / den, evaluate=False), prec)
            terms = e.as_ordered_terms()
            text = w(terms[0], 1)
            for t in terms[1:]:
                text += f" - {w(-t, 1)}" if t.could_extract_minus_sign() else f" + {w(t, 1)}"
            return text if prec == 0 else f"({text})"
        if e.is_Mul:
            coeff, rest = e.as_coeff_Mul()
            if not coeff.is_Integer:
                raise DimSyntaxError(f"cannot write {e} as a dimension (a non-integer coefficient)")
            if coeff == -1:
                return "-" + w(rest, 2)
            factors = ([] if coeff == 1 else [w(coeff, 2)]) + [w(f, 2) for f in sp.Mul.make_args(rest)]
            text = "*".join(factors)
            return text if prec <= 1 else f"({text})"
        if e.is_Pow and e.exp.is_Integer and int(e.exp) > 1:
            text = "*".join([w(e.base, 2)] * int(e.exp))
            return text if prec <= 1 else f"({text})"
        raise DimSyntaxError(f"cannot write {e} as a dimension (only + - * // of names and integers)")

    return w(x, 0)


def coerce_dim(x: Any) -> Dim:
    """Accept ints, digit strings, expression strings or sympy expressions."""
    if isinstance(x, bool):
        raise DimSyntaxError(f"bad dimension {x!r}")
    if isinstance(x, int):
        return x
    if isinstance(x, str):
        return int(x.strip()) if _is_ascii_int(x.strip()) else parse_dim(x)
    if hasattr(x, "free_symbols") and not isinstance(x, (str, bytes)) and isinstance(x, sympy().Basic):
        return normalize(x)  # an expression the engine built (never text for sympy to parse)
    raise DimSyntaxError(f"bad dimension {x!r}: expected an integer or a name such as H")
