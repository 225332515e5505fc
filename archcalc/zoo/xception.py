"""Xception, in timm's ``legacy_xception`` layout (Cadene's port of the Keras/TF weights).

Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017, Fig. 5
(entry flow, middle flow repeated 8 times, exit flow) and Table 3 (22,855,952 parameters; the
"22.8M" usually quoted). Every separable convolution is a 3x3 depthwise conv followed by a 1x1
pointwise conv, both without bias, then batch norm; the residual shortcuts of the strided blocks are
1x1 stride-2 convs + BN; max pools are 3x3/2 with padding 1 ("same"). Input 299x299.

timm's ``legacy_xception`` (the only Xception of the paper's shape in timm 1.0; ``xception41/65/71``
are the deeper DeepLab "aligned" variants) has exactly the paper's 22,855,952 parameters: the
paper counts BN's gamma and beta, not its moving statistics (Keras' "trainable params").
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import Add, BatchNorm2d, Conv2d, MaxPool2d, ReLU
from . import Published, register_model
from .inception import classifier


def separable(b, x, prefix, out, in_channels):
    """timm's SeparableConv2d: depthwise 3x3 (pad 1) ``.conv1`` then pointwise 1x1 ``.pointwise``."""
    with b.scope(prefix):
        x = b.add(Conv2d(in_channels, 3, padding=1, groups=in_channels, bias=False), x, name="conv1")
        return b.add(Conv2d(out, 1, bias=False), x, name="pointwise")


def block(b, x, name, cin, cout, reps, stride=1, start_with_relu=True, grow_first=True):
    """timm's xception Block: ``reps`` x (ReLU, separable conv, BN), a 3x3/2 max pool when
    strided, plus an identity or 1x1 conv + BN shortcut."""
    layers = []  # (kind, out, in) for the rep Sequential
    for i in range(reps):
        if grow_first:
            inc, outc = (cin if i == 0 else cout), cout
        else:
            inc, outc = cin, (cin if i < reps - 1 else cout)
        layers += [("relu", None, None), ("sep", outc, inc), ("bn", None, None)]
    if not start_with_relu:
        layers = layers[1:]
    with b.scope(name):
        y = x
        for i, (kind, outc, inc) in enumerate(layers):
            if kind == "relu":
                # the block's first ReLU must not overwrite the input the shortcut still needs
                y = b.add(ReLU(inplace=i > 0), y, name=f"rep.{i}")
            elif kind == "sep":
                y = separable(b, y, f"rep.{i}", outc, inc)
            else:
                y = b.add(BatchNorm2d(), y, name=f"rep.{i}")
        if stride != 1:
            y = b.add(MaxPool2d(3, stride, padding=1), y, name=f"rep.{len(layers)}")
        if cout != cin or stride != 1:
            s = b.add(Conv2d(cout, 1, stride=stride, bias=False), x, name="skip")
            s = b.add(BatchNorm2d(), s, name="skipbn")
        else:
            s = x
        return b.add(Add(inplace=True), y, s, name="add")


def xception(name, input_shape, num_classes=1000):
    b = Builder(name, input_shape)
    x = b.add(Conv2d(32, 3, stride=2, bias=False), b.input, name="conv1")
    x = b.add(BatchNorm2d(), x, name="bn1")
    x = b.add(ReLU(True), x, name="act1")
    x = b.add(Conv2d(64, 3, bias=False), x, name="conv2")
    x = b.add(BatchNorm2d(), x, name="bn2")
    x = b.add(ReLU(True), x, name="act2")
    # entry flow
    x = block(b, x, "block1", 64, 128, 2, 2, start_with_relu=False)
    x = block(b, x, "block2", 128, 256, 2, 2)
    x = block(b, x, "block3", 256, 728, 2, 2)
    # middle flow: 8 identical residual blocks
    for i in range(4, 12):
        x = block(b, x, f"block{i}", 728, 728, 3, 1)
    # exit flow
    x = block(b, x, "block12", 728, 1024, 2, 2, grow_first=False)
    x = separable(b, x, "conv3", 1536, 1024)
    x = b.add(BatchNorm2d(), x, name="bn3")
    x = b.add(ReLU(True), x, name="act3")
    x = separable(b, x, "conv4", 2048, 1536)
    x = b.add(BatchNorm2d(), x, name="bn4")
    x = b.add(ReLU(True), x, name="act4")
    classifier(b, x, num_classes, "fc", dropout=None)
    return b.build()


register_model(
    "xception", xception, family="Xception", input_shape=(3, 299, 299), variant="timm legacy_xception",
    source="Chollet 2017, Fig. 5 and Table 3; timm legacy_xception",
    timm="legacy_xception",
    published=Published("Chollet 2017, Table 3 (Xception parameter count)", params=22_855_952),
)
