"""Graph.topological: linear time, and the same order as the sweep algorithm it replaced; the
restricted dimension parser's limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archcalc import dims
from archcalc.errors import ArchcalcError, GraphError
from archcalc.graph import Graph, Node
from archcalc.layers import Add, Input, ReLU


def sweep_order(graph):
    """The previous implementation (quadratic): sweep in insertion order placing every node whose
    inputs are placed, until nothing is pending. The oracle for the order."""
    order, placed, pending = [], set(), list(graph.nodes.values())
    while pending:
        rest = [n for n in pending if not all(i in placed for i in n.inputs) or (order.append(n) or placed.add(n.name))]
        if len(rest) == len(pending):
            return None
        pending = rest
    return [n.name for n in order]


@st.composite
def dags_in_any_order(draw):
    """A random DAG (edges from lower to higher rank), inserted in a random order."""
    n = draw(st.integers(1, 25))
    edges = {k: sorted(set(draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=3)))) if k else []
             for k in range(n)}
    perm = draw(st.permutations(range(n)))
    g = Graph("g")
    for k in perm:
        layer = Input((3, 4, 4)) if k == 0 else (Add() if len(edges[k]) > 1 else ReLU())
        g.add(Node(f"n{k}", layer, tuple(f"n{i}" for i in edges[k])))
    return g


@settings(max_examples=300, deadline=None)
@given(dags_in_any_order())
def test_topological_matches_the_sweep_order(g):
    assert [n.name for n in g.topological()] == sweep_order(g)


def chain(n, reverse=False):
    names = [f"n{k}" for k in range(n)]
    nodes = [Node(names[0], Input((3, 4, 4)), ())] + [Node(names[k], ReLU(), (names[k - 1],)) for k in range(1, n)]
    g = Graph("chain")
    for node in (reversed(nodes) if reverse else nodes):
        g.add(node)
    return g


def test_reverse_inserted_chain():
    # the worst case of the sweep algorithm: n sweeps over n nodes (50M membership tests at 10k);
    # Kahn's algorithm walks each node and edge once. Timing lives in benchmarks/, not here.
    g = chain(10_000, reverse=True)
    assert [n.name for n in g.topological()] == [f"n{k}" for k in range(10_000)]


def test_cycle_message_is_the_cycle():
    g = Graph("g")
    g.add(Node("x", Input((1,)), ()))
    g.add(Node("a", Add(), ("x", "c")))
    g.add(Node("b", ReLU(), ("a",)))
    g.add(Node("c", ReLU(), ("b",)))
    g.add(Node("d", ReLU(), ("c",)))  # downstream of the cycle, not part of it
    with pytest.raises(GraphError, match=r"^cycle in the graph: 'a' -> 'b' -> 'c' -> 'a'$") as e:
        g.topological()
    assert e.value.layer == "a"


@pytest.mark.parametrize("text", [
    "(" * 40 + "H" + ")" * 40,  # nesting
    "-" * 40 + "H",  # unary minus chain
    "9" * 19,  # integer literal too long
    "H" + "+H" * 120,  # text too long
    "H//0", "H//(2-2)",  # division by zero
    "٣", "H²", "3.5", "H**2", "H/2", "", "   ", "H+", "(H", "H)", "__import__('os')", "1e3",
])
def test_parse_dim_rejects(text):
    with pytest.raises(dims.DimSyntaxError) as e:
        dims.parse_dim(text)
    assert isinstance(e.value, ArchcalcError) and "\n" not in str(e.value)


@pytest.mark.parametrize("text", ["3xHx", "3x0x4", "x3", "3,,4", "3x-H", "3x(H-H+1)x(H-H)", "٣x4", "3x2.5"])
def test_parse_shape_rejects(text):
    with pytest.raises(dims.DimSyntaxError):
        dims.parse_shape(text)


def test_parse_shape_accepts():
    H, W = dims.symbol("H"), dims.symbol("W")
    assert dims.parse_shape("3x224x224") == (3, 224, 224)
    assert dims.parse_shape("(3, H, W)") == (3, H, W)
    assert dims.parse_shape("3 × H × W") == (3, H, W)
    assert dims.parse_shape("3, max_h, W") == (3, dims.symbol("max_h"), W)  # commas: names may hold x
    assert dims.parse_shape("3x(H//2)x(2*W+1)") == (3, dims.floordiv(H, 2), 2 * W + 1)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789HW_x+-*/() ", max_size=30))
def test_parse_dim_never_raises_anything_else(text):
    try:
        d = dims.parse_dim(text)
    except dims.DimSyntaxError:
        return
    assert dims.parse_dim(dims.dim_text(d)) == d  # and writes back to the same expression


def test_known_ne_proves_small_differences_and_gives_up_on_huge_ones():
    H = dims.symbol("H")
    assert dims.known_ne(H + 1, H)  # differs by a constant
    assert not dims.known_ne(2 * H, H + H)
    assert dims.known_ne(dims.floordiv(H + 2, 2), dims.floordiv(H, 2))  # floor(H/2)+1 vs floor(H/2)
    assert not dims.known_ne(dims.floordiv(H - 3, 2) + 1, H - 2)  # equal at H = 3 or 4: not certain


@pytest.mark.slow
def test_symbolic_googlenet_finishes_and_agrees_at_224():
    # its ceil_mode pools beside conv branches made known_ne hand huge floor/Min differences to
    # sympy.simplify, which ran for minutes
    from archcalc import analyze

    r = analyze("googlenet", input="3xHxW")
    concrete = analyze("googlenet")
    for key in ("macs", "flops", "params", "activations"):
        assert dims.evaluate(r.totals[key], {"H": 224, "W": 224}) == concrete.totals[key]
