"""Layer specifications: frozen dataclasses holding hyper-parameters only.

A layer never stores its input size: channels, height and width come from the graph when the
network is analysed, so one spec works for any input (and for symbolic ``H``, ``W``). Field names
follow torch.nn so a spec reads like the module it mirrors. The cost of each kind is computed by
exactly one rule in :mod:`archcalc.rules`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, Optional, Tuple, Union

from . import validate as V
from .errors import InvalidTypeError, InvalidValueError

IntOrPair = Union[int, Tuple[int, int]]


def pair(v: Any) -> Tuple[Any, Any]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise InvalidValueError(f"expected an int or a pair, got {v!r}")
        return (v[0], v[1])
    return (v, v)


class Layer:
    """Base class for every layer spec."""

    #: Name shown in tables and JSON (torch's module class name where one exists).
    @property
    def kind(self) -> str:
        return type(self).__name__

    #: True when the layer's output reuses its input's storage (in-place ReLU, views): it then
    #: materialises no new activation tensor.
    @property
    def reuses_input(self) -> bool:
        return bool(getattr(self, "inplace", False))

    def describe(self) -> str:
        """A short hyper-parameter summary for tables (``3x3 s2 p1``)."""
        return ""

    def to_dict(self) -> dict:
        out = {"kind": self.kind}
        for f in fields(self):  # type: ignore[arg-type]
            out[f.name] = getattr(self, f.name)
        return out


def _set(obj, name: str, value) -> None:
    if getattr(obj, name) is not value:
        object.__setattr__(obj, name, value)


def _pairs(obj, low: int, *names) -> None:
    """Each field an int or a pair of ints ``>= low``, stored as the pair (validate.int_pair)."""
    for n in names:
        object.__setattr__(obj, n, V.int_pair(obj, n, getattr(obj, n), low))


def _check_norm(obj) -> None:
    V.number(obj, "eps", obj.eps, 0, low_open=True)  # torch refuses eps = 0 in training
    V.number(obj, "momentum", obj.momentum, 0, 1)
    V.boolean(obj, "affine", obj.affine)
    V.boolean(obj, "track_running_stats", obj.track_running_stats)


def _check_connections(conv) -> None:
    """LeNet-5's sparse table: one sequence of input-map indices (ints >= 0) per output map."""
    table = conv.connections
    if not isinstance(table, (tuple, list)):
        raise InvalidTypeError(f"Conv2d.connections must be a list of index lists, got {V.show(table)}")
    for row in table:
        if not isinstance(row, (tuple, list)) or not row:
            raise InvalidTypeError(f"Conv2d.connections must hold non-empty lists of input-map indices, "
                                     f"got {V.show(row)}")
        for i in row:
            V.nonneg_int(conv, "connections", i)


def _four_paddings(layer) -> tuple:
    """``layer.padding``: one int >= 0 for every side, or (left, right, top, bottom)."""
    p = layer.padding
    if not isinstance(p, (tuple, list)):
        return (V.nonneg_int(layer, "padding", p),) * 4
    if len(p) != 4:
        raise InvalidValueError(f"{type(layer).__name__}.padding must be an integer or (left, right, top, bottom), "
                                f"got {V.show(p)}")
    return tuple(V.nonneg_int(layer, "padding", x) for x in p)


@dataclass(frozen=True)
class Input(Layer):
    """A graph input of per-sample ``shape`` (C, H, W) or (F,) or (T, F); batch is separate."""

    shape: tuple = ()

    def __post_init__(self):
        from .dims import DimSyntaxError, parse_shape

        shape = self.shape
        if isinstance(shape, str):
            try:
                shape = parse_shape(shape)
            except DimSyntaxError as e:
                raise InvalidValueError(f"Input.shape: {e}") from None
        if not isinstance(shape, (tuple, list)) or not shape:
            raise InvalidTypeError(f"Input.shape must be a non-empty shape such as (3, 224, 224), got {shape!r}")
        object.__setattr__(self, "shape", tuple(V.positive_dim(self, "shape", d) for d in shape))


@dataclass(frozen=True)
class Conv2d(Layer):
    """2-D convolution. ``padding`` is an int, a pair, ``'valid'`` or ``'same'``.

    ``connections`` (optional) is a sparse connection table: for each output map, the indices of
    the input maps it reads (LeNet-5's C3). ``None`` means dense (modulo ``groups``).
    """

    out_channels: int
    kernel_size: IntOrPair = 3
    stride: IntOrPair = 1
    padding: Union[IntOrPair, str] = 0
    dilation: IntOrPair = 1
    groups: int = 1
    bias: bool = True
    connections: Optional[tuple] = None

    def __post_init__(self):
        _set(self, "out_channels", V.positive_dim(self, "out_channels", self.out_channels))
        _pairs(self, 1, "kernel_size", "stride", "dilation")
        if isinstance(self.padding, str):
            V.one_of(self, "padding", self.padding, ("same", "valid"))
        else:
            _pairs(self, 0, "padding")
        _set(self, "groups", V.positive_dim(self, "groups", self.groups))
        V.boolean(self, "bias", self.bias)
        if self.connections is not None:
            _check_connections(self)

    def describe(self) -> str:
        k = self.kernel_size
        s = f"{k[0]}x{k[1]}" + (f" s{self.stride[0]}" if self.stride != (1, 1) else "")
        if isinstance(self.padding, str):
            s += f" {self.padding}"
        elif self.padding != (0, 0):
            s += f" p{self.padding[0]}" if self.padding[0] == self.padding[1] else f" p{self.padding}"
        if self.dilation != (1, 1):
            s += f" d{self.dilation[0]}"
        if self.groups != 1:
            s += f" g{self.groups}"
        if self.connections is not None:
            s += " sparse"
        return s


@dataclass(frozen=True)
class ConvTranspose2d(Layer):
    """Transposed convolution: ``out = (in-1)*s - 2p + d*(k-1) + output_padding + 1``."""

    out_channels: int
    kernel_size: IntOrPair = 2
    stride: IntOrPair = 1
    padding: IntOrPair = 0
    output_padding: IntOrPair = 0
    dilation: IntOrPair = 1
    groups: int = 1
    bias: bool = True
    #: torch's ``forward(x, output_size=...)``: the (H, W) to produce, which picks the output
    #: padding; with a second graph input its last two axes give the size instead.
    output_size: Optional[Any] = None  # a size or (H, W), each an int or a dimension such as "H"

    #: a second input (when present) supplies a size, not pixels
    rf_inputs = 1

    def __post_init__(self):
        _set(self, "out_channels", V.positive_dim(self, "out_channels", self.out_channels))
        _pairs(self, 1, "kernel_size", "stride", "dilation")
        _pairs(self, 0, "padding", "output_padding")
        _set(self, "groups", V.positive_dim(self, "groups", self.groups))
        V.boolean(self, "bias", self.bias)
        if self.output_size is not None:
            _set(self, "output_size", V.dim_pair(self, "output_size", self.output_size))

    def describe(self) -> str:
        k = self.kernel_size
        return f"{k[0]}x{k[1]} s{self.stride[0]} p{self.padding[0]}" + (
            f" op{self.output_padding[0]}" if self.output_padding != (0, 0) else ""
        )


@dataclass(frozen=True)
class MaxPool2d(Layer):
    kernel_size: IntOrPair = 2
    stride: Optional[IntOrPair] = None  # None: same as kernel_size (torch's default)
    padding: IntOrPair = 0
    dilation: IntOrPair = 1
    ceil_mode: bool = False

    def __post_init__(self):
        if self.stride is None:
            object.__setattr__(self, "stride", self.kernel_size)
        _pairs(self, 1, "kernel_size", "stride", "dilation")
        _pairs(self, 0, "padding")
        V.boolean(self, "ceil_mode", self.ceil_mode)

    def describe(self) -> str:
        k = self.kernel_size
        return f"{k[0]}x{k[1]} s{self.stride[0]}" + (f" p{self.padding[0]}" if self.padding != (0, 0) else "") + (
            " ceil" if self.ceil_mode else ""
        )


@dataclass(frozen=True)
class AvgPool2d(Layer):
    kernel_size: IntOrPair = 2
    stride: Optional[IntOrPair] = None
    padding: IntOrPair = 0
    ceil_mode: bool = False
    count_include_pad: bool = True

    def __post_init__(self):
        if self.stride is None:
            object.__setattr__(self, "stride", self.kernel_size)
        _pairs(self, 1, "kernel_size", "stride")
        _pairs(self, 0, "padding")
        V.boolean(self, "ceil_mode", self.ceil_mode)
        V.boolean(self, "count_include_pad", self.count_include_pad)

    describe = MaxPool2d.describe


