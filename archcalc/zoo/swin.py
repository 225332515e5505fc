"""Swin Transformer T / S / B (v1).

Liu, Lin, Cao, Hu, Wei, Zhang, Lin, Guo, "Swin Transformer: Hierarchical Vision Transformer using
Shifted Windows", ICCV 2021, section 3 (patch partition 4x4, stages of Swin blocks with window
multi-head self-attention in 7x7 windows, every second block on windows shifted by 3, relative
position bias, patch merging between stages) and section 3.3 (Swin-T: C = 96, layers 2/2/6/2; S: 96,
2/2/18/2; B: 128, 2/2/18/2; heads 3/6/12/24 for T and S, 4/8/16/32 for B). The layout mirrors
``torchvision.models.swin_transformer`` (channels-last (H, W, C) tensors): ``features.0`` = 4x4 s4
conv, permute, LayerNorm; each block is LayerNorm, ``ShiftedWindowAttention``, residual, LayerNorm,
MLP (Linear 4C, GELU, Linear C), residual; ``PatchMerging`` concatenates 2x2 neighbours (4C),
LayerNorm, Linear to 2C without bias; then LayerNorm, permute, average pool, Linear.

Inside the attention (torchvision's functional ``shifted_window_attention``) the map is split into
``nW`` windows of ``w*w`` tokens (reshape/permute views), ``qkv`` and ``proj`` are Linear layers on
every token (``PerItem(Linear)``), the scores ``q k^T`` and ``attn v`` are batched matmuls (MACs), the
relative position bias is a ``LearnedTensor`` add named after the attention module, which holds the
``(2w-1)^2 x heads`` table (its index is a buffer), and shifted blocks add the window mask (a constant
built in ``forward``: no parameters). The cyclic shifts (``torch.roll``) copy without arithmetic and
are not layers here. A stage whose map is no larger than the window neither shifts nor pads, as in
torchvision; other sizes that need padding are refused. Registered at 224x224, where the weights'
``_ops`` apply.
"""

from __future__ import annotations

from ..errors import ShapeError
from ..graph import Builder
from ..layers import (
    Activation, AdaptiveAvgPool2d, Add, Conv2d, Dropout, Flatten, Identity, LayerNorm, LearnedTensor, Linear,
    MatMul, PerItem, Permute, Reshape, Scale, Slice, Softmax, Transpose,
)
from . import Published, register_model

#: (embed dim C, blocks per stage, heads per stage): Liu et al. 2021, sec. 3.3
CONFIGS = {"t": (96, (2, 2, 6, 2), (3, 6, 12, 24)), "s": (96, (2, 2, 18, 2), (3, 6, 12, 24)),
           "b": (128, (2, 2, 18, 2), (4, 8, 16, 32))}


