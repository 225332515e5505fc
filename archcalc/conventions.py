"""Named counting conventions: how each profiling tool counts each layer kind, as data.

archcalc's own ``macs`` are multiply-accumulates of conv/linear/matmul weights, bias excluded.
Popular tools print different totals for the same network because each counts different work
(bias adds, pooling, batch norm, activations), and some count a layer twice. A convention here is
a table ``layer kind -> Rule``; a rule is a sum of named *terms* (quantities read from archcalc's
per-layer record, see :data:`TERMS`) with a one-line reason taken from the tool's source. Applying
a convention to an analysis reproduces that tool's total exactly (tests check every zoo model
against the real tool).

Pure Python: no torch here. A kind missing from a convention's table is an error naming the layer
(``ConventionError``), never a silent 0: a 0 in a table is a fact about the tool, with its reason.

Tool versions the tables were read from: fvcore 0.1.5.post20221221, torchinfo 1.8.0, torch 2.14.1
(``torch.utils.flop_counter``), ptflops 0.7.5 (pytorch backend), thop 0.1.1.post2209072238.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from . import dims
from .errors import ArchcalcError


class ConventionError(ArchcalcError):
    """A convention has no rule for a layer kind, or an unknown convention was asked for."""


class NotReproduced(ConventionError):
    """A convention knows that archcalc does not reproduce the tool's count for some layer of this
    model (a :class:`Refused` rule, a computed weight, a dispatch-level recording): the message is
    the reason. Unlike a missing rule, this is a stated fact about the tool, not a gap in the table."""


def _per_sample_in(rec):
    return dims.prod(rec.input_shapes[0]) if rec.input_shapes else 0


def _batch(rec):
    # output_elements = batch * prod(output_shape); recover batch exactly.
    return dims.exact_div(rec.output_elements, dims.prod(rec.output_shape))


def _in(rec):
    return dims.normalize(_batch(rec) * _per_sample_in(rec))


def _bias_out(rec):
    return rec.output_elements if getattr(rec.layer, "bias", False) else 0


def _affine_in(rec):
    return _in(rec) if getattr(rec.layer, "affine", False) else 0


def _params_x_positions(rec):
    # torchinfo's Conv rule: every parameter (weight and bias) once per output position and sample
    # (output_size[:1] + output_size[2:]: batch and every spatial axis, 1-d to 3-d).
    return dims.normalize(rec.params * _batch(rec) * dims.prod(rec.output_shape[1:]))


def _thop_conv_transpose(rec):
    # thop applies its conv formula to ConvTranspose too: output elements x (in_channels/groups) x k*k.
    kh, kw = rec.layer.kernel_size
    cin = rec.input_shapes[0][0]
    return dims.normalize(rec.output_elements * dims.floordiv(cin, rec.layer.groups) * kh * kw)


def _thop_adaptive_avg(rec):
    # thop: int((prod(in_hw / out_hw) + 1) * out_numel), in float64 per layer.
    _, h, w = rec.input_shapes[0]
    _, oh, ow = (rec.output_shape + (1, 1))[:3] if len(rec.output_shape) == 1 else rec.output_shape
    n = rec.output_elements
    if all(dims.is_concrete(v) for v in (h, w, n)):
        return int(((h / oh) * (w / ow) + 1) * n)
    return dims.normalize((dims.exact_div(h * w, oh * ow) + 1) * n)


def _rows(rec):
    # number of softmax rows: elements / size of the last axis.
    return dims.exact_div(_in(rec), rec.input_shapes[0][-1])


def _macs_unless_text_padding(rec):
    # nn.Conv*d(padding="same"/"valid") runs aten::_convolution_mode, which fvcore has no handle for
    return 0 if isinstance(getattr(rec.layer, "padding", 0), str) else rec.macs


def _out_unless_text_padding(rec):
    return 0 if isinstance(getattr(rec.layer, "padding", 0), str) else rec.output_elements


def _out_2d(rec):
    # fvcore handles aten::upsample_nearest2d / upsample_bilinear2d only (a (C, H, W) sample)
    return rec.output_elements if len(rec.output_shape) == 3 else 0


def _matmul_lhs_x_n(rec):
    # fvcore's matmul_flop_jit and ptflops' matmul hook: prod(a.shape) * b.shape[-1] (batch included,
    # unless a is a parameter-derived tensor without one: a basis on the left of the input)
    lhs = _per_sample_in(rec) if 0 in getattr(rec, "free_inputs", ()) else _in(rec)
    return dims.normalize(lhs * rec.input_shapes[1][-1])


def _mha_dims(rec):
    layer = rec.layer
    shapes = rec.input_shapes * 3 if len(rec.input_shapes) == 1 else rec.input_shapes
    (L, E), (S, kd), (_, vd) = shapes
    return layer, L, E, S, kd, vd


def _mha_projection_macs(rec):
    # the q/k/v input projections and the output projection (F.linear calls), batch included
    _, L, E, S, kd, vd = _mha_dims(rec)
    return dims.normalize(_batch(rec) * (L * E * E + S * kd * E + S * vd * E + L * E * E))


def _mha_activations(rec):
    # fvcore's ActivationCountAnalysis on F.multi_head_attention_forward (torch's slow path under the
    # jit trace): the output elements of the q/k/v projections (one packed aten::linear for self-attention,
    # the same elements) and of out_proj; with need_weights also those of the two aten::bmm (the
    # (heads, L, S) scores and the (heads, L, E/heads) weighted values)
    layer, L, E, S, _, _ = _mha_dims(rec)
    if layer.add_bias_kv:
        raise NotReproduced(f"layer {rec.name!r} (MultiheadAttention): add_bias_kv lengthens the keys after the "
                            "projections; fvcore's activation count for it was not read")
    n = 2 * L * E + 2 * S * E
    if layer.need_weights:
        n = n + layer.num_heads * L * S + L * E
    return dims.normalize(_batch(rec) * n)


def _ptflops_mha_hook(rec):
    # ptflops multihead_attention_counter_hook, written out (kdim/vdim are the key/value inputs' widths)
    layer, L, E, S, kd, vd = _mha_dims(rec)
    h = layer.num_heads
    n = L * E + L * E * E + S * kd * kd + S * vd * vd
    if layer.bias:
        n = n + (L + 2 * S) * E
    n = n + h * (L * S * dims.floordiv(E, h) + L * S + L * S * dims.floordiv(vd, h)) + L * vd * (vd + 1)
    return dims.normalize(_batch(rec) * n)


def _thop_adaptive_avg_nd(rec):
    # thop count_adap_avgpool for any rank: int((prod(in_spatial / out_spatial) + 1) * out_numel)
    ins, outs = rec.input_shapes[0][1:], rec.output_shape[1:]
    n = rec.output_elements
    if all(dims.is_concrete(v) for v in (*ins, n)):
        k = 1.0
        for i, o in zip(ins, outs):
            k *= i / o
        return int((k + 1) * n)
    return dims.normalize((dims.exact_div(dims.prod(ins), dims.prod(outs)) + 1) * n)


def _fvcore_einsum(rec):
    # fvcore's einsum_flop_jit on torch's equation (the batch letter leading every operand, as
    # from_torch requires and the zoo writes): after renaming the letters a, b, c... by first
    # appearance, "abc,abd->acd" and "abc,adc->adb" count n*c*t*p, the multiply-accumulates.
    # Any other equation asks numpy.einsum_path(optimize="optimal") and parses its printed
    # "Optimized FLOP count: %.3e" (cost + 1, cost = product of every letter's size x (1, +1 when a
    # letter is summed away), one step for one or two operands), then floor(x / 2).
    lhs, out = rec.layer.equation.split("->")
    terms = lhs.split(",")
    size = {}
    for t, shape in zip(terms, rec.input_shapes):
        size.update(zip(t, shape))
    product = dims.normalize(_batch(rec) * dims.prod(size.values()))
    if not dims.is_concrete(product):
        raise NotReproduced(f"layer {rec.name!r} (Einsum): fvcore rounds its einsum count to 4 significant "
                            "digits, which archcalc reproduces for concrete sizes only")
    batch = next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in rec.layer.equation)
    eq = ",".join(batch + t for t in terms) + "->" + batch + out
    order = {}
    for c in eq:
        if c.isalpha():
            order.setdefault(c, chr(97 + len(order)))
    if "".join(order.get(c, c) for c in eq) in ("abc,abd->acd", "abc,adc->adb"):
        return product
    summed = bool(set(lhs.replace(",", "")) - set(out))
    return int(float(f"{product * (1 + summed) + 1:.3e}") // 2)


#: Quantities a rule may add up, each read from an archcalc LayerRecord (batch included).
TERMS: dict[str, Callable] = {
    "macs": lambda r: r.macs,
    "out": lambda r: r.output_elements,
    "in": _in,
    "bias_out": _bias_out,
    "affine_in": _affine_in,
    "batch_params": lambda r: dims.normalize(_batch(r) * r.params),
    "params_x_positions": _params_x_positions,
    "thop_conv_transpose": _thop_conv_transpose,
    "thop_adaptive_avg": _thop_adaptive_avg,
    "rows": _rows,
    "out_2d": _out_2d,
    "macs_unless_text_padding": _macs_unless_text_padding,
    "out_unless_text_padding": _out_unless_text_padding,
    "matmul_lhs_x_n": _matmul_lhs_x_n,
    "mha_projection_macs": _mha_projection_macs,
    "thop_adaptive_avg_nd": _thop_adaptive_avg_nd,
    "fvcore_einsum": _fvcore_einsum,
    "mha_activations": _mha_activations,
    "ptflops_mha_hook": _ptflops_mha_hook,
}


@dataclass(frozen=True)
class Rule:
    """``sum(coef * TERMS[term](record))`` with the reason, e.g. ``Rule({"macs": 1, "bias_out": 1}, "...")``."""

    terms: dict
    why: str

    def apply(self, rec):
        total = 0
        for term, coef in self.terms.items():
            total = total + coef * TERMS[term](rec)
        return dims.normalize(total)


@dataclass(frozen=True)
class Refused(Rule):
    """A tool's count that archcalc does not reproduce (it depends on run-time paths that were not
    measured): applying it raises, naming the reason, instead of guessing."""

    def apply(self, rec):
        raise NotReproduced(f"layer {rec.name!r} ({rule_key(rec)}): {self.why}")


def R(why: str, **terms) -> Rule:
    return Rule(dict(terms), why)


ZERO = {}  # terms of a rule that counts nothing


@dataclass(frozen=True)
class Convention:
    name: str
    tool: str  # how to get the tool's number
    unit: str
    rules: dict  # rule key -> Rule; a key is a layer kind, or "Kind[mode]" where the mode matters
    gaps: tuple = ()  # one-line explanations of how this total differs from archcalc's MACs
    default: Optional[Rule] = None  # only for conventions that by design count a closed set of ops
    #: True for tools that count through nn.Module forward hooks: a layer torch computes with a
    #: function call (``F.relu(x)``, ``torch.cat``) is then only counted by a ``"Kind()"`` rule
    #: (a patched functional), else 0.
    module_hooks: bool = False

    def rule(self, rec, functional: bool = False) -> Rule:
        key = rule_key(rec)
        if functional:
            r = self.rules.get(key + "()") or self.rules.get(rec.kind + "()")
            if r is not None:
                return r
            if self.module_hooks:
                return Rule({}, f"{self.name} counts through module hooks; torch computes this layer with a "
                                "function call (or a module type it has no hook for), which no hook sees: 0")
        r = self.rules.get(key) or self.rules.get(rec.kind) or self.default
        if r is None:
            raise ConventionError(f"convention {self.name!r} has no rule for layer {rec.name!r} ({key}); "
                                  f"add one to archcalc/conventions.py after reading {self.tool}'s source")
        return r


#: Conventions that can be applied to a graph recorded at the aten level (from_torch's fallback):
#: archcalc's own and torch's FlopCounterMode, which counts the same aten ops.
ATEN_LEVEL = ("archcalc", "flop_counter")

#: Tools whose count of an interpolation is not 0 (fvcore's upsample handles, ptflops' patched
#: F.interpolate, thop's upsample hook): the ones a per-item interpolation stand-in misleads.
COUNTS_INTERPOLATION = ("fvcore", "ptflops", "thop")

#: Tools that count the ops computing a weight inside forward (fvcore: aten::batch_norm on a
#: standardised kernel), so a layer with computed weights cannot be reproduced under them.
WEIGHT_WORK_SEEN = ("fvcore",)


def _unshared(rec):
    """A layer applied again with another layer's weights (``Shared``) is counted by its inner
    kind's rule (its params stay 0: they are counted at the owner); so is a layer applied per item
    (``PerItem``)."""
    from dataclasses import replace

    from .layers import PerItem, Shared

    if isinstance(rec.layer, PerItem):
        # the tool sees the inner module on every item; the record's totals (macs, output elements)
        # already span all items. A module that takes a fixed rank (N, C, *spatial) gets the items
        # folded into the batch (torch's (B*items, C, ...)); Linear and elementwise modules map over
        # the leading axes as they are.
        inner = rec.layer.layer
        if folds_items(rec.layer):
            rec = replace(rec, output_shape=tuple(rec.output_shape[1:]),
                          input_shapes=tuple(tuple(s[1:]) for s in rec.input_shapes))
        return _unshared(replace(rec, layer=inner, kind=inner.kind))
    if isinstance(rec.layer, Shared):
        inner = rec.layer.layer
        return replace(rec, layer=inner, kind=inner.kind), rec.layer.owner.endswith("(computed weights)")
    return rec, False


def _interpolates_per_item(layer) -> bool:
    while type(layer).__name__ == "PerItem":
        layer = layer.layer
        if type(layer).__name__ == "Interpolate":
            return True
    return False


def folds_items(layer) -> bool:
    """True for a ``PerItem`` whose inner module takes a fixed rank (conv, batch norm, pooling):
    torch runs it on ``(batch * items, C, *spatial)``."""
    from .rules import traits_of

    inner = getattr(layer, "layer", None)
    return type(layer).__name__ == "PerItem" and inner is not None and traits_of(inner).fixed_rank


def rule_key(rec) -> str:
    mode = getattr(rec.layer, "mode", None)
    call = getattr(rec.layer, "call", "functional")  # Softmax computed as a Tensor method or torch.softmax
    if isinstance(call, str) and call != "functional":
        mode = call
    return f"{rec.kind}[{mode}]" if isinstance(mode, str) else rec.kind


#: Layer kinds that torch models compute with a function or an operator rather than a module
#: (``x + y``, ``torch.cat``, ``torch.flatten``, slicing; a global average pool as ``x.mean((2, 3))``).
#: Used when the real module tree is unknown.
FUNCTIONAL_KINDS = ("Add", "Mul", "Scale", "Concat", "Slice", "Flatten", "Reshape", "Crop", "GlobalAvgPool2d")


def default_functional(result) -> set:
    return {r.name for r in result.layers if r.kind in FUNCTIONAL_KINDS}


@dataclass
class ConventionCount:
    convention: str
    total: object
    by_layer: dict = field(default_factory=dict)  # layer name -> count
    by_kind: dict = field(default_factory=dict)  # rule key (+ "()" for function calls) -> count
    why: dict = field(default_factory=dict)  # same keys -> the rule's reason


def count(result, convention: "str | Convention", functional=None) -> ConventionCount:
    """Count an :class:`archcalc.analysis.Result` under a named convention.

    ``functional`` names the layers the torch twin computes with a function call instead of a
    module (default: :data:`FUNCTIONAL_KINDS`); ``archcalc verify`` passes the exact set read from
    the real model (torchvision's GoogLeNet calls ``F.relu`` inside BasicConv2d, for example).
    """
    conv = get(convention) if isinstance(convention, str) else convention
    tracer = getattr(getattr(result, "graph", None), "tracer", "") or ""
    if tracer.startswith("dispatch") and conv.name not in ATEN_LEVEL:
        raise NotReproduced(f"{result.model} was recorded op by op at torch's dispatch level (from_torch's "
                              f"fallback tracer); {conv.name} counts source-level calls (jit ops, module hooks) "
                              "that this recording does not keep, so archcalc does not reproduce its total")
    functional = default_functional(result) if functional is None else set(functional)
    by_layer, by_kind, why = {}, {}, {}
    for rec in result.layers:
        if rec.kind == "Input":
            continue
        if conv.name in COUNTS_INTERPOLATION and _interpolates_per_item(rec.layer):
            raise NotReproduced(f"layer {rec.name!r} ({rec.kind}): an interpolation applied per item of a leading "
                                "axis (the zoo's stand-in for RAFT's grid_sample lookups and its per-iteration "
                                f"upsampling); torch runs grid_sample or an upsample on a reshaped batch, which "
                                f"{conv.name} counts by an op this graph does not spell, so archcalc does not "
                                "reproduce its total")
        rec, computed = _unshared(rec)
        if computed and conv.name in WEIGHT_WORK_SEEN:
            raise NotReproduced(f"layer {rec.name!r}: its weights are computed in forward (weight "
                                  f"standardisation, weight norm); {conv.name} counts that work and archcalc "
                                  "does not model it")
        is_fn = rec.name in functional
        rule = conv.rule(rec, is_fn)
        n = rule.apply(rec)
        by_layer[rec.name] = n
        key = rule_key(rec) + ("()" if is_fn and (conv.module_hooks or (rule_key(rec) + "()") in conv.rules) else "")
        by_kind[key] = dims.normalize(by_kind.get(key, 0) + n)
        why[key] = rule.why
    return ConventionCount(conv.name, dims.total(by_layer.values()), by_layer, by_kind, why)


def explain(result, convention: "str | Convention", functional=None) -> list:
    """Where a convention's total departs from archcalc's MACs: ``[(rule key, difference, reason)]``
    for every layer kind whose count differs, largest first."""
    mine = count(result, "archcalc", functional).by_kind
    theirs = count(result, convention, functional)
    out = []
    for key, n in theirs.by_kind.items():
        d = dims.normalize(n - mine.get(key, mine.get(key.rstrip("()"), 0)))
        if not (dims.is_concrete(d) and d == 0):
            out.append((key, d, theirs.why[key]))
    out.sort(key=lambda t: -abs(t[1]) if dims.is_concrete(t[1]) else 0)
    return out


def convention_lines(result, names) -> list:
    """Text for ``archcalc MODEL --convention NAME``: the total, then one line per layer kind where
    the convention departs from archcalc's MACs."""
    out = []
    for name in names:
        c = get(name)
        total = count(result, c).total
        out.append(f"{c.name}: {dims.fmt_int(total)} {c.unit}  (as printed by {c.tool})")
        for key, d, why in explain(result, c):
            sign = "+" if not dims.is_concrete(d) or d >= 0 else ""
            out.append(f"  {sign}{dims.fmt_int(d)} {key}: {why}")
        if c.module_hooks:
            out.append(f"  ({c.name} counts through module hooks; here {', '.join(FUNCTIONAL_KINDS)} layers are "
                       "taken as function calls; 'archcalc verify' reads the real module tree)")
    return out


def get(name: str) -> Convention:
    if name not in CONVENTIONS:
        raise ConventionError(f"unknown convention {name!r}; choose one of {', '.join(CONVENTIONS)}")
    return CONVENTIONS[name]


# ---------------------------------------------------------------------------------------------
# The tables. Zero rules carry their reason like any other.

_ACTS = ("ReLU", "ReLU6", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Hardsigmoid", "Hardswish", "SiLU", "GELU",
         "Softplus")
_NO_WORK = ("Flatten", "Identity", "Dropout", "Concat", "ZeroPad2d", "ChannelShuffle", "Slice", "Reshape", "Crop")


def _same(keys, rule):
    return {k: rule for k in keys}


ARCHCALC = Convention(
    "archcalc", "archcalc MODEL", "MACs",
    rules={},
    default=R("archcalc's own macs: multiply-accumulates of weights (conv, linear, matmul); bias adds, "
              "pooling, norms and activations are flops, not MACs", macs=1),
)

FVCORE = Convention(
    "fvcore", "fvcore.nn.FlopCountAnalysis(model, x).total()", "flops (fvcore: one per MAC)",
    gaps=(
        "adaptive_avg_pool2d: fvcore counts 1 per input element (vgg: 512*7*7 for the identity 7x7 pool)",
        "batch_norm (eval): fvcore counts 1 per element, 2 with affine; archcalc MACs count 0",
        "upsample: nearest 1, bilinear 4 per output element",
        "ReLU, max_pool2d, add, cat, mul: ignored or skipped by fvcore (0)",
    ),
    rules={
        "Conv2d": R("aten::_convolution: one flop per multiply-accumulate, no bias; a padding='same'/'valid' "
                    "conv runs aten::_convolution_mode, which has no handle (0)", macs_unless_text_padding=1),
        **_same(("ConvTranspose2d", "Linear"),
                R("conv/linear/matmul handles count one flop per multiply-accumulate, no bias", macs=1)),
        **_same(("BatchNorm2d", "BatchNorm1d"),
                R("batchnorm_flop_jit in eval: 1 per input element, 2 when affine", **{"in": 1, "affine_in": 1})),
        **_same(("AdaptiveAvgPool2d", "GlobalAvgPool2d"),
                R("aten::adaptive_avg_pool2d: elementwise_flop_counter(1, 0) = 1 per input element", **{"in": 1})),
        "GlobalAvgPool2d()": R("a global pool written x.mean((2, 3)) is aten::mean: no fvcore handle, 0", **ZERO),
        "Upsample[nearest]": R("aten::upsample_nearest2d: 1 per output element", out=1),
        "Upsample[bilinear]": R("aten::upsample_bilinear2d: 4 per output element", out=4),
        **_same(_ACTS + ("Add", "Mul", "Scale", "Softmax", "LocalResponseNorm"),
                R("elementwise aten ops are in fvcore's ignore list or unsupported: 0", **ZERO)),
        **_same(("MaxPool2d", "AvgPool2d", "AdaptiveMaxPool2d", "GlobalMaxPool2d"),
                R("no fvcore handle for this pooling op (reported as skipped): 0", **ZERO)),
        **_same(_NO_WORK, R("views/copies/dropout: ignored by fvcore: 0", **ZERO)),
    },
)

TORCHINFO = Convention(
    "torchinfo", "torchinfo.summary(model, input_size).total_mult_adds", "mult-adds",
    gaps=(
        "conv: every parameter, bias included, once per output position: archcalc MACs + bias adds",
        "linear: batch x params (weights + bias); for (T, F) inputs torchinfo ignores T",
        "batch norm: batch x 2C (its parameters once per sample), not per element",
        "layers without parameters (pooling, activations, adds) count 0",
    ),
    rules={
        **_same(("Conv2d", "ConvTranspose2d"),
                R("'Conv' modules: params (weight + bias) x batch x output H x W", params_x_positions=1)),
        **_same(("Linear", "BatchNorm2d", "BatchNorm1d"),
                R("other modules with parameters: output_size[0] (batch) x params", batch_params=1)),
        **_same(_ACTS + _NO_WORK + ("MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
                                    "GlobalAvgPool2d", "GlobalMaxPool2d", "LocalResponseNorm", "Softmax",
                                    "Add", "Mul", "Scale", "Upsample"),
                R("torchinfo only counts modules with parameters: 0", **ZERO)),
    },
    module_hooks=True,
)

FLOP_COUNTER = Convention(
    "flop_counter", "torch.utils.flop_counter.FlopCounterMode().get_total_flops()", "FLOPs",
    gaps=(
        "2 FLOPs per multiply-accumulate of conv/mm/addmm/bmm: exactly 2 x archcalc MACs",
        "bias adds, batch norm, pooling and activations are not counted (no registered formula)",
    ),
    rules={
        **_same(("Conv2d", "ConvTranspose2d", "Linear"),
                R("aten.convolution / addmm / mm formulas: 2 per multiply-accumulate, bias ignored", macs=2)),
        **_same(_ACTS + _NO_WORK + ("MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
                                    "GlobalAvgPool2d", "GlobalMaxPool2d", "BatchNorm2d", "BatchNorm1d",
                                    "LocalResponseNorm", "Softmax", "Add", "Mul", "Scale", "Upsample"),
                R("no flop formula registered for this aten op: 0", **ZERO)),
    },
)

PTFLOPS = Convention(
    "ptflops", "ptflops.get_model_complexity_info(model, (C, H, W), backend='pytorch')", "MACs",
    gaps=(
        "conv and linear: MACs + one bias add per output element",
        "ReLU, max/avg/adaptive pooling counted twice: the module hook, then the patched functional "
        "(F.relu, F.max_pool2d, F.adaptive_avg_pool2d) the module calls",
        "pooling: input elements (not outputs); batch norm: 1 per element, 2 when affine",
        "residual a + b / a += b: Python operators are not patched, so 0",
    ),
    rules={
        **_same(("Conv2d", "ConvTranspose2d", "Linear"),
                R("module hook: MACs + bias (one add per output element)", macs=1, bias_out=1)),
        **_same(("ReLU", "ELU", "GELU"),
                R("module hook counts output elements and the patched F.relu/elu/gelu it calls counts input "
                  "elements again", out=2)),
        **_same(("ReLU6", "LeakyReLU"),
                R("module hook: output elements (F.hardtanh / F.leaky_relu are not patched)", out=1)),
        "SiLU": R("no module hook, but the patched F.silu counts input elements", **{"in": 1}),
        **_same(("Sigmoid", "Tanh", "Hardsigmoid", "Hardswish", "Softplus"),
                R("no module hook and no patched functional: 0", **ZERO)),
        **_same(("MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "GlobalAvgPool2d"),
                R("pool hook counts input elements, and the patched F.*pool* it calls counts them again",
                  **{"in": 2})),
        **_same(("BatchNorm2d", "BatchNorm1d"),
                R("bn hook: input elements, x2 when affine (F.batch_norm is not patched)",
                  **{"in": 1, "affine_in": 1})),
        "Upsample[nearest]": R("upsample hook (output elements) + patched F.interpolate (output elements)", out=2),
        "Upsample[bilinear]": R("upsample hook (output elements) + patched F.interpolate (output elements)", out=2),
        "Softmax": R("patched F.softmax: input elements", **{"in": 1}),
        **_same(("Add", "Mul", "Scale"),
                R("torchvision/timm write a + b, a += b, a * b: operators ptflops does not patch", **ZERO)),
        **_same(_NO_WORK, R("no hook: 0", **ZERO)),
        # torch computes these layers with a function call: only ptflops' patched functionals count.
        **_same(("ReLU()", "ELU()", "GELU()", "SiLU()"),
                R("patched F.relu/elu/gelu/silu: input elements, once (no module hook)", **{"in": 1})),
        **_same(("MaxPool2d()", "AvgPool2d()", "AdaptiveAvgPool2d()", "AdaptiveMaxPool2d()"),
                R("patched F.*pool*: input elements, once (no module hook)", **{"in": 1})),
        "Softmax()": R("patched F.softmax: input elements", **{"in": 1}),
        "Upsample[nearest]()": R("patched F.interpolate: output elements", out=1),
        "Upsample[bilinear]()": R("patched F.interpolate: output elements", out=1),
    },
    module_hooks=True,
)

THOP = Convention(
    "thop", "thop.profile(model, inputs=(x,))[0]", "MACs",
    gaps=(
        "adaptive average pooling: (in_hw/out_hw + 1) per output element (vgg16: 2 x 512*7*7)",
        "batch norm: 2 per element, x2 again when affine (calculate_norm then the affine factor)",
        "only leaf modules with a hook count; functional ops (adds, cat) and unhooked modules are 0",
    ),
    rules={
        **_same(("Conv2d", "Linear"), R("output elements x in_channels/groups x k*k (no bias) = MACs", macs=1)),
        "ConvTranspose2d": R("the conv formula applied to the output: out x in_channels/groups x k*k",
                             thop_conv_transpose=1),
        **_same(("BatchNorm2d", "BatchNorm1d"),
                R("calculate_norm = 2 per element, doubled when affine", **{"in": 2, "affine_in": 2})),
        "AvgPool2d": R("count_avgpool: 1 per output element", out=1),
        **_same(("AdaptiveAvgPool2d", "GlobalAvgPool2d"),
                R("count_adap_avgpool: int((prod(in/out) + 1) x output elements) in float64",
                  thop_adaptive_avg=1)),
        "Upsample[nearest]": R("count_upsample: 1 per output element", out=1),
        "Upsample[bilinear]": R("count_upsample: 11 per output element", out=11),
        "Softmax": R("count_softmax: per row n exp + (n-1) adds + n divides", **{"in": 3, "rows": -1}),
        **_same(("ReLU", "ReLU6", "LeakyReLU", "MaxPool2d", "AdaptiveMaxPool2d", "GlobalMaxPool2d", "Dropout"),
                R("registered as zero_ops (or calculate_relu_flops = 0)", **ZERO)),
        **_same(("ELU", "Sigmoid", "Tanh", "Hardsigmoid", "Hardswish", "SiLU", "GELU", "Softplus",
                 "LocalResponseNorm", "Flatten", "Identity", "ZeroPad2d", "ChannelShuffle"),
                R("no thop hook for this module: 0", **ZERO)),
        **_same(("Add", "Mul", "Scale", "Concat", "Slice", "Reshape", "Crop"),
                R("functional op, invisible to module hooks: 0", **ZERO)),
    },
    module_hooks=True,
)

#: fvcore's ActivationCountAnalysis: output elements of conv / linear / matmul ops only.
FVCORE_ACTIVATIONS = Convention(
    "fvcore_activations", "fvcore.nn.ActivationCountAnalysis(model, x).total()", "elements",
    rules={**_same(("ConvTranspose2d", "Linear", "MatMul[matmul]", "MatMul[bmm]", "MatMul[@]", "Einsum"),
                   R("generic_activation_jit: output elements of conv/addmm/linear/matmul/bmm/einsum", out=1)),
           **_same(("Conv1d", "Conv2d", "Conv3d"),
                   R("generic_activation_jit: output elements of aten::_convolution; a padding='same'/'valid' "
                     "conv runs aten::_convolution_mode, which has no handle (0)", out_unless_text_padding=1)),
           **_same(("MultiheadAttention[need_weights]", "MultiheadAttention[no_weights]"),
                   R("generic_activation_jit on the aten::linear projections (and, with need_weights, the two "
                     "aten::bmm of the attention core): their output elements", mha_activations=1))},
    default=R("ActivationCountAnalysis only handles conv/linear/matmul ops: 0", **ZERO),
)

#: fvcore's operator names (``FlopCountAnalysis.by_operator``) -> the rule keys whose fvcore count
#: lands on them. Operators sharing a tuple are checked together: MultiheadAttention runs
#: aten::linear and aten::bmm, a zoo Einsum may be a matmul in torch (MViT's relative positions).
_FVCORE_MATRIX = ("Linear", "MatMul[matmul]", "MatMul[bmm]", "MatMul[@]", "Einsum",
                  "MultiheadAttention[need_weights]", "MultiheadAttention[no_weights]")
FVCORE_OPERATORS = {
    "conv": ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d"),
    **{op: _FVCORE_MATRIX for op in ("linear", "addmm", "matmul", "mm", "bmm", "einsum")},
    "batch_norm": ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "BatchNorm1d[train]", "BatchNorm2d[train]",
                   "BatchNorm3d[train]"),
    "layer_norm": ("LayerNorm", "LayerNorm2d"),
    "group_norm": ("GroupNorm",),
    "adaptive_avg_pool2d": ("AdaptiveAvgPool2d", "GlobalAvgPool2d"),
    "upsample_nearest2d": ("Upsample[nearest]", "Interpolate[nearest]"),
    "upsample_bilinear2d": ("Upsample[bilinear]", "Interpolate[bilinear]"),
}

#: Conventions for a count of operations, by name (the tool each mirrors).
CONVENTIONS = {c.name: c for c in (ARCHCALC, FVCORE, TORCHINFO, FLOP_COUNTER, PTFLOPS, THOP, FVCORE_ACTIVATIONS)}
#: The ones that count operations (FVCORE_ACTIVATIONS counts elements).
OPERATION_CONVENTIONS = ("archcalc", "fvcore", "torchinfo", "flop_counter", "ptflops", "thop")


# ---------------------------------------------------------------------------------------------
# Kinds for modern networks (transformers, 1-d/3-d nets, decoders), one block per tool. Read from
# the same tool versions as above; torch's FlopCounterMode checked live in tests/test_rules_modern.py.

_VIEWS = ("Permute", "Transpose", "Unsqueeze", "Squeeze", "Expand")
_REDUCE = ("Mean", "Sum", "Amax")
_POOLS_ND = ("MaxPool1d", "MaxPool3d", "AvgPool1d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool3d",
             "AdaptiveMaxPool1d", "AdaptiveMaxPool3d")
_INTERP = tuple(f"Interpolate[{m}]" for m in ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear"))
_PADS = ("ReflectionPad2d", "ReplicationPad2d", "MaxUnpool2d")
_MATMUL = ("MatMul[matmul]", "MatMul[bmm]", "MatMul[@]")
_NORMS = ("LayerNorm", "LayerNorm2d", "GroupNorm")
_MHA = ("MultiheadAttention[need_weights]", "MultiheadAttention[no_weights]")

FVCORE.rules.update({
    **_same(("Conv1d", "Conv3d"), R("aten::_convolution: one flop per multiply-accumulate, no bias; "
                                    "padding='same'/'valid' (aten::_convolution_mode): 0", macs_unless_text_padding=1)),
    "BatchNorm3d": R("batchnorm_flop_jit in eval: 1 per input element, 2 when affine", **{"in": 1, "affine_in": 1}),
    **_same(_NORMS, R("aten::layer_norm / aten::group_norm: norm_flop_counter = 4 per input element, 5 when affine",
                      **{"in": 4, "affine_in": 1})),
    **_same(_MATMUL, R("aten::matmul / aten::bmm: prod(a.shape) * b.shape[-1]", matmul_lhs_x_n=1)),
    "Einsum": R("aten::einsum: floor(numpy einsum_path's 'Optimized FLOP count' / 2), a count printed to 4 "
                "significant digits (2 x MACs + 1 for a contraction), parsed back; abc,abd->acd and "
                "abc,adc->adb are exact MACs", fvcore_einsum=1),
    "MultiheadAttention[need_weights]": R("F.multi_head_attention_forward under the jit trace: aten::linear "
                                          "projections and the two aten::bmm of the attention core", macs=1),
    "MultiheadAttention[no_weights]": R("aten::linear projections count; the core runs in "
                                        "aten::scaled_dot_product_attention, which has no handle (0)",
                                        mha_projection_macs=1),
    "ScaledDotProductAttention": R("aten::scaled_dot_product_attention: no fvcore handle, 0", **ZERO),
    "Interpolate[nearest]": R("aten::upsample_nearest2d: 1 per output element (1-d/3-d: no handle, 0)", out_2d=1),
    "Interpolate[bilinear]": R("aten::upsample_bilinear2d: 4 per output element", out_2d=4),
    **_same(_INTERP[1:3] + _INTERP[4:], R("no fvcore handle for this upsample op: 0", **ZERO)),
    **_same(_POOLS_ND, R("only adaptive_avg_pool2d has a handle; 1-d/3-d pooling: 0", **ZERO)),
    **_same(_VIEWS + _REDUCE + _PADS + ("Sub", "Div", "Mish"),
            R("views are in fvcore's ignore list; reductions, pads and elementwise ops have no handle: 0", **ZERO)),
})

FLOP_COUNTER.rules.update({
    **_same(("Conv1d", "Conv3d"), R("aten.convolution: 2 per multiply-accumulate, bias ignored", macs=2)),
    **_same(_MATMUL + ("Einsum", "ScaledDotProductAttention"),
            R("aten.mm / bmm (einsum and CPU attention decompose to bmm): 2 per multiply-accumulate", macs=2)),
    **_same(_MHA, Refused({}, "FlopCounterMode sees all of nn.MultiheadAttention, its projections only, or nothing, "
                              "depending on the run (grad mode, device, need_weights pick the fused or the "
                              "composite path); archcalc does not guess which")),
    **_same(_NORMS + ("BatchNorm3d",) + _POOLS_ND + _INTERP + _VIEWS + _REDUCE + _PADS + ("Sub", "Div", "Mish"),
            R("no flop formula registered for this aten op: 0", **ZERO)),
})

TORCHINFO.rules.update({
    **_same(("Conv1d", "Conv3d"), R("'Conv' modules: params (weight + bias) x batch x output positions",
                                    params_x_positions=1)),
    **_same(_NORMS + ("BatchNorm3d",), R("other modules with parameters: output_size[0] (batch) x params",
                                         batch_params=1)),
    **_same(_MHA, Refused({}, "torchinfo's count for MultiheadAttention (a tuple output, in_proj_* parameters "
                              "and a child Linear) was not measured; archcalc does not reproduce it")),
    **_same(_POOLS_ND + _INTERP + _VIEWS + _REDUCE + _PADS + _MATMUL + ("Einsum", "ScaledDotProductAttention",
                                                                          "Sub", "Div", "Mish"),
            R("torchinfo only counts modules with parameters: 0", **ZERO)),
})

PTFLOPS.rules.update({
    **_same(("Conv1d", "Conv3d"), R("module hook: MACs + bias (one add per output element)", macs=1, bias_out=1)),
    **_same(("BatchNorm3d", "GroupNorm"),
            R("bn hook (also for GroupNorm): input elements, x2 when affine", **{"in": 1, "affine_in": 1})),
    "LayerNorm": R("bn hook: input elements; it doubles them only when the module has an 'affine' attribute, "
                   "and nn.LayerNorm's is 'elementwise_affine': x1", **{"in": 1}),
    "LayerNorm2d": R("a LayerNorm subclass: ptflops maps exact types only, and F.layer_norm is not patched: 0", **ZERO),
    **_same(_POOLS_ND, R("pool hook counts input elements, and the patched F.*pool* it calls counts them again",
                         **{"in": 2})),
    **_same(tuple(k + "()" for k in _POOLS_ND), R("patched F.*pool*: input elements, once (no module hook)",
                                                  **{"in": 1})),
    **_same(_INTERP, R("upsample hook (output elements) + patched F.interpolate (output elements)", out=2)),
    **_same(tuple(k + "()" for k in _INTERP), R("patched F.interpolate: output elements", out=1)),
    **_same(_MATMUL[:2], R("torch.matmul / torch.bmm are patched: prod(a.shape) * b.shape[-1]", matmul_lhs_x_n=1)),
    **_same(tuple(k + "()" for k in _MATMUL[:2]), R("torch.matmul / torch.bmm are patched: prod(a.shape) * "
                                                    "b.shape[-1]", matmul_lhs_x_n=1)),
    "MatMul[@]": R("the @ operator (Tensor.__matmul__) is not patched: 0", **ZERO),
    "MatMul[@]()": R("the @ operator (Tensor.__matmul__) is not patched: 0", **ZERO),
    "MultiheadAttention[no_weights]": R("multihead_attention_counter_hook (q scaling, q/k/v projections as "
                                        "len x dim x dim, biases, per head QK^T + softmax + AV, the output "
                                        "projection with its bias); F.linear is not patched and the core runs "
                                        "in scaled_dot_product_attention, unpatched: the hook alone",
                                        ptflops_mha_hook=1),
    "MultiheadAttention[need_weights]": Refused({}, "ptflops' MultiheadAttention hook, plus torch.bmm and F.softmax "
                                                   "when torch takes its slow path (grad enabled), not on the fast "
                                                   "path (no_grad): which one ran is not recorded"),
    **_same(_VIEWS + _REDUCE + _PADS + ("Einsum", "ScaledDotProductAttention", "Sub", "Div", "Mish"),
            R("no module hook and no patched function: 0", **ZERO)),
})

THOP.rules.update({
    **_same(("Conv1d", "Conv3d"), R("count_convNd: output elements x in_channels/groups x prod(k) = MACs, no bias",
                                    macs=1)),
    **_same(("BatchNorm3d", "LayerNorm"), R("calculate_norm = 2 per element, doubled when affine",
                                            **{"in": 2, "affine_in": 2})),
    **_same(("GroupNorm", "LayerNorm2d"), R("no thop hook for this exact module type: 0", **ZERO)),
    **_same(("AvgPool1d", "AvgPool3d"), R("count_avgpool: 1 per output element", out=1)),
    **_same(("AdaptiveAvgPool1d", "AdaptiveAvgPool3d"),
            R("count_adap_avgpool: int((prod(in/out) + 1) x output elements) in float64", thop_adaptive_avg_nd=1)),
    **_same(("MaxPool1d", "MaxPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool3d"), R("registered as zero_ops", **ZERO)),
    "Interpolate[nearest]": R("count_upsample: 1 per output element", out=1),
    "Interpolate[linear]": R("count_upsample: 5 per output element", out=5),
    "Interpolate[bilinear]": R("count_upsample: 11 per output element", out=11),
    "Interpolate[bicubic]": R("count_upsample: 224 + 35 per output element", out=259),
    **_same(("Interpolate[trilinear]", "Interpolate[nearest-exact]"),
            R("count_upsample: mode not implemented, 0", **ZERO)),
    **_same(_MHA, R("no hook for MultiheadAttention, and its out_proj is a Linear subclass thop's exact-type map "
                    "misses: 0", **ZERO)),
    **_same(_VIEWS + _REDUCE + _PADS + _MATMUL + ("Einsum", "ScaledDotProductAttention", "Sub", "Div", "Mish"),
            R("functional op or module without a thop hook: 0", **ZERO)),
})

# archcalc.layers.LearnedTensor (appended by the zoo, issue 15): a parameter used in forward (ConvNeXt's
# layer scale, ViT's class token and position embedding) through an aten mul / add / cat.
_LEARNED_ELEMENTWISE = ("LearnedTensor[mul]", "LearnedTensor[add]")
_LEARNED_COPY = ("LearnedTensor[prepend]", "LearnedTensor[value]")
FVCORE.rules.update({**_same(_LEARNED_ELEMENTWISE, R("aten::mul / aten::add are in fvcore's ignore list: 0", **ZERO)),
                     **_same(_LEARNED_COPY, R("aten::cat / aten::index: no fvcore handle: 0", **ZERO))})
TORCHINFO.rules.update(_same(_LEARNED_ELEMENTWISE + _LEARNED_COPY,
                             R("a parameter used in forward is no module: no hook, 0", **ZERO)))
FLOP_COUNTER.rules.update(_same(_LEARNED_ELEMENTWISE + _LEARNED_COPY,
                                R("aten.mul / aten.add / aten.cat / aten.index have no flop formula: 0", **ZERO)))
PTFLOPS.rules.update(_same(_LEARNED_ELEMENTWISE + _LEARNED_COPY,
                           R("operators, indexing and torch.cat are not patched, no module hook: 0", **ZERO)))
THOP.rules.update(_same(_LEARNED_ELEMENTWISE + _LEARNED_COPY,
                        R("functional op, invisible to module hooks: 0", **ZERO)))

# Softmax called as x.softmax(dim) or torch.softmax (archcalc.layers.Softmax.mode): no module runs it,
# and ptflops patches F.softmax only.
_SOFTMAX_UNPATCHED = ("Softmax[method]", "Softmax[torch]")
PTFLOPS.rules.update(_same(_SOFTMAX_UNPATCHED + tuple(k + "()" for k in _SOFTMAX_UNPATCHED),
                           R("x.softmax / torch.softmax: ptflops patches F.softmax only, and no module hook runs: 0",
                             **ZERO)))
for _c in (THOP, TORCHINFO):
    _c.rules.update(_same(_SOFTMAX_UNPATCHED, R("a Tensor method or torch.softmax call: no module, no hook: 0", **ZERO)))

# Kinds the torch importer emits (archcalc.layers.Parameter, Unreached, Uncounted) and training-mode
# batch norm (kind "BatchNorm2d", rule key "BatchNorm2d[train]").
_IMPORTED_ZERO = R("a parameter read or an uncalled module's parameters: no operation", **ZERO)
_UNCOUNTED = Refused({}, "an op without an archcalc rule (imported with allow_partial): its count is unknown")
for _c in (FVCORE, FLOP_COUNTER, TORCHINFO, PTFLOPS, THOP):
    _c.rules.update({"Parameter": _IMPORTED_ZERO, "Unreached": _IMPORTED_ZERO, "Uncounted": _UNCOUNTED,
                     "Constant": R("a tensor created in forward (torch.arange, zeros): a fill, no operation", **ZERO),
                     "Index": R("aten.index (a table read through an index tensor): a gather, no operation",
                                **ZERO)})
ARCHCALC.rules.update({"Uncounted": _UNCOUNTED})
FVCORE.rules.update(_same(("BatchNorm1d[train]", "BatchNorm2d[train]", "BatchNorm3d[train]"),
                          R("batchnorm_flop_jit in training: norm_flop_counter = 4 per input element, 5 when affine",
                            **{"in": 4, "affine_in": 1})))

for _c in (FVCORE, FLOP_COUNTER, TORCHINFO, THOP):
    _c.rules.update({"Select": R("a view (aten::select is in fvcore's ignore list): 0", **ZERO),
                     "Pointwise": R("one-tensor elementwise math: no handle, hook or flop formula: 0", **ZERO)})
PTFLOPS.rules.update({"Select": R("a view: no hook: 0", **ZERO),
                      "Pointwise": Refused({}, "ptflops patches torch.add/torch.mul and the Tensor methods but not "
                                               "the operators; which spelling ran is not recorded")})
for _c in (FVCORE, FLOP_COUNTER, TORCHINFO, THOP, PTFLOPS):
    _c.rules.update({"Roll": R("a cyclic shift (aten::roll): no handle, hook or flop formula: 0", **ZERO)})
# Issue 14's copies, views and the vector norm (archcalc.layers: ConstantPad, UnfoldAxis, Unfold,
# Repeat, RepeatInterleave, VectorNorm), read from the same tool versions.
_COPY_KINDS = ("ConstantPad", "UnfoldAxis", "Unfold", "Fold", "Repeat", "RepeatInterleave", "SliceScatter")
FVCORE.rules.update({
    **_same(_COPY_KINDS, R("aten::constant_pad_nd / unfold / im2col / col2im / repeat / repeat_interleave / copy_: "
                           "views, ignored or no handle, 0", **ZERO)),
    "VectorNorm": R("aten::linalg_vector_norm / aten::norm: no fvcore handle, 0", **ZERO),
})
FLOP_COUNTER.rules.update(_same(_COPY_KINDS + ("VectorNorm",),
                                R("no flop formula registered for this aten op: 0", **ZERO)))
TORCHINFO.rules.update(_same(_COPY_KINDS + ("VectorNorm",),
                             R("torchinfo only counts modules with parameters: 0", **ZERO)))
PTFLOPS.rules.update(_same(_COPY_KINDS + ("VectorNorm",),
                           R("no module hook (nn.ZeroPad2d, nn.Unfold, nn.Fold) and no patched function "
                             "(F.pad, F.unfold, F.fold, Tensor.repeat, torch.norm): 0", **ZERO)))
THOP.rules.update(_same(_COPY_KINDS + ("VectorNorm",),
                        R("functional op or module without a thop hook: 0", **ZERO)))
# nn.LSTM: on meta tensors aten.lstm decomposes into an addmm for every step's input projection and
# an mm per recurrent step, which FlopCounterMode counts (archcalc's MACs equal them: checked in
# tests/test_torch_ops14.py); on the CPU the fused mkldnn kernel counts 0. The other tools' LSTM
# counts were not read: LSTM stays a known gap there.
FLOP_COUNTER.rules["LSTM"] = Refused({}, "FlopCounterMode counts torch's decomposition of aten.lstm (an addmm/mm per "
                                            "step: 2 per multiply-accumulate) on meta tensors, and nothing for the "
                                            "fused CPU (mkldnn) or cuDNN kernels; archcalc does not guess which ran")

# RMSNorm and the kinds added since carry their entries with their rule
# (archcalc.rules.Traits): registration writes them into the tables above.


# Kinds registered with Traits (archcalc.rules.register) write their entries into the tables above;
# loading the rules here fills them whichever module is imported first.
from . import rules as _rules  # noqa: E402,F401,I001
