"""Transformer-era rules: layer/group norms, matmul, einsum, attention.

MACs here are the multiply-accumulates of tensor contractions (matmul, the attention products,
projections), as torch's FlopCounterMode counts them (``bmm``/``mm``: one per multiply-add).
"""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ..layers import (
    Einsum,
    GroupNorm,
    LayerNorm,
    LayerNorm2d,
    MatMul,
    MultiheadAttention,
    RMSNorm,
    ScaledDotProductAttention,
)
from . import Cost, Mixes, Traits, Unfollowed, register
from ._broadcast import broadcast
from ._window import expect_rank, format_shape


def _norm_cost(shape, groups, affine_params, affine: bool):
    """Normalisation of ``prod(shape)`` elements in ``groups`` statistics groups.

    flops: per element 5 (add into the mean, subtract it, square, add into the variance, scale by
    the inverse std) plus 2 with an affine weight and bias; per group 4 (divide for the mean,
    divide for the variance, add eps, reciprocal square root)."""
    n = dims.prod(shape)
    return Cost(output=tuple(shape), params=affine_params,
                flops=dims.normalize(n * (5 + (2 if affine else 0)) + 4 * groups))


@register(LayerNorm)
def layer_norm(layer: LayerNorm, inputs):
    """Layer norm over the trailing ``normalized_shape`` axes. params ``prod(normalized_shape)`` for
    the weight, again for the bias (when ``elementwise_affine``). flops: see ``_norm_cost``."""
    shape = inputs[0]
    ns = layer.normalized_shape
    if len(shape) < len(ns) or any(dims.known_ne(a, b) for a, b in zip(shape[len(shape) - len(ns):], ns)):
        raise ShapeError(f"normalized_shape {ns} does not match the last axes of input {format_shape(shape)}")
    size = dims.prod(ns)
    params = size * (2 if layer.bias else 1) if layer.elementwise_affine else 0
    return _norm_cost(shape, dims.prod(shape[:len(shape) - len(ns)]), params, layer.elementwise_affine)


@register(LayerNorm2d)
def layer_norm2d(layer: LayerNorm2d, inputs):
    """Channels-first layer norm of a (C, H, W) map: one statistics group per position; params
    ``2C`` when affine. flops: see ``_norm_cost``."""
    expect_rank(inputs[0], 3)
    c, h, w = inputs[0]
    return _norm_cost(inputs[0], dims.normalize(h * w), 2 * c if layer.affine else 0, layer.affine)


@register(GroupNorm)
def group_norm(layer: GroupNorm, inputs):
    """Group norm of a (C, ...) input: ``num_groups`` statistics groups; params ``2C`` when affine.
    flops: see ``_norm_cost``."""
    shape = inputs[0]
    if len(shape) < 2:
        raise ShapeError(f"GroupNorm expects a (C, ...) input, got {format_shape(shape)}")
    c = shape[0]
    if dims.divides(c, layer.num_groups) is False:
        raise ShapeError(f"channels {dims.format_dim(c)} are not divisible by num_groups {layer.num_groups}")
    return _norm_cost(shape, layer.num_groups, 2 * c if layer.affine else 0, layer.affine)


def _matmul_shapes(a, b, kind="MatMul"):
    if len(a) < 2 or len(b) < 2:
        raise ShapeError(f"{kind} needs operands of at least 2 per-sample axes (batch excluded), got "
                         f"{format_shape(a)} and {format_shape(b)}")
    if dims.known_ne(a[-1], b[-2]):
        raise ShapeError(f"{kind} inner sizes differ: {format_shape(a)} @ {format_shape(b)}")
    lead = broadcast([a[:-2], b[:-2]], kind) if (len(a) > 2 or len(b) > 2) else ()
    return lead, a[-2], a[-1], b[-1]


#: matmul / einsum: which operand axes carry image positions is not followed
_OPERANDS = Unfollowed("multiplies tensors whose position axes the walk does not follow")
#: attention: each query's output reads every key (the sequence axis, second to last)
_SEQUENCE = Mixes((-2,))


@register(MatMul)
def matmul(layer: MatMul, inputs):
    """``a @ b`` with broadcast leading axes: macs ``prod(lead) * n * k * m``; flops ``2 * macs``.
    No params (both operands are tensors of the graph)."""
    if len(inputs) != 2:
        raise ShapeError(f"MatMul needs 2 inputs, got {len(inputs)}")
    lead, n, k, m = _matmul_shapes(*inputs)
    macs = dims.normalize(dims.prod(lead) * n * k * m)
    return Cost(output=tuple(lead) + (n, m), macs=macs, flops=dims.normalize(2 * macs), rf=_OPERANDS)