@dataclass(frozen=True)
class Subsample2d(Layer):
    """LeNet-5's trainable sub-sampling (S2, S4): sum of a ``k x k`` window times a trainable
    coefficient plus a trainable bias, per feature map (LeCun et al. 1998, section II.B)."""

    kernel_size: IntOrPair = 2
    stride: Optional[IntOrPair] = None

    def __post_init__(self):
        if self.stride is None:
            object.__setattr__(self, "stride", self.kernel_size)
        _pairs(self, 1, "kernel_size", "stride")

    def describe(self) -> str:
        return f"{self.kernel_size[0]}x{self.kernel_size[1]} s{self.stride[0]} coef+bias"


@dataclass(frozen=True)
class AdaptiveAvgPool2d(Layer):
    """torch's adaptive average pooling to a fixed ``output_size``."""

    output_size: IntOrPair = 1

    def __post_init__(self):
        _pairs(self, 1, "output_size")

    def describe(self) -> str:
        return f"-> {self.output_size[0]}x{self.output_size[1]}"


@dataclass(frozen=True)
class AdaptiveMaxPool2d(Layer):
    output_size: IntOrPair = 1

    def __post_init__(self):
        _pairs(self, 1, "output_size")

    describe = AdaptiveAvgPool2d.describe


@dataclass(frozen=True)
class GlobalAvgPool2d(Layer):
    """Global average pooling to a (C,) vector (Keras' GlobalAveragePooling2D; NiN, GoogLeNet)."""


@dataclass(frozen=True)
class GlobalMaxPool2d(Layer):
    """Global max pooling to a (C,) vector."""


@dataclass(frozen=True)
class Linear(Layer):
    """Fully connected layer on the last axis."""

    out_features: int
    bias: bool = True

    def __post_init__(self):
        _set(self, "out_features", V.positive_dim(self, "out_features", self.out_features))
        V.boolean(self, "bias", self.bias)

    def describe(self) -> str:
        return f"-> {self.out_features}"


@dataclass(frozen=True)
class RBF(Layer):
    """LeNet-5's Euclidean RBF output layer: ``y_i = sum_j (x_j - w_ij)^2``. The paper's weights are
    fixed by hand (section II.B), so by default its parameters are non-trainable."""

    out_features: int
    trainable: bool = False

    def __post_init__(self):
        _set(self, "out_features", V.positive_dim(self, "out_features", self.out_features))
        V.boolean(self, "trainable", self.trainable)

    def describe(self) -> str:
        return f"-> {self.out_features}" + ("" if self.trainable else " fixed")


@dataclass(frozen=True)
class Flatten(Layer):
    """Reshape (C, H, W) to (C*H*W,). A view: no new tensor. ``start_dim``/``end_dim`` are
    per-sample axes (torch's ``flatten(x, 1)`` is the default 0..-1)."""

    start_dim: int = 0
    end_dim: int = -1

    def __post_init__(self):
        V.any_int(self, "start_dim", self.start_dim)
        V.any_int(self, "end_dim", self.end_dim)

    @property
    def reuses_input(self) -> bool:
        return True


@dataclass(frozen=True)
class Identity(Layer):
    @property
    def reuses_input(self) -> bool:
        return True


@dataclass(frozen=True)
class BatchNorm2d(Layer):
    """Batch normalisation over channels. Trainable gamma/beta when ``affine``; running mean/var
    (and torch's ``num_batches_tracked`` counter) are buffers, not parameters."""

    eps: float = 1e-5
    momentum: float = 0.1
    affine: bool = True
    track_running_stats: bool = True

    def __post_init__(self):
        _check_norm(self)


@dataclass(frozen=True)
class BatchNorm1d(Layer):
    eps: float = 1e-5
    momentum: float = 0.1
    affine: bool = True
    track_running_stats: bool = True

    def __post_init__(self):
        _check_norm(self)


@dataclass(frozen=True)
class LocalResponseNorm(Layer):
    """AlexNet's LRN across ``size`` neighbouring channels (torch.nn.LocalResponseNorm)."""

    size: int = 5
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0

    def __post_init__(self):
        V.positive_int(self, "size", self.size)
        for name in ("alpha", "beta", "k"):
            V.number(self, name, getattr(self, name))

    def describe(self) -> str:
        return f"size {self.size}"


#: Elementwise operations per output element charged to ``flops`` for each activation function.
#: archcalc's own documented convention (torch's FlopCounterMode charges 0 for all of them).
ACTIVATION_OPS = {
    "relu": 1,  # max(x, 0)
    "relu6": 2,  # min(max(x, 0), 6)
    "leaky_relu": 2,  # compare, multiply
    "elu": 4,
    "sigmoid": 4,  # neg, exp, add, div
    "tanh": 5,
    "hardsigmoid": 3,  # add, clamp, div
    "hardswish": 4,  # hardsigmoid then multiply
    "silu": 5,  # sigmoid then multiply
    "gelu": 8,  # tanh approximation
    "softplus": 3,
    "mish": 9,  # softplus (3), tanh (5), multiply
}

_ACT_KIND = {
    "relu": "ReLU",
    "relu6": "ReLU6",
    "leaky_relu": "LeakyReLU",
    "elu": "ELU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "hardsigmoid": "Hardsigmoid",
    "hardswish": "Hardswish",
    "silu": "SiLU",
    "gelu": "GELU",
    "softplus": "Softplus",
    "mish": "Mish",
}


@dataclass(frozen=True)
class Activation(Layer):
    """A pointwise activation; ``fn`` is one of :data:`ACTIVATION_OPS`."""

    fn: str = "relu"
    inplace: bool = False

    def __post_init__(self):
        if not isinstance(self.fn, str) or self.fn not in ACTIVATION_OPS:
            raise InvalidValueError(f"unknown activation {self.fn!r}; known: {', '.join(sorted(ACTIVATION_OPS))}")
        V.boolean(self, "inplace", self.inplace)

    @property
    def kind(self) -> str:
        return _ACT_KIND[self.fn]


def ReLU(inplace: bool = False) -> Activation:
    return Activation("relu", inplace)


@dataclass(frozen=True)
class Dropout(Layer):
    """Dropout: identity at inference (no new tensor, no work)."""

    p: float = 0.5
    inplace: bool = False

    def __post_init__(self):
        V.number(self, "p", self.p, 0, 1)
        V.boolean(self, "inplace", self.inplace)

    @property
    def reuses_input(self) -> bool:
        return True

    def describe(self) -> str:
        return f"p={self.p}"


@dataclass(frozen=True)
class Softmax(Layer):
    """Softmax along ``dim``. ``call`` records how torch computes it where no ``nn.Softmax`` module
    does: ``"functional"`` (``F.softmax``, the default), ``"method"`` (``x.softmax(dim)``) or
    ``"torch"`` (``torch.softmax``): the same work, but counters that patch functions see only
    ``F.softmax`` (archcalc.conventions keys the other two as ``Softmax[method]`` / ``Softmax[torch]``)."""

    dim: int = -1
    call: str = "functional"

    #: the text values of each text field (the spec loader and JSON Schema read them here)
    choices = {"call": ("functional", "method", "torch")}

    def __post_init__(self):
        V.any_int(self, "dim", self.dim)
        V.one_of(self, "call", self.call, self.choices["call"])


@dataclass(frozen=True)
class Add(Layer):
    """Elementwise sum of all inputs (residual connections). Inputs must have equal shapes."""

    inplace: bool = False

    def __post_init__(self):
        V.boolean(self, "inplace", self.inplace)


@dataclass(frozen=True)
class Mul(Layer):
    """Elementwise product with broadcasting of (C,1,1) or (C,) gates (squeeze-and-excitation)."""


@dataclass(frozen=True)
class Concat(Layer):
    """Concatenation along ``axis`` of the per-sample shape (0 = channels)."""

    axis: int = 0

    def __post_init__(self):
        V.any_int(self, "axis", self.axis)


@dataclass(frozen=True)
class Upsample(Layer):
    """Nearest or bilinear upsampling by an integer ``scale_factor``."""

    scale_factor: IntOrPair = 2
    mode: str = "nearest"

    def __post_init__(self):
        _pairs(self, 1, "scale_factor")
        V.one_of(self, "mode", self.mode, ("nearest", "bilinear"))

    def describe(self) -> str:
        return f"x{self.scale_factor[0]} {self.mode}"


@dataclass(frozen=True)
class ZeroPad2d(Layer):
    """Zero padding (left, right, top, bottom) or one int for all sides."""

    padding: Any = 1

    def __post_init__(self):
        _set(self, "padding", _four_paddings(self))


