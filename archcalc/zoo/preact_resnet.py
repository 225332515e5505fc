"""Pre-activation ResNet ("ResNet v2") 18/34/50/101/152/200 in timm's ``resnetv2`` layout.

He, Zhang, Ren, Sun, "Identity Mappings in Deep Residual Networks", ECCV 2016, Fig. 1(b) / Fig. 4(e)
("full pre-activation"): each residual unit computes BN-ReLU-conv (x2 basic, x3 bottleneck) and
adds it to an untouched identity path, so nothing follows the addition; one final BN-ReLU sits
before global pooling. The paper's ImageNet nets (sec. 5, single-crop ILSVRC 2012 results) are
ResNet-152 and ResNet-200 (bottleneck stages 3-8-36-3 and 3-24-36-3, the latter as configured in
the authors' released Torch code, fb.resnet.torch ``preresnet.lua``).

The graph mirrors ``timm.models.resnetv2`` with ``conv_layer=create_conv2d`` and
``norm_layer=BatchNormAct2d`` (timm's ``resnetv2_18/34/50/101/152``) module for module:

- stem: 7x7/2 conv (no bias) and 3x3/2 max pool; no BN-ReLU there (the first unit's ``norm1``
  pre-activates it);
- units: ``norm1`` (BN + in-place ReLU as ``norm1.act``) feeds both the residual branch and, in a
  stage's first unit, the projection shortcut ``downsample.conv`` (a 1x1 conv, stride 1 or 2,
  without BN); other units add the raw input. Bottleneck width is ``out/4``, stride on the 3x3;
  a bottleneck stage's first unit always projects (64 -> 256 in stage 1); a basic unit projects
  only when the shape changes;
- head: final ``norm`` (BN + ReLU), ``head.global_pool.pool`` (adaptive average), ``head.drop``
  (p=0), ``head.fc`` (a 1x1 conv with bias, timm's ``use_conv=True`` classifier), ``head.flatten``.

timm registers no ResNet-200; ``preact_resnet200`` is timm's ``ResNetV2`` class with the paper's
3-24-36-3 (the test builds exactly that). timm publishes no parameter/MAC figures for these
untrained-by-default configurations, so the reference is the timm model itself.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import AdaptiveAvgPool2d, Add, BatchNorm2d, Conv2d, Dropout, Flatten, MaxPool2d, ReLU
from . import register_model


def _bn_act(b, x, name):
    """timm's BatchNormAct2d: the BN is the module ``name`` itself, its ReLU is ``name.act``."""
    x = b.add(BatchNorm2d(), x, name=name)
    return b.add(ReLU(True), x, name=f"{name}.act")


def _preact_basic(b, x, cin, cout, stride):
    pre = _bn_act(b, x, "norm1")
    shortcut = x
    if stride != 1 or cin != cout:
        shortcut = b.add(Conv2d(cout, 1, stride=stride, bias=False), pre, name="downsample.conv")
    y = b.add(Conv2d(cout, 3, stride=stride, padding=1, bias=False), pre, name="conv1")
    y = _bn_act(b, y, "norm2")
    y = b.add(Conv2d(cout, 3, padding=1, bias=False), y, name="conv2")
    return b.add(Add(), y, shortcut, name="add")


def _preact_bottleneck(b, x, cin, cout, stride, first):
    mid = cout // 4  # timm: make_divisible(out_chs * 0.25), exact for these widths
    pre = _bn_act(b, x, "norm1")
    shortcut = x
    if first:
        shortcut = b.add(Conv2d(cout, 1, stride=stride, bias=False), pre, name="downsample.conv")
    y = b.add(Conv2d(mid, 1, bias=False), pre, name="conv1")
    y = _bn_act(b, y, "norm2")
    y = b.add(Conv2d(mid, 3, stride=stride, padding=1, bias=False), y, name="conv2")
    y = _bn_act(b, y, "norm3")
    y = b.add(Conv2d(cout, 1, bias=False), y, name="conv3")
    return b.add(Add(), y, shortcut, name="add")


def preact_resnet(name, input_shape, layers=(3, 4, 6, 3), basic=False, num_classes=1000):
    channels = (64, 128, 256, 512) if basic else (256, 512, 1024, 2048)
    b = Builder(name, input_shape)
    x = b.add(Conv2d(64, 7, stride=2, padding=3, bias=False), b.input, name="stem.conv")
    x = b.add(MaxPool2d(3, 2, padding=1), x, name="stem.pool")
    cin = 64
    for stage, (depth, cout) in enumerate(zip(layers, channels)):
        for i in range(depth):
            stride = 2 if (stage > 0 and i == 0) else 1
            with b.scope(f"stages.{stage}.blocks.{i}"):
                if basic:
                    x = _preact_basic(b, x, cin, cout, stride)
                else:
                    x = _preact_bottleneck(b, x, cin, cout, stride, first=i == 0)
            cin = cout
    x = _bn_act(b, x, "norm")
    x = b.add(AdaptiveAvgPool2d(1), x, name="head.global_pool.pool")
    x = b.add(Dropout(0.0), x, name="head.drop")
    x = b.add(Conv2d(num_classes, 1, bias=True), x, name="head.fc")
    b.add(Flatten(), x, name="head.flatten")
    return b.build()


_TIMM = {
    # name: (timm name or None, layers, basic, the paper's use of the depth)
    "preact_resnet18": ("resnetv2_18", (2, 2, 2, 2), True, "basic units; the depth of He et al. 2016a, Table 1"),
    "preact_resnet34": ("resnetv2_34", (3, 4, 6, 3), True, "basic units; the depth of He et al. 2016a, Table 1"),
    "preact_resnet50": ("resnetv2_50", (3, 4, 6, 3), False, "bottleneck units"),
    "preact_resnet101": ("resnetv2_101", (3, 4, 23, 3), False, "bottleneck units"),
    "preact_resnet152": ("resnetv2_152", (3, 8, 36, 3), False, "bottleneck units; ImageNet results of sec. 5"),
    "preact_resnet200": (None, (3, 24, 36, 3), False, "bottleneck units; ImageNet results of sec. 5"),
}

for _name, (_timm, _layers, _basic, _what) in _TIMM.items():
    register_model(
        _name, preact_resnet, family="Pre-activation ResNet", layers=_layers, basic=_basic,
        variant="full pre-activation (v2), stride on the 3x3",
        source=f"He et al. 2016b 'Identity Mappings in Deep Residual Networks', Fig. 4(e), {_what}; "
               + (f"timm.models.resnetv2.{_timm}" if _timm else
                  f"timm.models.resnetv2.ResNetV2(layers={list(_layers)}, conv_layer=create_conv2d, "
                  "norm_layer=BatchNormAct2d) (timm registers no 200-layer net)"),
        timm=_timm,
    )
