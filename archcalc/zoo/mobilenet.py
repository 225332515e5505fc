"""MobileNet v1, v2 and v3.

**MobileNet v1**: Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile
Vision Applications", arXiv:1704.04861, 2017. Body of Table 1: a full 3x3 conv, 13 depthwise
separable layers (3x3 depthwise + 1x1 pointwise, each followed by BN and ReLU), average pooling,
a 1000-way FC and softmax. ``width_mult`` is the paper's width multiplier alpha (every layer's
channels ``int(c * alpha)``, at least 8, as TF-slim's ``mobilenet_v1.py`` rounds them) and
``resolution`` its resolution multiplier rho expressed as the input side (224, 192, 160, 128).

What the paper counts (recomputed in ``tests/test_zoo_mobile.py``): "mult-adds" are the MACs of
the convolutions and the FC (its Table 2 gives the FC 0.18% of them); "parameters" are
conv and FC weights only, no FC bias and no BN (Table 2's shares 74.59 / 1.06 / 0.02 / 24.33%
come out to two decimals only on weights). archcalc's own ``params`` adds the FC bias and BN's
gamma/beta (4,231,976 at alpha 1), which still round to the paper's 4.2M. Tables 7 and 8
(resolution) print the 224 count times rho^2 as a whole, FC included, although the FC does not
shrink with resolution: the exact count at 160 is 290.68M (printed 290), 76.52M at 0.5-160
(printed 76). Table 4's 4866M (Conv MobileNet) is the count without the FC (4866.27M; with it
4867.29M). Table 1's final softmax is a layer here (no MACs, 3 flops per class).

Choices the paper leaves open: stride-2 convs pad 1 on each side (TF's "SAME" pads 0/1; shapes
and counts are the same at every even input side); the 7x7 average pool is a global average pool,
so rho < 1 works; the last depthwise layer has stride 1 (Table 1 prints "s2" there, but lists
both its input and its output as 7x7). No torchvision model exists; timm's ``mobilenetv1_100`` / ``mobilenetv1_125``
have the same convs, BN and FC with ReLU6 instead of ReLU (params, buffers and MACs equal ours;
tested), so they are a cross-check, not the source.

**MobileNetV2**: Sandler et al., CVPR 2018, Table 2; layout of ``torchvision.models.mobilenet_v2``
(3,504,872 params, 0.301 GFLOPS = GMACs in its weights' meta).

**MobileNetV3**: Howard et al., ICCV 2019, Tables 1 (Large) and 2 (Small); layout of
``torchvision.models.mobilenet_v3_large`` / ``_small`` (5,483,032 / 2,542,856 params, 0.217 /
0.057 GFLOPS). Squeeze-and-excitation has ``make_divisible(expanded // 4, 8)`` channels, ReLU and a
hard-sigmoid gate; torchvision's residual add is in place (``result += input``).
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import (
    Activation,
    Add,
    AdaptiveAvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    ReLU,
    Softmax,
)
from . import Published, register_model
from ._mobile import conv_norm_act, make_divisible, squeeze_excitation

# ---------------------------------------------------------------------------------------------
# MobileNet v1 (paper)

#: Table 1 after the first conv: (stride of the depthwise 3x3, output channels of the 1x1).
V1_LAYERS = (
    (1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512),
    (1, 512), (1, 512), (1, 512), (1, 512), (1, 512),  # the five 14x14x512 layers (Table 5 "shallow")
    (2, 1024), (1, 1024),
)


def mobilenet_v1(name, input_shape, width_mult=1.0, resolution=None, num_classes=1000, separable=True,
                 shallow=False, min_depth=8):
    """MobileNet v1 of Table 1.

    ``width_mult``: alpha (Table 6). ``resolution``: input side for rho (Table 7); None keeps
    ``input_shape``. ``separable=False``: the "Conv MobileNet" of Table 4, each depthwise separable
    layer replaced by one full 3x3 conv with the same stride and output channels. ``shallow=True``:
    Table 5's "Shallow MobileNet", without the five 14x14x512 separable layers.
    """
    def depth(c):
        return max(int(c * width_mult), min_depth)

    if resolution is not None:
        input_shape = (input_shape[0], resolution, resolution)
    b = Builder(name, input_shape)
    cin = depth(32)
    x = b.sequential("features.0", b.input, [Conv2d(cin, 3, stride=2, padding=1, bias=False), BatchNorm2d(),
                                             ReLU(True)])
    layers = [spec for i, spec in enumerate(V1_LAYERS) if not (shallow and 6 <= i <= 10)]
    for i, (stride, c) in enumerate(layers, start=1):
        cout = depth(c)
        if separable:
            body = [Conv2d(cin, 3, stride=stride, padding=1, groups=cin, bias=False), BatchNorm2d(), ReLU(True),
                    Conv2d(cout, 1, bias=False), BatchNorm2d(), ReLU(True)]
        else:
            body = [Conv2d(cout, 3, stride=stride, padding=1, bias=False), BatchNorm2d(), ReLU(True)]
        x = b.sequential(f"features.{i}", x, body)
        cin = cout
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    x = b.add(Linear(num_classes), x, name="fc")
    b.add(Softmax(), x, name="softmax")
    return b.build()


_V1_SRC = "Howard et al. 2017 (arXiv:1704.04861)"
# name: (alpha, resolution, published Mult-Adds in millions, params in millions, table)
_V1 = {
    "mobilenet_v1": (1.0, 224, 569, 4.2, "Tables 6/7: 1.0 MobileNet-224"),
    "mobilenet_v1_075": (0.75, 224, 325, 2.6, "Table 6: 0.75 MobileNet-224"),
    "mobilenet_v1_050": (0.5, 224, 149, 1.3, "Table 6: 0.5 MobileNet-224"),
    "mobilenet_v1_025": (0.25, 224, 41, 0.5, "Table 6: 0.25 MobileNet-224"),
    "mobilenet_v1_192": (1.0, 192, 418, 4.2, "Table 7: 1.0 MobileNet-192"),
    "mobilenet_v1_160": (1.0, 160, 290, 4.2, "Table 7: 1.0 MobileNet-160"),
    "mobilenet_v1_128": (1.0, 128, 186, 4.2, "Table 7: 1.0 MobileNet-128"),
    "mobilenet_v1_050_160": (0.5, 160, 76, 1.32, "Table 8: 0.50 MobileNet-160"),
}

for _name, (_alpha, _res, _madds, _mparams, _table) in _V1.items():
    register_model(
        _name, mobilenet_v1, family="MobileNet", width_mult=_alpha, input_shape=(3, _res, _res),
        variant=f"alpha={_alpha}, {_res}x{_res}",
        source=f"{_V1_SRC}, Table 1 body; {_table}",
        published=Published(f"{_V1_SRC}, {_table} (Million Mult-Adds, Million Parameters; weights only)",
                            extra={"million_mult_adds": _madds, "million_params": _mparams}),
    )

register_model(
    "mobilenet_v1_conv", mobilenet_v1, family="MobileNet", separable=False,
    variant="full 3x3 convolutions instead of depthwise separable",
    source=f"{_V1_SRC}, Table 4: Conv MobileNet",
    published=Published(f"{_V1_SRC}, Table 4", extra={"million_mult_adds": 4866, "million_params": 29.3}),
)
register_model(
    "mobilenet_v1_shallow", mobilenet_v1, family="MobileNet", shallow=True,
    variant="without the five 14x14x512 separable layers",
    source=f"{_V1_SRC}, Table 5: Shallow MobileNet",
    published=Published(f"{_V1_SRC}, Table 5", extra={"million_mult_adds": 307, "million_params": 2.9}),
)

# ---------------------------------------------------------------------------------------------
# MobileNetV2 (torchvision)

#: Sandler et al. 2018, Table 2: expansion t, output channels c, repeats n, first stride s.
V2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
              (6, 320, 1, 1))


def mobilenet_v2(name, input_shape, width_mult=1.0, num_classes=1000, round_nearest=8, dropout=0.2):
    """torchvision's MobileNetV2: inverted residuals with linear bottlenecks and ReLU6."""
    b = Builder(name, input_shape)
    cin = make_divisible(32 * width_mult, round_nearest)
    last = make_divisible(1280 * max(1.0, width_mult), round_nearest)
    x = conv_norm_act(b, b.input, "features.0", cin, 3, stride=2, act="relu6")
    idx = 1
    for t, c, n, s in V2_SETTING:
        cout = make_divisible(c * width_mult, round_nearest)
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = int(round(cin * t))
            p = f"features.{idx}.conv"
            y, j = x, 0
            if t != 1:
                y = conv_norm_act(b, y, f"{p}.0", hidden, 1, act="relu6")
                j = 1
            y = conv_norm_act(b, y, f"{p}.{j}", hidden, 3, stride=stride, groups=hidden, act="relu6")
            y = b.add(Conv2d(cout, 1, bias=False), y, name=f"{p}.{j + 1}")
            y = b.add(BatchNorm2d(), y, name=f"{p}.{j + 2}")
            if stride == 1 and cin == cout:
                y = b.add(Add(), x, y, name=f"features.{idx}.add")  # x + self.conv(x): a new tensor
            x, cin, idx = y, cout, idx + 1
    x = conv_norm_act(b, x, f"features.{idx}", last, 1, act="relu6")
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")  # nn.functional.adaptive_avg_pool2d
    x = b.add(Flatten(), x, name="flatten")
    x = b.add(Dropout(dropout), x, name="classifier.0")
    b.add(Linear(num_classes), x, name="classifier.1")
    return b.build()


