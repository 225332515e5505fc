"""Closed-form size formulas: exact integer evaluation, validity conditions, and readable text.

Sizes in archcalc are *quasi-affine* in each input symbol: sums of rational multiples of ``H`` and
of ``floor``/``ceiling`` of such sums (a conv's ``floor((H + 2p - k)/s) + 1``). Such a function
``f`` has a slope ``s`` and a period ``P``: ``f(H + P) = f(H) + s*P`` for every integer ``H``. So
whether two sizes agree (a branch join) is decided exactly by evaluating their difference over one
period, which gives the congruence under which a concat or add is valid (``H odd``) without asking
sympy to prove anything.

Formulas are compiled once into closures of plain integer arithmetic (``//`` for floor): the same
compiled formula evaluates a Python int or a whole numpy array of grid points (``archcalc sweep``).
No text is ever evaluated: compilation walks the sympy tree.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Any, Callable, Optional

from . import dims

MAX_PERIOD = 1 << 16  # longest period equal_condition evaluates point by point


def _lcm(a: int, b: int) -> int:
    return a * b // gcd(a, b)


def _sx(x):
    """A Dim as a sympy object (ints and Fractions converted exactly; never text)."""
    if isinstance(x, int):
        return dims.sympy().Integer(x)
    if isinstance(x, Fraction):
        return dims.sympy().Rational(x.numerator, x.denominator)
    return x


class NotQuasiAffine(Exception):
    """The expression is outside what the exact machinery handles (a product of two symbols)."""


# ---------------------------------------------------------------------------------------------
# compilation to integer arithmetic


def _const(v: int) -> Callable:
    return lambda env: v


def _compile(e, vector: bool):
    """-> (fn, den): ``value = fn(env) / den`` with ``fn`` integer-valued and ``den`` a positive int."""
    sp = dims.sympy()
    if e.is_Integer:
        return _const(int(e)), 1
    if e.is_Rational:
        return _const(int(e.p)), int(e.q)
    if e.is_Symbol:
        name = e.name
        return (lambda env: env[name]), 1
    if e.is_Add or isinstance(e, (sp.Max, sp.Min)):
        parts = [_compile(a, vector) for a in e.args]
        den = 1
        for _, d in parts:
            den = _lcm(den, d)
        scaled = [(f, den // d) for f, d in parts]
        if e.is_Add:
            def add(env, scaled=scaled):
                acc = 0
                for f, m in scaled:
                    acc = acc + (f(env) * m if m != 1 else f(env))
                return acc
            return add, den
        if vector:
            import numpy as np

            pick = np.maximum if isinstance(e, sp.Max) else np.minimum
        else:
            pick = max if isinstance(e, sp.Max) else min

        def extreme(env, scaled=scaled, pick=pick):
            acc = None
            for f, m in scaled:
                v = f(env) * m
                acc = v if acc is None else pick(acc, v)
            return acc
        return extreme, den
    if e.is_Mul:
        parts = [_compile(a, vector) for a in e.args]
        den = 1
        for _, d in parts:
            den *= d

        def mul(env, fns=[f for f, _ in parts]):
            acc = 1
            for f in fns:
                acc = acc * f(env)
            return acc
        return mul, den
    if e.is_Pow and e.exp.is_Integer and int(e.exp) > 0:
        f, d = _compile(e.base, vector)
        n = int(e.exp)
        return (lambda env: f(env) ** n), d ** n
    if isinstance(e, (sp.floor, sp.ceiling)):
        f, d = _compile(e.args[0], vector)
        if d == 1:
            return f, 1
        if isinstance(e, sp.floor):
            return (lambda env: f(env) // d), 1
        return (lambda env: -((-f(env)) // d)), 1
    raise NotQuasiAffine(f"cannot compile {e} to integer arithmetic")


@functools.lru_cache(maxsize=8192)
def _compiled(expr, vector: bool):
    return _compile(expr, vector)


def compile_dim(expr, vector: bool = False) -> Callable:
    """A function of ``env`` (symbol name -> int, or numpy int64 array with ``vector=True``) that
    evaluates ``expr`` exactly. Integer-valued formulas give ints (arrays); others a Fraction
    (scalar) or a float array."""
    if dims.is_concrete(expr):
        v = expr
        return lambda env: v
    f, den = _compiled(expr, vector)
    if den == 1:
        return f
    if vector:
        def vec(env):
            num = f(env)
            q, r = divmod(num, den)
            return q if not r.any() else num / den
        return vec
    return lambda env: (lambda n: n // den if n % den == 0 else Fraction(n, den))(f(env))


# ---------------------------------------------------------------------------------------------
# slope and period of a univariate quasi-affine expression


def slope_period(e, x) -> tuple:
    """(slope, period) of ``e`` in the symbol ``x``: ``e(x + P) = e(x) + slope*P``."""
    sp = dims.sympy()
    if e.is_Number:
        return Fraction(0), 1
    if e.is_Symbol:
        if e == x:
            return Fraction(1), 1
        raise NotQuasiAffine(f"{e} is a second symbol")
    if e.is_Add or isinstance(e, (sp.Max, sp.Min)):
        slope, period = None, 1
        for a in e.args:
            s, p = slope_period(a, x)
            period = _lcm(period, p)
            if e.is_Add:
                slope = s if slope is None else slope + s
            elif slope is None:
                slope = s
            elif s != slope:  # one side eventually wins: not periodic
                raise NotQuasiAffine("Max/Min of different slopes")
        return slope, period
    if e.is_Mul:
        coeff, rest = e.as_coeff_Mul()
        if rest.is_Mul:
            raise NotQuasiAffine(f"{e} is not linear")
        s, p = slope_period(rest, x)
        return s * Fraction(int(coeff.p), int(coeff.q)), p
    if isinstance(e, (sp.floor, sp.ceiling)):
        s, p = slope_period(e.args[0], x)
        return s, _lcm(p, s.denominator)
    raise NotQuasiAffine(f"{e} is not quasi-affine")


# ---------------------------------------------------------------------------------------------
# validity conditions


@dataclass(frozen=True)
class Condition:
    """The inputs for which a join is valid, in one symbol: ``symbol mod modulus`` in ``residues``,
    or, when ``values`` is set, exactly those values."""

    symbol: str
    modulus: int = 1
    residues: frozenset = frozenset({0})
    values: Optional[frozenset] = None

    def holds(self, v: int) -> bool:
        if self.values is not None:
            return v in self.values
        return v % self.modulus in self.residues

    def __and__(self, other: "Condition") -> "Condition":
        if other.symbol != self.symbol:
            raise ValueError("conditions on different symbols")
        if self.values is not None or other.values is not None:
            pool = self.values if self.values is not None else other.values
            return Condition(self.symbol, values=frozenset(v for v in pool if self.holds(v) and other.holds(v)))
        m = _lcm(self.modulus, other.modulus)
        res = frozenset(r for r in range(m) if r % self.modulus in self.residues
                        and r % other.modulus in other.residues)
        return _reduced(self.symbol, m, res)

    def to_dict(self) -> dict:
        if self.values is not None:
            return {"text": str(self), "values": sorted(self.values)}
        return {"text": str(self), "modulus": self.modulus, "residues": sorted(self.residues)}

    @property
    def never(self) -> bool:
        return not (self.values if self.values is not None else self.residues)

    @property
    def always(self) -> bool:
        return self.values is None and len(self.residues) == self.modulus

    def __str__(self) -> str:
        x = self.symbol
        if self.values is not None:
            vs = sorted(self.values)
            if not vs:
                return f"no {x}"
            return f"{x} = {vs[0]}" if len(vs) == 1 else f"{x} in {{{', '.join(map(str, vs))}}}"
        if self.always:
            return f"any {x}"
        if self.modulus == 2:
            return f"{x} {'odd' if 1 in self.residues else 'even'}"
        rs = sorted(self.residues)
        if len(rs) == 1:
            return f"{x} = {rs[0]} (mod {self.modulus})"
        return f"{x} mod {self.modulus} in {{{', '.join(map(str, rs))}}}"


def _reduced(symbol: str, modulus: int, residues) -> Condition:
    """The same set of integers written with the smallest modulus."""
    residues = frozenset(residues)
    for m in range(1, modulus + 1):
        if modulus % m == 0:
            small = frozenset(r % m for r in residues)
            if frozenset(r for r in range(modulus) if r % m in small) == residues:
                return Condition(symbol, m, small)
    return Condition(symbol, modulus, residues)


@functools.lru_cache(maxsize=16384)
def equal_condition(a, b):
    """When are sizes ``a`` and ``b`` equal over the positive integers? True (always), False
    (never), a :class:`Condition`, or None (outside the quasi-affine one-symbol case)."""
    if a == b:
        return True
    d = _sx(a) - b
    if d.is_Number:
        return d == 0
    syms = d.free_symbols
    if len(syms) != 1:
        return None
    (x,) = syms
    try:
        slope, period = slope_period(d, x)
        if period > MAX_PERIOD:
            return None
        f = compile_dim(d)
        name = x.name
        if slope == 0:  # periodic over all integers: one period decides
            zeros = frozenset(v % period for v in range(1, period + 1) if f({name: v}) == 0)
            if not zeros:
                return False
            if len(zeros) == period:
                return True
            return _reduced(name, period, zeros)
        # d(x) = slope*x + p(x), p periodic and bounded: the zeros lie in a bounded interval
        ps = [f({name: v}) - slope * v for v in range(1, period + 1)]
        lo, hi = sorted((-max(ps) / slope, -min(ps) / slope))
        first, last = max(1, int(lo) - 1), int(hi) + 1
        if last - first > MAX_PERIOD:
            return None
        zeros = frozenset(v for v in range(first, last + 1) if f({name: v}) == 0)
        return Condition(name, values=zeros) if zeros else False
    except NotQuasiAffine:
        return None


@functools.lru_cache(maxsize=16384)
def sign_range(a, b):
    """(min, max) of ``a - b`` over the positive integers (one bound may be infinite), or None
    outside the one-symbol quasi-affine case. With slope ``s`` and period ``P``,
    ``d(x + P) = d(x) + s*P``: for ``s >= 0`` the minimum over ``x >= 1`` lies in the first period,
    for ``s <= 0`` the maximum does."""
    d = _sx(a) - b
    if d.is_Number:
        return (d, d)
    syms = d.free_symbols
    if len(syms) != 1:
        return None
    (x,) = syms
    try:
        slope, period = slope_period(d, x)
    except NotQuasiAffine:
        return None
    if period > MAX_PERIOD:
        return None
    f = compile_dim(d)
    vals = [f({x.name: v}) for v in range(1, period + 1)]
    inf = float("inf")
    return (min(vals) if slope >= 0 else -inf, max(vals) if slope <= 0 else inf)


# ---------------------------------------------------------------------------------------------
# text


def dim_str(x: Any) -> str:
    """One dimension as readable text: ``floor((H - 1)/2) + 1``, ``ceil(H/4)``, ``max(a, b)``."""
    if type(x) is int:
        return str(x)
    if isinstance(x, Fraction):
        return str(x)
    if dims.is_concrete(x) or not hasattr(x, "free_symbols"):  # a number, or text already (a stored snapshot)
        return str(x)
    return _expr_str(x)


@functools.lru_cache(maxsize=8192)
def _expr_str(e) -> str:
    return _w(dims.sympy(), e, 0)


def _w(sp, e, prec: int) -> str:
    """prec 0: a sum may stand bare; 1: a product may; 2: only an atom."""
    if e.is_Integer:
        v = int(e)
        return str(v) if v >= 0 or prec == 0 else f"({v})"
    if e.is_Rational:
        return f"{e.p}/{e.q}" if prec == 0 else f"({e.p}/{e.q})"
    if e.is_Symbol:
        return e.name
    if isinstance(e, (sp.floor, sp.ceiling)):
        parts = _absorbed_parts(sp, e + 1, -1)
        if parts is not None:
            return parts[1]
        return f"{'floor' if isinstance(e, sp.floor) else 'ceil'}({_w(sp, e.args[0], 0)})"
    if isinstance(e, (sp.Max, sp.Min)):
        name = "max" if isinstance(e, sp.Max) else "min"
        return f"{name}({', '.join(_w(sp, a, 0) for a in _terms(e))})"
    if e.is_Add:
        parts = _absorbed_parts(sp, e)
        if parts is not None:
            c, text = parts
            return text if c == 1 else f"{c}*{text}" if prec <= 1 else f"({c}*{text})"
        terms = _terms(e)
        text = _w(sp, terms[0], 1)
        for t in terms[1:]:
            text += f" - {_w(sp, -t, 1)}" if t.could_extract_minus_sign() else f" + {_w(sp, t, 1)}"
        return text if prec == 0 else f"({text})"
    if e.is_Mul:
        coeff, rest = e.as_coeff_Mul()
        if coeff.is_negative:
            return "-" + _w(sp, -e, 2)
        if not coeff.is_Integer:  # H/2, 3*H/4
            text = f"{_w(sp, coeff.p * rest, 1)}/{coeff.q}"
            return text if prec <= 1 else f"({text})"
        c, factors = int(coeff), []
        for f in sp.Mul.make_args(rest):
            parts = _absorbed_parts(sp, f) if f.is_Add else None
            if parts is not None:  # (c*floor(..) + c*k) as a factor: c joins the coefficient
                c *= parts[0]
                factors.append(parts[1])
            else:
                factors.append(_w(sp, f, 2))
        factors.sort(key=lambda t: (not t[:1].isalpha() or t.startswith(("floor", "ceil")), t))
        text = "*".join(([] if c == 1 else [str(c)]) + factors)
        return text if prec <= 1 else f"({text})"
    if e.is_Pow and e.exp.is_Integer and int(e.exp) > 1:
        return f"{_w(sp, e.base, 2)}^{int(e.exp)}"
    return f"({e})" if prec else str(e)


def _absorbed_parts(sp, e, k=None):
    """``c*floor((P + r)/q) + K`` with ``c`` dividing ``K`` written without the constant:
    ``floor((P + r + kq)/q)`` or, equal for integer ``P``, ``ceil((P + r + kq - q + 1)/q)``,
    whichever is shorter (``floor((H - 1)/32) + 1`` is ``ceil(H/32)``): returns (c, text), or None
    if ``e`` is not of that form. ``k`` given: ``e`` is ``floor(..) - k`` held unevaluated."""
    if k is None:
        if len(e.args) != 2:
            return None
        k, rest = e.as_coeff_Add()
        if not k.is_Integer or k == 0:
            return None
        k = int(k)
    else:
        rest = e - 1
        k = 0
    c, f = rest.as_coeff_Mul()
    if not (c.is_Integer and c > 0 and isinstance(f, (sp.floor, sp.ceiling)) and k % int(c) == 0):
        return None
    arg = f.args[0]
    q = 1
    for co in arg.as_coefficients_dict().values():
        if not co.is_Rational:
            return None
        q = _lcm(q, int(co.q))
    p = sp.expand(arg * q)
    if q == 1 or not p.is_integer:
        return None
    same = p + (k // int(c)) * q
    other = same - (q - 1) if isinstance(f, sp.floor) else same + (q - 1)  # floor(a/q) = ceil((a - q + 1)/q)
    kinds = ("floor", "ceil") if isinstance(f, sp.floor) else ("ceil", "floor")
    # the smaller constant reads best (ceil(H/32), floor((H - 1)/2)); on a tie, floor
    options = sorted([(abs(same.as_coeff_Add()[0]), kinds[0] != "floor", kinds[0], same),
                      (abs(other.as_coeff_Add()[0]), kinds[1] != "floor", kinds[1], other)])
    _, _, name, num = options[0]
    return int(c), f"{name}({_w(sp, num, 2)}/{q})"


def _terms(e) -> list:
    """A sum's terms the way a reader writes a size: symbols by name, larger multiples first,
    the constant last (sympy's own ordering puts ``1`` or ``floor`` terms first)."""
    def key(t):
        if t.is_Number:
            return (2, 0, "")
        coeff, rest = t.as_coeff_Mul()
        plain = rest.is_Symbol or (rest.is_Mul and all(f.is_Symbol or f.is_Pow for f in rest.args)) or rest.is_Pow
        return (0 if plain else 1, -abs(coeff), str(rest) if plain else "")
    return sorted(e.args, key=key)


def shape_str(shape) -> str:
    """A shape with brackets: ``[64, floor(H/4), floor(W/4)]``."""
    return "[" + ", ".join(dim_str(d) for d in shape) + "]"


class FloorNames:
    """Names for floor/ceiling sub-expressions, shared by every formula of one rendering: the same
    part gets the same name wherever it occurs (``h1 = floor(H/32)``, then ``h2 = floor(2*h1/7)``).
    ``definitions`` lists ``(name, text)`` innermost first, in the order the names were given.
    Names are the lower-case symbol plus a number (``h1`` is about H, ``w1`` about W; ``d`` when
    a part has several symbols); a name already used by a symbol of the formulas, or given in
    ``reserved`` (every symbol of the result being rendered), is skipped."""

    def __init__(self, reserved=()):
        self.names: dict = {}  # floor/ceiling sub-expression -> symbol standing for it
        self.definitions: list = []
        self._taken: set = set(reserved)
        self._counters: dict = {}

    def fresh(self, stem: str) -> str:
        """The next unused name ``stem<k>`` (for a caller naming a whole formula too, ``f1``)."""
        while True:
            self._counters[stem] = self._counters.get(stem, 0) + 1
            name = f"{stem}{self._counters[stem]}"
            if name not in self._taken:
                self._taken.add(name)
                return name

    def rewrite(self, e):
        """``e`` with its outermost floor/ceiling parts replaced by their names."""
        if dims.is_concrete(e):
            return e
        sp = dims.sympy()
        self._taken.update(s.name for s in e.free_symbols)
        return e.xreplace({a: self._name_for(sp, a) for a in _direct_floors(sp, e)})

    def _name_for(self, sp, atom):
        if atom in self.names:
            return self.names[atom]
        inner = atom.args[0].xreplace({a: self._name_for(sp, a) for a in _direct_floors(sp, atom.args[0])})
        syms = sorted(s.name for s in atom.free_symbols)
        stem = syms[0].lower() if len(syms) == 1 and syms[0][:1].isalpha() else "d"
        stem += "_" if stem[-1].isdigit() else ""  # about h1: h1_1, never h11
        sym = sp.Symbol(self.fresh(stem), integer=True, nonnegative=True)
        self.names[atom] = sym
        self.definitions.append((sym.name, dim_str(type(atom)(inner, evaluate=False))))
        return sym


def named_formulas(exprs: dict, limit: int = 80) -> tuple:
    """Long formulas with their repeated floor/ceil parts named once: returns ``(texts,
    definitions)``, where ``texts`` maps each key of ``exprs`` to its text and ``definitions`` lists
    ``(name, text)`` for the names used (``h1 = floor(H/32)``, ``h2 = floor(3*h1/7)``), innermost
    first. Only formulas whose plain text is longer than ``limit`` are rewritten (see
    :class:`FloorNames`)."""
    namer = FloorNames()
    texts = {}
    for key, e in exprs.items():
        text = dim_str(e)
        if len(text) > limit and not dims.is_concrete(e):
            text = dim_str(namer.rewrite(e))
        texts[key] = text
    return texts, namer.definitions


def _direct_floors(sp, e) -> list:
    """The floor/ceiling sub-expressions of ``e`` not nested inside another one."""
    out = []
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, (sp.floor, sp.ceiling)):
            out.append(x)
        else:
            stack.extend(x.args)
    return out