@dataclass(frozen=True)
class ChannelShuffle(Layer):
    """ShuffleNet's channel shuffle: a permutation, no arithmetic."""

    groups: int = 2

    def __post_init__(self):
        _set(self, "groups", V.positive_dim(self, "groups", self.groups))


@dataclass(frozen=True)
class Slice(Layer):
    """Take ``[start, stop)`` along ``axis`` of the per-sample shape (channel split in ShuffleNet v2,
    DPN's residual/dense split). torch slicing returns a view: no new tensor, no flops."""

    start: int = 0
    stop: Optional[int] = None
    axis: int = 0
    step: int = 1  # x[:, 0::2] (Swin's patch merging): every step-th index from start

    def __post_init__(self):
        _set(self, "start", V.nonneg_dim(self, "start", self.start))
        if self.stop is not None:
            _set(self, "stop", V.positive_dim(self, "stop", self.stop))
        V.any_int(self, "axis", self.axis)
        V.positive_int(self, "step", self.step)  # torch slicing refuses a step < 1

    @property
    def reuses_input(self) -> bool:
        return True

    def describe(self) -> str:
        step = f":{self.step}" if self.step != 1 else ""
        return f"[{self.start}:{'' if self.stop is None else self.stop}{step}] axis {self.axis}"


@dataclass(frozen=True)
class Scale(Layer):
    """Multiply by a fixed constant ``factor`` (not a parameter): the residual scaling of
    Inception-ResNet, ``out * scale + x`` (Szegedy et al. 2016, sec. 3.3 and Fig. 20)."""

    factor: float = 1.0

    def __post_init__(self):
        V.number(self, "factor", self.factor)

    def describe(self) -> str:
        return f"x{self.factor:g}"


# ---------------------------------------------------------------------------------------------
# Task heads (detection, segmentation, captioning). Convention for region-based detectors: a RoI
# layer reads one image's feature map and emits ``(R, C, oh, ow)``, where ``R`` (``num_rois``, an
# int or a symbol such as ``R``) is a per-image axis of proposals. Downstream per-RoI work either
# maps over leading axes already (Linear, activations) or is wrapped in :class:`PerItem`, which
# applies a layer to every item of the leading axis (Keras' TimeDistributed). Totals stay "per
# image times batch", so a count linear in R is exact for any R.


@dataclass(frozen=True)
class Crop(Layer):
    """Crop the spatial axes of the first input to the size of the second input (or to ``size``).

    ``offset`` is ``(top, left)`` (Caffe's Crop layer, FCN-8s) or ``"center"`` (U-Net's
    crop-and-concat; torchvision ``CenterCrop`` rounding: ``(in - out) // 2``). torch slicing
    returns a view, so no new tensor and no flops.
    """

    offset: Any = "center"
    size: Optional[Tuple[Any, Any]] = None  # (h, w); None: take it from the second input

    #: Only the first input is cropped: the second supplies a size, not pixels, so it does not widen
    #: the receptive field (see analysis).
    rf_inputs = 1

    def __post_init__(self):
        if isinstance(self.offset, str) and self.offset == "center":
            pass
        elif isinstance(self.offset, (tuple, list)):
            object.__setattr__(self, "offset", V.dim_pair(self, "offset", self.offset, 0))
        else:
            raise InvalidTypeError(f"Crop.offset must be 'center' or a pair (top, left) of sizes, "
                                     f"got {V.show(self.offset)}")
        if self.size is not None:
            object.__setattr__(self, "size", V.dim_pair(self, "size", self.size, 1))

    @property
    def reuses_input(self) -> bool:
        return True

    def describe(self) -> str:
        off = "center" if isinstance(self.offset, str) else f"offset {self.offset[0]},{self.offset[1]}"
        return off + (f" -> {self.size[0]}x{self.size[1]}" if self.size is not None else "")


class _RoIOp(Layer):
    """Shared by the RoI layers: a pair ``output_size`` and a ``num_rois`` count (int or symbol)."""

    def __post_init__(self):
        _pairs(self, 1, "output_size")
        _set(self, "num_rois", V.positive_dim(self, "num_rois", self.num_rois))
        V.number(self, "spatial_scale", self.spatial_scale, 0, low_open=True)
        if hasattr(self, "sampling_ratio"):
            V.nonneg_int(self, "sampling_ratio", self.sampling_ratio)  # 0: adaptive (flagged)

    def describe(self) -> str:
        from .dims import format_dim

        return f"{format_dim(self.num_rois)} RoIs -> {self.output_size[0]}x{self.output_size[1]}"


@dataclass(frozen=True)
class RoIAlign(_RoIOp):
    """torchvision ``roi_align``/``MultiScaleRoIAlign``: ``num_rois`` regions of one image's (C, H, W)
    feature map, each resampled to ``output_size`` with ``sampling_ratio**2`` bilinear samples per
    bin. Output ``(num_rois, C, oh, ow)``; ``num_rois`` may be a symbol (``"R"``)."""

    output_size: IntOrPair = 7
    num_rois: Any = "R"
    sampling_ratio: int = 2
    spatial_scale: float = 1 / 16


@dataclass(frozen=True)
class RoIPool(_RoIOp):
    """Fast R-CNN's RoI max pooling (torchvision ``roi_pool``): each of ``num_rois`` regions is split
    into an ``output_size`` grid of bins and each bin max-pooled. Output ``(num_rois, C, oh, ow)``."""

    output_size: IntOrPair = 7
    num_rois: Any = "R"
    spatial_scale: float = 1 / 16


@dataclass(frozen=True)
class PSRoIPool(_RoIOp):
    """R-FCN's position-sensitive RoI average pooling (torchvision ``ps_roi_pool``): input
    ``(k*k*D, H, W)``; bin (i, j) of each RoI averages only its own group of D maps. Output
    ``(num_rois, D, k, k)``."""

    output_size: IntOrPair = 7
    num_rois: Any = "R"
    spatial_scale: float = 1 / 16


@dataclass(frozen=True)
class PerItem(Layer):
    """Apply ``layer`` to each item of the leading per-sample axis (RoIs, time steps): Keras'
    ``TimeDistributed``; torch folds that axis into the batch. Params once, work times the items."""

    layer: Layer

    def __post_init__(self):
        V.layer_value(self, "layer", self.layer)

    @property
    def kind(self) -> str:
        # not the inner kind: code that sees "Conv2d" may expect a Conv2d spec
        return f"PerItem({self.layer.kind})"

    @property
    def reuses_input(self) -> bool:
        return self.layer.reuses_input

    def describe(self) -> str:
        inner = self.layer.describe()
        return ("per item" + (f": {inner}" if inner else ""))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "per_item": True, "layer": self.layer.to_dict()}


@dataclass(frozen=True)
class LSTM(Layer):
    """torch.nn.LSTM, ``num_layers`` stacked, on a (T, input_size) sequence; output (T, hidden_size),
    or (T, 2 * hidden_size) when ``bidirectional`` (a second LSTM reads the sequence backwards; the
    two outputs are concatenated, and feed the next layer). torch keeps two bias vectors per layer
    and direction (``bias_ih``, ``bias_hh``)."""

    hidden_size: int = 512
    num_layers: int = 1
    bias: bool = True
    bidirectional: bool = False

    def __post_init__(self):
        _set(self, "hidden_size", V.positive_dim(self, "hidden_size", self.hidden_size))
        V.positive_int(self, "num_layers", self.num_layers)
        V.boolean(self, "bias", self.bias)
        V.boolean(self, "bidirectional", self.bidirectional)

    def describe(self) -> str:
        return f"h={self.hidden_size}" + (f" x{self.num_layers}" if self.num_layers != 1 else "") + \
            (" bidirectional" if self.bidirectional else "")


@dataclass(frozen=True)
class Embedding(Layer):
    """torch.nn.Embedding: a (T,) sequence of token ids -> (T, embedding_dim) by table lookup."""

    num_embeddings: int = 10000
    embedding_dim: int = 512

    def __post_init__(self):
        _set(self, "num_embeddings", V.positive_dim(self, "num_embeddings", self.num_embeddings))
        _set(self, "embedding_dim", V.positive_dim(self, "embedding_dim", self.embedding_dim))

    def describe(self) -> str:
        return f"{self.num_embeddings} x {self.embedding_dim}"


