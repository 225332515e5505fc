"""Inception-v3, Inception-v4, Inception-ResNet-v1 and Inception-ResNet-v2 (299x299 input).

- ``inception_v3`` / ``inception_v3_aux``: Szegedy et al., "Rethinking the Inception Architecture
  for Computer Vision", CVPR 2016, Table 1 and Figs. 5-7, 10; mirrors
  ``torchvision.models.inception_v3`` (BasicConv2d = conv without bias + BN(eps 0.001) + ReLU; the
  pooling branches are ``F.avg_pool2d(3, 1, 1)`` counting the padding). torchvision's
  ``Inception_V3_Weights.IMAGENET1K_V1`` meta lists 27,161,264 params, which is the net *with* the
  auxiliary classifier (``inception_v3_aux``, whose AuxLogits head holds 3,326,696 of them), and
  5.713 GFLOPS, which is the deployed forward pass *without* it (torchvision only runs AuxLogits
  in training mode). ``inception_v3`` (no aux) has 23,834,568 params.
- ``inception_v4`` and ``inception_resnet_v2``: Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4,
  Inception-ResNet and the Impact of Residual Connections on Learning", AAAI 2017
  (arXiv:1602.07261), Figs. 3-9, 15-18; mirror timm's ``inception_v4`` and
  ``inception_resnet_v2`` (ports of the TF-slim nets; ConvNormAct = conv without bias + BN(eps
  0.001) + ReLU; the residual up-projection 1x1 is a plain conv with bias and no BN, as the paper
  puts BN "only on top of the traditional layers, but not on top of the summations"; residual
  scales 0.17 / 0.10 / 0.20 as in the TF release; the final Inception-ResNet-C block has no ReLU;
  pooling branches use ``count_include_pad=False``). The paper gives no parameter counts.
  timm's Inception-ResNet-v2 is the released TF-slim checkpoint, whose widths differ from the
  paper's v2 figures: a ``mixed_5b`` stem ending at 35x35x320 (Fig. 3's stem gives 384), and
  residual widths 320 / 1088 / 2080 where Figs. 16, 17, 19 draw 384 / 1154 / 2048 linear 1x1
  projections; this model follows the checkpoint (the branch widths inside the blocks agree).
- ``inception_resnet_v1``: the same paper, Figs. 14 (stem), 10, 7 (Reduction-A with k=192,
  l=192, m=256, n=384, Table 1), 11, 12, 13 and 15 (5 x A, 10 x B, 5 x C; 35x35x256, 17x17x896,
  8x8x1792 grids). Neither torchvision nor timm ships it, so it is built from those figures with
  the conventions of timm's v2 port above (BN after every non-residual conv, a biased linear 1x1
  up-projection, residual scales 0.17 / 0.10 / 0.20); every Inception-ResNet-C block keeps its ReLU
  as Fig. 13 draws it. Its tests check the figures' grid sizes and hand counts, not a published
  total (the paper gives none).
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import (
    AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Add, Concat, Conv2d, Dropout, Flatten, Linear, MaxPool2d,
    ReLU, Scale,
)
from . import Published, register_model
from .googlenet import basic_conv as tv_conv  # torchvision's BasicConv2d, shared with GoogLeNet


def cna(b, x, prefix, out, kernel, stride=1, padding=0):
    """timm's ConvNormAct: conv (no bias) + BatchNormAct2d(eps=0.001) whose ReLU is ``bn.act``."""
    with b.scope(prefix):
        x = b.add(Conv2d(out, kernel, stride=stride, padding=padding, bias=False), x, name="conv")
        x = b.add(BatchNorm2d(eps=0.001), x, name="bn")
        return b.add(ReLU(True), x, name="bn.act")


def chain(b, x, prefix, specs, conv=cna):
    """An nn.Sequential of conv blocks: ``prefix.0``, ``prefix.1``...; spec = (out, k, s, p)."""
    for i, spec in enumerate(specs):
        x = conv(b, x, f"{prefix}.{i}", *spec)
    return x


def classifier(b, x, num_classes, fc_name, dropout=0.0):
    """timm's create_classifier head: SelectAdaptivePool2d(avg, flatten) + head_drop + linear
    (``dropout=None``: a model without a head_drop module)."""
    x = b.add(AdaptiveAvgPool2d(1), x, name="global_pool.pool")
    x = b.add(Flatten(), x, name="global_pool.flatten")
    if dropout is not None:
        x = b.add(Dropout(dropout), x, name="head_drop")
    return b.add(Linear(num_classes), x, name=fc_name)


