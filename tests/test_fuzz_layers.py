"""Every registered layer kind, built with random field values (valid and invalid) on random input
shapes (issue 12).

Property, for every draw: either a clean :class:`ArchcalcError` (one line, also a ValueError or
TypeError), or a result in which every size is a positive integer and every count a non-negative
integer. Symbols a draw introduces (text such as ``"x"`` is a valid dimension name) are bound to
small integers and the result is checked again.

The torch part: for kinds with a torch twin, a result archcalc gives must match torch's output
shape (and parameter count) for the same layer, run on a tiny CPU tensor (batch 2). archcalc may
refuse what torch accepts (a stricter check), never the reverse.

CI (``CI=true``) runs the same examples every time (tests/conftest.py's ``ci`` profile);
``ARCHCALC_FUZZ_SCALE=N`` multiplies the number of examples for a longer local hunt.
"""

from __future__ import annotations

import math
import os

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from archcalc import analyze, dims  # noqa: E402
from archcalc import layers as L  # noqa: E402
from archcalc.errors import ArchcalcError  # noqa: E402
from archcalc.graph import Builder  # noqa: E402
from archcalc.spec import FLOAT_RANGES, NONNEGATIVE_FIELDS, POSITIVE_FIELDS, STRING_CHOICES, layer_fields, layer_kinds  # noqa: E402

# one entry per layer class (the activations share one, its ``fn`` drawn), so every class is drawn as often
#: ``ARCHCALC_FUZZ_SCALE=10`` runs ten times the examples (a longer hunt than CI's).
SCALE = int(os.environ.get("ARCHCALC_FUZZ_SCALE", "1"))

KINDS = {k: v for k, v in layer_kinds().items() if k != "Input" and (v[0] is not L.Activation or k == "Activation")}

#: Values no field should take: each draw mixes some in (a field is invalid with probability ~1/5).
INVALID = st.sampled_from([-1, 0, -7, 2.5, float("nan"), float("inf"), True, None, "", "x", "1+", "-H",
                           "__import__('os').system('true')", (1, 2, 3), [], {"a": 1}, 10 ** 30, object()])


def _int(field):
    if field in POSITIVE_FIELDS:
        return st.integers(1, 6)
    if field in NONNEGATIVE_FIELDS:
        return st.integers(0, 3)
    return st.integers(-3, 3)


def _valid(field, atoms):
    options = []
    for atom in atoms:
        if atom == "int":
            options.append(_int(field))
        elif atom == "bool":
            options.append(st.booleans())
        elif atom == "float":
            low, high, _ = FLOAT_RANGES.get(field, (-4, 4, False))
            options.append(st.floats(low, 4 if high is None else high, allow_nan=False, exclude_min=low == 0))
        elif atom == "str":
            options.append(st.sampled_from(STRING_CHOICES.get(field, ("nearest", "bilinear"))))
        elif atom == "IntOrPair":
            options.append(st.one_of(_int(field), st.tuples(_int(field), _int(field))))
        elif atom == "Layer":
            options.append(st.sampled_from([L.ReLU(), L.Linear(4), L.Conv2d(4, 1), L.Flatten()]))
        elif field == "shape":  # Reshape
            options.append(st.lists(st.one_of(st.integers(1, 6), st.just(-1)), min_size=1, max_size=3)
                           .filter(lambda xs: xs.count(-1) <= 1).map(tuple))
        elif field == "offset":
            options.append(st.one_of(st.just("center"), st.tuples(st.integers(0, 3), st.integers(0, 3))))
        elif field == "size":
            options.append(st.tuples(st.integers(1, 6), st.integers(1, 6)))
        elif field == "padding":  # ZeroPad2d
            options.append(st.one_of(st.integers(0, 3), st.tuples(*[st.integers(0, 2)] * 4)))
        elif field == "num_rois":
            options.append(st.integers(1, 6))
        elif atom == "tuple":  # a connection table: left dense here (LeNet's C3 has its own tests)
            options.append(st.none())
        elif field == "owner":
            options.append(st.just("owner"))
    return st.one_of(*options) if options else st.none()


def _field(ftype, field, valid_weight):
    nullable, atoms = ftype
    valid = _valid(field, atoms)
    if nullable:
        valid = st.one_of(valid, st.none())
    return st.one_of(*[valid] * valid_weight, INVALID)


def _kwargs(cls, fixed, valid_weight=4):
    """Keyword arguments for ``cls``: each field valid ``valid_weight`` times in ``valid_weight + 1``."""
    fields = {f: _field(t, f, valid_weight) for f, t, _, _ in layer_fields(cls, fixed)}
    required = {f for f, _, req, _ in layer_fields(cls, fixed) if req}
    return st.fixed_dictionaries({f: s for f, s in fields.items() if f in required},
                                 optional={f: s for f, s in fields.items() if f not in required})


