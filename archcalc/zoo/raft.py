"""RAFT (small, large): optical flow by recurrent all-pairs field transforms.

Teed & Deng, "RAFT: Recurrent All-Pairs Field Transforms for Optical Flow", ECCV 2020, section 3
(feature and context encoders at 1/8 resolution, the all-pairs correlation volume and its 4-level
pyramid, lookups of a radius-r neighbourhood around the current flow, a ConvGRU update operator run
for a number of iterations, convex upsampling) and Appendix (RAFT-S). The layout mirrors
``torchvision.models.optical_flow.raft_large`` / ``raft_small``:

- ``feature_encoder`` on both images (torch concatenates them into one batch; here image 2 goes
  through ``Shared`` nodes that count its work and reuse image 1's weights): residual (large) or
  bottleneck (small) blocks with instance norm (a ``GroupNorm`` with one group per channel, the
  same arithmetic, no parameters); ``context_encoder`` on image 1 (BatchNorm / no norm), split into
  the initial hidden state (tanh) and the context (ReLU).
- the correlation volume: ``fmap1^T fmap2 / sqrt(C)`` (a matmul over the h*w x h*w pixel pairs) and
  3 average-pooled levels.
- ``num_flow_updates`` iterations (torchvision's default 12; an int or a name such as ``"N"``), laid
  out as a leading axis of that size: every per-iteration layer is a ``PerItem`` layer over it, so
  its work is counted once per iteration and its parameters once (the iterations run one after
  another in torch; the counts are the same). Per iteration: the lookup (torchvision's
  ``grid_sample``: bilinear sampling of a (2r+1)^2 window per pixel and level, counted as a
  bilinear resample, the same 4-tap arithmetic), the motion encoder, one (small) or two (large,
  1x5 and 5x1) ConvGRUs, the flow head, ``coords1 += delta``, ``flow = coords1 - coords0``; large:
  the mask predictor and convex upsampling (softmax over 9 neighbours, the 3x3-unfolded flow,
  weighted sum); small: bilinear upsampling by 8. The output is (iterations, 2, H, W): every
  iteration's upsampled flow, as torchvision returns them.

Not counted: building the sampling grids (adding the window offsets, halving the centroids per
level, grid_sample's coordinate normalisation), a few elementwise operations per sampled point that
are no layer here. Registered at 2 x 3x512x512 (image 1 the input, image 2 a second graph input of
the same size; analyse another size by building the graph at it), where torchvision's ``_ops`` apply.
"""

from __future__ import annotations

from ..dims import coerce_dim
from ..graph import Builder
from ..layers import (
    Activation, Add, AvgPool2d, BatchNorm2d, Concat, Conv2d, Expand, GroupNorm, Interpolate, LearnedTensor, MatMul,
    Mul, PerItem, Permute, Reshape, Scale, Shared, Slice, Softmax, Sub, Sum, Transpose,
)
from . import Published, register_model


class _Twice:
    """Adds each layer for image 1 (owning the weights) and, with ``Shared``, for image 2; inputs and
    results are (image 1, image 2) pairs of node names."""

    def __init__(self, b):
        self.b = b

    def add(self, layer, *pairs, name):
        a = self.b.add(layer, *(x[0] for x in pairs), name=name)
        c = self.b.add(Shared(layer, name) if _has_weights(layer) else layer, *(x[1] for x in pairs),
                       name=f"{name}@1")
        return a, c


def _has_weights(layer):
    return isinstance(layer, (Conv2d, BatchNorm2d))


