"""Dual Path Networks DPN-68/92/98/131 in timm's layout.

Chen, Li, Xiao, Jin, Yan, Feng, "Dual Path Networks", NeurIPS 2017, Table 1: a ResNeXt-style
bottleneck (1x1 ``k_R``-wide, 3x3 grouped with ``G`` groups, 1x1) whose last 1x1 emits
``bw + inc`` channels; the first ``bw`` are added to a residual path and the last ``inc`` are
appended to a densely connected path, so each stage's width grows by ``inc`` per block. The
residual and dense paths travel as one tensor ``[residual (bw) | dense]``. Table 1 rows, e.g.
DPN-92 (32x3d): stem 7x7 64; conv2 [1x1 96, 3x3 96 G=32, 1x1 256 (+16)] x3; conv3 192/512 (+32) x4;
conv4 384/1024 (+24) x20; conv5 768/2048 (+128) x3. DPN-68 (3x3 stem of 10 channels, k_R=128,
bw 64..512 instead of 256..2048) is the "small" model of the authors' MXNet release (cypw/DPNs),
which timm ports.

The graph mirrors ``timm.models.dpn`` (``dpn68``, ``dpn92``, ``dpn98``, ``dpn131``; ``b=False``)
module for module:

- every conv is preceded by its own BatchNorm (eps 0.001) + in-place ReLU (``BnActConv2d``: the
  BN is ``<name>.bn``, its ReLU ``<name>.bn.act``); convs have no bias;
- a stage's first block projects its input with ``c1x1_w_s1`` (stage conv2, stride 1) or
  ``c1x1_w_s2`` (stride 2) to ``bw + 2*inc`` channels; others use the input itself. Both the
  projection (or input) and the ``c1x1_c`` output are split into ``[:bw]`` and ``[bw:]`` (views:
  :class:`~archcalc.layers.Slice`), and the block returns ``cat([x_s1 + out1, x_s2, out2])``;
- after the last block ``features.conv5_bn_ac`` is BN + ReLU (not in place), then
  ``global_pool.pool`` (adaptive average), ``classifier`` (a 1x1 conv with bias) and ``flatten``.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import AdaptiveAvgPool2d, Add, BatchNorm2d, Concat, Conv2d, Flatten, MaxPool2d, ReLU, Slice
from . import register_model


def _bn_act(b, x, name, inplace=True):
    x = b.add(BatchNorm2d(eps=0.001), x, name=name)
    return b.add(ReLU(inplace), x, name=f"{name}.act")


def _bn_act_conv(b, x, name, out, kernel, stride=1, groups=1):
    """timm's BnActConv2d: ``name.bn`` (BN + ReLU as ``name.bn.act``), then ``name.conv``."""
    y = _bn_act(b, x, f"{name}.bn")
    return b.add(Conv2d(out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False), y,
                 name=f"{name}.conv")


def dual_path_block(b, x, r, bw, inc, groups, block_type):
    """One DualPathBlock (``block_type`` 'proj' | 'down' | 'normal'); returns the output node."""
    stride = 2 if block_type == "down" else 1
    if block_type != "normal":
        x_s = _bn_act_conv(b, x, f"c1x1_w_s{stride}", bw + 2 * inc, 1, stride=stride)
    else:
        x_s = x
    x_s1 = b.add(Slice(0, bw), x_s, name="x_s1")
    x_s2 = b.add(Slice(bw), x_s, name="x_s2")
    y = _bn_act_conv(b, x, "c1x1_a", r, 1)
    y = _bn_act_conv(b, y, "c3x3_b", r, 3, stride=stride, groups=groups)
    y = _bn_act_conv(b, y, "c1x1_c", bw + inc, 1)
    out1 = b.add(Slice(0, bw), y, name="out1")
    out2 = b.add(Slice(bw), y, name="out2")
    resid = b.add(Add(), x_s1, out1, name="resid")
    return b.add(Concat(), resid, x_s2, out2, name="cat")


def dpn(name, input_shape, k_sec=(3, 4, 20, 3), inc_sec=(16, 32, 24, 128), k_r=96, groups=32, small=False,
        num_init_features=64, num_classes=1000):
    bw_factor = 1 if small else 4
    b = Builder(name, input_shape)
    with b.scope("features"):
        stem_k = 3 if small else 7
        x = b.add(Conv2d(num_init_features, stem_k, stride=2, padding=stem_k // 2, bias=False), b.input,
                  name="conv1_1.conv")
        x = _bn_act(b, x, "conv1_1.bn")
        x = b.add(MaxPool2d(3, 2, padding=1), x, name="conv1_pool")
        for i, (bw_base, depth, inc) in enumerate(zip((64, 128, 256, 512), k_sec, inc_sec)):
            bw = bw_base * bw_factor
            r = k_r * bw_base // 64
            for j in range(1, depth + 1):
                block_type = "normal" if j > 1 else ("proj" if i == 0 else "down")
                with b.scope(f"conv{i + 2}_{j}"):
                    x = dual_path_block(b, x, r, bw, inc, groups, block_type)
        x = _bn_act(b, x, "conv5_bn_ac.bn", inplace=False)
    x = b.add(AdaptiveAvgPool2d(1), x, name="global_pool.pool")
    x = b.add(Conv2d(num_classes, 1, bias=True), x, name="classifier")
    b.add(Flatten(), x, name="flatten")
    return b.build()


# timm's model_args; the paper's name "(G x d)" is groups x (k_R / G) channels per group
_TIMM = {
    "dpn68": (dict(small=True, num_init_features=10, k_r=128, groups=32, k_sec=(3, 4, 12, 3),
                   inc_sec=(16, 32, 32, 64)),
              "the authors' MXNet release (cypw/DPNs) DPN-68, 3x3 stem; not a Table 1 row"),
    "dpn92": (dict(num_init_features=64, k_r=96, groups=32, k_sec=(3, 4, 20, 3), inc_sec=(16, 32, 24, 128)),
              "Chen et al. 2017, Table 1 (DPN-92, 32x3d)"),
    "dpn98": (dict(num_init_features=96, k_r=160, groups=40, k_sec=(3, 6, 20, 3), inc_sec=(16, 32, 32, 128)),
              "Chen et al. 2017, Table 1 (DPN-98, 40x4d)"),
    "dpn131": (dict(num_init_features=128, k_r=160, groups=40, k_sec=(4, 8, 28, 3), inc_sec=(16, 32, 32, 128)),
               "Chen et al. 2017 (DPN-131: DPN-98's widths, 4-8-28-3 blocks, the Table 1 template)"),
}

for _name, (_args, _paper) in _TIMM.items():
    register_model(
        _name, dpn, family="DPN", variant="timm (MXNet-compatible), b=False",
        source=f"{_paper}; timm.models.dpn.{_name}", timm=_name, **_args,
    )
