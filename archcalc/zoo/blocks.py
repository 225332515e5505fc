"""Building blocks from the course notes, to compare costs side by side.

- ``conv5x5_direct`` vs ``conv5x5_bottleneck``: deeplearning.ai's "Inception Network Motivation"
  (course notes, shared/seeds): a 28x28x192 input to 32 filters of 5x5 ('same') costs
  28*28*32 * 5*5*192 = 120,422,400 multiplies; through a 16-channel 1x1 "bottleneck" first,
  28*28*16 * 192 + 28*28*32 * 5*5*16 = 12,443,648: about 10x fewer.
- ``inception_naive`` vs ``inception_reduced``: Szegedy et al. 2015, Fig. 2 (a) and (b), with
  inception (3a)'s widths from Table 1 on its 28x28x192 input: 1x1 64; 3x3 128 (reduce 96); 5x5 32
  (reduce 16); 3x3 max pool (pool proj 32). The naive module concatenates the pooled input itself
  (64+128+32+192 = 416 channels); the reduced one outputs 256. Convs have biases and ReLU as in the
  paper (torchvision's GoogLeNet uses bias-free convs + BN instead).
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import Concat, Conv2d, MaxPool2d, ReLU
from . import Published, register_model

_COURSE = Published("deeplearning.ai course notes, 'Inception Network Motivation'",
                    extra={"direct_multiplies": 120_422_400, "bottleneck_multiplies": 12_443_648})


def conv5x5(name, input_shape, out_channels=32, bottleneck=None):
    b = Builder(name, input_shape)
    x = b.input
    if bottleneck:
        x = b.add(Conv2d(bottleneck, 1), x, name="reduce")
        x = b.add(ReLU(True), x, name="reduce.relu")
    x = b.add(Conv2d(out_channels, 5, padding=2), x, name="conv")
    b.add(ReLU(True), x, name="relu")
    return b.build()


def _conv_relu(b, x, name, c, k):
    x = b.add(Conv2d(c, k, padding=k // 2), x, name=name)
    return b.add(ReLU(True), x, name=name + ".relu")


def inception_block(name, input_shape, c1=64, c3r=96, c3=128, c5r=16, c5=32, pool_proj=32, reduced=True):
    b = Builder(name, input_shape)
    x = b.input
    b1 = _conv_relu(b, x, "branch1", c1, 1)
    b2 = _conv_relu(b, x, "branch2.reduce", c3r, 1) if reduced else x
    b2 = _conv_relu(b, b2, "branch2", c3, 3)
    b3 = _conv_relu(b, x, "branch3.reduce", c5r, 1) if reduced else x
    b3 = _conv_relu(b, b3, "branch3", c5, 5)
    b4 = b.add(MaxPool2d(3, 1, padding=1), x, name="branch4.pool")
    if reduced:
        b4 = _conv_relu(b, b4, "branch4", pool_proj, 1)
    b.add(Concat(), b1, b2, b3, b4, name="cat")
    return b.build()


register_model(
    "conv5x5_direct", conv5x5, family="Blocks", variant="28x28x192 -> 5x5x32",
    source="deeplearning.ai course notes (shared/seeds), 'Inception Network Motivation'",
    input_shape=(192, 28, 28), published=_COURSE,
)
register_model(
    "conv5x5_bottleneck", conv5x5, family="Blocks", bottleneck=16, variant="28x28x192 -> 1x1x16 -> 5x5x32",
    source="deeplearning.ai course notes (shared/seeds), 'Inception Network Motivation'",
    input_shape=(192, 28, 28), published=_COURSE,
)
register_model(
    "inception_naive", inception_block, family="Blocks", reduced=False,
    variant="Fig. 2(a) naive, inception (3a) widths",
    source="Szegedy et al. 2015, Fig. 2(a), Table 1 inception (3a)", input_shape=(192, 28, 28),
)
register_model(
    "inception_reduced", inception_block, family="Blocks", reduced=True,
    variant="Fig. 2(b) with 1x1 reductions, inception (3a) widths",
    source="Szegedy et al. 2015, Fig. 2(b), Table 1 inception (3a)", input_shape=(192, 28, 28),
)