# ------------------------------------------------------------------------------- Inception-v3

def _v3_a(b, x, name, pool_features):
    with b.scope(name):
        b1 = tv_conv(b, x, "branch1x1", 64, 1)
        b5 = tv_conv(b, x, "branch5x5_1", 48, 1)
        b5 = tv_conv(b, b5, "branch5x5_2", 64, 5, padding=2)
        bd = tv_conv(b, x, "branch3x3dbl_1", 64, 1)
        bd = tv_conv(b, bd, "branch3x3dbl_2", 96, 3, padding=1)
        bd = tv_conv(b, bd, "branch3x3dbl_3", 96, 3, padding=1)
        bp = b.add(AvgPool2d(3, 1, padding=1), x, name="avg_pool")
        bp = tv_conv(b, bp, "branch_pool", pool_features, 1)
        return b.add(Concat(), b1, b5, bd, bp, name="cat")


def _v3_b(b, x, name):
    with b.scope(name):
        b3 = tv_conv(b, x, "branch3x3", 384, 3, stride=2)
        bd = tv_conv(b, x, "branch3x3dbl_1", 64, 1)
        bd = tv_conv(b, bd, "branch3x3dbl_2", 96, 3, padding=1)
        bd = tv_conv(b, bd, "branch3x3dbl_3", 96, 3, stride=2)
        bp = b.add(MaxPool2d(3, 2), x, name="max_pool")
        return b.add(Concat(), b3, bd, bp, name="cat")


def _v3_c(b, x, name, c7):
    with b.scope(name):
        b1 = tv_conv(b, x, "branch1x1", 192, 1)
        b7 = tv_conv(b, x, "branch7x7_1", c7, 1)
        b7 = tv_conv(b, b7, "branch7x7_2", c7, (1, 7), padding=(0, 3))
        b7 = tv_conv(b, b7, "branch7x7_3", 192, (7, 1), padding=(3, 0))
        bd = tv_conv(b, x, "branch7x7dbl_1", c7, 1)
        bd = tv_conv(b, bd, "branch7x7dbl_2", c7, (7, 1), padding=(3, 0))
        bd = tv_conv(b, bd, "branch7x7dbl_3", c7, (1, 7), padding=(0, 3))
        bd = tv_conv(b, bd, "branch7x7dbl_4", c7, (7, 1), padding=(3, 0))
        bd = tv_conv(b, bd, "branch7x7dbl_5", 192, (1, 7), padding=(0, 3))
        bp = b.add(AvgPool2d(3, 1, padding=1), x, name="avg_pool")
        bp = tv_conv(b, bp, "branch_pool", 192, 1)
        return b.add(Concat(), b1, b7, bd, bp, name="cat")


def _v3_d(b, x, name):
    with b.scope(name):
        b3 = tv_conv(b, x, "branch3x3_1", 192, 1)
        b3 = tv_conv(b, b3, "branch3x3_2", 320, 3, stride=2)
        b7 = tv_conv(b, x, "branch7x7x3_1", 192, 1)
        b7 = tv_conv(b, b7, "branch7x7x3_2", 192, (1, 7), padding=(0, 3))
        b7 = tv_conv(b, b7, "branch7x7x3_3", 192, (7, 1), padding=(3, 0))
        b7 = tv_conv(b, b7, "branch7x7x3_4", 192, 3, stride=2)
        bp = b.add(MaxPool2d(3, 2), x, name="max_pool")
        return b.add(Concat(), b3, b7, bp, name="cat")


def _v3_e(b, x, name):
    with b.scope(name):
        b1 = tv_conv(b, x, "branch1x1", 320, 1)
        b3 = tv_conv(b, x, "branch3x3_1", 384, 1)
        b3a = tv_conv(b, b3, "branch3x3_2a", 384, (1, 3), padding=(0, 1))
        b3b = tv_conv(b, b3, "branch3x3_2b", 384, (3, 1), padding=(1, 0))
        b3 = b.add(Concat(), b3a, b3b, name="branch3x3_cat")
        bd = tv_conv(b, x, "branch3x3dbl_1", 448, 1)
        bd = tv_conv(b, bd, "branch3x3dbl_2", 384, 3, padding=1)
        bda = tv_conv(b, bd, "branch3x3dbl_3a", 384, (1, 3), padding=(0, 1))
        bdb = tv_conv(b, bd, "branch3x3dbl_3b", 384, (3, 1), padding=(1, 0))
        bd = b.add(Concat(), bda, bdb, name="branch3x3dbl_cat")
        bp = b.add(AvgPool2d(3, 1, padding=1), x, name="avg_pool")
        bp = tv_conv(b, bp, "branch_pool", 192, 1)
        return b.add(Concat(), b1, b3, bd, bp, name="cat")


