"""Vision Transformers: ViT-B/16, B/32, L/16, L/32, H/14.

Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
ICLR 2021, section 3.1 (eq. 1-4: patch embedding, class token, learned position embedding, pre-norm
encoder blocks of multi-head self-attention and a GELU MLP, a final LayerNorm, the head on the class
token) and Table 1 (Base: 12 layers, width 768, MLP 3072, 12 heads; Large: 24, 1024, 4096, 16;
Huge: 32, 1280, 5120, 16). The layout mirrors ``torchvision.models.vision_transformer``: the patch
embedding is a ``P x P`` stride-``P`` conv (``conv_proj``), flattened and permuted to (S, D); the class
token (a parameter of the model) is prepended; ``encoder`` adds its position embedding (a parameter
of that module, shape (S + 1, D)); each ``encoder_layer_i`` is LayerNorm (eps 1e-6),
``nn.MultiheadAttention`` (called with ``need_weights=False``), residual add, LayerNorm, MLP
(Linear, GELU, Linear), residual add; ``encoder.ln``; the head reads token 0. The position embedding
fixes the input size (torch refuses another one, and so does archcalc). ViT-B and L are registered at
224x224 with their IMAGENET1K_V1 weights; ViT-H/14 has only SWAG weights, and is registered at 224
with the IMAGENET1K_SWAG_LINEAR_V1 figures (the E2E weights use 518x518).
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import (
    Activation, Add, Conv2d, Dropout, Flatten, LayerNorm, LearnedTensor, Linear, MultiheadAttention, Permute, Slice,
)
from . import Published, register_model

#: (layers, hidden size D, MLP size, heads): Dosovitskiy et al. 2021, Table 1
CONFIGS = {"b": (12, 768, 3072, 12), "l": (24, 1024, 4096, 16), "h": (32, 1280, 5120, 16)}


def vit(name, input_shape, size="b", patch_size=16, num_classes=1000):
    layers, d, mlp, heads = CONFIGS[size]
    b = Builder(name, input_shape)
    x = b.add(Conv2d(d, patch_size, stride=patch_size), b.input, name="conv_proj")
    x = b.add(Flatten(1, 2), x, name="flatten")  # (D, n_h * n_w)
    x = b.add(Permute((1, 0)), x, name="permute")  # (S, D)
    x = b.add(LearnedTensor((1, d), "prepend"), x, name="class_token")
    seq = (input_shape[1] // patch_size) * (input_shape[2] // patch_size) + 1
    x = b.add(LearnedTensor((seq, d), "add"), x, name="encoder")  # Encoder.pos_embedding
    x = b.add(Dropout(0.0), x, name="encoder.dropout")
    for i in range(layers):
        with b.scope(f"encoder.layers.encoder_layer_{i}"):
            y = b.add(LayerNorm((d,), eps=1e-6), x, name="ln_1")
            y = b.add(MultiheadAttention(d, heads, need_weights=False), y, name="self_attention")
            y = b.add(Dropout(0.0), y, name="dropout")
            x = b.add(Add(), y, x, name="add")
            y = b.add(LayerNorm((d,), eps=1e-6), x, name="ln_2")
            y = b.sequential("mlp", y, [Linear(mlp), Activation("gelu"), Dropout(0.0), Linear(d), Dropout(0.0)])
            x = b.add(Add(), x, y, name="add_1")
    x = b.add(LayerNorm((d,), eps=1e-6), x, name="encoder.ln")
    x = b.add(Slice(0, 1, axis=0), x, name="class_token_out")  # x[:, 0]
    x = b.add(Flatten(), x, name="class_token_flat")
    b.add(Linear(num_classes), x, name="heads.head")
    return b.build()


# torchvision builder: (size, patch, weights, num_params, _ops GFLOPS = GMACs), all at 224x224
_TV = {
    "vit_b_16": ("b", 16, "IMAGENET1K_V1", 86_567_656, 17.564),
    "vit_b_32": ("b", 32, "IMAGENET1K_V1", 88_224_232, 4.409),
    "vit_l_16": ("l", 16, "IMAGENET1K_V1", 304_326_632, 61.555),
    "vit_l_32": ("l", 32, "IMAGENET1K_V1", 306_535_400, 15.378),
    "vit_h_14": ("h", 14, "IMAGENET1K_SWAG_LINEAR_V1", 632_045_800, 167.295),
}

for _name, (_size, _patch, _weights, _params, _gmacs) in _TV.items():
    _label = f"ViT-{_size.upper()}/{_patch}"
    register_model(
        _name, vit, family="ViT", size=_size, patch_size=_patch,
        variant=f"{_label}: {CONFIGS[_size][0]} layers, D={CONFIGS[_size][1]}, {CONFIGS[_size][3]} heads, 224x224",
        source=f"Dosovitskiy et al. 2021 (arXiv:2010.11929), sec. 3.1 and Table 1 ({_label}); "
               f"torchvision.models.{_name}",
        torchvision=_name,
        published=Published(f"torchvision {_name} {_weights} weights meta (at 224x224)", params=_params,
                            extra={"gflops": _gmacs, "weights": _weights}),
    )
