"""MViT-B (v1) and MViTv2-S, the multiscale vision transformers for video.

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

MViTv2-S: Li, Wu, Fan, Mangalam, Xiong, Malik, Feichtenhofer, "MViTv2: Improved Multiscale Vision
Transformers for Classification and Detection", CVPR 2022, section 3 (decomposed relative position
embeddings added to the scores, a residual connection from the pooled queries) and Table 8 (MViTv2-S,
16 blocks). torchvision ``mvit_v2_s``: only a class token (no absolute embedding); queries always
pooled (stride 1 where the resolution stays); ``qkv`` projects to the block's output width and a
``project`` Linear of the normalised input widens the shortcut (``proj_after_attn``); the attention
module holds ``rel_pos_h``/``_w``/``_t`` tables, gathered to (q, k, head dim) per axis (``LearnedTensor``
values, the attention module's node holding all three tables) and contracted with the queries
(einsums), summed by broadcasting and added to the token-token scores (the class token's row and
column left out: slices, an add, concatenations); ``attn v`` plus the pooled queries (class token
excluded).
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import (
    Activation, Add, Concat, Conv3d, Dropout, Einsum, Flatten, Identity, LayerNorm, LearnedTensor, Linear, MatMul,
    MaxPool3d, Parameter, PerItem, Permute, Reshape, Scale, Slice, Softmax, Transpose,
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


def _rel_pos(b, a, q, s, heads, hd, q_thw, k_thw, tables):
    """torchvision ``_add_rel_pos``: scores (heads, 1+Nq, 1+Nk) += the decomposed embedding on the
    token-token part. ``tables`` = the (T, H, W) table lengths (``2 * size - 1``)."""
    qt, qh, qw = q_thw
    kt, kh, kw = k_thw
    nq, nk = qt * qh * qw, kt * kh * kw
    rq = b.add(Slice(1, None, axis=1), q, name=f"{a}.rel_q")
    rq = b.add(Reshape((heads, qt, qh, qw, hd)), rq, name=f"{a}.rel_q_grid")
    held = (tables[0] + tables[1] + tables[2]) * hd  # rel_pos_t, rel_pos_h, rel_pos_w
    rh = b.add(LearnedTensor((qh, kh, hd), "value", stored=held), rq, name=a)  # rel_pos_h[dist_h]
    rw = b.add(LearnedTensor((qw, kw, hd), "value", stored=0), rq, name=f"{a}.rel_pos_w")  # held by attn
    rt = b.add(LearnedTensor((qt, kt, hd), "value", stored=0), rq, name=f"{a}.rel_pos_t")
    eh = b.add(Einsum("ythwc,hkc->ythwk"), rq, rh, name=f"{a}.rel_h")
    ew = b.add(Einsum("ythwc,wkc->ythwk"), rq, rw, name=f"{a}.rel_w")
    # torch: r_q.permute(2, 0, 1, 3, 4, 5).reshape(q_t, B*H*q_h*q_w, dim) @ Rt.transpose(1, 2), a matmul
    # (fvcore counts it exactly, ptflops patches torch.matmul; the einsums above are rounded / unpatched)
    rqt = b.add(Permute((1, 0, 2, 3, 4)), rq, name=f"{a}.rel_q_t")
    rqt = b.add(Reshape((qt, heads * qh * qw, hd)), rqt, name=f"{a}.rel_q_t_flat")
    rtt = b.add(Transpose(1, 2), rt, name=f"{a}.rel_pos_t_t")
    et = b.add(MatMul(), rqt, rtt, name=f"{a}.rel_t")
    et = b.add(Reshape((qt, heads, qh, qw, kt)), et, name=f"{a}.rel_t_grid")
    et = b.add(Permute((1, 0, 2, 3, 4)), et, name=f"{a}.rel_t_heads")
    eh = b.add(Reshape((heads, qt, qh, qw, 1, kh, 1)), eh, name=f"{a}.rel_h_b")
    ew = b.add(Reshape((heads, qt, qh, qw, 1, 1, kw)), ew, name=f"{a}.rel_w_b")
    et = b.add(Reshape((heads, qt, qh, qw, kt, 1, 1)), et, name=f"{a}.rel_t_b")
    # torch adds h and w first, broadcast to (.., 1, kh, kw), then t at the full (kt, kh, kw)
    rel = b.add(Add(), eh, ew, name=f"{a}.rel_hw")
    rel = b.add(Add(), rel, et, name=f"{a}.rel_sum")
    rel = b.add(Reshape((heads, nq, nk)), rel, name=f"{a}.rel_flat")
    top = b.add(Slice(0, 1, axis=1), s, name=f"{a}.scores_cls_row")
    rest = b.add(Slice(1, None, axis=1), s, name=f"{a}.scores_rows")
    left = b.add(Slice(0, 1, axis=2), rest, name=f"{a}.scores_cls_col")
    body = b.add(Slice(1, None, axis=2), rest, name=f"{a}.scores_body")
    body = b.add(Add(inplace=True), body, rel, name=f"{a}.scores_rel")  # attn[:, :, 1:, 1:] += rel_pos
    rest = b.add(Concat(axis=2), left, body, name=f"{a}.scores_rows_cat")
    return b.add(Concat(axis=1), top, rest, name=f"{a}.scores_cat")


def _block(b, x, p, heads, cin, cout, stride_q, stride_kv, thw, v2=False):
    dim = cout if v2 else cin  # attention width: v2 projects q/k/v to the output width
    hd = dim // heads
    n = 1 + thw[0] * thw[1] * thw[2]
    xn = b.add(LayerNorm((cin,), eps=1e-6), x, name=f"{p}.norm1")
    a = f"{p}.attn"
    qkv = b.add(Linear(3 * dim), xn, name=f"{a}.qkv")
    qkv = b.add(Reshape((n, 3, heads, hd)), qkv, name=f"{a}.qkv_heads")
    qkv = b.add(Transpose(0, 2), qkv, name=f"{a}.qkv_t")  # (heads, 3, N, hd)
    q, k, v = (b.add(Reshape((heads, n, hd)), b.add(Slice(i, i + 1, axis=1), qkv, name=f"{a}.{s}_slice"),
                     name=f"{a}.{s}") for i, s in enumerate("qkv"))
    k, k_thw = _pool(b, k, f"{a}.pool_k", heads, hd, thw, stride_kv)
    v, _ = _pool(b, v, f"{a}.pool_v", heads, hd, thw, stride_kv)
    out_thw = thw
    if stride_q is not None:
        q, out_thw = _pool(b, q, f"{a}.pool_q", heads, hd, thw, stride_q)
    nq = 1 + out_thw[0] * out_thw[1] * out_thw[2]
    qs = b.add(Scale(hd ** -0.5), q, name=f"{a}.q_scale")
    kt = b.add(Transpose(-2, -1), k, name=f"{a}.k_t")
    s = b.add(MatMul(), qs, kt, name=f"{a}.scores")
    if v2:
        size = max(thw[1:])
        spatial = 2 * max(size // stride_q[1], size // stride_kv[1]) - 1
        s = _rel_pos(b, a, q, s, heads, hd, out_thw, k_thw, (2 * thw[0] - 1, spatial, spatial))
    s = b.add(Softmax(-1, "method"), s, name=f"{a}.softmax")  # torchvision: attn.softmax(dim=-1)
    y = b.add(MatMul(), s, v, name=f"{a}.weighted")
    if v2:  # residual_pool: x[:, :, 1:] += q[:, :, 1:] (the class token excluded)
        cls = b.add(Slice(0, 1, axis=1), y, name=f"{a}.weighted_cls")
        body = b.add(Slice(1, None, axis=1), y, name=f"{a}.weighted_tokens")
        qb = b.add(Slice(1, None, axis=1), q, name=f"{a}.q_tokens")
        body = b.add(Add(inplace=True), body, qb, name=f"{a}.residual_pool")
        y = b.add(Concat(axis=1), cls, body, name=f"{a}.residual_pool_cat")
    y = b.add(Transpose(0, 1), y, name=f"{a}.heads_t")
    y = b.add(Reshape((nq, dim)), y, name=f"{a}.heads_flat")
    y = b.add(Linear(dim), y, name=f"{a}.project.0")
    skip = x
    if v2 and cin != cout:  # proj_after_attn: the shortcut is the normalised input, widened
        skip = b.add(Linear(cout), xn, name=f"{p}.project")
    if stride_q is not None and stride_q != (1, 1, 1):  # pool_skip: max pool (kernel stride + 1), class token kept
        width = cout if v2 else cin
        cls = b.add(Slice(0, 1, axis=0), skip, name=f"{p}.pool_skip.cls")
        t = b.add(Slice(1, None, axis=0), skip, name=f"{p}.pool_skip.tokens")
        t = b.add(Transpose(0, 1), t, name=f"{p}.pool_skip.tokens_t")
        t = b.add(Reshape((width,) + tuple(thw)), t, name=f"{p}.pool_skip.grid")
        kernel = tuple(st + 1 if st > 1 else st for st in stride_q)
        t = b.add(MaxPool3d(kernel, stride=stride_q, padding=tuple(k_ // 2 for k_ in kernel)), t,
                  name=f"{p}.pool_skip.pool")
        t = b.add(Reshape((width, nq - 1)), t, name=f"{p}.pool_skip.flat")
        t = b.add(Transpose(0, 1), t, name=f"{p}.pool_skip.flat_t")
        skip = b.add(Concat(axis=0), cls, t, name=f"{p}.pool_skip.cat")
    y = b.add(Identity(), y, name=f"{p}.stochastic_depth")
    x = b.add(Add(), skip, y, name=f"{p}.add")
    xn = b.add(LayerNorm((dim,), eps=1e-6), x, name=f"{p}.norm2")
    if not v2 and cin != cout:
        x = b.add(Linear(cout), xn, name=f"{p}.project")
    m = b.sequential(f"{p}.mlp", xn, [Linear(4 * dim), Activation("gelu"), Dropout(0.0), Linear(cout), Dropout(0.0)])
    m = b.add(Identity(), m, name=f"{p}.stochastic_depth_1")
    return b.add(Add(), x, m, name=f"{p}.add_1"), out_thw


# torchvision mvit_v2_s: (heads, input channels, output channels, stride_q, stride_kv); q is always pooled
BLOCKS_V2 = (
    (1, 96, 96, (1, 1, 1), (1, 8, 8)), (2, 96, 192, (1, 2, 2), (1, 4, 4)), (2, 192, 192, (1, 1, 1), (1, 4, 4)),
    (4, 192, 384, (1, 2, 2), (1, 2, 2)), *((4, 384, 384, (1, 1, 1), (1, 2, 2)),) * 10,
    (8, 384, 768, (1, 2, 2), (1, 1, 1)), (8, 768, 768, (1, 1, 1), (1, 1, 1)),
)


def mvit(name, input_shape, v2=False, num_classes=400, dropout=0.5):
    blocks = BLOCKS_V2 if v2 else BLOCKS
    b = Builder(name, input_shape)
    c0 = blocks[0][1]
    x = b.add(Conv3d(c0, (3, 7, 7), stride=(2, 4, 4), padding=(1, 3, 3)), b.input, name="conv_proj")
    thw = ((input_shape[1] + 2 - 3) // 2 + 1, (input_shape[2] + 6 - 7) // 4 + 1, (input_shape[3] + 6 - 7) // 4 + 1)
    x = b.add(Flatten(1, 3), x, name="flatten")
    x = b.add(Transpose(0, 1), x, name="tokens")
    if v2:  # relative position embeddings live in the blocks: only the class token here
        x = b.add(LearnedTensor((1, c0), "prepend"), x, name="pos_encoding")
    else:
        x = b.add(LearnedTensor((1, c0), "prepend", stored=0), x, name="pos_encoding.cat")
        t, hw = thw[0], thw[1] * thw[2]
        # PositionalEncoding: repeat_interleave(temporal_pos (T x C), H*W) += spatial_pos (H*W x C)
        # expanded over T, then cat(class_pos (C), that): built from parameters alone, once per forward
        # (T*H*W*C adds whatever the batch), then added in place to the tokens. The module's parameters
        # (class token, spatial, temporal, class position) are all on its line, the last
        tp = b.add(Parameter((t * hw, c0), numel=0, path="pos_encoding.temporal_pos"), b.input,
                   name="pos_encoding.temporal_pos")
        sp = b.add(Parameter((t * hw, c0), numel=0, path="pos_encoding.spatial_pos"), b.input,
                   name="pos_encoding.spatial_pos")
        pos = b.add(Add(inplace=True), [tp, sp], name="pos_encoding.pos_add")
        held = c0 + hw * c0 + t * c0 + c0
        # the sum is the tensor the LearnedTensor adds (its second input orders it before the add)
        x = b.add(LearnedTensor((1 + t * hw, c0), "add", stored=held), [x, pos], name="pos_encoding")
    for i, (heads, cin, cout, stride_q, stride_kv) in enumerate(blocks):
        x, thw = _block(b, x, f"blocks.{i}", heads, cin, cout, stride_q, stride_kv, thw, v2)
    x = b.add(LayerNorm((blocks[-1][2],), eps=1e-6), x, name="norm")
    x = b.add(Slice(0, 1, axis=0), x, name="class_token")
    x = b.add(Flatten(), x, name="class_token_flat")
    x = b.add(Dropout(dropout, inplace=True), x, name="head.0")
    b.add(Linear(num_classes), x, name="head.1")
    return b.build()


register_model(
    "mvit_v1_b", mvit, family="Video", input_shape=(3, 16, 224, 224),
    variant="MViT-B 16x4: 16 blocks, 96-768 channels, pooling attention, 16x224x224, Kinetics-400",
    source="Fan et al. 2021 (arXiv:2104.11227), sec. 3 and Table 3 (MViT-B); torchvision.models.video.mvit_v1_b",
    torchvision="video.mvit_v1_b",
    published=Published("torchvision MViT_V1_B_Weights.KINETICS400_V1 (at 16x224x224)", params=36_610_672,
                        extra={"gflops": 70.599, "weights": "KINETICS400_V1"}),
)
register_model(
    "mvit_v2_s", mvit, v2=True, family="Video", input_shape=(3, 16, 224, 224),
    variant="MViTv2-S: 16 blocks, 96-768 channels, relative position embeddings, 16x224x224, Kinetics-400",
    source="Li et al. 2022 (MViTv2, arXiv:2112.01526), sec. 3 and Table 8 (MViTv2-S); "
           "torchvision.models.video.mvit_v2_s",
    torchvision="video.mvit_v2_s",
    published=Published("torchvision MViT_V2_S_Weights.KINETICS400_V1 (at 16x224x224)", params=34_537_744,
                        extra={"gflops": 64.224, "weights": "KINETICS400_V1"}),
)