def _v3_aux(b, x, num_classes):
    with b.scope("AuxLogits"):
        y = b.add(AvgPool2d(5, 3), x, name="avg_pool")
        y = tv_conv(b, y, "conv0", 128, 1)
        y = tv_conv(b, y, "conv1", 768, 5)
        y = b.add(AdaptiveAvgPool2d(1), y, name="adaptive_avg_pool")
        y = b.add(Flatten(), y, name="flatten")
        return b.add(Linear(num_classes), y, name="fc")


def inception_v3(name, input_shape, aux_logits=False, num_classes=1000, dropout=0.5):
    b = Builder(name, input_shape)
    x = tv_conv(b, b.input, "Conv2d_1a_3x3", 32, 3, stride=2)
    x = tv_conv(b, x, "Conv2d_2a_3x3", 32, 3)
    x = tv_conv(b, x, "Conv2d_2b_3x3", 64, 3, padding=1)
    x = b.add(MaxPool2d(3, 2), x, name="maxpool1")
    x = tv_conv(b, x, "Conv2d_3b_1x1", 80, 1)
    x = tv_conv(b, x, "Conv2d_4a_3x3", 192, 3)
    x = b.add(MaxPool2d(3, 2), x, name="maxpool2")
    x = _v3_a(b, x, "Mixed_5b", 32)
    x = _v3_a(b, x, "Mixed_5c", 64)
    x = _v3_a(b, x, "Mixed_5d", 64)
    x = _v3_b(b, x, "Mixed_6a")
    for mod, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        x = _v3_c(b, x, mod, c7)
    aux = _v3_aux(b, x, num_classes) if aux_logits else None
    x = _v3_d(b, x, "Mixed_7a")
    x = _v3_e(b, x, "Mixed_7b")
    x = _v3_e(b, x, "Mixed_7c")
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")
    x = b.add(Dropout(dropout), x, name="dropout")
    x = b.add(Flatten(), x, name="flatten")
    fc = b.add(Linear(num_classes), x, name="fc")
    return b.build(outputs=[fc] + ([aux] if aux else []))


# ------------------------------------------------------------------------------- Inception-v4

def _v4_a(b, x, name):
    with b.scope(name):
        b0 = cna(b, x, "branch0", 96, 1)
        b1 = chain(b, x, "branch1", [(64, 1), (96, 3, 1, 1)])
        b2 = chain(b, x, "branch2", [(64, 1), (96, 3, 1, 1), (96, 3, 1, 1)])
        b3 = b.add(AvgPool2d(3, 1, padding=1, count_include_pad=False), x, name="branch3.0")
        b3 = cna(b, b3, "branch3.1", 96, 1)
        return b.add(Concat(), b0, b1, b2, b3, name="cat")


def _v4_reduction_a(b, x, name, k, l, m, n):
    """Fig. 7: k/l/m/n filters (Table 1: v4 192/224/256/384; IR-v1 192/192/256/384;
    IR-v2 256/256/384/384)."""
    with b.scope(name):
        b0 = cna(b, x, "branch0", n, 3, 2)
        b1 = chain(b, x, "branch1", [(k, 1), (l, 3, 1, 1), (m, 3, 2)])
        b2 = b.add(MaxPool2d(3, 2), x, name="branch2")
        return b.add(Concat(), b0, b1, b2, name="cat")


def _v4_b(b, x, name):
    with b.scope(name):
        b0 = cna(b, x, "branch0", 384, 1)
        b1 = chain(b, x, "branch1", [(192, 1), (224, (1, 7), 1, (0, 3)), (256, (7, 1), 1, (3, 0))])
        b2 = chain(b, x, "branch2", [(192, 1), (192, (7, 1), 1, (3, 0)), (224, (1, 7), 1, (0, 3)),
                                     (224, (7, 1), 1, (3, 0)), (256, (1, 7), 1, (0, 3))])
        b3 = b.add(AvgPool2d(3, 1, padding=1, count_include_pad=False), x, name="branch3.0")
        b3 = cna(b, b3, "branch3.1", 128, 1)
        return b.add(Concat(), b0, b1, b2, b3, name="cat")