@register(Einsum)
def einsum(layer: Einsum, inputs):
    """``torch.einsum`` of one or two operands. Two operands: macs = the product of the sizes of
    every letter that is in the output or in both operands (torch contracts them with one ``bmm``);
    a letter only one operand has and the output lacks is summed first (``size - 1`` adds per
    result). One operand: a permutation or a sum (adds only). flops ``2 * macs`` + those adds."""
    lhs, out_letters = layer.equation.split("->")
    terms = lhs.split(",")
    if len(terms) != len(inputs) or len(terms) > 2:
        raise ShapeError(f"einsum {layer.equation!r} with {len(inputs)} operand(s): archcalc counts one or two")
    size: dict = {}
    for t, shape in zip(terms, inputs):
        if len(t) != len(shape) or len(set(t)) != len(t):
            raise ShapeError(f"einsum term {t!r} does not fit operand {format_shape(shape)} (one letter per "
                             "per-sample axis, no repeats)")
        for letter, d in zip(t, shape):
            if letter in size and dims.known_ne(size[letter], d):
                raise ShapeError(f"einsum letter {letter!r} has sizes {dims.format_dim(size[letter])} and "
                                 f"{dims.format_dim(d)}")
            size.setdefault(letter, d)
    if any(c not in size for c in out_letters) or len(set(out_letters)) != len(out_letters):
        raise ShapeError(f"einsum output {out_letters!r} names a letter no operand has, or repeats one")
    output = tuple(size[c] for c in out_letters)
    adds = 0
    for t, shape in zip(terms, inputs):
        others = "".join(x for x in terms if x is not t)
        lonely = [c for c in t if c not in out_letters and c not in others]
        kept = [c for c in t if c not in lonely]
        if lonely:
            adds = adds + dims.normalize(dims.prod(size[c] for c in t) - dims.prod(size[c] for c in kept))
    if len(terms) == 1:
        return Cost(output=output, flops=dims.normalize(adds), rf=_OPERANDS)
    a, b = terms
    used = [c for c in size if c in out_letters or (c in a and c in b)]
    macs = dims.prod(size[c] for c in used)
    return Cost(output=output, macs=macs, flops=dims.normalize(2 * macs + adds), rf=_OPERANDS)


def _attention_core(lead, heads, L, S, E, Ev):
    """(macs, flops) of ``softmax(q k^T * scale) v`` for ``prod(lead)`` score matrices of L x S:
    macs ``L*S*E`` (scores) + ``L*S*Ev`` (weighted values); flops ``2 * macs`` + per score 1 scale
    multiply and 3 for the softmax (exp, accumulate, divide)."""
    scores = dims.normalize(dims.prod(lead) * L * S)
    macs = dims.normalize(scores * E + scores * Ev)
    return macs, dims.normalize(2 * macs + 4 * scores)


@register(ScaledDotProductAttention)
def scaled_dot_product_attention(layer: ScaledDotProductAttention, inputs):
    """``F.scaled_dot_product_attention(q, k, v)``: see ``_attention_core``. A causal or given mask
    only masks scores (not counted). No params."""
    if len(inputs) != 3:
        raise ShapeError(f"scaled_dot_product_attention needs q, k, v, got {len(inputs)} input(s)")
    q, k, v = inputs
    for s in inputs:
        if len(s) < 2:
            raise ShapeError(f"attention operands need (..., L, E) shapes, got {format_shape(s)}")
    if dims.known_ne(q[-1], k[-1]) or dims.known_ne(k[-2], v[-2]):
        raise ShapeError(f"attention shapes do not fit: q {format_shape(q)}, k {format_shape(k)}, v {format_shape(v)}")
    lead = broadcast([q[:-2], k[:-2], v[:-2]], "scaled_dot_product_attention")
    macs, flops = _attention_core(lead, 1, q[-2], k[-2], q[-1], v[-1])
    return Cost(output=tuple(lead) + (q[-2], v[-1]), macs=macs, flops=flops, rf=_SEQUENCE)


