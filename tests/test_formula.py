"""The symbolic engine at scale: canonical floor forms, validity conditions of branch joins, readable
formula text, and ``--valid``. Expected values are integer arithmetic or a numeric analysis."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from archcalc import analyze, dims
from archcalc.cli import main
from archcalc.formula import Condition, compile_dim, dim_str, equal_condition, shape_str, validity
from archcalc.graph import Builder
from archcalc.layers import Concat, Conv2d, MaxPool2d

H = dims.symbol("H")


def chain(n: int, c: int = 4):
    """n stages of [ceil-mode 3x3/2 max pool | valid 3x3/2 conv] joined by concat: the pool gives
    ceil((H-3)/2)+1 rows, the conv floor((H-3)/2)+1, equal only for odd H at every stage."""
    b = Builder(f"chain{n}", input_shape=(c, 224, 224))
    x, ch = b.input, c
    for i in range(n):
        p = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name=f"s{i}.pool")
        q = b.add(Conv2d(ch, 3, 2), x, name=f"s{i}.conv")
        x = b.add(Concat(), p, q, name=f"s{i}.cat")
        ch *= 2
    return b.build()


def test_nested_divisions_collapse_and_stay_exact():
    assert dims.floordiv(dims.floordiv(dims.floordiv(H, 2), 2), 2) == dims.floordiv(H, 8)
    assert dims.ceildiv(dims.ceildiv(H, 2), 3) == dims.ceildiv(H, 6)
    # conv k3 s2 then ceil-mode pool k3 s2, as the rules write them, against Python's integers
    conv = dims.floordiv(H - 3, 2) + 1
    pool = dims.ceildiv(conv - 3, 2) + 1
    deep = dims.floordiv(dims.floordiv(dims.ceildiv(H + 5, 3) - 1, 4) + 7, 5)
    for h in range(1, 400):
        c = (h - 3) // 2 + 1
        assert dims.evaluate(conv, {"H": h}) == c
        assert dims.evaluate(pool, {"H": h}) == -(-(c - 3) // 2) + 1
        assert dims.evaluate(deep, {"H": h}) == ((-(-(h + 5) // 3) - 1) // 4 + 7) // 5
    # one flat floor, whatever the depth
    assert len(pool.atoms(dims.sympy().floor)) == 1 and len(deep.atoms(dims.sympy().floor)) == 1


def test_a_ceiling_and_the_equal_floor_are_one_expression():
    # ceil(H/2) = floor((H + 1)/2) for integer H: both rules must produce the same object, so that
    # sympy collects like terms in totals
    assert dims.ceildiv(H, 2) == dims.floordiv(H + 1, 2)
    assert dims.ceildiv(H - 3, 2) + 1 == dims.floordiv(H, 2)


def test_equal_condition_over_one_period():
    odd = equal_condition(dims.floordiv(H - 3, 2), dims.ceildiv(H - 3, 2))
    assert odd == Condition("H", 2, frozenset({1})) and str(odd) == "H odd"
    assert equal_condition(dims.floordiv(H, 4) * 4, H) == Condition("H", 4, frozenset({0}))
    assert equal_condition(dims.floordiv(H + 2, 2), dims.floordiv(H, 2)) is False  # always 1 apart
    assert equal_condition(dims.floordiv(2 * H, 2), H) is True
    # different slopes: equal at finitely many sizes, found exactly
    few = equal_condition(dims.floordiv(H - 3, 2) + 1, H - 2)
    assert few.values == frozenset(h for h in range(1, 100) if (h - 3) // 2 + 1 == h - 2) == {2, 3}
    assert equal_condition(H * dims.symbol("W"), H) is None  # outside the one-symbol case


def test_conditions_conjoin():
    odd, mod4 = Condition("H", 2, frozenset({1})), Condition("H", 4, frozenset({2, 3}))
    both = odd & mod4
    assert both == Condition("H", 4, frozenset({3})) and str(both) == "H = 3 (mod 4)"


def test_chain_of_joins_carries_its_condition_and_matches_numeric_runs():
    r = analyze(chain(3), input=(4, "H", "W"))
    assert {s: str(c) for s, c in r.conditions.items()} == {"H": "H = 7 (mod 8)", "W": "W = 7 (mod 8)"}
    assert [str(c) for c in r["s0.cat"].conditions] == ["H odd", "W odd"]
    for h in range(1, 70):
        try:
            analyze(chain(3), input=(4, h, 31))
            valid = True
        except dims.ArchcalcError:
            valid = False
        # 3 stages of (x - 1)/2 from h, each odd, and the last one >= 1: h = 7 (mod 8), h >= 15
        assert valid == (h % 8 == 7 and h >= 15), h


def test_ten_joins_stay_flat():
    r = analyze(chain(10), input=(4, "H", "W"))
    assert r.conditions["H"] == Condition("H", 1024, frozenset({1023}))
    out = r.layers[-1].output_shape
    assert out == (4 * 2 ** 10, dims.floordiv(H, 1024), dims.floordiv(dims.symbol("W"), 1024))
    assert dims.evaluate(r.totals["macs"], {"H": 2047, "W": 3071}) == \
        analyze(chain(10), input=(4, 2047, 3071)).totals["macs"]


@pytest.mark.parametrize("name", ["efficientnet_b0", "mobilenet_v3_large"])
def test_squeeze_excite_models_finish_with_flat_receptive_fields(name):
    # these took more than 10 minutes when every residual/SE merge nested a new Max around the old one
    r = analyze(name, input=(3, "H", "W"))
    size = r.totals["receptive_field"].size[0]
    assert not isinstance(size, dims.sympy().Max) and size.count_ops() < 40
    for h, w in ((224, 224), (193, 301)):
        num = analyze(name, input=(3, h, w))
        for key in ("params", "macs", "flops", "activations"):
            assert dims.evaluate(r.totals[key], {"H": h, "W": w}) == num.totals[key], key
        assert tuple(dims.evaluate(d, {"H": h, "W": w}) for d in r.totals["receptive_field"].size) == \
            num.totals["receptive_field"].size


def test_compiled_formula_is_exact():
    f = compile_dim(dims.floordiv(H - 3, 2) * 7 + dims.exact_div(H, 2))
    for h in range(1, 50):
        assert f({"H": h}) == (h - 3) // 2 * 7 + Fraction(h, 2)  # a Fraction where H is odd, else an int
    vec = compile_dim(dims.floordiv(H - 3, 2) * 7, vector=True)
    np = pytest.importorskip("numpy")
    assert list(vec({"H": np.arange(1, 50)})) == [(h - 3) // 2 * 7 for h in range(1, 50)]


def test_readable_text():
    assert dim_str(dims.floordiv(H - 1, 32) + 1) == "ceil(H/32)"
    assert dim_str(dims.floordiv(H - 3, 2) + 1) == "floor((H - 1)/2)"
    assert dim_str(dims.floordiv(dims.floordiv(H, 2), 2)) == "floor(H/4)"
    assert shape_str((64, dims.floordiv(H, 4), dims.floordiv(dims.symbol("W"), 4))) == "[64, floor(H/4), floor(W/4)]"
    r = analyze("resnet50", input=(3, "H", "W"))
    # like terms collected: one term per distinct feature-map size, no 3,630-character lines
    assert len(dims.format_dim(r.totals["macs"])) < 200


def test_validity_of_a_unet_and_resnet():
    v = validity(analyze("unet_padded", input="1xHxW"))
    assert str(v.conditions["H"]) == "H = 0 (mod 16)" and v.square[:3] == [16, 32, 48]
    r = validity(analyze("resnet50", input="3xHxW"))
    assert r.conditions == {} and r.square[0] == 1
    # DenseNet-121: (H + 6 - 7)//2 + 1, then //2 (pool0, padded), then three 2x2 transitions: the third
    # needs 2 rows, so H//2//2//2//2 >= 1 after the stem: H >= 29
    d = validity(analyze("densenet121", input="3xHxW"))
    assert d.conditions == {} and d.square[0] == 29 and "transition3.pool" in d.first_error


def test_cli_valid(capsys):
    assert main(["unet_padded", "--input", "1xHxW", "--valid"]) == 0
    out = capsys.readouterr().out
    assert "H: H = 0 (mod 16); smallest H = 16" in out
    assert main(["unet_padded", "--input", "1xHxW", "--valid", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["conditions"]["H"] == {"text": "H = 0 (mod 16)", "modulus": 16, "residues": [0]}
    assert data["square"][:2] == [16, 32]
    assert main(["resnet50", "--valid"]) == 2
    assert "--valid needs a symbolic input" in capsys.readouterr().err


def _zoo_names():
    from archcalc.zoo import get_entry, names

    return [n for n in names() if len(get_entry(n).input_shape) == 3]


@pytest.mark.slow
@pytest.mark.parametrize("name", _zoo_names())
def test_every_zoo_model_symbolic_equals_numeric(name):
    from archcalc.zoo import get_entry

    c, h, w = get_entry(name).input_shape
    sym = analyze(name, input=(c, "H", "W"))
    num = analyze(name)
    values = {"H": h, "W": w}
    assert all(cond.holds(values[s]) for s, cond in sym.conditions.items())
    for key in ("params", "macs", "flops", "activations"):
        assert dims.evaluate(sym.totals[key], values) == num.totals[key], key


@pytest.mark.slow
@pytest.mark.parametrize("name", ["regnet_y_400mf", "efficientnet_v2_s"])
def test_from_torch_imports_analyse_symbolically(name):
    # issue 16: regnet_y_400mf took 637 s symbolically through from_torch, efficientnet_v2_s never finished
    torchvision = pytest.importorskip("torchvision")
    import archcalc

    graph = archcalc.from_torch(getattr(torchvision.models, name)(weights=None).eval(), (3, 224, 224))
    sym = analyze(graph, input=(3, "H", "W"))
    for h, w in ((224, 224), (257, 190)):
        num = analyze(graph, input=(3, h, w))
        for key in ("params", "macs", "flops", "activations"):
            assert dims.evaluate(sym.totals[key], {"H": h, "W": w}) == num.totals[key], key


def test_long_formulas_name_their_floors_once():
    from archcalc.formula import named_formulas

    r = analyze("vgg16", input="3xHxW")
    texts, defs = named_formulas({"flops": r.totals["flops"], "params": r.totals["params"]})
    assert texts["params"] == "138,357,544".replace(",", "")  # short and concrete: untouched
    assert "floor" not in texts["flops"] and "ceil" not in texts["flops"] and len(texts["flops"]) < 400
    d = dict(defs)
    assert d["h1"] == "floor(H/16)" and all(len(t) < 30 for t in d.values())
    assert len(d) == len(defs)  # each named once


def test_long_formulas_wrap_at_top_level_signs():
    from archcalc.formula import wrap_formula

    text = dim_str(analyze("googlenet", input="3xHxW").totals["flops"])
    lines = wrap_formula(text, width=80)
    assert len(lines) > 1 and all(len(x) <= 80 for x in lines)
    assert " ".join(x.strip() for x in lines) == text  # nothing lost, nothing reordered
    assert wrap_formula("a*(b + c) + d", width=5) == ["a*(b + c)", "    + d"]


def test_random_chains_of_divisions_equal_python_integers():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    step = st.tuples(st.sampled_from(["floor", "ceil"]), st.integers(-7, 7), st.integers(1, 5), st.integers(1, 3))

    @settings(max_examples=60, deadline=None)
    @given(st.lists(step, min_size=1, max_size=5))
    def check(steps):
        sym = H
        for kind, add, div, mul in steps:  # ((m*x + add) // div), floor or ceiling, as a rule would
            sym = (dims.floordiv if kind == "floor" else dims.ceildiv)(mul * sym + add, div)
        f = compile_dim(sym)
        for h in range(1, 120):
            x = h
            for kind, add, div, mul in steps:
                x = (mul * x + add) // div if kind == "floor" else -(-(mul * x + add) // div)
            assert f({"H": h}) == x, (steps, h)
            if h % 29 == 1:  # sympy's own substitution agrees too (slower, so at a few sizes)
                assert dims.evaluate(sym, {"H": h}) == x, (steps, h)

    check()


def test_join_conditions_match_brute_force():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    window = st.tuples(st.integers(1, 7), st.integers(1, 4), st.integers(0, 3), st.booleans())

    def out(size, k, s, p, ceil):  # a conv/pool output length, torch's formula
        span = size + 2 * p - k
        return (dims.ceildiv(span, s) if ceil else dims.floordiv(span, s)) + 1

    @settings(max_examples=80, deadline=None)
    @given(st.lists(window, min_size=1, max_size=3), st.lists(window, min_size=1, max_size=3))
    def check(left, right):
        a, b = H, H
        for w in left:
            a = out(a, *w)
        for w in right:
            b = out(b, *w)
        c = equal_condition(a, b)
        fa, fb = compile_dim(a), compile_dim(b)
        for h in range(1, 300):
            same = fa({"H": h}) == fb({"H": h})
            expected = c if isinstance(c, bool) else c.holds(h)
            assert same == expected, (left, right, h, c)

    check()