@dataclass(frozen=True)
class Reshape(Layer):
    """torch ``view``/``reshape`` of the per-sample shape to ``shape`` (one entry may be -1). A view."""

    shape: tuple = (-1,)

    def __post_init__(self):
        if not isinstance(self.shape, (tuple, list)) or not self.shape:
            raise InvalidTypeError(f"Reshape.shape must be a non-empty list of sizes (one may be -1), "
                                     f"got {V.show(self.shape)}")
        shape = tuple(-1 if V.is_int(d) and d == -1 else V.positive_dim(self, "shape", d) for d in self.shape)
        if shape.count(-1) > 1:
            raise InvalidValueError(f"Reshape.shape may hold at most one -1, got {list(self.shape)}")
        object.__setattr__(self, "shape", shape)

    @property
    def reuses_input(self) -> bool:
        return True

    def describe(self) -> str:
        from .dims import format_dim

        return "-> " + "x".join(format_dim(d) for d in self.shape)


@dataclass(frozen=True)
class L2Norm(Layer):
    """SSD's L2 normalisation across channels with a learned per-channel scale (ParseNet; torchvision
    ``SSDFeatureExtractorVGG.scale_weight``): ``y = w_c * x / ||x||_2`` at every position."""

    eps: float = 1e-12

    def __post_init__(self):
        V.number(self, "eps", self.eps, 0, low_open=True)


@dataclass(frozen=True)
class FrozenBatchNorm2d(Layer):
    """torchvision ``ops.misc.FrozenBatchNorm2d`` (detection backbones): batch norm with fixed
    statistics *and* affine terms, all four held as buffers (weight, bias, running mean and
    variance), so it has no parameters at all."""

    eps: float = 1e-5

    def __post_init__(self):
        V.number(self, "eps", self.eps, 0, low_open=True)


@dataclass(frozen=True)
class Shared(Layer):
    """``layer`` applied again with weights owned by the node ``owner`` (one torch module called on
    several inputs: an FPN's RPN head on every level). Work is counted here, params at the owner."""

    layer: Layer
    owner: str

    def __post_init__(self):
        V.layer_value(self, "layer", self.layer)
        if isinstance(self.layer, Shared):
            raise InvalidValueError("Shared.layer cannot itself be Shared: name the node that owns the weights")
        V.text(self, "owner", self.owner)

    @property
    def kind(self) -> str:
        return f"Shared({self.layer.kind})"

    @property
    def reuses_input(self) -> bool:
        return self.layer.reuses_input

    def describe(self) -> str:
        inner = self.layer.describe()
        return f"weights of {self.owner}" + (f": {inner}" if inner else "")


# ---------------------------------------------------------------------------------------------
# Kinds for modern networks (transformers, 1-d/3-d nets, segmentation decoders), appended here so
# the classic kinds above keep their order. Axes are per-sample axes: the batch axis is not part
# of a layer's view of a tensor, so ``dim=0`` is torch's ``dim=1`` and negative axes count from the
# end as in torch. Every field is checked when the layer is made (archcalc.validate).


@dataclass(frozen=True)
class LayerNorm(Layer):
    """torch.nn.LayerNorm over the last ``len(normalized_shape)`` axes, which must equal
    ``normalized_shape``. ``elementwise_affine`` adds a weight (and a ``bias``) of that shape."""

    normalized_shape: Any
    eps: float = 1e-5
    elementwise_affine: bool = True
    bias: bool = True

    def __post_init__(self):
        ns = self.normalized_shape if isinstance(self.normalized_shape, (tuple, list)) else (self.normalized_shape,)
        if not ns:
            raise InvalidValueError(f"LayerNorm.normalized_shape must name at least one size, "
                                    f"got {V.show(self.normalized_shape)}")
        _set(self, "normalized_shape", tuple(V.positive_int(self, "normalized_shape", d) for d in ns))
        V.number(self, "eps", self.eps, 0, low_open=True)
        V.boolean(self, "elementwise_affine", self.elementwise_affine)
        V.boolean(self, "bias", self.bias)

    @property
    def affine(self) -> bool:
        return self.elementwise_affine

    def describe(self) -> str:
        return "over " + "x".join(map(str, self.normalized_shape))


@dataclass(frozen=True)
class LayerNorm2d(Layer):
    """Channels-first layer norm (timm ``LayerNorm2d``, ConvNeXt): normalises the C values at each
    position of a (C, H, W) map, with a per-channel weight and bias when ``affine``."""

    eps: float = 1e-6
    affine: bool = True

    def __post_init__(self):
        V.number(self, "eps", self.eps, 0, low_open=True)
        V.boolean(self, "affine", self.affine)


@dataclass(frozen=True)
class GroupNorm(Layer):
    """torch.nn.GroupNorm: statistics over each of ``num_groups`` channel groups (and all positions);
    per-channel weight and bias when ``affine``."""

    num_groups: int = 32
    eps: float = 1e-5
    affine: bool = True

    def __post_init__(self):
        V.positive_int(self, "num_groups", self.num_groups)
        V.number(self, "eps", self.eps, 0, low_open=True)
        V.boolean(self, "affine", self.affine)

    def describe(self) -> str:
        return f"{self.num_groups} groups"


class _Reduce(Layer):
    """Shared by the reductions: ``dim`` (one axis or several; ``None`` = all) and ``keepdim``."""

    def __post_init__(self):
        if self.dim is not None:
            _set(self, "dim", V.axes(self, "dim", self.dim))
        V.boolean(self, "keepdim", self.keepdim)

    def describe(self) -> str:
        d = "all" if self.dim is None else ",".join(map(str, self.dim))
        return f"over {d}" + (" keepdim" if self.keepdim else "")


@dataclass(frozen=True)
class Mean(_Reduce):
    """``x.mean(dim, keepdim)`` (timm's squeeze-excite pool is ``x.mean((2, 3), keepdim=True)``)."""

    dim: Any = None
    keepdim: bool = False


@dataclass(frozen=True)
class Sum(_Reduce):
    """``x.sum(dim, keepdim)``."""

    dim: Any = None
    keepdim: bool = False


@dataclass(frozen=True)
class Amax(_Reduce):
    """``x.amax(dim, keepdim)`` (also ``x.max(dim)[0]``)."""

    dim: Any = None
    keepdim: bool = False


@dataclass(frozen=True)
class Permute(Layer):
    """``x.permute(...)`` of the per-sample axes (a view)."""

    dims: Any = (0,)  # an axis or axes

    def __post_init__(self):
        _set(self, "dims", V.axes(self, "dims", self.dims))

    @property
    def reuses_input(self) -> bool:
        return True

    def describe(self) -> str:
        return "(" + ",".join(map(str, self.dims)) + ")"


@dataclass(frozen=True)
class Transpose(Layer):
    """``x.transpose(dim0, dim1)`` of two per-sample axes (a view)."""

    dim0: int = 0
    dim1: int = 1

    def __post_init__(self):
        V.axes(self, "dim0", self.dim0)
        V.axes(self, "dim1", self.dim1)

    @property
    def reuses_input(self) -> bool:
        return True

    def describe(self) -> str:
        return f"{self.dim0}<->{self.dim1}"


@dataclass(frozen=True)
class Unsqueeze(Layer):
    """``x.unsqueeze(dim)``: a new axis of size 1 (a view)."""

    dim: int = 0

    def __post_init__(self):
        V.axes(self, "dim", self.dim)

    @property
    def reuses_input(self) -> bool:
        return True


@dataclass(frozen=True)
class Squeeze(Layer):
    """``x.squeeze(dim)``: drop the given axes where they have size 1 (a view); ``None`` = all
    size-1 axes, which needs concrete sizes."""

    dim: Any = None

    def __post_init__(self):
        if self.dim is not None:
            _set(self, "dim", V.axes(self, "dim", self.dim))

    @property
    def reuses_input(self) -> bool:
        return True


@dataclass(frozen=True)
class Expand(Layer):
    """``x.expand(*sizes)`` to a per-sample ``shape`` (``-1`` keeps an axis): a view, stride 0.
    ``over_batch``: the input does not depend on the sample (a parameter, work on parameters alone)
    and torch expands it over the batch (``cls_token.expand(B, -1, -1)``): work on the result is
    then done for every sample, not once per forward (analysis)."""

    shape: tuple
    over_batch: bool = False

    def __post_init__(self):
        if not isinstance(self.shape, (tuple, list)) or not self.shape:
            raise InvalidTypeError(f"Expand.shape must be a non-empty list of sizes (-1 keeps an axis), "
                                   f"got {V.show(self.shape)}")
        _set(self, "shape", tuple(-1 if V.is_int(d) and d == -1 else V.positive_dim(self, "shape", d)
                                  for d in self.shape))
        V.boolean(self, "over_batch", self.over_batch)

    @property
    def reuses_input(self) -> bool:
        return True


