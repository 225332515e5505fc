"""ShuffleNet v1 and v2.

**ShuffleNet v1**: Zhang, Zhou, Lin, Sun, "ShuffleNet: An Extremely Efficient Convolutional Neural
Network for Mobile Devices", CVPR 2018. Table 1 gives the body (3x3 conv 24, 3x3 max pool, stages
of 4/8/4 units, global pool, FC) and the output channels per group count ``g`` (1, 2, 3, 4, 8);
Figure 2(b)/(c) the units: 1x1 group conv (to a bottleneck of 1/4 of the unit's output channels),
BN, ReLU, channel shuffle, 3x3 depthwise conv, BN, 1x1 group conv, BN, then add (stride 1) or
concatenation with a 3x3 stride-2 average-pooled shortcut (stride 2), then ReLU. The first
pointwise layer of stage 2 is not grouped (section 3.3). "ShuffleNet s x" scales the stages'
filters by ``s`` (``scale``). No torchvision model exists.

What the paper leaves open follows the authors' code (megvii-model/ShuffleNet-Series, ShuffleNetV1):
3x3 convs and pools pad 1; the stride-2 bottleneck is 1/4 of the unit's full output; the stem
(first conv) has 12 / 24 / 24 / 48 filters at 0.5x / 1x / 1.5x / 2x for g = 3 (16 at 0.5x for
g = 8; ``stem_channels`` overrides). Node names
follow torchvision's ShuffleNetV2 layout (``conv1``, ``maxpool``, ``stage2.0.branch_main.0``).

The paper's "complexity" (MFLOPs) is mult-adds, but its tables do not count the same layers
(recomputed in ``tests/test_zoo_mobile.py``): Table 1's row (143 / 140 / 137 / 133 / 137 for
g = 1, 2, 3, 4, 8) is reproduced, every entry, by the count *without* the 1000-way FC (with it,
g = 2, 4, 8 come to 141 / 134 / 138); Table 5's g = 3 models (0.5x 38, 1.5x 292, 2x 524) only *with*
it (without: 37, 291, 522). Table 2's complexity column (140 / 38 / 13) is one nominal figure per
width for all group counts. For 0.25x neither the paper nor the authors' code gives the stem: the
registered ``shufflenet_v1_x0_25`` uses 12 filters (as at 0.5x), which reproduces Table 2's 13
MFLOPs for g = 3 (13.30M; a scaled stem of 6 gives 11.01M, 24 gives 17.88M); that stem width is
a reconstruction, not a citation.

**ShuffleNet v2**: Ma, Zhang, Zheng, Sun, ECCV 2018, Table 5; layout of
``torchvision.models.shufflenet_v2_x0_5`` / ``x1_0`` / ``x1_5`` / ``x2_0`` (1,366,792 / 2,278,604 /
3,503,624 / 7,393,996 params; 0.04 / 0.145 / 0.296 / 0.583 GFLOPS = GMACs in their weights' meta).
A stride-1 unit splits the channels in half (two views, ``x.chunk(2, dim=1)``), transforms one half,
concatenates and shuffles with 2 groups.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import (
    Add,
    AvgPool2d,
    BatchNorm2d,
    ChannelShuffle,
    Concat,
    Conv2d,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    ReLU,
    Slice,
)
from . import Published, register_model

# ---------------------------------------------------------------------------------------------
# ShuffleNet v1 (paper)

#: Table 1: output channels of stages 2, 3, 4 for each number of groups g (ShuffleNet 1x).
V1_CHANNELS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088),
               8: (384, 768, 1536)}
V1_REPEATS = (4, 8, 4)


def _v1_unit(b, x, cin, cout, groups, stride, first_group):
    mid = cout // 4
    branch_out = cout - cin if stride == 2 else cout
    g1 = 1 if first_group else groups
    y = b.sequential("branch_main", x, [Conv2d(mid, 1, groups=g1, bias=False), BatchNorm2d(), ReLU(True)])
    if groups > 1:
        y = b.add(ChannelShuffle(groups), y, name="shuffle")
    y = b.sequential("branch_main", y, [Conv2d(mid, 3, stride=stride, padding=1, groups=mid, bias=False),
                                        BatchNorm2d(), Conv2d(branch_out, 1, groups=groups, bias=False),
                                        BatchNorm2d()], start=3)
    if stride == 2:
        short = b.add(AvgPool2d(3, 2, padding=1), x, name="branch_proj")
        y = b.add(Concat(), short, y, name="cat")
    else:
        y = b.add(Add(), y, x, name="add")
    return b.add(ReLU(True), y, name="relu")


#: First-conv filters per (g, scale) in the authors' code (it has g = 3 and 8); otherwise
#: ``int(24 * scale)``.
V1_STEM = {(3, 0.5): 12, (3, 1.0): 24, (3, 1.5): 24, (3, 2.0): 48,
           (8, 0.5): 16, (8, 1.0): 24, (8, 1.5): 24, (8, 2.0): 48}


def shufflenet_v1(name, input_shape, groups=3, scale=1.0, stem_channels=None, num_classes=1000):
    """ShuffleNet v1 (``groups`` g, ``scale`` s for "ShuffleNet s x")."""
    if groups not in V1_CHANNELS:
        raise ValueError(f"groups must be one of {sorted(V1_CHANNELS)} (Table 1), got {groups!r}")
    stem = stem_channels if stem_channels is not None else V1_STEM.get((groups, scale), int(24 * scale))
    b = Builder(name, input_shape)
    x = b.sequential("conv1", b.input, [Conv2d(stem, 3, stride=2, padding=1, bias=False), BatchNorm2d(),
                                        ReLU(True)])
    x = b.add(MaxPool2d(3, 2, padding=1), x, name="maxpool")
    cin = stem
    for stage, (c, n) in enumerate(zip(V1_CHANNELS[groups], V1_REPEATS), start=2):
        cout = int(c * scale)
        for i in range(n):
            with b.scope(f"stage{stage}.{i}"):
                x = _v1_unit(b, x, cin, cout, groups, 2 if i == 0 else 1, first_group=stage == 2 and i == 0)
            cin = cout
    x = b.add(GlobalAvgPool2d(), x, name="globalpool")
    b.add(Linear(num_classes), x, name="fc")
    return b.build()


_V1_SRC = "Zhang et al. 2018 (arXiv:1707.01083)"
# name: (g, scale, published MFLOPs, which table, whether that table's figure includes the FC)
_V1 = {
    "shufflenet_v1_g1": (1, 1.0, 143, "Table 1: ShuffleNet 1x, g = 1", False),
    "shufflenet_v1_g2": (2, 1.0, 140, "Table 1: ShuffleNet 1x, g = 2", False),
    "shufflenet_v1": (3, 1.0, 137, "Table 1: ShuffleNet 1x, g = 3", False),
    "shufflenet_v1_g4": (4, 1.0, 133, "Table 1: ShuffleNet 1x, g = 4", False),
    "shufflenet_v1_g8": (8, 1.0, 137, "Table 1: ShuffleNet 1x, g = 8", False),
    "shufflenet_v1_x0_5": (3, 0.5, 38, "Table 5: ShuffleNet 0.5x (g = 3)", True),
    "shufflenet_v1_x1_5": (3, 1.5, 292, "Table 5: ShuffleNet 1.5x (g = 3)", True),
    "shufflenet_v1_x2_0": (3, 2.0, 524, "Table 5: ShuffleNet 2x (g = 3)", True),
    "shufflenet_v1_x0_25": (3, 0.25, 13, "Table 2: ShuffleNet 0.25x (nominal for all g)", True),
}

for _name, (_g, _s, _mflops, _table, _with_fc) in _V1.items():
    register_model(
        _name, shufflenet_v1, family="ShuffleNet", groups=_g, scale=_s, variant=f"v1 {_s}x, g={_g}",
        source=f"{_V1_SRC}, Table 1 body and Figure 2 units; {_table}"
               + ("; stem of 12 reconstructed, see module docstring" if _s == 0.25 else ""),
        published=Published(f"{_V1_SRC}, {_table} (complexity, MFLOPs = mult-adds)",
                            extra={"mflops": _mflops, "includes_fc": _with_fc}),
        **({"stem_channels": 12} if _s == 0.25 else {}),
    )

# ---------------------------------------------------------------------------------------------
# ShuffleNet v2 (torchvision)

V2_REPEATS = (4, 8, 4)
#: torchvision's stages_out_channels (conv1, stage2..4, conv5) per width; Ma et al. 2018, Table 5.
V2_CHANNELS = {
    "x0_5": (24, 48, 96, 192, 1024),
    "x1_0": (24, 116, 232, 464, 1024),
    "x1_5": (24, 176, 352, 704, 1024),
    "x2_0": (24, 244, 488, 976, 2048),
}


def _dw(c, stride):
    return Conv2d(c, 3, stride=stride, padding=1, groups=c, bias=False)


def _v2_unit(b, x, cin, cout, stride):
    half = cout // 2
    if stride > 1:
        left = b.sequential("branch1", x, [_dw(cin, stride), BatchNorm2d(), Conv2d(half, 1, bias=False),
                                           BatchNorm2d(), ReLU(True)])
        right_in = x
    else:
        left = b.add(Slice(0, half), x, name="chunk0")
        right_in = b.add(Slice(half, cin), x, name="chunk1")
    right = b.sequential("branch2", right_in, [
        Conv2d(half, 1, bias=False), BatchNorm2d(), ReLU(True),
        _dw(half, stride), BatchNorm2d(),
        Conv2d(half, 1, bias=False), BatchNorm2d(), ReLU(True),
    ])
    y = b.add(Concat(), left, right, name="cat")
    return b.add(ChannelShuffle(2), y, name="channel_shuffle")


def shufflenet_v2(name, input_shape, width="x1_0", num_classes=1000):
    """torchvision's ShuffleNetV2 at ``width`` x0_5, x1_0, x1_5 or x2_0."""
    if width not in V2_CHANNELS:
        raise ValueError(f"width must be one of {sorted(V2_CHANNELS)}, got {width!r}")
    chans = V2_CHANNELS[width]
    b = Builder(name, input_shape)
    x = b.sequential("conv1", b.input, [Conv2d(chans[0], 3, stride=2, padding=1, bias=False), BatchNorm2d(),
                                        ReLU(True)])
    x = b.add(MaxPool2d(3, 2, padding=1), x, name="maxpool")
    cin = chans[0]
    for stage, (cout, n) in enumerate(zip(chans[1:4], V2_REPEATS), start=2):
        for i in range(n):
            with b.scope(f"stage{stage}.{i}"):
                x = _v2_unit(b, x, cin, cout, 2 if i == 0 else 1)
            cin = cout
    x = b.sequential("conv5", x, [Conv2d(chans[4], 1, bias=False), BatchNorm2d(), ReLU(True)])
    x = b.add(GlobalAvgPool2d(), x, name="globalpool")  # x.mean([2, 3])
    b.add(Linear(num_classes), x, name="fc")
    return b.build()


_V2_TV = {"x0_5": (1_366_792, 0.04), "x1_0": (2_278_604, 0.145), "x1_5": (3_503_624, 0.296),
          "x2_0": (7_393_996, 0.583)}

for _w, (_params, _gmacs) in _V2_TV.items():
    register_model(
        f"shufflenet_v2_{_w}", shufflenet_v2, family="ShuffleNet", width=_w,
        variant=f"v2 {_w[1:].replace('_', '.')}x",
        source=f"Ma et al. 2018 (arXiv:1807.11164), Table 5; torchvision.models.shufflenet_v2_{_w}",
        torchvision=f"shufflenet_v2_{_w}",
        published=Published(f"torchvision ShuffleNet_V2_X{_w[1:].upper()}_Weights.IMAGENET1K_V1",
                            params=_params, extra={"gflops": _gmacs}),
    )