def _v4_reduction_b(b, x, name):
    with b.scope(name):
        b0 = chain(b, x, "branch0", [(192, 1), (192, 3, 2)])
        b1 = chain(b, x, "branch1", [(256, 1), (256, (1, 7), 1, (0, 3)), (320, (7, 1), 1, (3, 0)), (320, 3, 2)])
        b2 = b.add(MaxPool2d(3, 2), x, name="branch2")
        return b.add(Concat(), b0, b1, b2, name="cat")


def _v4_c(b, x, name):
    with b.scope(name):
        b0 = cna(b, x, "branch0", 256, 1)
        b1 = cna(b, x, "branch1_0", 384, 1)
        b1a = cna(b, b1, "branch1_1a", 256, (1, 3), padding=(0, 1))
        b1b = cna(b, b1, "branch1_1b", 256, (3, 1), padding=(1, 0))
        b1 = b.add(Concat(), b1a, b1b, name="branch1_cat")
        b2 = cna(b, x, "branch2_0", 384, 1)
        b2 = cna(b, b2, "branch2_1", 448, (3, 1), padding=(1, 0))
        b2 = cna(b, b2, "branch2_2", 512, (1, 3), padding=(0, 1))
        b2a = cna(b, b2, "branch2_3a", 256, (1, 3), padding=(0, 1))
        b2b = cna(b, b2, "branch2_3b", 256, (3, 1), padding=(1, 0))
        b2 = b.add(Concat(), b2a, b2b, name="branch2_cat")
        b3 = b.add(AvgPool2d(3, 1, padding=1, count_include_pad=False), x, name="branch3.0")
        b3 = cna(b, b3, "branch3.1", 256, 1)
        return b.add(Concat(), b0, b1, b2, b3, name="cat")


def inception_v4(name, input_shape, num_classes=1000):
    b = Builder(name, input_shape)
    x = cna(b, b.input, "features.0", 32, 3, 2)
    x = cna(b, x, "features.1", 32, 3)
    x = cna(b, x, "features.2", 64, 3, 1, 1)
    with b.scope("features.3"):  # Mixed3a (Fig. 3 stem)
        p = b.add(MaxPool2d(3, 2), x, name="maxpool")
        c = cna(b, x, "conv", 96, 3, 2)
        x = b.add(Concat(), p, c, name="cat")
    with b.scope("features.4"):  # Mixed4a
        b0 = chain(b, x, "branch0", [(64, 1), (96, 3)])
        b1 = chain(b, x, "branch1", [(64, 1), (64, (1, 7), 1, (0, 3)), (64, (7, 1), 1, (3, 0)), (96, 3)])
        x = b.add(Concat(), b0, b1, name="cat")
    with b.scope("features.5"):  # Mixed5a
        c = cna(b, x, "conv", 192, 3, 2)
        p = b.add(MaxPool2d(3, 2), x, name="maxpool")
        x = b.add(Concat(), c, p, name="cat")
    i = 6
    for _ in range(4):
        x = _v4_a(b, x, f"features.{i}")
        i += 1
    x = _v4_reduction_a(b, x, f"features.{i}", 192, 224, 256, 384)
    i += 1
    for _ in range(7):
        x = _v4_b(b, x, f"features.{i}")
        i += 1
    x = _v4_reduction_b(b, x, f"features.{i}")
    i += 1
    for _ in range(3):
        x = _v4_c(b, x, f"features.{i}")
        i += 1
    classifier(b, x, num_classes, "last_linear")
    return b.build()


# ------------------------------------------------------------------------------- Inception-ResNet

def _residual(b, x, branches, channels, scale, relu=True, act_name="act"):
    """concat(branches) -> linear 1x1 up-projection back to the block's ``channels`` (bias, no
    BN) -> * scale -> + x (-> ReLU). timm names the ReLU ``act`` in Block35/Block17 but ``relu``
    in Block8."""
    cat = b.add(Concat(), *branches, name="cat")
    up = b.add(Conv2d(channels, 1), cat, name="conv2d")
    up = b.add(Scale(scale), up, name="scale")
    out = b.add(Add(), up, x, name="add")
    return b.add(ReLU(), out, name=act_name) if relu else out