@dataclass(frozen=True)
class MatMul(Layer):
    """``a @ b`` / ``torch.matmul`` / ``torch.bmm`` of two tensors with torch's broadcasting of the
    leading axes. Both operands need at least 2 per-sample axes. ``mode`` records how torch was
    called (``"matmul"``, ``"bmm"`` or ``"@"``): the same work, but counters that patch functions
    see only some spellings."""

    mode: str = "matmul"

    #: the text values of each text field (the spec loader and JSON Schema read them here)
    choices = {"mode": ("matmul", "bmm", "@")}

    def __post_init__(self):
        V.one_of(self, "mode", self.mode, self.choices["mode"])


@dataclass(frozen=True)
class Einsum(Layer):
    """``torch.einsum(equation, *operands)`` over per-sample operands (the batch letter removed)."""

    equation: str = "ij,jk->ik"

    def __post_init__(self):
        eq = V.text(self, "equation", self.equation).replace(" ", "")
        if not re.fullmatch(r"[A-Za-z]*(,[A-Za-z]*)*->[A-Za-z]*", eq) or "..." in eq:
            raise InvalidValueError(f"Einsum.equation must be explicit like 'ij,jk->ik' (letters, commas, one "
                                    f"'->', no '...'), got {V.show(self.equation)}")
        _set(self, "equation", eq)

    def describe(self) -> str:
        return self.equation


@dataclass(frozen=True)
class ScaledDotProductAttention(Layer):
    """``F.scaled_dot_product_attention(q, k, v)``: q (..., L, E), k (..., S, E), v (..., S, Ev)
    -> (..., L, Ev). ``is_causal`` changes the mask, not the count (torch computes every score)."""

    is_causal: bool = False

    def __post_init__(self):
        V.boolean(self, "is_causal", self.is_causal)


@dataclass(frozen=True)
class MultiheadAttention(Layer):
    """torch.nn.MultiheadAttention with ``batch_first=True``: query (L, E), key (S, kdim), value
    (S, vdim) per sample -> (L, E). One input means self-attention (q = k = v)."""

    embed_dim: int = 512
    num_heads: int = 8
    bias: bool = True
    kdim: Optional[int] = None
    vdim: Optional[int] = None
    add_bias_kv: bool = False
    #: the forward call's ``need_weights``: with False torch runs the attention core through
    #: scaled_dot_product_attention, which some counters do not see (conventions key on it)
    need_weights: bool = True

    def __post_init__(self):
        V.positive_int(self, "embed_dim", self.embed_dim)
        V.positive_int(self, "num_heads", self.num_heads)
        if self.embed_dim % self.num_heads:
            raise InvalidValueError(f"MultiheadAttention.embed_dim {self.embed_dim} is not divisible by "
                                    f"num_heads {self.num_heads}")
        V.boolean(self, "bias", self.bias)
        V.boolean(self, "add_bias_kv", self.add_bias_kv)
        V.boolean(self, "need_weights", self.need_weights)
        for f in ("kdim", "vdim"):
            if getattr(self, f) is not None:
                V.positive_int(self, f, getattr(self, f))

    @property
    def mode(self) -> str:
        return "need_weights" if self.need_weights else "no_weights"

    def describe(self) -> str:
        return f"E={self.embed_dim} h={self.num_heads}"


@dataclass(frozen=True)
class _ConvNd(Layer):
    """Shared by Conv1d / Conv3d: the fields, as tuples of ``spatial`` ints; padding may be 'same'
    or 'valid'."""

    out_channels: int = 1
    kernel_size: Any = 3
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    groups: int = 1
    bias: bool = True
    spatial = 2

    def __post_init__(self):
        n = self.spatial
        V.positive_int(self, "out_channels", self.out_channels)
        _set(self, "kernel_size", V.int_tuple(self, "kernel_size", self.kernel_size, n, 1))
        _set(self, "stride", V.int_tuple(self, "stride", self.stride, n, 1))
        _set(self, "dilation", V.int_tuple(self, "dilation", self.dilation, n, 1))
        if isinstance(self.padding, str):
            V.one_of(self, "padding", self.padding, ("same", "valid"))
        else:
            _set(self, "padding", V.int_tuple(self, "padding", self.padding, n, 0))
        V.positive_int(self, "groups", self.groups)
        V.boolean(self, "bias", self.bias)

    def describe(self) -> str:
        s = "x".join(map(str, self.kernel_size))
        if set(self.stride) != {1}:
            s += " s" + "x".join(map(str, self.stride))
        if isinstance(self.padding, str):
            s += f" {self.padding}"
        elif set(self.padding) != {0}:
            s += " p" + "x".join(map(str, self.padding))
        return s + (f" g{self.groups}" if self.groups != 1 else "")


@dataclass(frozen=True)
class Conv1d(_ConvNd):
    """1-d convolution on a (C, L) input."""

    spatial = 1


@dataclass(frozen=True)
class Conv3d(_ConvNd):
    """3-d convolution on a (C, D, H, W) input."""

    spatial = 3


@dataclass(frozen=True)
class BatchNorm3d(Layer):
    """Batch norm over the channels of a (C, D, H, W) input; same convention as BatchNorm2d."""

    eps: float = 1e-5
    momentum: float = 0.1
    affine: bool = True
    track_running_stats: bool = True

    def __post_init__(self):
        _check_norm(self)


class _PoolNd(Layer):
    spatial = 2

    def __post_init__(self):
        n = self.spatial
        _set(self, "kernel_size", V.int_tuple(self, "kernel_size", self.kernel_size, n, 1))
        _set(self, "stride", self.kernel_size if self.stride is None else V.int_tuple(self, "stride", self.stride, n, 1))
        _set(self, "padding", V.int_tuple(self, "padding", self.padding, n, 0))
        if hasattr(self, "dilation"):
            _set(self, "dilation", V.int_tuple(self, "dilation", self.dilation, n, 1))
        V.boolean(self, "ceil_mode", self.ceil_mode)
        if hasattr(self, "count_include_pad"):
            V.boolean(self, "count_include_pad", self.count_include_pad)

    def describe(self) -> str:
        return "x".join(map(str, self.kernel_size)) + " s" + "x".join(map(str, self.stride))


@dataclass(frozen=True)
class MaxPool1d(_PoolNd):
    kernel_size: Any = 2
    stride: Any = None
    padding: Any = 0
    dilation: Any = 1
    ceil_mode: bool = False
    spatial = 1


@dataclass(frozen=True)
class MaxPool3d(_PoolNd):
    kernel_size: Any = 2
    stride: Any = None
    padding: Any = 0
    dilation: Any = 1
    ceil_mode: bool = False
    spatial = 3


@dataclass(frozen=True)
class AvgPool1d(_PoolNd):
    kernel_size: Any = 2
    stride: Any = None
    padding: Any = 0
    ceil_mode: bool = False
    count_include_pad: bool = True
    spatial = 1


@dataclass(frozen=True)
class AvgPool3d(_PoolNd):
    kernel_size: Any = 2
    stride: Any = None
    padding: Any = 0
    ceil_mode: bool = False
    count_include_pad: bool = True
    spatial = 3


class _AdaptiveNd(Layer):
    spatial = 2

    def __post_init__(self):
        _set(self, "output_size", V.int_tuple(self, "output_size", self.output_size, self.spatial, 1))

    def describe(self) -> str:
        return "-> " + "x".join(map(str, self.output_size))


@dataclass(frozen=True)
class AdaptiveAvgPool1d(_AdaptiveNd):
    output_size: Any = 1
    spatial = 1


@dataclass(frozen=True)
class AdaptiveAvgPool3d(_AdaptiveNd):
    output_size: Any = 1
    spatial = 3


@dataclass(frozen=True)
class AdaptiveMaxPool1d(_AdaptiveNd):
    output_size: Any = 1
    spatial = 1


@dataclass(frozen=True)
class AdaptiveMaxPool3d(_AdaptiveNd):
    output_size: Any = 1
    spatial = 3


class _Pad2d(Layer):
    def __post_init__(self):
        _set(self, "padding", _four_paddings(self))

    def describe(self) -> str:
        return "pad " + ",".join(map(str, self.padding))


@dataclass(frozen=True)
class ReflectionPad2d(_Pad2d):
    """Reflection padding (left, right, top, bottom); each must be smaller than its axis."""

    padding: Any = 1


@dataclass(frozen=True)
class ReplicationPad2d(_Pad2d):
    """Edge-replicating padding (left, right, top, bottom)."""

    padding: Any = 1


