"""Building blocks shared by the mobile families (MobileNet v2/v3, EfficientNet, ShuffleNet).

Each helper adds nodes named exactly as torchvision's modules, so a graph lines up name-for-name
with the torch model it mirrors (``features.3.block.2.fc1``).
"""

from __future__ import annotations

from ..layers import Activation, AdaptiveAvgPool2d, Add, BatchNorm2d, Conv2d, Identity, Mul


def make_divisible(v: float, divisor: int = 8, min_value=None) -> int:
    """Round a channel count to the nearest multiple of ``divisor``, never more than 10% down.

    The rounding of TF-slim's ``mobilenet.py`` that torchvision copies as ``_make_divisible``
    (MobileNet v2/v3 and EfficientNet width multipliers)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def conv_norm_act(b, x, prefix: str, cout: int, kernel_size: int = 3, stride: int = 1, groups: int = 1,
                  act=None, dilation: int = 1) -> str:
    """torchvision's ``Conv2dNormActivation``: conv (no bias, "same"-style padding ``(k-1)//2*d``),
    BatchNorm2d, then an in-place activation ``act`` (a name from ACTIVATION_OPS, or None).
    Nodes are ``prefix.0``, ``prefix.1``, ``prefix.2`` as in that nn.Sequential."""
    pad = (kernel_size - 1) // 2 * dilation
    x = b.add(Conv2d(cout, kernel_size, stride=stride, padding=pad, dilation=dilation, groups=groups,
                     bias=False), x, name=f"{prefix}.0")
    x = b.add(BatchNorm2d(), x, name=f"{prefix}.1")
    if act is not None:
        x = b.add(Activation(act, inplace=True), x, name=f"{prefix}.2")
    return x


def squeeze_excitation(b, x, prefix: str, channels: int, squeeze: int, act: str = "relu",
                       scale_act: str = "sigmoid", act_inplace: bool = False) -> str:
    """torchvision's ``ops.SqueezeExcitation`` (Hu et al. 2018): global average pool, 1x1 conv
    (with bias) to ``squeeze`` channels, ``act``, 1x1 conv (with bias) back, ``scale_act``, then
    the gate multiplies the input (a new tensor, ``scale * input``)."""
    s = b.add(AdaptiveAvgPool2d(1), x, name=f"{prefix}.avgpool")
    s = b.add(Conv2d(squeeze, 1), s, name=f"{prefix}.fc1")
    s = b.add(Activation(act, inplace=act_inplace), s, name=f"{prefix}.activation")
    s = b.add(Conv2d(channels, 1), s, name=f"{prefix}.fc2")
    s = b.add(Activation(scale_act), s, name=f"{prefix}.scale_activation")
    return b.add(Mul(), x, s, name=f"{prefix}.scale")


def mbconv(b, x, p: str, cin: int, cout: int, expanded: int, k: int, stride: int):
    """EfficientNet's MBConv block as torchvision builds it (``MBConv``): a 1x1 expansion when
    ``expanded != cin``, the kxk depthwise conv, squeeze-excite on a quarter of ``cin``, the 1x1
    projection, and the residual add (through stochastic depth, an identity at inference) when the
    shape is kept. Shared by EfficientNet B0-B7 and EfficientNetV2's unfused stages."""
    y, j = x, 0
    if expanded != cin:
        y = conv_norm_act(b, y, f"{p}.block.0", expanded, 1, act="silu")
        j = 1
    y = conv_norm_act(b, y, f"{p}.block.{j}", expanded, k, stride=stride, groups=expanded, act="silu")
    y = squeeze_excitation(b, y, f"{p}.block.{j + 1}", expanded, max(1, cin // 4), act="silu",
                           scale_act="sigmoid", act_inplace=True)
    y = conv_norm_act(b, y, f"{p}.block.{j + 2}", cout, 1, act=None)
    return _residual(b, y, x, p, stride, cin, cout)


def _residual(b, y, x, p: str, stride: int, cin: int, cout: int):
    if stride == 1 and cin == cout:
        y = b.add(Identity(), y, name=f"{p}.stochastic_depth")
        y = b.add(Add(inplace=True), y, x, name=f"{p}.add")
    return y

