"""AlexNet.

- ``alexnet``: torchvision ``alexnet`` (single tower, after Krizhevsky's "One weird trick" 2014:
  64/192/384/256/256 filters, no LRN, adaptive 6x6 pooling). torchvision's
  ``AlexNet_Weights.IMAGENET1K_V1`` lists 61,100,840 params and 0.71 GFLOPS.
- ``alexnet2012``: Krizhevsky, Sutskever, Hinton, "ImageNet Classification with Deep Convolutional
  Neural Networks", NIPS 2012, Fig. 2 and sec. 3: the two-GPU net. Towers that only see their own
  GPU's maps become ``groups=2`` convolutions (conv2, conv4, conv5); conv3 and the FC layers read
  both towers. LRN (k=2, n=5, alpha=1e-4, beta=0.75) after conv1 and conv2, overlapping 3x3/2 max
  pooling. Input 227x227 (the paper's "224" does not give its 55x55 conv1 output). 60,965,224
  parameters, as Caffe's ``bvlc_alexnet`` reproduction counts them; the paper says "60 million".
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import AdaptiveAvgPool2d, Conv2d, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2d, ReLU
from . import Published, register_model


def alexnet(name, input_shape, num_classes=1000, dropout=0.5):
    b = Builder(name, input_shape)
    x = b.sequential("features", b.input, [
        Conv2d(64, 11, stride=4, padding=2), ReLU(True), MaxPool2d(3, 2),
        Conv2d(192, 5, padding=2), ReLU(True), MaxPool2d(3, 2),
        Conv2d(384, 3, padding=1), ReLU(True),
        Conv2d(256, 3, padding=1), ReLU(True),
        Conv2d(256, 3, padding=1), ReLU(True), MaxPool2d(3, 2),
    ])
    x = b.add(AdaptiveAvgPool2d(6), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    b.sequential("classifier", x, [
        Dropout(dropout), Linear(4096), ReLU(True),
        Dropout(dropout), Linear(4096), ReLU(True),
        Linear(num_classes),
    ])
    return b.build()


def alexnet2012(name, input_shape, num_classes=1000):
    lrn = dict(size=5, alpha=1e-4, beta=0.75, k=2.0)
    b = Builder(name, input_shape)
    x = b.add(Conv2d(96, 11, stride=4), b.input, name="conv1")
    x = b.add(ReLU(True), x, name="relu1")
    x = b.add(LocalResponseNorm(**lrn), x, name="norm1")
    x = b.add(MaxPool2d(3, 2), x, name="pool1")
    x = b.add(Conv2d(256, 5, padding=2, groups=2), x, name="conv2")
    x = b.add(ReLU(True), x, name="relu2")
    x = b.add(LocalResponseNorm(**lrn), x, name="norm2")
    x = b.add(MaxPool2d(3, 2), x, name="pool2")
    x = b.add(Conv2d(384, 3, padding=1), x, name="conv3")
    x = b.add(ReLU(True), x, name="relu3")
    x = b.add(Conv2d(384, 3, padding=1, groups=2), x, name="conv4")
    x = b.add(ReLU(True), x, name="relu4")
    x = b.add(Conv2d(256, 3, padding=1, groups=2), x, name="conv5")
    x = b.add(ReLU(True), x, name="relu5")
    x = b.add(MaxPool2d(3, 2), x, name="pool5")
    fc678(b, x, num_classes)
    return b.build()


def fc678(b, x, num_classes):
    """The 2012-era classifier (Caffe layer names): flatten, fc6/fc7 of 4,096 units with ReLU and
    dropout 0.5, fc8. Shared by AlexNet 2012 and ZFNet."""
    x = b.add(Flatten(), x, name="flatten")
    x = b.add(Linear(4096), x, name="fc6")
    x = b.add(ReLU(True), x, name="relu6")
    x = b.add(Dropout(0.5), x, name="drop6")
    x = b.add(Linear(4096), x, name="fc7")
    x = b.add(ReLU(True), x, name="relu7")
    x = b.add(Dropout(0.5), x, name="drop7")
    return b.add(Linear(num_classes), x, name="fc8")


register_model(
    "alexnet", alexnet, family="AlexNet", variant="torchvision single tower",
    source="torchvision.models.alexnet (Krizhevsky 2014 'One weird trick' layout)",
    torchvision="alexnet",
    published=Published("torchvision AlexNet_Weights.IMAGENET1K_V1", params=61_100_840,
                        extra={"gflops": 0.71}),
)
register_model(
    "alexnet2012", alexnet2012, family="AlexNet", variant="NIPS 2012 two-GPU (grouped conv2/4/5, LRN)",
    source="Krizhevsky et al. 2012, NIPS, Fig. 2 and sec. 3.1-3.4; Caffe bvlc_alexnet",
    input_shape=(3, 227, 227),
    published=Published("Caffe bvlc_alexnet deploy.prototxt (paper: '60 million')", params=60_965_224),
)