@dataclass(frozen=True)
class MaxUnpool2d(Layer):
    """torch.nn.MaxUnpool2d on (values, indices): ``out = (in - 1)*s - 2p + k`` per axis, or
    ``output_size`` (H, W) when given."""

    kernel_size: Any = 2
    stride: Any = None
    padding: Any = 0
    output_size: Any = None

    #: only the values carry pixels; the indices are positions
    rf_inputs = 1

    def __post_init__(self):
        _set(self, "kernel_size", V.int_pair(self, "kernel_size", self.kernel_size, 1))
        _set(self, "stride", self.kernel_size if self.stride is None else V.int_pair(self, "stride", self.stride, 1))
        _set(self, "padding", V.int_pair(self, "padding", self.padding, 0))
        if self.output_size is not None:
            _set(self, "output_size", V.int_pair(self, "output_size", self.output_size, 1))


#: Elementwise flops per output element for each interpolation mode (archcalc's documented
#: convention): nearest modes copy (0); linear blends 2 taps (2 mul + 1 add), bilinear 4 taps
#: (4 mul + 3 add), trilinear 8 (8 mul + 7 add), bicubic 16 taps (16 mul + 15 add). Index and
#: weight computation per row/column is not counted.
INTERPOLATE_OPS = {"nearest": 0, "nearest-exact": 0, "linear": 3, "bilinear": 7, "bicubic": 31, "trilinear": 15}
_INTERPOLATE_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _one_to_three(layer, field: str, value) -> tuple:
    """One value or 1 to 3 of them (one per spatial axis of a 1-d, 2-d or 3-d input)."""
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not 1 <= len(vals) <= 3:
        raise InvalidValueError(f"{type(layer).__name__}.{field} must be one value or 1 to 3 values, got {V.show(value)}")
    return vals


@dataclass(frozen=True)
class Interpolate(Layer):
    """``F.interpolate`` / ``nn.Upsample`` with ``size=`` or any ``scale_factor`` (1.5, 0.5...).

    With a scale factor torch's output size is ``floor(in * scale)`` per axis; ``scale_factor`` is
    kept as an exact fraction of the float given. ``mode='area'`` is adaptive average pooling in
    torch and is imported as such. The factor is kept as the float given (its exact binary value is
    what the rule multiplies by)."""

    size: Any = None
    scale_factor: Any = None
    mode: str = "nearest"
    align_corners: Optional[bool] = None

    choices = {"mode": tuple(INTERPOLATE_OPS)}

    def __post_init__(self):
        from fractions import Fraction

        V.one_of(self, "mode", self.mode, self.choices["mode"])
        if self.align_corners is not None:
            V.boolean(self, "align_corners", self.align_corners)
            if self.mode.startswith("nearest"):  # as torch: the corners matter only when interpolating
                raise InvalidValueError(f"Interpolate.align_corners must be null with mode {self.mode!r}, "
                                        f"got {self.align_corners!r}")
        if self.size is not None:
            _set(self, "size", tuple(V.positive_dim(self, "size", d) for d in _one_to_three(self, "size", self.size)))
        if self.scale_factor is not None:
            out = []
            for f in _one_to_three(self, "scale_factor", self.scale_factor):
                f = float(f) if isinstance(f, Fraction) else f
                V.number(self, "scale_factor", f, 0, low_open=True)
                out.append(int(f) if Fraction(f).denominator == 1 else float(f))
            _set(self, "scale_factor", tuple(out))
        if (self.size is None) == (self.scale_factor is None):
            raise InvalidValueError("Interpolate needs exactly one of size and scale_factor, got "
                                    f"size={V.show(self.size)}, scale_factor={V.show(self.scale_factor)}")

    def describe(self) -> str:
        from .dims import format_dim

        if self.size is not None:
            return "-> " + "x".join(format_dim(d) for d in self.size) + f" {self.mode}"
        return "x" + ",".join(format(float(f), "g") for f in self.scale_factor) + f" {self.mode}"


@dataclass(frozen=True)
class Sub(Layer):
    """Elementwise ``a - b`` with torch broadcasting."""


@dataclass(frozen=True)
class Div(Layer):
    """Elementwise ``a / b`` with torch broadcasting."""


# Appended by the zoo (issue 15): learned tensors that torchvision modules apply in ``forward``
# without a submodule (ConvNeXt's layer scale, ViT's class token and position embedding).


@dataclass(frozen=True)
class LearnedTensor(Layer):
    """An ``nn.Parameter`` of per-sample ``shape`` combined with the input in ``forward``:
    ``op='mul'`` multiplies (ConvNeXt's ``layer_scale * x``, shape (C, 1, 1)), ``'add'`` adds
    (ViT's ``x + pos_embedding``, shape (S, D)), both with torch broadcasting; ``'prepend'``
    concatenates it before the input along ``axis`` (ViT's class token, shape (1, D): ``cat([token,
    x], dim=1)``). Its ``prod(shape)`` elements are trainable parameters, unless ``stored`` says
    how many the module keeps: a tensor gathered from a smaller table (Swin's relative position
    bias: a ``(2w-1)^2 x heads`` table indexed into ``heads x w^2 x w^2``, the index a buffer of
    ``index`` elements), or 0 for a constant built in ``forward`` (Swin's shifted-window mask).
    ``op='value'``: the (gathered) tensor itself is the output, an operand of a later layer (MViT v2's
    relative position tables ``rel_pos_h[dist_h]`` in its einsums); the input is read only to order
    the node after it."""

    shape: tuple = (1,)
    op: str = "mul"
    axis: int = 0
    stored: Optional[int] = None
    index: int = 0

    choices = {"op": ("mul", "add", "prepend", "value")}

    def __post_init__(self):
        shape = self.shape if isinstance(self.shape, (tuple, list)) else (self.shape,)
        if not shape:
            raise InvalidValueError(f"LearnedTensor.shape must name at least one size, got {self.shape!r}")
        _set(self, "shape", tuple(V.positive_int(self, "shape", d) for d in shape))
        V.one_of(self, "op", self.op, self.choices["op"])
        V.axes(self, "axis", self.axis)
        if self.stored is not None:
            V.nonneg_int(self, "stored", self.stored)
        V.nonneg_int(self, "index", self.index)

    @property
    def mode(self) -> str:
        return self.op

    def describe(self) -> str:
        return f"{self.op} " + "x".join(map(str, self.shape)) + (f" axis {self.axis}" if self.op == "prepend" else "")


# ---------------------------------------------------------------------------------------------
# Kinds the torch importer emits besides real layers: parameters read directly by ``forward``,
# parameters of modules the forward never reaches, and ops without a rule under ``allow_partial``.


@dataclass(frozen=True)
class Parameter(Layer):
    """A parameter (or buffer) tensor ``forward`` reads directly (ViT's class token and position
    embedding, a layer-scale gamma), once per tensor however often it is read. ``shape`` is the
    shape it has in the graph's per-sample view (a leading batch-broadcast 1 removed). ``role``:
    ``trainable``, ``frozen`` (requires_grad False) or ``buffer``. It is fed by the graph input only
    so the graph stays connected: it reads no pixels and adds no activation."""

    shape: tuple = ()
    role: str = "trainable"
    numel: int = 0
    path: str = ""
    #: read after torch expanded it over the batch (a class token after ``.expand(B, -1, -1)``, a
    #: tensor computed from ``torch.zeros((B, ...))``): work on it is then done for every sample
    expanded: bool = False

    rf_inputs = 1
    reads_pixels = False  # its field: none; a join ignores it (analysis)

    def __post_init__(self):
        shape = self.shape if isinstance(self.shape, (tuple, list)) else (self.shape,)
        _set(self, "shape", tuple(V.positive_int(self, "shape", d) for d in shape))  # () for a scalar parameter
        V.one_of(self, "role", self.role, ("trainable", "frozen", "buffer"))
        V.nonneg_int(self, "numel", self.numel)
        if self.path != "":  # the module path, when the importer knows it
            V.text(self, "path", self.path)
        V.boolean(self, "expanded", self.expanded)

    @property
    def batch_free(self) -> bool:  # the same tensor for every sample: work on it alone is once per forward
        return not self.expanded

    @property
    def reuses_input(self) -> bool:
        return True

    def describe(self) -> str:
        return self.path


