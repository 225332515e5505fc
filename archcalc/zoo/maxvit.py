"""MaxViT-T.

Tu, Talebi, Zhang, Yang, Milanfar, Bovik, Li, "MaxViT: Multi-Axis Vision Transformer", ECCV 2022,
section 3 and Figure 2 (each layer: an MBConv with squeeze-excitation, then block attention inside
non-overlapping P x P windows and grid attention over a dilated G x G grid, each followed by an MLP,
with relative position bias) and Table 1 (MaxViT-T: stem 64, blocks of 2/2/5/2 layers with
64/128/256/512 channels, head dim 32, P = G = 7). The layout mirrors ``torchvision.models.maxvit``:
``stem`` (3x3 s2 conv-BN-GELU, 3x3 conv with bias); ``MBConv`` = pre-norm BN, 1x1 conv-BN-GELU to 4x,
depthwise 3x3 (carrying the stride) conv-BN-GELU, squeeze-excitation (SiLU, to a quarter of the
output width), 1x1 conv with bias, plus the shortcut (3x3 s2 average pool and a 1x1 conv with bias
where the shape changes); ``PartitionAttentionLayer`` = partition into (groups, 49 tokens, C) (the
grid variant swaps the two leading axes), LayerNorm, ``RelativePositionalMultiHeadAttention``
(``to_qkv`` Linear, keys scaled, ``einsum`` scores, the ``(2P-1)^2 x heads`` bias table gathered and
added, softmax, ``einsum`` with the values, ``merge`` Linear), residual, LayerNorm-MLP (4x, GELU),
residual, departition. Classifier: average pool, LayerNorm, Linear, tanh, Linear without bias.
Registered at 224x224, where the weights' ``_ops`` apply.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import (
    Activation, AdaptiveAvgPool2d, Add, AvgPool2d, BatchNorm2d, Conv2d, Dropout, Einsum, Flatten, Identity, LayerNorm,
    LearnedTensor, Linear, PerItem, Permute, Reshape, Scale, Slice, Softmax, Transpose,
)
from . import Published, register_model
from ._mobile import squeeze_excitation


def _mbconv(b, x, p, cin, cout, stride):
    short = x
    if stride != 1 or cin != cout:
        if stride == 2:
            short = b.add(AvgPool2d(3, stride=2, padding=1), short, name=f"{p}.proj.0")
        short = b.add(Conv2d(cout, 1), short, name=f"{p}.proj.{1 if stride == 2 else 0}")
    mid = int(cout * 4)
    y = b.add(BatchNorm2d(), x, name=f"{p}.layers.pre_norm")
    y = b.sequential(f"{p}.layers.conv_a", y, [Conv2d(mid, 1, bias=False), BatchNorm2d(), Activation("gelu")])
    y = b.sequential(f"{p}.layers.conv_b", y, [Conv2d(mid, 3, stride=stride, padding=1, groups=mid, bias=False),
                                               BatchNorm2d(), Activation("gelu")])
    y = squeeze_excitation(b, y, f"{p}.layers.squeeze_excitation", mid, int(cout * 0.25), act="silu")
    y = b.add(Conv2d(cout, 1), y, name=f"{p}.layers.conv_c")
    y = b.add(Identity(), y, name=f"{p}.stochastic_depth")
    return b.add(Add(), short, y, name=f"{p}.add")


def _partition_attention(b, x, p, c, side, grid, head_dim=32, partition=7):
    """torchvision ``PartitionAttentionLayer`` on a (C, side, side) map; ``grid`` selects grid attention."""
    n_part = side // partition
    q_ = n_part if grid else partition  # the partition_op's P
    g = (side // q_) ** 2
    heads, t = c // head_dim, partition * partition
    x = b.add(Reshape((c, side // q_, q_, side // q_, q_)), x, name=f"{p}.partition")
    x = b.add(Permute((1, 3, 2, 4, 0)), x, name=f"{p}.partition_permute")
    x = b.add(Reshape((g, q_ * q_, c)), x, name=f"{p}.partition_flat")
    if grid:
        x = b.add(Transpose(0, 1), x, name=f"{p}.partition_swap")
    groups = q_ * q_ if grid else g
    a = b.add(LayerNorm((c,)), x, name=f"{p}.attn_layer.0")
    m = f"{p}.attn_layer.1"
    qkv = b.add(PerItem(Linear(3 * c)), a, name=f"{m}.to_qkv")
    parts = []
    for i, s in enumerate("qkv"):
        y = b.add(Slice(i * c, (i + 1) * c, axis=-1), qkv, name=f"{m}.{s}_chunk")
        y = b.add(Reshape((groups, t, heads, head_dim)), y, name=f"{m}.{s}_heads")
        parts.append(b.add(Permute((0, 2, 1, 3)), y, name=f"{m}.{s}"))
    q, k, v = parts
    k = b.add(Scale(c ** -0.5), k, name=f"{m}.k_scale")
    s = b.add(Einsum("ghid,ghjd->ghij"), q, k, name=f"{m}.scores")
    s = b.add(LearnedTensor((heads, t, t), "add", stored=(2 * partition - 1) ** 2 * heads, index=t * t), s, name=m)
    s = b.add(Softmax(-1), s, name=f"{m}.softmax")
    y = b.add(Einsum("ghij,ghjd->ghid"), s, v, name=f"{m}.weighted")
    y = b.add(Permute((0, 2, 1, 3)), y, name=f"{m}.heads_back")
    y = b.add(Reshape((groups, t, c)), y, name=f"{m}.heads_flat")
    y = b.add(PerItem(Linear(c)), y, name=f"{m}.merge")
    y = b.add(Dropout(0.0), y, name=f"{p}.attn_layer.2")
    y = b.add(Identity(), y, name=f"{p}.stochastic_dropout")
    x = b.add(Add(), x, y, name=f"{p}.add")
    y = b.sequential(f"{p}.mlp_layer", x, [LayerNorm((c,)), PerItem(Linear(4 * c)), Activation("gelu"),
                                           PerItem(Linear(c)), Dropout(0.0)])
    y = b.add(Identity(), y, name=f"{p}.stochastic_dropout_1")
    x = b.add(Add(), x, y, name=f"{p}.add_1")
    if grid:
        x = b.add(Transpose(0, 1), x, name=f"{p}.departition_swap")
    x = b.add(Reshape((side // q_, side // q_, q_, q_, c)), x, name=f"{p}.departition")
    x = b.add(Permute((4, 0, 2, 1, 3)), x, name=f"{p}.departition_permute")
    return b.add(Reshape((c, side, side)), x, name=f"{p}.departition_flat")


def maxvit(name, input_shape, stem=64, channels=(64, 128, 256, 512), layers=(2, 2, 5, 2), num_classes=1000):
    b = Builder(name, input_shape)
    x = b.sequential("stem.0", b.input, [Conv2d(stem, 3, stride=2, padding=1, bias=False), BatchNorm2d(),
                                         Activation("gelu")])
    x = b.add(Conv2d(stem, 3, padding=1), x, name="stem.1.0")
    side = (input_shape[1] - 1) // 2 + 1
    cin = stem
    for i, (c, n) in enumerate(zip(channels, layers)):
        side = (side - 1) // 2 + 1  # each block's first MBConv has stride 2
        for j in range(n):
            p = f"blocks.{i}.layers.{j}.layers"
            x = _mbconv(b, x, f"{p}.MBconv", cin if j == 0 else c, c, 2 if j == 0 else 1)
            x = _partition_attention(b, x, f"{p}.window_attention", c, side, grid=False)
            x = _partition_attention(b, x, f"{p}.grid_attention", c, side, grid=True)
        cin = c
    c = channels[-1]
    x = b.sequential("classifier", x, [AdaptiveAvgPool2d(1), Flatten(), LayerNorm((c,)), Linear(c),
                                       Activation("tanh"), Linear(num_classes, bias=False)])
    return b.build()


register_model(
    "maxvit_t", maxvit, family="MaxViT", variant="MaxViT-T: stem 64, 64/128/256/512 x 2/2/5/2, P = G = 7, 224x224",
    source="Tu et al. 2022 (arXiv:2204.01697), sec. 3, Fig. 2 and Table 1 (MaxViT-T); torchvision.models.maxvit_t",
    torchvision="maxvit_t",
    published=Published("torchvision MaxVit_T_Weights.IMAGENET1K_V1", params=30_919_624,
                        extra={"gflops": 5.558, "weights": "IMAGENET1K_V1"}),
)