def _ir_a(b, x, name, widths, out_channels):
    """Inception-ResNet-A (Fig. 16 for v2: 32 | 32-32 | 32-48-64; Fig. 10 for v1: 32 | 32-32 |
    32-32-32)."""
    (c0,), (c1a, c1b), (c2a, c2b, c2c) = widths
    with b.scope(name):
        b0 = cna(b, x, "branch0", c0, 1)
        b1 = chain(b, x, "branch1", [(c1a, 1), (c1b, 3, 1, 1)])
        b2 = chain(b, x, "branch2", [(c2a, 1), (c2b, 3, 1, 1), (c2c, 3, 1, 1)])
        return _residual(b, x, [b0, b1, b2], out_channels, 0.17)


def _ir_b(b, x, name, widths, out_channels):
    """Inception-ResNet-B (Fig. 17 for v2: 192 | 128-160-192; Fig. 11 for v1: 128 | 128-128-128)."""
    (c0,), (c1a, c1b, c1c) = widths
    with b.scope(name):
        b0 = cna(b, x, "branch0", c0, 1)
        b1 = chain(b, x, "branch1", [(c1a, 1), (c1b, (1, 7), 1, (0, 3)), (c1c, (7, 1), 1, (3, 0))])
        return _residual(b, x, [b0, b1], out_channels, 0.10)


def _ir_c(b, x, name, widths, out_channels, relu=True, scale=0.20):
    """Inception-ResNet-C (Fig. 19 for v2: 192 | 192-224-256; Fig. 13 for v1: 192 | 192-192-192)."""
    (c0,), (c1a, c1b, c1c) = widths
    with b.scope(name):
        b0 = cna(b, x, "branch0", c0, 1)
        b1 = chain(b, x, "branch1", [(c1a, 1), (c1b, (1, 3), 1, (0, 1)), (c1c, (3, 1), 1, (1, 0))])
        return _residual(b, x, [b0, b1], out_channels, scale, relu, act_name="relu")


def inception_resnet_v2(name, input_shape, num_classes=1000):
    b = Builder(name, input_shape)
    x = cna(b, b.input, "conv2d_1a", 32, 3, 2)
    x = cna(b, x, "conv2d_2a", 32, 3)
    x = cna(b, x, "conv2d_2b", 64, 3, 1, 1)
    x = b.add(MaxPool2d(3, 2), x, name="maxpool_3a")
    x = cna(b, x, "conv2d_3b", 80, 1)
    x = cna(b, x, "conv2d_4a", 192, 3)
    x = b.add(MaxPool2d(3, 2), x, name="maxpool_5a")
    with b.scope("mixed_5b"):
        b0 = cna(b, x, "branch0", 96, 1)
        b1 = chain(b, x, "branch1", [(48, 1), (64, 5, 1, 2)])
        b2 = chain(b, x, "branch2", [(64, 1), (96, 3, 1, 1), (96, 3, 1, 1)])
        b3 = b.add(AvgPool2d(3, 1, padding=1, count_include_pad=False), x, name="branch3.0")
        b3 = cna(b, b3, "branch3.1", 64, 1)
        x = b.add(Concat(), b0, b1, b2, b3, name="cat")
    for i in range(10):
        x = _ir_a(b, x, f"repeat.{i}", ((32,), (32, 32), (32, 48, 64)), 320)
    x = _v4_reduction_a(b, x, "mixed_6a", 256, 256, 384, 384)
    for i in range(20):
        x = _ir_b(b, x, f"repeat_1.{i}", ((192,), (128, 160, 192)), 1088)
    with b.scope("mixed_7a"):
        b0 = chain(b, x, "branch0", [(256, 1), (384, 3, 2)])
        b1 = chain(b, x, "branch1", [(256, 1), (288, 3, 2)])
        b2 = chain(b, x, "branch2", [(256, 1), (288, 3, 1, 1), (320, 3, 2)])
        b3 = b.add(MaxPool2d(3, 2), x, name="branch3")
        x = b.add(Concat(), b0, b1, b2, b3, name="cat")
    widths_c = ((192,), (192, 224, 256))
    for i in range(9):
        x = _ir_c(b, x, f"repeat_2.{i}", widths_c, 2080)
    x = _ir_c(b, x, "block8", widths_c, 2080, relu=False, scale=1.0)
    x = cna(b, x, "conv2d_7b", 1536, 1)
    classifier(b, x, num_classes, "classif")
    return b.build()