LAYERS = st.one_of([st.tuples(st.just(kind), st.just(cls), st.just(fixed), _kwargs(cls, fixed))
                    for kind, (cls, fixed) in KINDS.items()])
SHAPES = st.one_of(st.tuples(st.integers(1, 12)),
                   st.tuples(st.integers(1, 6), st.integers(1, 8)),
                   st.tuples(st.integers(1, 8), st.integers(1, 12), st.integers(1, 12)))


def _clean(e: BaseException) -> None:
    msg = str(e)
    assert isinstance(e, ArchcalcError), f"{type(e).__name__}: {msg}"
    assert isinstance(e, (ValueError, TypeError)), f"{type(e).__name__} is neither ValueError nor TypeError"
    assert msg and "\n" not in msg and "Traceback" not in msg, msg


def build_and_analyze(cls, fixed, kwargs, shape):
    """(layer, result) or (layer or None, None) after a clean refusal."""
    try:
        layer = cls(**fixed, **kwargs)
    except Exception as e:  # noqa: BLE001 - the property: only ArchcalcError may escape
        _clean(e)
        return None, None
    b = Builder("fuzz", shape)
    if isinstance(layer, L.Shared):
        b.add(layer.layer, b.input, name="owner")
    b.add(layer, b.input, name="layer")
    try:
        r = analyze(b.build())
        names = set().union(*(dims.free_symbols(d) for rec in r.layers for d in
                              (*rec.output_shape, rec.params, rec.macs, rec.flops, rec.activations)))
        if names:
            r = r.substitute(**{n: 2 for n in names})
    except Exception as e:  # noqa: BLE001
        _clean(e)
        return layer, None
    return layer, r


def _check_sizes(r):
    for rec in r.layers:
        assert rec.output_shape and all(type(d) is int and d >= 1 for d in rec.output_shape), (rec.name, rec.output_shape)
        for figure in (rec.params, rec.trainable_params, rec.buffers, rec.macs, rec.flops, rec.activations):
            assert type(figure) is int and figure >= 0, (rec.name, figure)


@settings(max_examples=400 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(LAYERS, SHAPES)
def test_every_kind_is_a_clean_error_or_positive_integer_sizes(drawn, shape):
    kind, cls, fixed, kwargs = drawn
    _, r = build_and_analyze(cls, fixed, kwargs, shape)
    if r is not None:
        _check_sizes(r)


# --- torch twins ----------------------------------------------------------------------------------


def _twin(torch, layer, shape):
    """(a callable on a batch-2 tensor, the nn.Module holding the parameters or None); None when the
    kind has no torch twin; False for a configuration torch lacks by design (a sparse connection
    table; strided ``padding='same'``, which archcalc reads as TensorFlow's 'same', as documented)."""
    nn = torch.nn
    k = type(layer).__name__
    c = shape[0]
    if k == "Conv2d":
        if layer.connections is not None or (layer.padding == "same" and layer.stride != (1, 1)):
            return False
        m = nn.Conv2d(c, layer.out_channels, layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                      layer.groups, layer.bias)
    elif k == "ConvTranspose2d":
        m = nn.ConvTranspose2d(c, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                               layer.output_padding, layer.groups, layer.bias, layer.dilation)
    elif k == "MaxPool2d":
        m = nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding, layer.dilation, ceil_mode=layer.ceil_mode)
    elif k == "AvgPool2d":
        m = nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding, layer.ceil_mode, layer.count_include_pad)
    elif k == "AdaptiveAvgPool2d":
        m = nn.AdaptiveAvgPool2d(layer.output_size)
    elif k == "AdaptiveMaxPool2d":
        m = nn.AdaptiveMaxPool2d(layer.output_size)
    elif k == "Linear":
        m = nn.Linear(shape[-1], layer.out_features, layer.bias)
    elif k == "BatchNorm2d":
        m = nn.BatchNorm2d(c, layer.eps, layer.momentum, layer.affine, layer.track_running_stats)
    elif k == "BatchNorm1d":
        m = nn.BatchNorm1d(c, layer.eps, layer.momentum, layer.affine, layer.track_running_stats)
    elif k == "LocalResponseNorm":
        m = nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k)
    elif k == "Activation":
        m = getattr(nn, L._ACT_KIND[layer.fn])()
    elif k == "Dropout":
        m = nn.Dropout(layer.p)
    elif k == "Softmax":
        m = nn.Softmax(layer.dim if layer.dim < 0 else layer.dim + 1)
    elif k == "Flatten":
        m = nn.Flatten()
    elif k == "Identity":
        m = nn.Identity()
    elif k == "Upsample":
        m = nn.Upsample(scale_factor=tuple(float(f) for f in layer.scale_factor), mode=layer.mode)
    elif k == "ZeroPad2d":
        m = nn.ZeroPad2d(layer.padding)
    elif k == "ChannelShuffle":
        m = nn.ChannelShuffle(layer.groups)
    elif k == "Embedding":
        m = nn.Embedding(layer.num_embeddings, layer.embedding_dim)
        return (lambda x: m(torch.zeros(x.shape, dtype=torch.long))), m
    elif k == "LSTM":
        m = nn.LSTM(shape[-1], layer.hidden_size, layer.num_layers, layer.bias, batch_first=True)
        return (lambda x: m(x)[0]), m
    elif k == "Reshape":
        return (lambda x: x.reshape(x.shape[0], *layer.shape)), None
    elif k == "GlobalAvgPool2d":
        return (lambda x: x.mean((2, 3))), None
    elif k == "GlobalMaxPool2d":
        return (lambda x: x.amax((2, 3))), None
    elif k in ("Add", "Mul", "Concat"):  # one input: the identity (merges are tested with two in test_rules)
        return (lambda x: x), None
    elif k == "Scale":
        return (lambda x: x * layer.factor), None
    elif k == "Slice":
        axis = layer.axis if layer.axis < 0 else layer.axis + 1
        return (lambda x: x.narrow(axis, layer.start, (x.shape[axis] if layer.stop is None else layer.stop)
                                   - layer.start)), None
    else:
        return None
    return m, m