register_model(
    "mobilenet_v2", mobilenet_v2, family="MobileNet", variant="v2 1.0",
    source="Sandler et al. 2018 (arXiv:1801.04381), Table 2; torchvision.models.mobilenet_v2",
    torchvision="mobilenet_v2",
    published=Published("torchvision MobileNet_V2_Weights.IMAGENET1K_V1", params=3_504_872,
                        extra={"gflops": 0.301}),
)

# ---------------------------------------------------------------------------------------------
# MobileNetV3 (torchvision)

# (input, kernel, expanded, out, use_se, activation, stride): Howard et al. 2019, Tables 1 and 2
V3_LARGE = (
    (16, 3, 16, 16, False, "relu", 1), (16, 3, 64, 24, False, "relu", 2), (24, 3, 72, 24, False, "relu", 1),
    (24, 5, 72, 40, True, "relu", 2), (40, 5, 120, 40, True, "relu", 1), (40, 5, 120, 40, True, "relu", 1),
    (40, 3, 240, 80, False, "hardswish", 2), (80, 3, 200, 80, False, "hardswish", 1),
    (80, 3, 184, 80, False, "hardswish", 1), (80, 3, 184, 80, False, "hardswish", 1),
    (80, 3, 480, 112, True, "hardswish", 1), (112, 3, 672, 112, True, "hardswish", 1),
    (112, 5, 672, 160, True, "hardswish", 2), (160, 5, 960, 160, True, "hardswish", 1),
    (160, 5, 960, 160, True, "hardswish", 1),
)
V3_SMALL = (
    (16, 3, 16, 16, True, "relu", 2), (16, 3, 72, 24, False, "relu", 2), (24, 3, 88, 24, False, "relu", 1),
    (24, 5, 96, 40, True, "hardswish", 2), (40, 5, 240, 40, True, "hardswish", 1),
    (40, 5, 240, 40, True, "hardswish", 1), (40, 5, 120, 48, True, "hardswish", 1),
    (48, 5, 144, 48, True, "hardswish", 1), (48, 5, 288, 96, True, "hardswish", 2),
    (96, 5, 576, 96, True, "hardswish", 1), (96, 5, 576, 96, True, "hardswish", 1),
)
_V3 = {"large": (V3_LARGE, 1280), "small": (V3_SMALL, 1024)}


