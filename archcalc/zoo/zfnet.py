"""ZFNet.

Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014
(arXiv:1311.2901, 2013), Fig. 3: AlexNet's single-GPU successor with a 7x7/2 first layer (96
maps, 110x110), a 5x5/2 second layer (256 maps, 26x26), dense connections in layers 3-5
(384, 384, 256 maps at 13x13), 3x3/2 max pooling after layers 1, 2 and 5 (55x55, 13x13, 6x6),
"contrast normalization across feature maps" after layers 1 and 2, two 4096-unit fully connected
layers and a 1000-way softmax. Input 224x224.

Fig. 3 does not state paddings; the sizes it prints fix them: layer 1 needs padding 1
((224 + 2 - 7)//2 + 1 = 110) and the pools need Caffe's ceiling rounding (110 -> 55, 26 -> 13,
13 -> 6), which archcalc writes as ``ceil_mode=True``. The normalisation is modelled as AlexNet's
LRN (5 maps, k=2, alpha=1e-4, beta=0.75); it has no parameters, so only ``flops`` depend on that
choice. The paper gives no parameter count; this model has 62,357,608.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import Conv2d, LocalResponseNorm, MaxPool2d, ReLU
from . import register_model
from .alexnet import fc678


def zfnet(name, input_shape, num_classes=1000):
    lrn = dict(size=5, alpha=1e-4, beta=0.75, k=2.0)
    b = Builder(name, input_shape)
    x = b.add(Conv2d(96, 7, stride=2, padding=1), b.input, name="conv1")
    x = b.add(ReLU(True), x, name="relu1")
    x = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name="pool1")
    x = b.add(LocalResponseNorm(**lrn), x, name="norm1")
    x = b.add(Conv2d(256, 5, stride=2), x, name="conv2")
    x = b.add(ReLU(True), x, name="relu2")
    x = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name="pool2")
    x = b.add(LocalResponseNorm(**lrn), x, name="norm2")
    x = b.add(Conv2d(384, 3, padding=1), x, name="conv3")
    x = b.add(ReLU(True), x, name="relu3")
    x = b.add(Conv2d(384, 3, padding=1), x, name="conv4")
    x = b.add(ReLU(True), x, name="relu4")
    x = b.add(Conv2d(256, 3, padding=1), x, name="conv5")
    x = b.add(ReLU(True), x, name="relu5")
    x = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name="pool5")
    fc678(b, x, num_classes)
    return b.build()


register_model(
    "zfnet", zfnet, family="ZFNet", variant="paper Fig. 3 (padding and ceil pooling fixed by its sizes)",
    source="Zeiler & Fergus 2013/2014, Fig. 3",
)
