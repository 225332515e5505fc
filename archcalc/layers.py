"""Layer specifications: frozen dataclasses holding hyper-parameters only.

A layer never stores its input size: channels, height and width come from the graph when the
network is analysed, so one spec works for any input (and for symbolic ``H``, ``W``). Field names
follow torch.nn so a spec reads like the module it mirrors. The cost of each kind is computed by
exactly one rule in :mod:`archcalc.rules`.
"""

from __future__ import annotations

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


def _norm_pairs(obj, *names):
    for n in names:
        v = getattr(obj, n)
        if not isinstance(v, str):
            object.__setattr__(obj, n, pair(v))


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

    def __post_init__(self):
        _set(self, "out_channels", V.positive_dim(self, "out_channels", self.out_channels))
        _pairs(self, 1, "kernel_size", "stride", "dilation")
        _pairs(self, 0, "padding", "output_padding")
        _set(self, "groups", V.positive_dim(self, "groups", self.groups))
        V.boolean(self, "bias", self.bias)

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
    """Reshape (C, H, W) to (C*H*W,). A view: no new tensor."""

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
    dim: int = -1

    def __post_init__(self):
        V.any_int(self, "dim", self.dim)


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
        p = self.padding
        if not isinstance(p, (tuple, list)):
            p = (V.nonneg_int(self, "padding", p),) * 4
        elif len(p) != 4:
            raise InvalidValueError(f"ZeroPad2d.padding must be an integer or (left, right, top, bottom), got {p!r}")
        object.__setattr__(self, "padding", tuple(V.nonneg_int(self, "padding", x) for x in p))


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

    def __post_init__(self):
        _set(self, "start", V.nonneg_dim(self, "start", self.start))
        if self.stop is not None:
            _set(self, "stop", V.positive_dim(self, "stop", self.stop))
        V.any_int(self, "axis", self.axis)

    @property
    def reuses_input(self) -> bool:
        return True

    def describe(self) -> str:
        return f"[{self.start}:{'' if self.stop is None else self.stop}] axis {self.axis}"


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
    """torch.nn.LSTM, one direction, ``num_layers`` stacked, on a (T, input_size) sequence; output
    (T, hidden_size). torch keeps two bias vectors per layer (``bias_ih``, ``bias_hh``)."""

    hidden_size: int = 512
    num_layers: int = 1
    bias: bool = True

    def __post_init__(self):
        _set(self, "hidden_size", V.positive_dim(self, "hidden_size", self.hidden_size))
        V.positive_int(self, "num_layers", self.num_layers)
        V.boolean(self, "bias", self.bias)

    def describe(self) -> str:
        return f"h={self.hidden_size}" + (f" x{self.num_layers}" if self.num_layers != 1 else "")


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