def _cna(b, xs, p, cout, k, stride, norm, act=True):
    """``Conv2dNormActivation(bias=True)`` with ``norm`` ("instance", "batch" or None)."""
    xs = b.add(Conv2d(cout, k, stride=stride, padding=(k - 1) // 2), xs, name=f"{p}.0")
    i = 1
    if norm is not None:
        xs = b.add(GroupNorm(cout, affine=False) if norm == "instance" else BatchNorm2d(), xs, name=f"{p}.{i}")
        i += 1
    if act:
        xs = b.add(Activation("relu", inplace=True), xs, name=f"{p}.{i}")
    return xs


def _encoder(b, xs, p, layers, block, norm):
    """torchvision ``FeatureEncoder`` (strides 2, 1, 2, 2)."""
    xs = _cna(b, xs, f"{p}.convnormrelu", layers[0], 7, 2, norm)
    for s, (cout, stride) in enumerate(zip(layers[1:4], (1, 2, 2)), start=1):
        for i in range(2):
            q, st = f"{p}.layer{s}.{i}", stride if i == 0 else 1
            if block == "residual":
                y = _cna(b, xs, f"{q}.convnormrelu1", cout, 3, st, norm)
                y = _cna(b, y, f"{q}.convnormrelu2", cout, 3, 1, norm)
            else:
                y = _cna(b, xs, f"{q}.convnormrelu1", cout // 4, 1, 1, norm)
                y = _cna(b, y, f"{q}.convnormrelu2", cout // 4, 3, st, norm)
                y = _cna(b, y, f"{q}.convnormrelu3", cout, 1, 1, norm)
            short = _cna(b, xs, f"{q}.downsample", cout, 1, st, norm, act=False) if st != 1 else xs
            y = b.add(Add(), short, y, name=f"{q}.add")
            xs = b.add(Activation("relu", inplace=True), y, name=f"{q}.relu")
    return b.add(Conv2d(layers[4], 1), xs, name=f"{p}.conv")


class _One:
    """The same interface for one image: 1-tuples of node names."""

    def __init__(self, b):
        self.b = b

    def add(self, layer, *singles, name):
        return (self.b.add(layer, *(x[0] for x in singles), name=name),)


def _it(layer):
    return PerItem(layer)


def raft(name, input_shape, size="large", num_flow_updates: "Dim" = 12):
    large = size == "large"
    fe = (64, 64, 96, 128, 256) if large else (32, 32, 64, 96, 128)
    ce = (64, 64, 96, 128, 256) if large else (32, 32, 64, 96, 160)
    block = "residual" if large else "bottleneck"
    radius = 4 if large else 3
    hidden = 128 if large else 96
    levels, side = 4, 2 * radius + 1
    b = Builder(name, input_shape, input_name="image1")
    img2 = b.add_input(tuple(input_shape), "image2")
    h, w = input_shape[1] // 8, input_shape[2] // 8
    n = coerce_dim(num_flow_updates)  # a name such as "N" becomes a symbol every layer can bind

    f1, f2 = _encoder(_Twice(b), (b.input, img2), "feature_encoder", fe, block, "instance")
    (ctx,) = _encoder(_One(b), (b.input,), "context_encoder", ce, block, "batch" if large else None)

    # correlation volume (h*w x h*w) / sqrt(C) and its pyramid of average pools over the second map
    c = fe[4]
    a = b.add(Reshape((c, h * w)), f1, name="corr_block.fmap1")
    a = b.add(Transpose(0, 1), a, name="corr_block.fmap1_t")
    bb = b.add(Reshape((c, h * w)), f2, name="corr_block.fmap2")
    corr = b.add(MatMul(), a, bb, name="corr_block.corr")
    corr = b.add(Scale(c ** -0.5), corr, name="corr_block.scale")
    corr = b.add(Reshape((h * w, 1, h, w)), corr, name="corr_block.level0")
    pyramid, sizes = [corr], [(h, w)]
    for lvl in range(1, levels):
        corr = b.add(_it(AvgPool2d(2, 2)), corr, name=f"corr_block.level{lvl}")
        pyramid.append(corr)
        sizes.append((sizes[-1][0] // 2, sizes[-1][1] // 2))

    hid = b.add(Slice(0, hidden, axis=0), ctx, name="hidden_state")
    hid = b.add(Activation("tanh"), hid, name="hidden_state_tanh")
    con = b.add(Slice(hidden, None, axis=0), ctx, name="context")
    con = b.add(Activation("relu"), con, name="context_relu")

    # the iterations: a leading axis of size n; every layer below runs once per iteration
    looks = []
    for lvl, (pl, (hl, wl)) in enumerate(zip(pyramid, sizes)):
        e = b.add(Expand((n, h * w, 1, hl, wl)), pl, name=f"corr_block.level{lvl}_iterations")
        e = b.add(_it(_it(Interpolate(size=(side, side), mode="bilinear", align_corners=True))), e,
                  name=f"corr_block.lookup{lvl}")  # grid_sample of the window around each pixel
        looks.append(b.add(Reshape((n, h, w, side * side)), e, name=f"corr_block.lookup{lvl}_flat"))
    corr_f = b.add(Concat(axis=-1), looks, name="corr_block.lookup_cat")
    corr_f = b.add(Permute((0, 3, 1, 2)), corr_f, name="corr_features")
    hs = b.add(Expand((n, hidden, h, w)), hid, name="hidden_state_iterations")
    cx = b.add(Expand((n, ce[4] - hidden, h, w)), con, name="context_iterations")
    coords = b.add(LearnedTensor((2, h, w), "value", stored=0), hid, name="coords1")  # make_coords_grid: a constant
    coords = b.add(Expand((n, 2, h, w)), coords, name="coords1_iterations")
    coords0 = b.add(LearnedTensor((2, h, w), "value", stored=0), hid, name="coords0")
    flow = b.add(Sub(), coords, coords0, name="flow")  # coords1 - coords0

    u = "update_block"
    me = f"{u}.motion_encoder"
    corr_layers, flow_layers, mout = ((256, 192), (128, 64), 128) if large else ((96,), (64, 32), 82)
    y = b.add(_it(Conv2d(corr_layers[0], 1)), corr_f, name=f"{me}.convcorr1.0")
    y = b.add(Activation("relu", inplace=True), y, name=f"{me}.convcorr1.1")
    if len(corr_layers) == 2:
        y = b.add(_it(Conv2d(corr_layers[1], 3, padding=1)), y, name=f"{me}.convcorr2.0")
        y = b.add(Activation("relu", inplace=True), y, name=f"{me}.convcorr2.1")
    fl = b.add(_it(Conv2d(flow_layers[0], 7, padding=3)), flow, name=f"{me}.convflow1.0")
    fl = b.add(Activation("relu", inplace=True), fl, name=f"{me}.convflow1.1")
    fl = b.add(_it(Conv2d(flow_layers[1], 3, padding=1)), fl, name=f"{me}.convflow2.0")
    fl = b.add(Activation("relu", inplace=True), fl, name=f"{me}.convflow2.1")
    m = b.add(Concat(axis=1), y, fl, name=f"{me}.cat")
    m = b.add(_it(Conv2d(mout - 2, 3, padding=1)), m, name=f"{me}.conv.0")
    m = b.add(Activation("relu", inplace=True), m, name=f"{me}.conv.1")
    m = b.add(Concat(axis=1), m, flow, name=f"{me}.cat_flow")
    x = b.add(Concat(axis=1), cx, m, name=f"{u}.cat")

    grus = (("convgru1", (1, 5), (0, 2)), ("convgru2", (5, 1), (2, 0))) if large else (("convgru1", 3, 1),)
    for g, k, pad in grus:
        p = f"{u}.recurrent_block.{g}"
        hx = b.add(Concat(axis=1), hs, x, name=f"{p}.cat")
        z = b.add(_it(Conv2d(hidden, k, padding=pad)), hx, name=f"{p}.convz")
        z = b.add(Activation("sigmoid"), z, name=f"{p}.z")
        r = b.add(_it(Conv2d(hidden, k, padding=pad)), hx, name=f"{p}.convr")
        r = b.add(Activation("sigmoid"), r, name=f"{p}.r")
        rh = b.add(Mul(), r, hs, name=f"{p}.rh")
        rx = b.add(Concat(axis=1), rh, x, name=f"{p}.cat_r")
        q = b.add(_it(Conv2d(hidden, k, padding=pad)), rx, name=f"{p}.convq")
        q = b.add(Activation("tanh"), q, name=f"{p}.q")
        # (1 - z) * h + z * q: one subtract, two multiplies, one add per element, as written here
        zh = b.add(Mul(), z, hs, name=f"{p}.zh")
        keep = b.add(Sub(), hs, zh, name=f"{p}.keep")
        zq = b.add(Mul(), z, q, name=f"{p}.zq")
        hs = b.add(Add(), keep, zq, name=f"{p}.h")

    fh = f"{u}.flow_head"
    d = b.add(_it(Conv2d(256 if large else 128, 3, padding=1)), hs, name=f"{fh}.conv1")
    d = b.add(Activation("relu", inplace=True), d, name=f"{fh}.relu")
    d = b.add(_it(Conv2d(2, 3, padding=1)), d, name=f"{fh}.conv2")
    coords = b.add(Add(), coords, d, name="coords1_update")  # coords1 + delta_flow
    flow = b.add(Sub(), coords, coords0, name="flow_update")

    if large:  # mask predictor and convex upsampling
        mk = b.add(_it(Conv2d(256, 3, padding=1)), hs, name="mask_predictor.convrelu.0")
        mk = b.add(Activation("relu", inplace=True), mk, name="mask_predictor.convrelu.1")
        mk = b.add(_it(Conv2d(8 * 8 * 9, 1)), mk, name="mask_predictor.conv")
        mk = b.add(Scale(0.25), mk, name="mask_predictor.multiplier")
        mk = b.add(Reshape((n, 1, 9, 8, 8, h, w)), mk, name="upsample.mask")
        mk = b.add(Softmax(2, "torch"), mk, name="upsample.softmax")  # torchvision: torch.softmax(up_mask, dim=2)
        fl8 = b.add(Scale(8), flow, name="upsample.scale")
        fl8 = b.add(Reshape((n, 2, 1, 1, 1, h, w)), fl8, name="upsample.flow")
        fl8 = b.add(Expand((n, 2, 9, 1, 1, h, w)), fl8, name="upsample.unfold")  # F.unfold(3x3): a copy
        up = b.add(Mul(), mk, fl8, name="upsample.weighted")
        up = b.add(Sum(2), up, name="upsample.sum")  # (n, 2, 8, 8, h, w)
        up = b.add(Permute((0, 1, 4, 2, 5, 3)), up, name="upsample.permute")
        out = b.add(Reshape((n, 2, 8 * h, 8 * w)), up, name="flow_predictions")
    else:
        up = b.add(_it(Interpolate(size=(8 * h, 8 * w), mode="bilinear", align_corners=True)), flow,
                   name="upsample.interpolate")
        out = b.add(Scale(8), up, name="flow_predictions")
    return b.build(outputs=[out])


_TV = {"large": (5_257_536, 211.007, "C_T_SKHT_V2"), "small": (990_162, 47.655, "C_T_V2")}

for _s, (_params, _gmacs, _weights) in _TV.items():
    register_model(
        f"raft_{_s}", raft, family="Optical flow", size=_s, input_shape=(3, 512, 512),
        variant=f"RAFT{'' if _s == 'large' else '-S'}: 2 x 3x512x512, num_flow_updates iterations (default 12)",
        source=f"Teed & Deng 2020 (arXiv:2003.12039), sec. 3{' and Appendix (RAFT-S)' if _s == 'small' else ''}; "
               f"torchvision.models.optical_flow.raft_{_s}",
        torchvision=f"optical_flow.raft_{_s}",
        notes="image 2 is a second graph input; sampling-grid arithmetic is not counted",
        published=Published(f"torchvision Raft_{_s.capitalize()}_Weights.{_weights} (reproduced at 2 x 3x512x512, "
                            "12 iterations)", params=_params, extra={"gflops": _gmacs, "weights": _weights}),
    )
