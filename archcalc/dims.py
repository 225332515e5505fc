"""Dimensions: ``Dim = int | sympy.Expr``, and the only helpers rules may use to combine them.

Every rule is written once and runs on plain ints (the fast path, sympy never imported) and on
sympy expressions (``H``, ``W``, ``N`` declared ``integer=True, positive=True``). Rules never branch
on a dimension's value; the few places that must look at a value (validation, ``max``) live here and
treat a symbolic value as "cannot decide now".
"""

from __future__ import annotations

import re
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


def is_concrete(x: Any) -> bool:
    """True for plain numbers (int, Fraction); False for sympy expressions."""
    return isinstance(x, (int, Fraction))


def normalize(x: Any) -> Any:
    """Turn a sympy number that has become concrete back into an int/Fraction."""
    if is_concrete(x):
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
    sp = sympy()
    return normalize(sp.floor(sp.Rational(1, 1) * a / b))


def ceildiv(a: Dim, b: Dim) -> Dim:
    if is_concrete(a) and is_concrete(b):
        return -((-a) // b)
    sp = sympy()
    return normalize(sp.ceiling(sp.Rational(1, 1) * a / b))


def exact_div(a: Dim, b: Dim) -> Dim:
    """a / b where the result is known to be integral or a rational (receptive-field centres)."""
    if is_concrete(a) and is_concrete(b):
        q = Fraction(a, b)
        return int(q) if q.denominator == 1 else q
    sp = sympy()
    return normalize(sp.Rational(1, 1) * a / b)


def smax(*xs: Dim) -> Dim:
    if all(is_concrete(x) for x in xs):
        return max(xs)
    if len(xs) == 1:
        return xs[0]
    # unevaluated: sympy's pairwise simplification of Max is exponential on floor/ceiling terms;
    # the expression is exact and evaluates on substitution.
    return sympy().Max(*xs, evaluate=False)


def smin(*xs: Dim) -> Dim:
    if all(is_concrete(x) for x in xs):
        return min(xs)
    if len(xs) == 1:
        return xs[0]
    return sympy().Min(*xs, evaluate=False)


def prod(xs: Iterable[Dim]) -> Dim:
    const, syms = 1, []
    for x in xs:
        if is_concrete(x):
            const *= x
        else:
            syms.append(x)
    if not syms:
        return const
    return normalize(sympy().Mul(const, *syms))


def total(xs: Iterable[Dim]) -> Dim:
    """Sum; symbolic terms are added in one sympy.Add (incremental adds are quadratic)."""
    const, syms = 0, []
    for x in xs:
        if is_concrete(x):
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
    r = normalize(sympy().Mod(a, b))
    return (r == 0) if is_concrete(r) else None


def known_lt(a: Dim, b: Dim) -> bool:
    """True only when a < b is certain (concrete, or provable from the symbols' assumptions)."""
    if is_concrete(a) and is_concrete(b):
        return a < b
    return bool((sympy().sympify(a) - b).is_negative)


def known_ne(a: Dim, b: Dim) -> bool:
    """True only when a != b is certain."""
    if is_concrete(a) and is_concrete(b):
        return a != b
    d = normalize(sympy().simplify(a - b))
    return is_concrete(d) and d != 0


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
    subs = {symbol(k): v for k, v in values.items()}
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
    if isinstance(x, Fraction):
        return str(float(x))
    if is_concrete(x):
        return str(x)
    return str(x).replace("floor", "floor").replace("**", "^")


def fmt_int(x: Any) -> str:
    """Thousands separators for ints, plain text for expressions."""
    if isinstance(x, int):
        return f"{x:,}"
    return format_dim(x)


# ---------------------------------------------------------------------------------------------
# A restricted parser for user-written dimensions ("3xHxW", "H//2+1"): names, integers, + - * //
# and parentheses. No eval, no sympify of raw text.

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*()]))")


class DimSyntaxError(ArchcalcError, ValueError):
    """A dimension or shape the restricted parser rejects."""


def parse_dim(text: str) -> Dim:
    """Parse one dimension: ``224``, ``H``, ``H//2``, ``2*H+1``."""
    if not isinstance(text, str):
        raise DimSyntaxError(f"dimension must be text or an integer, got {type(text).__name__}")
    tokens = []
    pos = 0
    text_s = text.strip()
    while pos < len(text_s):
        m = _TOKEN.match(text_s, pos)
        if not m or m.end() == pos:
            raise DimSyntaxError(f"bad dimension {text!r}: unexpected {text_s[pos:pos + 8]!r}")
        num, name, op = m.groups()
        tokens.append(("num", int(num)) if num else ("name", name) if name else ("op", op))
        pos = m.end()
    if not tokens:
        raise DimSyntaxError("empty dimension")
    parser = _Parser(tokens, text)
    value = parser.expr()
    if parser.i != len(tokens):
        raise DimSyntaxError(f"bad dimension {text!r}: trailing {tokens[parser.i][1]!r}")
    return value


class _Parser:
    def __init__(self, tokens, text):
        self.t = tokens
        self.i = 0
        self.text = text

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
            v = normalize(v * r) if op == "*" else floordiv(v, r)
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
        if val == "(":
            v = self.expr()
            if self.peek() != ("op", ")"):
                raise DimSyntaxError(f"bad dimension {self.text!r}: missing ')'")
            self.i += 1
            return v
        if val == "-":
            return normalize(-self.atom())
        raise DimSyntaxError(f"bad dimension {self.text!r}: unexpected {val!r}")


def parse_shape(text: str) -> tuple:
    """Parse ``3x224x224`` / ``3xHxW`` / ``(3, H, W)`` into a tuple of Dims."""
    s = text.strip().strip("()[]")
    parts = re.split(r"\s*[x×,]\s*", s) if s else []
    if not parts or any(p == "" for p in parts):
        raise DimSyntaxError(f"bad shape {text!r}: expected something like 3x224x224 or 3xHxW")
    dims = []
    for p in parts:
        d = parse_dim(p) if not p.isdigit() else int(p)
        dims.append(d)
    return tuple(dims)


def coerce_dim(x: Any) -> Dim:
    """Accept ints, digit strings, expression strings or sympy expressions."""
    if isinstance(x, bool):
        raise DimSyntaxError(f"bad dimension {x!r}")
    if isinstance(x, int):
        return x
    if isinstance(x, str):
        return int(x) if x.strip().isdigit() else parse_dim(x)
    if hasattr(x, "free_symbols"):
        return normalize(x)
    raise DimSyntaxError(f"bad dimension {x!r}: expected an integer or a name such as H")