@register(MultiheadAttention)
def multihead_attention(layer: MultiheadAttention, inputs):
    """torch.nn.MultiheadAttention (batch_first) on query (L, E) and key/value (S, kdim)/(S, vdim);
    one input = self-attention.

    - params: q/k/v projections ``E*E + E*kdim + E*vdim`` (+ ``3E`` bias), ``bias_k``/``bias_v``
      (``2E``) with ``add_bias_kv``, output projection ``E*E`` (+ ``E``).
    - macs: projections ``L*E*E + S*kdim*E + S*vdim*E``, attention ``2*L*S'*E`` over all heads
      (``S' = S + 1`` with ``add_bias_kv``), output projection ``L*E*E``.
    - flops: ``2 * macs`` + bias adds (one per projected element) + per score 1 scale and 3 softmax.
      The head-averaged attention weights torch returns when ``need_weights`` are not counted.
    """
    if len(inputs) == 1:
        inputs = inputs * 3
    if len(inputs) != 3:
        raise ShapeError(f"MultiheadAttention takes query, key, value (or one input), got {len(inputs)}")
    q, k, v = inputs
    E = layer.embed_dim
    kdim, vdim = layer.kdim or E, layer.vdim or E
    for s, d, what in ((q, E, "query"), (k, kdim, "key"), (v, vdim, "value")):
        if len(s) != 2 or dims.known_ne(s[-1], d):
            raise ShapeError(f"MultiheadAttention {what} must be (sequence, {d}) per sample (batch_first=True), "
                             f"got {format_shape(s)}")
    if dims.known_ne(k[0], v[0]):
        raise ShapeError(f"key and value lengths differ: {format_shape(k)} and {format_shape(v)}")
    L, S = q[0], k[0]
    S_att = dims.normalize(S + (1 if layer.add_bias_kv else 0))
    params = E * E + E * kdim + E * vdim + E * E + (4 * E if layer.bias else 0) + (2 * E if layer.add_bias_kv else 0)
    proj = dims.normalize(L * E * E + S * kdim * E + S * vdim * E + L * E * E)
    core_macs, _ = _attention_core((), layer.num_heads, L, S_att, E, E)
    bias_adds = dims.normalize((2 * L * E + 2 * S * E) if layer.bias else 0)
    # the per-head products sum to L*S'*E; softmax and scaling are per head and score
    scores = dims.normalize(layer.num_heads * L * S_att)
    macs = dims.normalize(proj + core_macs)
    return Cost(output=(L, E), params=params, macs=macs,
                flops=dims.normalize(2 * macs + bias_adds + 4 * scores), rf=_SEQUENCE)


def _rms_norm_traits():
    from ..conventions import ZERO, R

    return Traits(
        training_refused=True,  # what rms_norm saves for backward was not measured
        conventions={
            "fvcore": {"RMSNorm": R("aten::rms_norm: no fvcore handle, 0", **ZERO)},
            "flop_counter": {"RMSNorm": R("no flop formula registered for rms_norm: 0", **ZERO)},
            "torchinfo": {"RMSNorm": R("other modules with parameters: output_size[0] (batch) x params",
                                       batch_params=1)},
            "ptflops": {"RMSNorm": R("no module hook for nn.RMSNorm and F.rms_norm is not patched: 0", **ZERO)},
            "thop": {"RMSNorm": R("no thop hook for nn.RMSNorm: 0", **ZERO)},
        })


@register(RMSNorm, traits=_rms_norm_traits())
def rms_norm(layer: RMSNorm, inputs):
    """RMS norm over the trailing ``normalized_shape`` axes: params ``prod(normalized_shape)`` with
    an affine weight. flops per element 3 (square, accumulate, scale) + 1 with the weight; per group
    3 (divide for the mean, add eps, reciprocal square root). Pointwise for the receptive field
    (its statistics are not a window, as with layer norm)."""
    shape = inputs[0]
    ns = layer.normalized_shape
    if len(shape) < len(ns) or any(dims.known_ne(a, b) for a, b in zip(shape[len(shape) - len(ns):], ns)):
        raise ShapeError(f"normalized_shape {ns} does not match the last axes of input {format_shape(shape)}")
    groups = dims.prod(shape[:len(shape) - len(ns)])
    n = dims.prod(shape)
    return Cost(output=tuple(shape), params=dims.prod(ns) if layer.elementwise_affine else 0,
                flops=dims.normalize(n * (4 if layer.elementwise_affine else 3) + 3 * groups))
