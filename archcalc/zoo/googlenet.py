"""GoogLeNet (Inception v1) in torchvision's layout, with and without the auxiliary heads.

Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, Table 1 and Fig. 3. torchvision's
``googlenet`` differs from the paper in two documented ways: every conv is followed by batch norm
(eps 0.001, convs without bias), and the "5x5" branch uses a 3x3 kernel (kept for weight
compatibility, torchvision issue #906); it has no LRN. ``googlenet`` is the deployed net (aux heads
dropped, as torchvision's pretrained weights do: 6,624,904 params, 1.5 GFLOPS); ``googlenet_aux`` is
the training net with both auxiliary classifiers after 4a and 4d.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import AdaptiveAvgPool2d, BatchNorm2d, Concat, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU
from . import Published, register_model

# name: (ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) from Table 1
INCEPTION = {
    "inception3a": (64, 96, 128, 16, 32, 32),
    "inception3b": (128, 128, 192, 32, 96, 64),
    "inception4a": (192, 96, 208, 16, 48, 64),
    "inception4b": (160, 112, 224, 24, 64, 64),
    "inception4c": (128, 128, 256, 24, 64, 64),
    "inception4d": (112, 144, 288, 32, 64, 64),
    "inception4e": (256, 160, 320, 32, 128, 128),
    "inception5a": (256, 160, 320, 32, 128, 128),
    "inception5b": (384, 192, 384, 48, 128, 128),
}


def basic_conv(b, x, prefix, out, kernel, stride=1, padding=0):
    """torchvision's BasicConv2d: conv (no bias) + BN(eps=0.001) + ReLU."""
    with b.scope(prefix):
        x = b.add(Conv2d(out, kernel, stride=stride, padding=padding, bias=False), x, name="conv")
        x = b.add(BatchNorm2d(eps=0.001), x, name="bn")
        return b.add(ReLU(True), x, name="relu")


def inception(b, x, name, c1, c3r, c3, c5r, c5, pool_proj, k5=3):
    with b.scope(name):
        b1 = basic_conv(b, x, "branch1", c1, 1)
        b2 = basic_conv(b, x, "branch2.0", c3r, 1)
        b2 = basic_conv(b, b2, "branch2.1", c3, 3, padding=1)
        b3 = basic_conv(b, x, "branch3.0", c5r, 1)
        b3 = basic_conv(b, b3, "branch3.1", c5, k5, padding=k5 // 2)
        b4 = b.add(MaxPool2d(3, 1, padding=1, ceil_mode=True), x, name="branch4.0")
        b4 = basic_conv(b, b4, "branch4.1", pool_proj, 1)
        return b.add(Concat(), b1, b2, b3, b4, name="cat")


def aux_head(b, x, name, num_classes):
    with b.scope(name):
        y = b.add(AdaptiveAvgPool2d(4), x, name="avgpool")
        y = basic_conv(b, y, "conv", 128, 1)
        y = b.add(Flatten(), y, name="flatten")
        y = b.add(Linear(1024), y, name="fc1")
        y = b.add(ReLU(True), y, name="relu")
        y = b.add(Dropout(0.7), y, name="dropout")
        return b.add(Linear(num_classes), y, name="fc2")


def googlenet(name, input_shape, aux_logits=False, num_classes=1000):
    b = Builder(name, input_shape)
    x = basic_conv(b, b.input, "conv1", 64, 7, stride=2, padding=3)
    x = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name="maxpool1")
    x = basic_conv(b, x, "conv2", 64, 1)
    x = basic_conv(b, x, "conv3", 192, 3, padding=1)
    x = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name="maxpool2")
    outputs = []
    for mod in ("inception3a", "inception3b"):
        x = inception(b, x, mod, *INCEPTION[mod])
    x = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name="maxpool3")
    for mod in ("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"):
        x = inception(b, x, mod, *INCEPTION[mod])
        if aux_logits and mod == "inception4a":
            outputs.append(aux_head(b, x, "aux1", num_classes))
        if aux_logits and mod == "inception4d":
            outputs.append(aux_head(b, x, "aux2", num_classes))
    x = b.add(MaxPool2d(2, 2, ceil_mode=True), x, name="maxpool4")
    for mod in ("inception5a", "inception5b"):
        x = inception(b, x, mod, *INCEPTION[mod])
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    x = b.add(Dropout(0.2), x, name="dropout")
    fc = b.add(Linear(num_classes), x, name="fc")
    return b.build(outputs=[fc] + outputs)


register_model(
    "googlenet", googlenet, family="GoogLeNet", variant="torchvision, deployed (no aux heads)",
    source="Szegedy et al. 2015, Table 1; torchvision.models.googlenet(aux_logits=False)",
    torchvision="googlenet", torchvision_kwargs={"aux_logits": False},
    published=Published("torchvision GoogLeNet_Weights.IMAGENET1K_V1", params=6_624_904,
                        extra={"gflops": 1.5}),
)
register_model(
    "googlenet_aux", googlenet, family="GoogLeNet", aux_logits=True,
    variant="torchvision, training net with both auxiliary classifiers",
    source="Szegedy et al. 2015, Fig. 3 and sec. 5; torchvision.models.googlenet(aux_logits=True)",
    torchvision="googlenet", torchvision_kwargs={"aux_logits": True},
)