def _window_attention(b, x, p, side, c, heads, w, shifted):
    """torchvision ``shifted_window_attention`` on an (H, W, C) map with H = W = ``side``."""
    if side % w:
        raise ShapeError(f"{p}: a {side}x{side} map does not split into {w}x{w} windows (torchvision pads; "
                         "archcalc's Swin entries take sizes that need no padding)")
    n, t, hd = (side // w) ** 2, w * w, c // heads
    y = b.add(Reshape((side // w, w, side // w, w, c)), x, name=f"{p}.windows")
    y = b.add(Permute((0, 2, 1, 3, 4)), y, name=f"{p}.windows_permute")
    y = b.add(Reshape((n, t, c)), y, name=f"{p}.windows_flat")
    qkv = b.add(PerItem(Linear(3 * c)), y, name=f"{p}.qkv")
    qkv = b.add(Reshape((n, t, 3, heads, hd)), qkv, name=f"{p}.qkv_heads")
    qkv = b.add(Permute((2, 0, 3, 1, 4)), qkv, name=f"{p}.qkv_permute")
    q, k, v = (b.add(Reshape((n, heads, t, hd)), b.add(Slice(i, i + 1, axis=0), qkv, name=f"{p}.{s}_slice"),
                     name=f"{p}.{s}") for i, s in enumerate("qkv"))
    q = b.add(Scale(hd ** -0.5), q, name=f"{p}.q_scale")
    kt = b.add(Transpose(-2, -1), k, name=f"{p}.k_t")
    a = b.add(MatMul(), q, kt, name=f"{p}.scores")
    a = b.add(LearnedTensor((heads, t, t), "add", stored=(2 * w - 1) ** 2 * heads, index=t * t), a, name=p)
    if shifted:
        a = b.add(LearnedTensor((n, 1, t, t), "add", stored=0), a, name=f"{p}.shift_mask")
    a = b.add(Softmax(-1), a, name=f"{p}.softmax")
    y = b.add(MatMul(), a, v, name=f"{p}.weighted")
    y = b.add(Transpose(0, 1), y, name=f"{p}.heads_t")  # (t, n, heads, hd) as torch's transpose(1, 2)
    y = b.add(Permute((1, 0, 2, 3)), y, name=f"{p}.heads_back")
    y = b.add(Reshape((n, t, c)), y, name=f"{p}.heads_flat")
    y = b.add(PerItem(Linear(c)), y, name=f"{p}.proj")
    y = b.add(Reshape((side // w, side // w, w, w, c)), y, name=f"{p}.merge")
    y = b.add(Permute((0, 2, 1, 3, 4)), y, name=f"{p}.merge_permute")
    return b.add(Reshape((side, side, c)), y, name=f"{p}.merge_flat")


def swin(name, input_shape, size="t", window=7, num_classes=1000):
    c, depths, heads = CONFIGS[size]
    b = Builder(name, input_shape)
    x = b.sequential("features.0", b.input, [Conv2d(c, 4, stride=4), Permute((1, 2, 0)), LayerNorm((c,), eps=1e-5)])
    side = input_shape[1] // 4
    for s, (n, h) in enumerate(zip(depths, heads)):
        if s:  # PatchMerging: 2x2 neighbours concatenated (4C), LayerNorm, Linear to 2C
            p = f"features.{2 * s}"
            x = b.add(Reshape((side // 2, 2, side // 2, 2, c)), x, name=f"{p}.neighbours")
            x = b.add(Permute((0, 2, 3, 1, 4)), x, name=f"{p}.neighbours_permute")
            x = b.add(Reshape((side // 2, side // 2, 4 * c)), x, name=f"{p}.cat")
            x = b.add(LayerNorm((4 * c,)), x, name=f"{p}.norm")
            x = b.add(PerItem(Linear(2 * c, bias=False)), x, name=f"{p}.reduction")
            side, c = side // 2, 2 * c
        for i in range(n):
            p = f"features.{2 * s + 1}.{i}"
            shifted = i % 2 == 1 and window < side
            y = b.add(LayerNorm((c,)), x, name=f"{p}.norm1")
            y = _window_attention(b, y, f"{p}.attn", side, c, h, window, shifted)
            y = b.add(Identity(), y, name=f"{p}.stochastic_depth")
            x = b.add(Add(), x, y, name=f"{p}.add")
            y = b.add(LayerNorm((c,)), x, name=f"{p}.norm2")
            y = b.sequential(f"{p}.mlp", y, [PerItem(Linear(4 * c)), Activation("gelu"), Dropout(0.0),
                                              PerItem(Linear(c)), Dropout(0.0)])
            y = b.add(Identity(), y, name=f"{p}.stochastic_depth_1")
            x = b.add(Add(), x, y, name=f"{p}.add_1")
    x = b.add(LayerNorm((c,)), x, name="norm")
    x = b.add(Permute((2, 0, 1)), x, name="permute")
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    b.add(Linear(num_classes), x, name="head")
    return b.build()


# torchvision Swin_*_Weights.IMAGENET1K_V1 meta at 224x224: num_params, _ops (GFLOPS = GMACs)
_TV = {"t": (28_288_354, 4.491), "s": (49_606_258, 8.741), "b": (87_768_224, 15.431)}

for _s, (_params, _gmacs) in _TV.items():
    register_model(
        f"swin_{_s}", swin, family="Swin", size=_s,
        variant=f"Swin-{_s.upper()}: C={CONFIGS[_s][0]}, blocks {CONFIGS[_s][1]}, window 7, 224x224",
        source=f"Liu et al. 2021 (arXiv:2103.14030), sec. 3 and 3.3 (Swin-{_s.upper()}); torchvision.models.swin_{_s}",
        torchvision=f"swin_{_s}",
        published=Published(f"torchvision Swin_{_s.upper()}_Weights.IMAGENET1K_V1", params=_params,
                            extra={"gflops": _gmacs, "weights": "IMAGENET1K_V1"}),
    )
