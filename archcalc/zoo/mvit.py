"""MViT-B (v1), the multiscale vision transformer for video.

Fan, Xiong, Mangalam, Li, Yan, Malik, Feichtenhofer, "Multiscale Vision Transformers", ICCV 2021,
section 3 (multi-head pooling attention: queries, keys and values pooled by strided depthwise 3-d
convs, each followed by LayerNorm; channel expansion and resolution reduction between stages) and
Table 3 (MViT-B, 16x4: cube 3x7x7 stride 2x4x4 to 96 channels, 16 blocks, heads 1-2-4-8). The layout
mirrors ``torchvision.models.video.mvit_v1_b``: ``conv_proj``; tokens (T*H*W, C) with a class
token and a learned position embedding (separable spatial + temporal + class terms, all held by
``pos_encoding``); each ``MultiscaleBlock`` is LayerNorm, ``MultiscaleAttention`` (``qkv`` Linear, the
class token split off, ``pool_q``/``pool_k``/``pool_v`` = depthwise Conv3d per head + LayerNorm over
the head dim, scaled ``q k^T``, softmax, ``attn v``, ``project`` Linear), a max-pooled skip path where
the queries are strided, the residual add, LayerNorm, a ``project`` Linear where the width grows, the
MLP (4x, GELU) and a second add; final LayerNorm, the class token, dropout and Linear to 400
classes. Input ``3 x 16 x 224 x 224`` (the position embedding fixes it), where the weights' ``_ops``
apply.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import (
    Activation, Add, Concat, Conv3d, Dropout, Flatten, Identity, LayerNorm, LearnedTensor, Linear, MatMul,
    MaxPool3d, PerItem, Reshape, Scale, Slice, Softmax, Transpose,
)
from . import Published, register_model

# torchvision mvit_v1_b: per block (heads, input channels, output channels, stride_q, stride_kv); every
# block pools k and v with a 3x3x3 kernel, and q (3x3x3) where stride_q is given
BLOCKS = (
    (1, 96, 192, None, (1, 8, 8)), (2, 192, 192, (1, 2, 2), (1, 4, 4)), (2, 192, 384, None, (1, 4, 4)),
    (4, 384, 384, (1, 2, 2), (1, 2, 2)), *((4, 384, 384, None, (1, 2, 2)),) * 9, (4, 384, 768, None, (1, 2, 2)),
    (8, 768, 768, (1, 2, 2), (1, 1, 1)), (8, 768, 768, None, (1, 1, 1)),
)


def _pooled(size, stride):
    return tuple((s + 2 - 3) // st + 1 for s, st in zip(size, stride))  # kernel 3, padding 1


def _pool(b, x, p, heads, hd, thw, stride):
    """torchvision ``Pool`` on (heads, 1 + T*H*W, hd): the class token split off, a depthwise 3x3x3
    Conv3d per head (torch folds the heads into the batch), the token put back, LayerNorm(hd)."""
    cls = b.add(Slice(0, 1, axis=1), x, name=f"{p}.cls")
    y = b.add(Slice(1, None, axis=1), x, name=f"{p}.tokens")
    y = b.add(Transpose(1, 2), y, name=f"{p}.tokens_t")
    y = b.add(Reshape((heads, hd) + tuple(thw)), y, name=f"{p}.grid")
    y = b.add(PerItem(Conv3d(hd, 3, stride=stride, padding=1, groups=hd, bias=False)), y, name=f"{p}.pool")
    out = _pooled(thw, stride)
    y = b.add(Reshape((heads, hd, out[0] * out[1] * out[2])), y, name=f"{p}.flat")
    y = b.add(Transpose(1, 2), y, name=f"{p}.flat_t")
    y = b.add(Concat(axis=1), cls, y, name=f"{p}.cat")
    return b.add(LayerNorm((hd,), eps=1e-6), y, name=f"{p}.norm_act.0"), out


def _block(b, x, p, heads, cin, cout, stride_q, stride_kv, thw):
    hd = cin // heads
    n = 1 + thw[0] * thw[1] * thw[2]
    xn = b.add(LayerNorm((cin,), eps=1e-6), x, name=f"{p}.norm1")
    a = f"{p}.attn"
    qkv = b.add(Linear(3 * cin), xn, name=f"{a}.qkv")
    qkv = b.add(Reshape((n, 3, heads, hd)), qkv, name=f"{a}.qkv_heads")
    qkv = b.add(Transpose(0, 2), qkv, name=f"{a}.qkv_t")  # (heads, 3, N, hd)
    q, k, v = (b.add(Reshape((heads, n, hd)), b.add(Slice(i, i + 1, axis=1), qkv, name=f"{a}.{s}_slice"),
                     name=f"{a}.{s}") for i, s in enumerate("qkv"))
    k, _ = _pool(b, k, f"{a}.pool_k", heads, hd, thw, stride_kv)
    v, _ = _pool(b, v, f"{a}.pool_v", heads, hd, thw, stride_kv)
    out_thw = thw
    if stride_q is not None:
        q, out_thw = _pool(b, q, f"{a}.pool_q", heads, hd, thw, stride_q)
    nq = 1 + out_thw[0] * out_thw[1] * out_thw[2]
    q = b.add(Scale(hd ** -0.5), q, name=f"{a}.q_scale")
    kt = b.add(Transpose(-2, -1), k, name=f"{a}.k_t")
    s = b.add(MatMul(), q, kt, name=f"{a}.scores")
    s = b.add(Softmax(-1), s, name=f"{a}.softmax")
    y = b.add(MatMul(), s, v, name=f"{a}.weighted")
    y = b.add(Transpose(0, 1), y, name=f"{a}.heads_t")
    y = b.add(Reshape((nq, cin)), y, name=f"{a}.heads_flat")
    y = b.add(Linear(cin), y, name=f"{a}.project.0")
    skip = x
    if stride_q is not None:  # pool_skip: max pool (kernel stride + 1) of the tokens, class token kept
        cls = b.add(Slice(0, 1, axis=0), x, name=f"{p}.pool_skip.cls")
        t = b.add(Slice(1, None, axis=0), x, name=f"{p}.pool_skip.tokens")
        t = b.add(Transpose(0, 1), t, name=f"{p}.pool_skip.tokens_t")
        t = b.add(Reshape((cin,) + tuple(thw)), t, name=f"{p}.pool_skip.grid")
        kernel = tuple(st + 1 if st > 1 else st for st in stride_q)
        t = b.add(MaxPool3d(kernel, stride=stride_q, padding=tuple(k_ // 2 for k_ in kernel)), t,
                  name=f"{p}.pool_skip.pool")
        t = b.add(Reshape((cin, nq - 1)), t, name=f"{p}.pool_skip.flat")
        t = b.add(Transpose(0, 1), t, name=f"{p}.pool_skip.flat_t")
        skip = b.add(Concat(axis=0), cls, t, name=f"{p}.pool_skip.cat")
    y = b.add(Identity(), y, name=f"{p}.stochastic_depth")
    x = b.add(Add(), skip, y, name=f"{p}.add")
    xn = b.add(LayerNorm((cin,), eps=1e-6), x, name=f"{p}.norm2")
    if cin != cout:
        x = b.add(Linear(cout), xn, name=f"{p}.project")
    m = b.sequential(f"{p}.mlp", xn, [Linear(4 * cin), Activation("gelu"), Dropout(0.0), Linear(cout), Dropout(0.0)])
    m = b.add(Identity(), m, name=f"{p}.stochastic_depth_1")
    return b.add(Add(), x, m, name=f"{p}.add_1"), out_thw


def mvit_v1(name, input_shape, num_classes=400, dropout=0.5):
    b = Builder(name, input_shape)
    c0 = BLOCKS[0][1]
    x = b.add(Conv3d(c0, (3, 7, 7), stride=(2, 4, 4), padding=(1, 3, 3)), b.input, name="conv_proj")
    thw = ((input_shape[1] + 2 - 3) // 2 + 1, (input_shape[2] + 6 - 7) // 4 + 1, (input_shape[3] + 6 - 7) // 4 + 1)
    x = b.add(Flatten(1, 3), x, name="flatten")
    x = b.add(Transpose(0, 1), x, name="tokens")
    x = b.add(LearnedTensor((1, c0), "prepend", stored=0), x, name="pos_encoding.cat")
    n = 1 + thw[0] * thw[1] * thw[2]
    # PositionalEncoding's parameters: class token (C), spatial (H*W x C), temporal (T x C), class
    # position (C); their sum is added to the tokens (the class token is prepended above)
    held = c0 + thw[1] * thw[2] * c0 + thw[0] * c0 + c0
    x = b.add(LearnedTensor((n, c0), "add", stored=held), x, name="pos_encoding")
    for i, (heads, cin, cout, stride_q, stride_kv) in enumerate(BLOCKS):
        x, thw = _block(b, x, f"blocks.{i}", heads, cin, cout, stride_q, stride_kv, thw)
    x = b.add(LayerNorm((BLOCKS[-1][2],), eps=1e-6), x, name="norm")
    x = b.add(Slice(0, 1, axis=0), x, name="class_token")
    x = b.add(Flatten(), x, name="class_token_flat")
    x = b.add(Dropout(dropout, inplace=True), x, name="head.0")
    b.add(Linear(num_classes), x, name="head.1")
    return b.build()


register_model(
    "mvit_v1_b", mvit_v1, family="Video", input_shape=(3, 16, 224, 224),
    variant="MViT-B 16x4: 16 blocks, 96-768 channels, pooling attention, 16x224x224, Kinetics-400",
    source="Fan et al. 2021 (arXiv:2104.11227), sec. 3 and Table 3 (MViT-B); torchvision.models.video.mvit_v1_b",
    torchvision="video.mvit_v1_b",
    published=Published("torchvision MViT_V1_B_Weights.KINETICS400_V1 (at 16x224x224)", params=36_610_672,
                        extra={"gflops": 70.599, "weights": "KINETICS400_V1"}),
)
