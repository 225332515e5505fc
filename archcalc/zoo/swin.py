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
    Activation, AdaptiveAvgPool2d, AdaptiveAvgPool3d, Add, Conv2d, Conv3d, Div, Dropout, Flatten, Identity, LayerNorm,
    LearnedTensor, Linear, Parameter, Pointwise, VectorNorm,
    MatMul, PerItem, Permute, Reshape, Scale, Slice, Softmax, Transpose,
)
from . import Published, register_model

#: (embed dim C, blocks per stage, heads per stage): Liu et al. 2021, sec. 3.3
CONFIGS = {"t": (96, (2, 2, 6, 2), (3, 6, 12, 24)), "s": (96, (2, 2, 18, 2), (3, 6, 12, 24)),
           "b": (128, (2, 2, 18, 2), (4, 8, 16, 32))}


def _window_attention(b, x, p, sizes, c, heads, window, shift, table_rows, index):
    """torchvision ``shifted_window_attention`` (2-d) / ``_3d`` on a channels-last map of ``sizes``
    (H, W) or (T, H, W): ``window`` is the effective window (torchvision shrinks it to a smaller map),
    ``shift`` whether this block shifts; ``table_rows`` x ``heads`` bias entries, ``index`` buffer."""
    for size, wn in zip(sizes, window):
        if size % wn:
            raise ShapeError(f"{p}: a map of {'x'.join(map(str, sizes))} does not split into "
                             f"{'x'.join(map(str, window))} windows (torchvision pads; archcalc's Swin entries "
                             "take sizes that need no padding)")
    k = len(sizes)
    grid = [size // wn for size, wn in zip(sizes, window)]
    n, t, hd = 1, 1, c // heads
    for g, wn in zip(grid, window):
        n, t = n * g, t * wn
    split = tuple(v for g, wn in zip(grid, window) for v in (g, wn))
    y = b.add(Reshape(split + (c,)), x, name=f"{p}.windows")
    y = b.add(Permute(tuple(range(0, 2 * k, 2)) + tuple(range(1, 2 * k, 2)) + (2 * k,)), y, name=f"{p}.windows_permute")
    y = b.add(Reshape((n, t, c)), y, name=f"{p}.windows_flat")
    qkv = b.add(PerItem(Linear(3 * c)), y, name=f"{p}.qkv")
    qkv = b.add(Reshape((n, t, 3, heads, hd)), qkv, name=f"{p}.qkv_heads")
    qkv = b.add(Permute((2, 0, 3, 1, 4)), qkv, name=f"{p}.qkv_permute")
    q, k_, v = (b.add(Reshape((n, heads, t, hd)), b.add(Slice(i, i + 1, axis=0), qkv, name=f"{p}.{s}_slice"),
                      name=f"{p}.{s}") for i, s in enumerate("qkv"))
    q = b.add(Scale(hd ** -0.5), q, name=f"{p}.q_scale")
    kt = b.add(Transpose(-2, -1), k_, name=f"{p}.k_t")
    a = b.add(MatMul(), q, kt, name=f"{p}.scores")
    a = b.add(LearnedTensor((heads, t, t), "add", stored=table_rows * heads, index=index), a, name=p)
    if shift:
        a = b.add(LearnedTensor((n, 1, t, t), "add", stored=0), a, name=f"{p}.shift_mask")
    a = b.add(Softmax(-1), a, name=f"{p}.softmax")
    y = b.add(MatMul(), a, v, name=f"{p}.weighted")
    y = b.add(Transpose(0, 1), y, name=f"{p}.heads_t")  # torch's transpose(1, 2) of (n, heads, t, hd)
    y = b.add(Permute((1, 0, 2, 3)), y, name=f"{p}.heads_back")
    y = b.add(Reshape((n, t, c)), y, name=f"{p}.heads_flat")
    y = b.add(PerItem(Linear(c)), y, name=f"{p}.proj")
    y = b.add(Reshape(tuple(grid) + tuple(window) + (c,)), y, name=f"{p}.merge")
    y = b.add(Permute(tuple(v for i in range(k) for v in (i, k + i)) + (2 * k,)), y, name=f"{p}.merge_permute")
    return b.add(Reshape(tuple(sizes) + (c,)), y, name=f"{p}.merge_flat")


def _window_attention_v2(b, x, p, side, c, heads, w, shift):
    """torchvision ``ShiftedWindowAttentionV2`` on a (side, side, C) map that needs no padding: the
    continuous position bias (``cpb_mlp`` on the ``relative_coords_table`` buffer, gathered to
    heads x w^2 x w^2, ``16 * sigmoid``), cosine attention (q and k normalised, scaled by the learned
    ``logit_scale``, which the attention module itself holds)."""
    n, t, hd = (side // w) ** 2, w * w, c // heads
    coords = b.add(LearnedTensor((2 * w - 1, 2 * w - 1, 2), "value", stored=0, index=(2 * w - 1) ** 2 * 2), x,
                   name=f"{p}.relative_coords_table")
    cpb = b.sequential(f"{p}.cpb_mlp", coords, [PerItem(Linear(512)), Activation("relu", inplace=True),
                                                PerItem(Linear(heads, bias=False))])
    bias = b.add(LearnedTensor((heads, t, t), "value", stored=0, index=t * t), cpb, name=f"{p}.relative_position_bias")
    bias = b.add(Activation("sigmoid"), bias, name=f"{p}.bias_sigmoid")
    bias = b.add(Scale(16), bias, name=f"{p}.bias_scale")
    y = b.add(Reshape((side // w, w, side // w, w, c)), x, name=f"{p}.windows")
    y = b.add(Permute((0, 2, 1, 3, 4)), y, name=f"{p}.windows_permute")
    y = b.add(Reshape((n, t, c)), y, name=f"{p}.windows_flat")
    qkv = b.add(PerItem(Linear(3 * c)), y, name=f"{p}.qkv")
    qkv = b.add(Reshape((n, t, 3, heads, hd)), qkv, name=f"{p}.qkv_heads")
    qkv = b.add(Permute((2, 0, 3, 1, 4)), qkv, name=f"{p}.qkv_permute")
    q, k, v = (b.add(Reshape((n, heads, t, hd)), b.add(Slice(i, i + 1, axis=0), qkv, name=f"{p}.{s}_slice"),
                     name=f"{p}.{s}") for i, s in enumerate("qkv"))
    normed = []
    for s, z in (("q", q), ("k", k)):  # F.normalize(z, dim=-1): z / max(||z||_2, eps), the norm per row
        norm = b.add(VectorNorm(-1, keepdim=True), z, name=f"{p}.{s}_norm")
        norm = b.add(Pointwise("clamp_min"), norm, name=f"{p}.{s}_norm_eps")
        normed.append(b.add(Div(), z, norm, name=f"{p}.{s}_normalize"))
    kt = b.add(Transpose(-2, -1), normed[1], name=f"{p}.k_t")
    a = b.add(MatMul("@"), normed[0], kt, name=f"{p}.scores")  # torchvision: F.normalize(q) @ F.normalize(k).T
    # logit_scale: exp(clamp(logit_scale, max=log(100))) on the parameter alone, once per forward,
    # then the scores times it (the parameter is held by this line, the attention module's own)
    ls = b.add(Parameter((heads, 1, 1), numel=0, path=f"{p}.logit_scale"), b.input, name=f"{p}.logit_scale")
    ls = b.add(Pointwise("clamp"), ls, name=f"{p}.logit_scale_clamp")
    ls = b.add(Pointwise("exp"), ls, name=f"{p}.logit_scale_exp")
    a = b.add(LearnedTensor((heads, 1, 1), "mul"), [a, ls], name=p)
    a = b.add(Add(), a, bias, name=f"{p}.bias_add")
    if shift:
        a = b.add(LearnedTensor((n, 1, t, t), "add", stored=0), a, name=f"{p}.shift_mask")
    a = b.add(Softmax(-1), a, name=f"{p}.softmax")
    y = b.add(MatMul(), a, v, name=f"{p}.weighted")
    y = b.add(Transpose(0, 1), y, name=f"{p}.heads_t")
    y = b.add(Permute((1, 0, 2, 3)), y, name=f"{p}.heads_back")
    y = b.add(Reshape((n, t, c)), y, name=f"{p}.heads_flat")
    y = b.add(PerItem(Linear(c)), y, name=f"{p}.proj")
    y = b.add(Reshape((side // w, side // w, w, w, c)), y, name=f"{p}.merge")
    y = b.add(Permute((0, 2, 1, 3, 4)), y, name=f"{p}.merge_permute")
    return b.add(Reshape((side, side, c)), y, name=f"{p}.merge_flat")


def _block_v2(b, x, p, side, c, heads, w, shift):
    """torchvision ``SwinTransformerBlockV2``: post-norm, ``x + norm1(attn(x))``, ``x + norm2(mlp(x))``."""
    if side % w:
        raise ShapeError(f"{p}: a {side}x{side} map does not split into {w}x{w} windows (torchvision pads; "
                         "archcalc's Swin entries take sizes that need no padding)")
    y = _window_attention_v2(b, x, f"{p}.attn", side, c, heads, w, shift)
    y = b.add(LayerNorm((c,)), y, name=f"{p}.norm1")
    y = b.add(Identity(), y, name=f"{p}.stochastic_depth")
    x = b.add(Add(), x, y, name=f"{p}.add")
    y = b.sequential(f"{p}.mlp", x, [PerItem(Linear(4 * c)), Activation("gelu"), Dropout(0.0),
                                      PerItem(Linear(c)), Dropout(0.0)])
    y = b.add(LayerNorm((c,)), y, name=f"{p}.norm2")
    y = b.add(Identity(), y, name=f"{p}.stochastic_depth_1")
    return b.add(Add(), x, y, name=f"{p}.add_1")


def _rows(layer, rank):
    """``layer`` (a Linear) applied to the last axis of a rank-``rank`` tensor: archcalc's Linear reads
    (features,) or (sequence, features), so it is wrapped in ``PerItem`` once per further axis."""
    for _ in range(rank - 2):
        layer = PerItem(layer)
    return layer


def _block(b, x, p, sizes, c, heads, window, shift, table_rows, index):
    """torchvision ``SwinTransformerBlock``: pre-norm window attention and MLP, two residual adds."""
    y = b.add(LayerNorm((c,)), x, name=f"{p}.norm1")
    y = _window_attention(b, y, f"{p}.attn", sizes, c, heads, window, shift, table_rows, index)
    y = b.add(Identity(), y, name=f"{p}.stochastic_depth")
    x = b.add(Add(), x, y, name=f"{p}.add")
    y = b.add(LayerNorm((c,)), x, name=f"{p}.norm2")
    rank = len(sizes) + 1
    y = b.sequential(f"{p}.mlp", y, [_rows(Linear(4 * c), rank), Activation("gelu"), Dropout(0.0),
                                      _rows(Linear(c), rank), Dropout(0.0)])
    y = b.add(Identity(), y, name=f"{p}.stochastic_depth_1")
    return b.add(Add(), x, y, name=f"{p}.add_1")


def _patch_merging(b, x, p, sizes, c, v2=False):
    """torchvision ``PatchMerging`` on (..., H, W, C): 2x2 neighbours concatenated (4C), LayerNorm,
    Linear to 2C without bias; leading axes (Swin3D's T) are kept."""
    *lead, h, w = sizes
    lead = tuple(lead)
    x = b.add(Reshape(lead + (h // 2, 2, w // 2, 2, c)), x, name=f"{p}.neighbours")
    j = len(lead)
    x = b.add(Permute(tuple(range(j)) + (j, j + 2, j + 3, j + 1, j + 4)), x, name=f"{p}.neighbours_permute")
    x = b.add(Reshape(lead + (h // 2, w // 2, 4 * c)), x, name=f"{p}.cat")
    if v2:  # PatchMergingV2: reduction, then LayerNorm(2C)
        x = b.add(_rows(Linear(2 * c, bias=False), len(sizes) + 1), x, name=f"{p}.reduction")
        return b.add(LayerNorm((2 * c,)), x, name=f"{p}.norm")
    x = b.add(LayerNorm((4 * c,)), x, name=f"{p}.norm")
    return b.add(_rows(Linear(2 * c, bias=False), len(sizes) + 1), x, name=f"{p}.reduction")


def swin(name, input_shape, size="t", window=7, v2=False, num_classes=1000):
    c, depths, heads = CONFIGS[size]
    b = Builder(name, input_shape)
    x = b.sequential("features.0", b.input, [Conv2d(c, 4, stride=4), Permute((1, 2, 0)), LayerNorm((c,), eps=1e-5)])
    side = input_shape[1] // 4
    for s, (n, h) in enumerate(zip(depths, heads)):
        if s:
            x = _patch_merging(b, x, f"features.{2 * s}", (side, side), c, v2)
            side, c = side // 2, 2 * c
        w = min(window, side)  # a map no larger than the window is one window, unshifted
        for i in range(n):
            p, shift = f"features.{2 * s + 1}.{i}", i % 2 == 1 and window < side
            if v2:
                x = _block_v2(b, x, p, side, c, h, window, shift)
            else:
                x = _block(b, x, p, (side, side), c, h, (w, w), shift, (2 * window - 1) ** 2, (window * window) ** 2)
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


# Swin Transformer V2: Liu, Hu, Lin, Yao, Xie, Wei, Ning, Cao, Zhang, Dong, Wei, Guo, "Swin Transformer
# V2: Scaling Up Capacity and Resolution", CVPR 2022, section 3 (post-norm residual blocks, scaled cosine
# attention with a learned per-head logit scale, a log-spaced continuous relative position bias from a
# 2-layer MLP) with the Swin-T/S/B sizes and 8x8 windows, as torchvision.models.swin_v2_t/s/b build them
# (PatchMergingV2: reduction, then LayerNorm). Registered at 256x256, the weights' crop. Counting notes:
# F.normalize of q and k is counted as torch runs it (a vector norm per row, its eps clamp, a divide
# per element), as is exp(clamp(logit_scale)) on the parameter alone (once per forward); the
# position-bias MLP, its gather, ``16 * sigmoid`` and the
# ``exp(clamp(logit_scale))`` run once per forward in torch, independent of the batch: archcalc counts
# the MLP and the sigmoid per sample, exact at batch 1 (the published figure), N times at batch N.
_TV2 = {"t": (28_351_570, 5.94), "s": (49_737_442, 11.546), "b": (87_930_848, 20.325)}

for _s, (_params, _gmacs) in _TV2.items():
    register_model(
        f"swin_v2_{_s}", swin, family="Swin", size=_s, window=8, v2=True, input_shape=(3, 256, 256),
        variant=f"Swin-V2-{_s.upper()}: C={CONFIGS[_s][0]}, blocks {CONFIGS[_s][1]}, window 8, 256x256",
        source=f"Liu et al. 2022 (Swin V2, arXiv:2111.09883), sec. 3 (Swin-V2 with the Swin-{_s.upper()} sizes); "
               f"torchvision.models.swin_v2_{_s}",
        torchvision=f"swin_v2_{_s}",
        notes="the position-bias MLP runs once per forward: its MACs are counted per sample (exact at batch 1)",
        published=Published(f"torchvision Swin_V2_{_s.upper()}_Weights.IMAGENET1K_V1 (at 256x256)", params=_params,
                            extra={"gflops": _gmacs, "weights": "IMAGENET1K_V1"}),
    )


# ---------------------------------------------------------------------------------------------
# Video Swin Transformer: Liu, Ning, Cao, Wei, Zhang, Lin, Hu, "Video Swin Transformer", CVPR 2022,
# section 3 (3-d patches of 2x4x4, 3-d shifted windows of 8x7x7 shifted by 4x3x3, 3-d relative position
# bias, spatial-only patch merging) and the Swin-T/S/B sizes of the image model.
# torchvision.models.video.swin3d_t/s/b: ``patch_embed`` (Conv3d 2x4x4 s2x4x4, permute to channels-
# last, LayerNorm), ``features`` = stages and PatchMerging alternating (features.0 .. features.6),
# LayerNorm, permute, 3-d average pool, Linear to 400 classes. A window axis longer than the map
# shrinks to it and does not shift (torchvision ``_get_window_and_shift_size``); the bias table and
# its index keep the full 8x7x7 window's size.


def swin3d(name, input_shape, size="t", window=(8, 7, 7), num_classes=400):
    c, depths, heads = CONFIGS[size]
    b = Builder(name, input_shape)
    x = b.add(Conv3d(c, (2, 4, 4), stride=(2, 4, 4)), b.input, name="patch_embed.proj")
    x = b.add(Permute((1, 2, 3, 0)), x, name="patch_embed.permute")
    x = b.add(LayerNorm((c,)), x, name="patch_embed.norm")
    x = b.add(Dropout(0.0), x, name="pos_drop")
    sizes = (input_shape[1] // 2, input_shape[2] // 4, input_shape[3] // 4)
    rows = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
    vol = window[0] * window[1] * window[2]
    for s, (n, h) in enumerate(zip(depths, heads)):
        if s:
            x = _patch_merging(b, x, f"features.{2 * s - 1}", sizes, c)
            sizes, c = (sizes[0], sizes[1] // 2, sizes[2] // 2), 2 * c
        eff = tuple(min(wn, size) for wn, size in zip(window, sizes))
        shifts = any(wn < size for wn, size in zip(window, sizes))
        for i in range(n):
            x = _block(b, x, f"features.{2 * s}.{i}", sizes, c, h, eff, i % 2 == 1 and shifts, rows, vol * vol)
    x = b.add(LayerNorm((c,)), x, name="norm")
    x = b.add(Permute((3, 0, 1, 2)), x, name="permute")
    x = b.add(AdaptiveAvgPool3d(1), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    b.add(Linear(num_classes), x, name="head")
    return b.build()


# torchvision Swin3D_*_Weights.KINETICS400_V1 meta: num_params, _ops (GFLOPS = GMACs), reproduced at 16x224x224
_TV3D = {"t": (28_158_070, 43.882), "s": (49_816_678, 82.841), "b": (88_048_984, 140.667)}

for _s, (_params, _gmacs) in _TV3D.items():
    register_model(
        f"swin3d_{_s}", swin3d, family="Video", size=_s, input_shape=(3, 16, 224, 224),
        variant=f"Video Swin-{_s.upper()}: C={CONFIGS[_s][0]}, blocks {CONFIGS[_s][1]}, window 8x7x7, 16x224x224",
        source=f"Liu et al. 2022 (Video Swin Transformer, arXiv:2106.13230), sec. 3 (Swin-{_s.upper()}); "
               f"torchvision.models.video.swin3d_{_s}",
        torchvision=f"video.swin3d_{_s}",
        published=Published(f"torchvision Swin3D_{_s.upper()}_Weights.KINETICS400_V1 (reproduced at 16x224x224)",
                            params=_params, extra={"gflops": _gmacs, "weights": "KINETICS400_V1"}),
    )
