"""GoogLeNet (Inception v1) in torchvision's layout, with and without the auxiliary heads.

Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, Table 1 and Fig. 3. torchvision's
``googlenet`` differs from the paper in two documented ways: every conv is followed by batch norm
(eps 0.001, convs without bias), and the "5x5" branch uses a 3x3 kernel (kept for weight
compatibility, torchvision issue #906); it has no LRN. ``googlenet`` is the deployed net (aux heads
dropped, as torchvision's pretrained weights do: 6,624,904 params, 1.5 GFLOPS); ``googlenet_aux`` is
the training net with both auxiliary classifiers after 4a and 4d. ``googlenet_paper`` (and
``googlenet_paper_aux``) is the network as published, compared row by row with Table 1 (see the
notes above its builder below).
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import (
    AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Concat, Conv2d, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2d,
    ReLU,
)
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


def inception(b, x, name, c1, c3r, c3, c5r, c5, pool_proj, k5=3, conv=basic_conv):
    """One Inception module; ``conv`` builds each conv unit (torchvision's BasicConv2d by default,
    :func:`paper_conv` for the paper's plain conv + ReLU)."""
    with b.scope(name):
        b1 = conv(b, x, "branch1", c1, 1)
        b2 = conv(b, x, "branch2.0", c3r, 1)
        b2 = conv(b, b2, "branch2.1", c3, 3, padding=1)
        b3 = conv(b, x, "branch3.0", c5r, 1)
        b3 = conv(b, b3, "branch3.1", c5, k5, padding=k5 // 2)
        b4 = b.add(MaxPool2d(3, 1, padding=1, ceil_mode=True), x, name="branch4.0")
        b4 = conv(b, b4, "branch4.1", pool_proj, 1)
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


# --------------------------------------------------------------------------- the paper's network
#
# ``googlenet_paper``: Szegedy et al. 2015 as published (Table 1, Fig. 3, sec. 5) and as Caffe's
# bvlc_googlenet reproduces it: plain convolutions with bias + ReLU (no batch norm, which came
# later), a true 5x5 branch, LRN after pool1 and after conv2's 3x3, 3x3/2 max pools in ceil mode,
# a 7x7/1 average pool, dropout 40% and a linear classifier. With ``aux_logits`` it adds the two
# auxiliary classifiers of sec. 5 (5x5/3 average pool, 1x1 conv 128 + ReLU, FC 1024 + ReLU,
# dropout 70%, linear) after 4a and 4d.
#
# Table 1 per row against this model (``TABLE1`` below; tests/test_zoo_classic.py checks each row to
# the table's rounding, i.e. half a unit of its last printed digit):
# - ops (M) = 10^6 multiply-accumulates of the row's convolutions / linear layer, bias not counted.
#   Rows matching: conv2, 3a, 3b, 4b, 4c, 4d, 4e, 5b, linear (e.g. 3a: 28*28*163,328 = 128.05M).
#   Not matching: conv1 (table 34M, 118.01M here), 4a (73M vs 73.61M), 5a (54M vs 51.08M); for
#   4a and 5a (and conv1, up to its rounding) the table's ops are the table's own params times the
#   output positions, so those rows carry the params-column error into the ops column.
# - params (K) counts weights only (no biases) with K = 1024: conv2 114,688 = 112.0K, 3a 163,328 =
#   159.5K, linear 1,024,000 = 1000.0K match; 3b (379.0K vs 380) and 4b (438.0K vs 437) are off by
#   one unit, and 4a, 4c, 4d, 4e, 5a, 5b and conv1 are further off (4c 497.5K vs 463) with no
#   counting convention that reproduces them (checked: K = 1000/1024, with/without biases).
# - conv1 "2.7K / 34M" cannot come from a 7x7x3x64 conv (9,408 weights, 118M MACs at 112x112).
# - Total: 6,998,552 params, the 6.999 MParams OpenVINO's model zoo lists for Caffe's bvlc_googlenet.
# - The ops column sums to 1,502M, the text's "1.5 billion multiply-adds" budget (sec. 5); this model
#   performs 1,582,671,872 MACs, the difference being almost all conv1's row.

#: Table 1 rows: (archcalc layer prefix(es), params in K, ops in M)
TABLE1 = {
    "conv1": (("conv1",), 2.7, 34),
    "conv2": (("conv2", "conv3"), 112, 360),
    "inception3a": (("inception3a.",), 159, 128),
    "inception3b": (("inception3b.",), 380, 304),
    "inception4a": (("inception4a.",), 364, 73),
    "inception4b": (("inception4b.",), 437, 88),
    "inception4c": (("inception4c.",), 463, 100),
    "inception4d": (("inception4d.",), 580, 119),
    "inception4e": (("inception4e.",), 840, 170),
    "inception5a": (("inception5a.",), 1072, 54),
    "inception5b": (("inception5b.",), 1388, 71),
    "linear": (("fc",), 1000, 1),
}


def paper_conv(b, x, prefix, out, kernel, stride=1, padding=0):
    """The paper's conv unit: convolution with bias + ReLU (``prefix.conv``, ``prefix.relu``)."""
    with b.scope(prefix):
        x = b.add(Conv2d(out, kernel, stride=stride, padding=padding), x, name="conv")
        return b.add(ReLU(True), x, name="relu")


def paper_aux_head(b, x, name, num_classes):
    """Sec. 5: 5x5/3 average pool (4x4 at 14x14), 1x1 conv 128 + ReLU, FC 1024 + ReLU,
    70% dropout, linear classifier."""
    with b.scope(name):
        y = b.add(AvgPool2d(5, 3), x, name="avgpool")
        y = paper_conv(b, y, "conv", 128, 1)
        y = b.add(Flatten(), y, name="flatten")
        y = b.add(Linear(1024), y, name="fc1")
        y = b.add(ReLU(True), y, name="relu")
        y = b.add(Dropout(0.7), y, name="dropout")
        return b.add(Linear(num_classes), y, name="fc2")


def googlenet_paper(name, input_shape, aux_logits=False, num_classes=1000):
    lrn = dict(size=5, alpha=1e-4, beta=0.75, k=1.0)  # Caffe's LRN defaults, as bvlc_googlenet uses
    b = Builder(name, input_shape)
    x = paper_conv(b, b.input, "conv1", 64, 7, stride=2, padding=3)
    x = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name="maxpool1")
    x = b.add(LocalResponseNorm(**lrn), x, name="norm1")
    x = paper_conv(b, x, "conv2", 64, 1)
    x = paper_conv(b, x, "conv3", 192, 3, padding=1)
    x = b.add(LocalResponseNorm(**lrn), x, name="norm2")
    x = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name="maxpool2")
    outputs = []
    for mod in ("inception3a", "inception3b"):
        x = inception(b, x, mod, *INCEPTION[mod], k5=5, conv=paper_conv)
    x = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name="maxpool3")
    for mod in ("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"):
        x = inception(b, x, mod, *INCEPTION[mod], k5=5, conv=paper_conv)
        if aux_logits and mod in ("inception4a", "inception4d"):
            outputs.append(paper_aux_head(b, x, "aux1" if mod == "inception4a" else "aux2", num_classes))
    x = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name="maxpool4")
    for mod in ("inception5a", "inception5b"):
        x = inception(b, x, mod, *INCEPTION[mod], k5=5, conv=paper_conv)
    x = b.add(AvgPool2d(7, 1), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    x = b.add(Dropout(0.4), x, name="dropout")
    fc = b.add(Linear(num_classes), x, name="fc")
    return b.build(outputs=[fc] + outputs)


register_model(
    "googlenet_paper", googlenet_paper, family="GoogLeNet",
    variant="paper (5x5 branch, LRN, conv bias, no BN, 7x7 avg pool); deployed, no aux heads",
    source="Szegedy et al. 2015, Table 1, Fig. 3 and sec. 5; Caffe bvlc_googlenet",
    published=(Published("Szegedy et al. 2015, Table 1 (params K=1024 weights, ops M=10^6 MACs per row)",
                         extra={"table1": TABLE1, "budget_gmacs": 1.5}),
               Published("OpenVINO open_model_zoo models/public/googlenet-v1 (Caffe bvlc_googlenet): MParams",
                         extra={"mparams": 6.999})),
)
register_model(
    "googlenet_paper_aux", googlenet_paper, family="GoogLeNet", aux_logits=True,
    variant="paper, training net with both auxiliary classifiers (sec. 5)",
    source="Szegedy et al. 2015, Fig. 3 and sec. 5; Caffe bvlc_googlenet train_val",
)