@dataclass(frozen=True)
class Unreached(Layer):
    """Parameters of modules the traced forward never calls (GoogLeNet's and Inception v3's
    auxiliary heads in eval mode): listed on their own line so every parameter of the module is
    accounted for. No work, no activation."""

    params: int = 0
    frozen_params: int = 0
    buffers: int = 0
    modules: tuple = ()

    reads_pixels = False  # no work: no field (analysis)

    def __post_init__(self):
        for f in ("params", "frozen_params", "buffers"):
            V.nonneg_int(self, f, getattr(self, f))
        if not isinstance(self.modules, (tuple, list)):
            raise InvalidTypeError(f"Unreached.modules must be a list of module paths, got {V.show(self.modules)}")
        _set(self, "modules", tuple(V.text(self, "modules", m) for m in self.modules))

    @property
    def reuses_input(self) -> bool:
        return True

    def describe(self) -> str:
        if not self.params and not self.frozen_params and self.buffers:  # a buffer forward never reads
            return "not read: " + ", ".join(self.modules)
        return "not called: " + ", ".join(self.modules)


@dataclass(frozen=True)
class Uncounted(Layer):
    """An op archcalc has no rule for, kept in the graph with its traced output ``shape`` when the
    import was asked for a partial result (``allow_partial=True``). Its cost is unknown, never 0:
    totals list it under ``uncounted``."""

    op: str
    shape: tuple = ()

    #: read by the analysis totals
    uncounted = True

    def __post_init__(self):
        V.text(self, "op", self.op)  # an op without a rule is named, never anonymous
        shape = self.shape if isinstance(self.shape, (tuple, list)) else (self.shape,)
        _set(self, "shape", tuple(V.positive_int(self, "shape", d) for d in shape))  # () for a scalar per sample

    def describe(self) -> str:
        return f"NOT COUNTED: {self.op}"


def _training_batch_norm(base):
    """The same batch norm in training mode (batch statistics): only conventions differ (fvcore
    counts 4-5 per element instead of 1-2), so the kind stays ``base``'s and ``mode`` is 'train'."""

    cls = dataclass(frozen=True)(type(f"Training{base.__name__}", (base,), {
        "__doc__": f"{base.__name__} in training mode (batch statistics); same rule, kind {base.__name__}[train].",
        "__module__": __name__,
        "mode": "train",
        "kind_name": base.__name__,
        "kind": property(lambda self: base.__name__),
    }))
    return cls


TrainingBatchNorm1d = _training_batch_norm(BatchNorm1d)
TrainingBatchNorm2d = _training_batch_norm(BatchNorm2d)
TrainingBatchNorm3d = _training_batch_norm(BatchNorm3d)


#: Elementwise flops per element of the one-tensor math ops the importer maps to Pointwise
#: (archcalc's documented convention: one per element; clamp/clip two comparisons).
POINTWISE_OPS = {
    "add_scalar": 1, "sub_scalar": 1, "div_scalar": 1, "rsub": 1, "radd": 1, "rmul": 1, "rtruediv": 1, "neg": 1,
    "pow": 1, "sqrt": 1, "rsqrt": 1, "exp": 1, "log": 1, "abs": 1, "clamp": 2, "clip": 2, "erf": 1,
    "reciprocal": 1, "square": 1, "sign": 1, "floor": 1, "ceil": 1, "round": 1, "invert": 1, "clamp_min": 1,
    "clamp_max": 1,
    "sin": 1, "cos": 1,  # Fourier position encodings built in forward (XCiT, EdgeNeXt)
}


@dataclass(frozen=True)
class Pointwise(Layer):
    """A one-tensor elementwise math op (``x + 1``, ``x.sqrt()``, ``x.clamp(0, 1)``):
    :data:`POINTWISE_OPS` flops per element, no params, a new tensor."""

    op: str = "neg"

    choices = {"op": tuple(POINTWISE_OPS)}

    def __post_init__(self):
        V.one_of(self, "op", self.op, self.choices["op"])

    def describe(self) -> str:
        return self.op


@dataclass(frozen=True)
class Select(Layer):
    """``x[:, i]`` / ``x.select(dim, i)`` / an item of ``unbind``: one index of a per-sample axis,
    which disappears (a view)."""

    dim: int = 0
    index: int = 0

    def __post_init__(self):
        V.any_int(self, "dim", self.dim)
        V.any_int(self, "index", self.index)  # negative counts from the end, as in torch

    @property
    def reuses_input(self) -> bool:
        return True

    def describe(self) -> str:
        return f"[{self.index}] axis {self.dim}"


@dataclass(frozen=True)
class Roll(Layer):
    """``torch.roll(x, shifts, dims)``: a cyclic shift (Swin's shifted windows), a copy with no
    arithmetic. ``dims`` are per-sample axes."""

    shifts: Any = (0,)  # a shift or one per axis of dims
    dims: Any = (0,)  # an axis or axes

    def __post_init__(self):
        _set(self, "dims", V.axes(self, "dims", self.dims))
        s = self.shifts if isinstance(self.shifts, (tuple, list)) else (self.shifts,)
        _set(self, "shifts", tuple(V.any_int(self, "shifts", v) for v in s))
        if len(self.shifts) != len(self.dims):  # torch.roll: "shifts and dimensions must align"
            raise InvalidValueError(f"Roll.shifts must give one shift per axis of dims {self.dims}, "
                                    f"got {V.show(self.shifts)}")


@dataclass(frozen=True)
class RMSNorm(Layer):
    """torch.nn.RMSNorm over the last ``len(normalized_shape)`` axes: ``x / sqrt(mean(x^2) + eps)``,
    times a weight of that shape when ``elementwise_affine`` (no bias)."""

    normalized_shape: Any
    eps: Optional[float] = None  # None: torch's default, the dtype's machine epsilon
    elementwise_affine: bool = True

    def __post_init__(self):
        ns = self.normalized_shape if isinstance(self.normalized_shape, (tuple, list)) else (self.normalized_shape,)
        if not ns:
            raise InvalidValueError(f"RMSNorm.normalized_shape must name at least one size, "
                                    f"got {V.show(self.normalized_shape)}")
        _set(self, "normalized_shape", tuple(V.positive_int(self, "normalized_shape", d) for d in ns))
        if self.eps is not None:
            V.number(self, "eps", self.eps, 0, low_open=True)
        V.boolean(self, "elementwise_affine", self.elementwise_affine)

    def describe(self) -> str:
        return "over " + "x".join(map(str, self.normalized_shape))


@dataclass(frozen=True)
class Constant(Layer):
    """A tensor ``forward`` creates from sizes or data alone (``torch.arange``, ``zeros``, ``ones``,
    ``linspace``, ``eye``, ``full``, ``torch.tensor``): EdgeNeXt's and XCiT's position encodings,
    a relative-coordinate grid, Swin's shifted-window mask. ``shape`` is its whole shape (it has no
    batch axis) unless ``batched``. No params, no buffers, no work (a fill is not a multiply-
    accumulate); a new tensor. Like :class:`Parameter` it is fed by the graph input only so the
    graph stays connected, and it is the same for every sample: work on it alone is counted once
    per forward (analysis)."""

    shape: tuple = ()
    op: str = "constant"
    #: made with the batch as its first axis (EdgeNeXt's ``torch.zeros((B, H, W))``): ``shape`` is
    #: then per sample, and work on it is done for every sample
    batched: bool = False

    rf_inputs = 1
    reads_pixels = False

    def __post_init__(self):
        shape = self.shape if isinstance(self.shape, (tuple, list)) else (self.shape,)
        _set(self, "shape", tuple(V.positive_dim(self, "shape", d) for d in shape))  # () for a scalar
        V.text(self, "op", self.op)
        V.boolean(self, "batched", self.batched)

    @property
    def batch_free(self) -> bool:  # the analysis counts work on a batch-free tensor once per forward
        return not self.batched

    def describe(self) -> str:
        return f"{self.op} (created in forward{', per sample' if self.batched else ''})"


@dataclass(frozen=True)
class Index(Layer):
    """``table[idx]`` / ``table[:, idx]`` (aten.index with one integer index tensor) along axis
    ``dim`` of the first input: Swin's and LeViT's relative-position bias tables read through
    an index buffer. Inputs: the table, then the index tensor; output ``table.shape[:dim] +
    idx.shape + table.shape[dim + 1:]``. A gather: no arithmetic, a new tensor."""

    dim: int = 0

    def __post_init__(self):
        V.nonneg_int(self, "dim", self.dim)

    def describe(self) -> str:
        return f"gather along axis {self.dim}"
# ---------------------------------------------------------------------------------------------
# Issue 14 (ops without a rule before): padding of any axes, Tensor.unfold windows, im2col,
# repeat/tile, repeat_interleave and vector norms. Copies and views count no flops.