TWIN_KINDS = [k for k in KINDS if k in {
    "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Linear",
    "BatchNorm2d", "BatchNorm1d", "LocalResponseNorm", "Dropout", "Softmax", "Flatten", "Identity", "Upsample",
    "ZeroPad2d", "ChannelShuffle", "Embedding", "LSTM", "Reshape", "GlobalAvgPool2d", "GlobalMaxPool2d", "Add",
    "Mul", "Concat", "Scale", "Slice", "Activation"}]
#: Per-sample input ranks a kind takes (others: any of 1, 2, 3).
RANKS = {"Embedding": (1,), "LSTM": (2,), "BatchNorm1d": (1, 2), "Linear": (1, 2)}
RANK3 = {"Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
         "BatchNorm2d", "LocalResponseNorm", "Upsample", "ZeroPad2d", "ChannelShuffle", "GlobalAvgPool2d",
         "GlobalMaxPool2d"}
SHAPE_OF_RANK = {1: st.tuples(st.integers(1, 12)),
                 2: st.tuples(st.integers(1, 6), st.integers(1, 8)),
                 3: st.tuples(st.integers(1, 8), st.integers(1, 12), st.integers(1, 12))}


def _shapes_for(kind):
    ranks = (3,) if kind in RANK3 else RANKS.get(kind, (1, 2, 3))
    return st.one_of([SHAPE_OF_RANK[r] for r in ranks])


# mostly valid fields here (one in ten invalid): the point is comparing results with torch
TWIN_LAYERS = st.one_of([st.tuples(st.just(k), st.just(KINDS[k][0]), st.just(KINDS[k][1]),
                                   _kwargs(*KINDS[k], valid_weight=9), _shapes_for(k)) for k in TWIN_KINDS])


@pytest.mark.torch
@settings(max_examples=600 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(TWIN_LAYERS)
def test_results_match_torch_for_kinds_with_a_twin(torch, drawn):
    kind, cls, fixed, kwargs, shape = drawn
    layer, r = build_and_analyze(cls, fixed, kwargs, shape)
    if r is None or r.is_symbolic or any(not dims.is_concrete(v) for v in kwargs.values() if not isinstance(v, tuple)):
        return
    _check_sizes(r)
    twin = _twin(torch, layer, shape)
    assert twin is not None, kind
    if twin is False:
        return
    fn, module = twin
    x = torch.rand(2, *shape)
    with torch.no_grad():
        try:
            out = fn(x)
        except Exception as e:  # noqa: BLE001
            raise AssertionError(f"archcalc accepted {layer} on {shape} (output {r.layers[-1].output_shape}) "
                                 f"but torch refused: {e}") from None
    rec = r.layers[-1]
    assert tuple(out.shape[1:]) == rec.output_shape, (layer, shape, tuple(out.shape), rec.output_shape)
    if module is not None:
        assert sum(p.numel() for p in module.parameters()) == rec.params, (layer, shape)
    assert math.prod(out.shape[1:]) * 1 == math.prod(rec.output_shape)