def mobilenet_v3(name, input_shape, arch="large", width_mult=1.0, num_classes=1000, dropout=0.2):
    """torchvision's MobileNetV3 (``arch`` "large" or "small"); torchvision's ``reduced_tail`` and
    ``dilated`` options (detection backbones) are not modelled."""
    if arch not in _V3:
        raise ValueError(f"arch must be one of {sorted(_V3)}, got {arch!r}")
    setting, last_channel = _V3[arch]

    def adjust(c):
        return make_divisible(c * width_mult, 8)

    b = Builder(name, input_shape)
    x = conv_norm_act(b, b.input, "features.0", adjust(setting[0][0]), 3, stride=2, act="hardswish")
    for idx, (cin, k, exp, cout, use_se, act, stride) in enumerate(setting, start=1):
        cin, exp, cout = adjust(cin), adjust(exp), adjust(cout)
        p = f"features.{idx}.block"
        y, j = x, 0
        if exp != cin:
            y = conv_norm_act(b, y, f"{p}.0", exp, 1, act=act)
            j = 1
        y = conv_norm_act(b, y, f"{p}.{j}", exp, k, stride=stride, groups=exp, act=act)
        j += 1
        if use_se:
            y = squeeze_excitation(b, y, f"{p}.{j}", exp, make_divisible(exp // 4, 8), act="relu",
                                   scale_act="hardsigmoid")
            j += 1
        y = conv_norm_act(b, y, f"{p}.{j}", cout, 1, act=None)
        if stride == 1 and cin == cout:
            y = b.add(Add(inplace=True), y, x, name=f"features.{idx}.add")  # result += input
        x = y
    lastconv = 6 * adjust(setting[-1][3])
    x = conv_norm_act(b, x, f"features.{len(setting) + 1}", lastconv, 1, act="hardswish")
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    b.sequential("classifier", x, [Linear(adjust(last_channel)), Activation("hardswish", inplace=True),
                                   Dropout(dropout, inplace=True), Linear(num_classes)])
    return b.build()


for _arch, _params, _gmacs in (("large", 5_483_032, 0.217), ("small", 2_542_856, 0.057)):
    register_model(
        f"mobilenet_v3_{_arch}", mobilenet_v3, family="MobileNet", arch=_arch, variant=f"v3 {_arch} 1.0",
        source=f"Howard et al. 2019 (arXiv:1905.02244), Table {1 if _arch == 'large' else 2}; "
               f"torchvision.models.mobilenet_v3_{_arch}",
        torchvision=f"mobilenet_v3_{_arch}",
        published=Published(f"torchvision MobileNet_V3_{_arch.capitalize()}_Weights.IMAGENET1K_V1",
                            params=_params, extra={"gflops": _gmacs}),
    )