def wrap_formula(text: str, width: int = 100, indent: str = "    ") -> list:
    """Break a long formula's text into lines of at most ``width`` characters at its top-level
    ``+``/``-`` signs (never inside parentheses); a term longer than a line stays whole."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and ch in "+-" and i >= 1 and text[i - 1] == " " and i + 1 < len(text) and text[i + 1] == " ":
            terms.append(text[start:i - 1])
            start = i
    terms.append(text[start:])
    lines = [terms[0]]
    for t in terms[1:]:
        if len(lines[-1]) + 1 + len(t) <= width:
            lines[-1] += " " + t
        else:
            lines.append(indent + t)
    return lines


# ---------------------------------------------------------------------------------------------
# which input sizes are valid (archcalc MODEL --input 3xHxW --valid)


@dataclass
class Validity:
    """The input sizes a symbolic analysis is valid for: per symbol the congruence its joins need
    (``conditions``) and the smallest valid sizes found by analysing concrete inputs."""

    model: str
    input: tuple
    symbols: list
    conditions: dict  # symbol -> Condition (absent: no join constrains it)
    square: list  # smallest sizes v valid with every symbol = v
    smallest: dict  # symbol -> smallest valid value with the other symbols at square[0]
    checked_up_to: int
    first_error: Optional[str] = None  # why the size below the smallest valid one fails

    def lines(self) -> list:
        shape = "x".join(dim_str(d) for d in self.input)
        out = [f"{self.model} at {shape}: valid inputs"]
        for s in self.symbols:
            c = self.conditions.get(s)
            low = self.smallest.get(s)
            if c is None:
                rule = (f"any {s} >= {low}" if low is not None else f"any {s}") + " (no branch join constrains it)"
            else:
                rule = str(c) + (f"; smallest {s} = {low}" if low is not None else "")
            out.append(f"  {s}: {rule}")
        if self.square:
            sym = "=".join(self.symbols)
            out.append(f"  smallest with {sym}: {', '.join(map(str, self.square))}")
        else:
            out.append(f"  no valid size up to {self.checked_up_to}")
        if self.first_error:
            out.append(f"  below that: {self.first_error}")
        out.append(f"  (congruences from the symbolic joins; sizes checked by exact analysis up to "
                   f"{self.checked_up_to})")
        return out

    def to_dict(self) -> dict:
        return {"model": self.model, "input": [dims.to_json(d) for d in self.input],
                "conditions": {s: c.to_dict() for s, c in self.conditions.items()},
                "smallest": self.smallest, "square": self.square, "checked_up_to": self.checked_up_to}


def validity(result, count: int = 6, limit: int = 4096) -> Validity:
    """Scan concrete sizes (all input symbols equal) from 1 up to ``limit``, skipping those the
    symbolic conditions already rule out, until ``count`` valid ones are found."""
    from .errors import ArchcalcError, InvalidValueError

    symbols = []
    for d in result.input:
        for s in sorted(dims.free_symbols(d)):
            if s not in symbols:
                symbols.append(s)
    if not symbols:
        raise InvalidValueError(f"--valid needs a symbolic input such as 3xHxW; {result.model} was analysed at "
                                + "x".join(dim_str(d) for d in result.input))
    conds = {s: c for s, c in result.conditions.items() if s in symbols}

    def ok(values) -> Optional[str]:
        try:
            result.substitute(**values)
            return None
        except ArchcalcError as e:
            return str(e)

    square, first_error, last_error = [], None, None
    v = 0
    for v in range(1, limit + 1):
        if not all(c.holds(v) for c in conds.values()):
            continue
        err = ok({s: v for s in symbols})
        if err is None:
            if not square:
                first_error = last_error
            square.append(v)
            if len(square) >= count:
                break
        else:
            last_error = err
    smallest = {}
    if square:
        for s in symbols:
            for u in range(1, square[0] + 1):
                c = conds.get(s)
                if (c is None or c.holds(u)) and ok({t: (u if t == s else square[0]) for t in symbols}) is None:
                    smallest[s] = u
                    break
    return Validity(result.model, result.input, symbols, conds, square, smallest, v, first_error)