def inception_resnet_v1(name, input_shape, num_classes=1000, dropout=0.2):
    """Paper Figs. 14, 10, 7, 11, 12, 13, 15; dropout keeps 0.8 as in Fig. 15."""
    b = Builder(name, input_shape)
    x = cna(b, b.input, "conv2d_1a", 32, 3, 2)  # 149x149x32
    x = cna(b, x, "conv2d_2a", 32, 3)  # 147x147x32
    x = cna(b, x, "conv2d_2b", 64, 3, 1, 1)  # 147x147x64
    x = b.add(MaxPool2d(3, 2), x, name="maxpool_3a")  # 73x73x64
    x = cna(b, x, "conv2d_3b", 80, 1)  # 73x73x80
    x = cna(b, x, "conv2d_4a", 192, 3)  # 71x71x192
    x = cna(b, x, "conv2d_4b", 256, 3, 2)  # 35x35x256
    for i in range(5):
        x = _ir_a(b, x, f"repeat.{i}", ((32,), (32, 32), (32, 32, 32)), 256)
    x = _v4_reduction_a(b, x, "mixed_6a", 192, 192, 256, 384)  # 17x17x896
    for i in range(10):
        x = _ir_b(b, x, f"repeat_1.{i}", ((128,), (128, 128, 128)), 896)
    with b.scope("mixed_7a"):  # Reduction-B, Fig. 12: 8x8x1792
        b0 = chain(b, x, "branch0", [(256, 1), (384, 3, 2)])
        b1 = chain(b, x, "branch1", [(256, 1), (256, 3, 2)])
        b2 = chain(b, x, "branch2", [(256, 1), (256, 3, 1, 1), (256, 3, 2)])
        b3 = b.add(MaxPool2d(3, 2), x, name="branch3")
        x = b.add(Concat(), b0, b1, b2, b3, name="cat")
    for i in range(5):
        x = _ir_c(b, x, f"repeat_2.{i}", ((192,), (192, 192, 192)), 1792)
    classifier(b, x, num_classes, "classif", dropout=dropout)
    return b.build()


register_model(
    "inception_v3", inception_v3, family="Inception", input_shape=(3, 299, 299),
    variant="torchvision, deployed (no auxiliary classifier)",
    source="Szegedy et al. 2016 (Rethinking Inception), Table 1; torchvision.models.inception_v3(aux_logits=False)",
    torchvision="inception_v3", torchvision_kwargs={"aux_logits": False},
    published=Published("torchvision Inception_V3_Weights.IMAGENET1K_V1 (_ops: forward pass, aux not run)",
                        extra={"gflops": 5.713}),
)
register_model(
    "inception_v3_aux", inception_v3, family="Inception", input_shape=(3, 299, 299), aux_logits=True,
    variant="torchvision, training net with the auxiliary classifier after Mixed_6e",
    source="Szegedy et al. 2016 (Rethinking Inception), Fig. 8 and sec. 4; "
           "torchvision.models.inception_v3(aux_logits=True)",
    torchvision="inception_v3", torchvision_kwargs={"aux_logits": True},
    published=Published("torchvision Inception_V3_Weights.IMAGENET1K_V1 (num_params: aux head included)",
                        params=27_161_264),
)
register_model(
    "inception_v4", inception_v4, family="Inception", input_shape=(3, 299, 299), variant="timm (TF-slim port)",
    source="Szegedy et al. 2017 (Inception-v4), Figs. 3-9; timm inception_v4",
    timm="inception_v4",
)
register_model(
    "inception_resnet_v2", inception_resnet_v2, family="Inception", input_shape=(3, 299, 299),
    variant="timm (TF-slim port)",
    source="Szegedy et al. 2017 (Inception-v4), Figs. 3, 7, 15-19; timm inception_resnet_v2",
    timm="inception_resnet_v2",
)
register_model(
    "inception_resnet_v1", inception_resnet_v1, family="Inception", input_shape=(3, 299, 299),
    variant="paper figures (no torchvision/timm model)",
    source="Szegedy et al. 2017 (Inception-v4), Figs. 7, 10-15 and Table 1 (k,l,m,n = 192,192,256,384)",
)