@dataclass(frozen=True)
class ConstantPad(Layer):
    """``F.pad(x, pad, value=v)`` in constant mode (``aten.constant_pad_nd``): ``pad`` holds
    (before, after) pairs from the last per-sample axis backwards, as torch writes them; a negative
    amount crops (timm's NASNet pads with ``ZeroPad2d((-1, 0, -1, 0))``). ``value``: the fill, a
    number or ``"-inf"`` / ``"inf"`` (timm's 'same' padding before a max pool fills with -inf; text,
    so that a spec stays plain JSON). A copy, no flops."""

    pad: tuple = (0, 0)
    value: Any = 0.0

    def __post_init__(self):
        pad = self.pad if isinstance(self.pad, (tuple, list)) else (self.pad,)
        if not pad or len(pad) % 2:
            raise InvalidValueError(f"ConstantPad.pad must hold (before, after) pairs, got {V.show(self.pad)}")
        _set(self, "pad", tuple(V.any_int(self, "pad", p) for p in pad))
        if isinstance(self.value, str):
            V.one_of(self, "value", self.value, ("-inf", "inf"))
        elif isinstance(self.value, float) and self.value in (float("inf"), float("-inf")):
            _set(self, "value", "-inf" if self.value < 0 else "inf")
        else:
            V.number(self, "value", self.value)

    def describe(self) -> str:
        return "pad " + ",".join(map(str, self.pad)) + (f" value {self.value}" if self.value else "")


@dataclass(frozen=True)
class UnfoldAxis(Layer):
    """``x.unfold(dim, size, step)`` (Tensor.unfold): the windows of length ``size`` every ``step``
    positions along per-sample axis ``dim``, which becomes the window count, with a new last axis of
    ``size`` (HaloNet's halo blocks). A view, no flops."""

    dim: int = 0
    size: int = 1
    step: int = 1

    def __post_init__(self):
        V.any_int(self, "dim", self.dim)
        V.positive_int(self, "size", self.size)
        V.positive_int(self, "step", self.step)

    @property
    def reuses_input(self) -> bool:
        return True

    def describe(self) -> str:
        return f"axis {self.dim} windows {self.size} step {self.step}"


@dataclass(frozen=True)
class Unfold(Layer):
    """torch.nn.Unfold / ``F.unfold`` (im2col): (C, H, W) -> (C*kh*kw, L), one column per sliding
    block position (TNT's and VOLO's patch unfolding). A copy, no flops."""

    kernel_size: IntOrPair = 1
    dilation: IntOrPair = 1
    padding: IntOrPair = 0
    stride: IntOrPair = 1

    def __post_init__(self):
        _pairs(self, 1, "kernel_size", "dilation", "stride")
        _pairs(self, 0, "padding")

    def describe(self) -> str:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        stride = f"s{sh}" if sh == sw else f"s{sh}x{sw}"
        return f"{kh}x{kw} {stride}" + ((f" p{ph}" if ph == pw else f" p{ph}x{pw}") if ph or pw else "")


@dataclass(frozen=True)
class Repeat(Layer):
    """``x.repeat(*repeats)`` / ``torch.tile`` on the per-sample axes: axis ``i`` (from the right,
    new axes in front) is copied ``repeats[i]`` times. A copy, no flops."""

    repeats: tuple = (1,)

    def __post_init__(self):
        reps = self.repeats if isinstance(self.repeats, (tuple, list)) else (self.repeats,)
        if not reps:
            raise InvalidValueError(f"Repeat.repeats must give at least one count, got {V.show(self.repeats)}")
        _set(self, "repeats", tuple(V.positive_dim(self, "repeats", r) for r in reps))

    def describe(self) -> str:
        return "x" + ",".join(map(str, self.repeats))


@dataclass(frozen=True)
class RepeatInterleave(Layer):
    """``torch.repeat_interleave(x, repeats, dim)`` with one count: each index of per-sample axis
    ``dim`` repeated ``repeats`` times in place. A copy, no flops."""

    repeats: int = 1
    dim: int = 0

    def __post_init__(self):
        _set(self, "repeats", V.positive_dim(self, "repeats", self.repeats))
        V.any_int(self, "dim", self.dim)

    def describe(self) -> str:
        return f"x{self.repeats} axis {self.dim}"


@dataclass(frozen=True)
class VectorNorm(_Reduce):
    """``torch.linalg.vector_norm(x, ord, dim, keepdim)`` / ``x.norm(p, dim, keepdim)`` (ConvNeXt
    v2's global response norm; ``F.normalize`` divides by it). ``ord`` 2 (Euclidean) or 1."""

    dim: Any = None
    keepdim: bool = False
    ord: float = 2.0

    def __post_init__(self):
        super().__post_init__()
        V.number(self, "ord", self.ord)
        if self.ord not in (1, 2):
            raise InvalidValueError(f"VectorNorm.ord must be 1 or 2, got {V.show(self.ord)}")

    def describe(self) -> str:
        return f"L{self.ord:g} " + super().describe()


@dataclass(frozen=True)
class Fold(Layer):
    """torch.nn.Fold / ``F.fold`` (col2im), the inverse of :class:`Unfold`: (C*kh*kw, L) columns
    summed back into a (C, H, W) map of ``output_size`` (VOLO's outlook attention). Overlapping
    block positions add up."""

    output_size: IntOrPair = 1
    kernel_size: IntOrPair = 1
    dilation: IntOrPair = 1
    padding: IntOrPair = 0
    stride: IntOrPair = 1

    def __post_init__(self):
        _pairs(self, 1, "output_size", "kernel_size", "dilation", "stride")
        _pairs(self, 0, "padding")

    def describe(self) -> str:
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        stride = f"s{sh}" if sh == sw else f"s{sh}x{sw}"
        return f"{kh}x{kw} {stride} -> {self.output_size[0]}x{self.output_size[1]}"


@dataclass(frozen=True)
class SliceScatter(Layer):
    """``x[..., start:stop:step, ...] = src`` along per-sample ``axis`` (``torch.slice_scatter``;
    torch writes ``src`` into a view of ``x`` in place: ``x[:, :, 1:] += y`` in MViT's residual,
    ``attn[:, :, 1:, 1:] = attn[...] + rel_pos``). Inputs (x, src); the output is x's shape. A copy,
    no flops. Receptive field: followed through x only (the written positions read src)."""

    start: int = 0
    stop: Optional[int] = None
    axis: int = 0
    step: int = 1

    rf_inputs = 1

    def __post_init__(self):
        _set(self, "start", V.nonneg_dim(self, "start", self.start))
        if self.stop is not None:
            _set(self, "stop", V.positive_dim(self, "stop", self.stop))
        V.any_int(self, "axis", self.axis)
        V.positive_int(self, "step", self.step)

    @property
    def reuses_input(self) -> bool:
        return True  # written into x's storage

    def describe(self) -> str:
        step = f":{self.step}" if self.step != 1 else ""
        return f"[{self.start}:{'' if self.stop is None else self.stop}{step}] = src, axis {self.axis}"


@dataclass(frozen=True)
class InstanceNorm2d(Layer):
    """torch.nn.InstanceNorm2d without running statistics: each channel of each sample normalised
    over its positions (GroupNorm with one group per channel); a per-channel weight and bias when
    ``affine``. With ``track_running_stats`` torch keeps buffers and uses them at inference: not
    this kind (the importer refuses it by name)."""

    eps: float = 1e-5
    affine: bool = False

    def __post_init__(self):
        V.number(self, "eps", self.eps, 0, low_open=True)
        V.boolean(self, "affine", self.affine)

    def describe(self) -> str:
        return "affine" if self.affine else ""


#: F.grid_sample modes (torch's interpolation_mode): flops per output element as Interpolate's
GRID_SAMPLE_OPS = {"nearest": 0, "bilinear": 7, "bicubic": 31}


@dataclass(frozen=True)
class GridSample(Layer):
    """``F.grid_sample`` of a (C, H, W) map at the (Hg, Wg) points of a (Hg, Wg, 2) grid of
    normalised (x, y) coordinates: output (C, Hg, Wg), each value interpolated from the map
    (RAFT's correlation lookups). No parameters."""

    mode: str = "bilinear"
    padding_mode: str = "zeros"
    align_corners: bool = False

    choices = {"mode": tuple(GRID_SAMPLE_OPS), "padding_mode": ("zeros", "border", "reflection")}

    def __post_init__(self):
        V.one_of(self, "mode", self.mode, self.choices["mode"])
        V.one_of(self, "padding_mode", self.padding_mode, self.choices["padding_mode"])
        V.boolean(self, "align_corners", self.align_corners)

    def describe(self) -> str:
        return self.mode + (" corners" if self.align_corners else "")
