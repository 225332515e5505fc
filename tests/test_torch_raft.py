"""torchvision's RAFT through from_torch (issue 14): its patterns, each a tiny module compared with
torch (unique parameters and buffers, output shape, MACs against FlopCounterMode at batch 1 and 3,
fvcore live where torch.fx imports the module), the two new kinds' rules, and raft_small /
raft_large whole as heavy corpus rows.

RAFT's patterns: a feature encoder with InstanceNorm2d run on both frames at once
(``torch.cat([image1, image2], dim=0)``, a folded batch of 2); the correlation volume divided by
``torch.sqrt(torch.tensor(C))`` (a constant made in forward) and reshaped to ``(B * h * w, 1, h,
w)`` for an average-pooled pyramid; lookups by ``F.grid_sample`` at a coordinate grid built with
``torch.arange`` / ``linspace`` and repeated over the batch; the convex upsampling of the flow
(a 7-d view, a softmax over the 9 neighbours, ``F.unfold``)."""

from __future__ import annotations

import pytest

import archcalc
from archcalc import conventions as C
from archcalc import dims
from archcalc import layers as L
from archcalc.errors import ArchcalcError, ShapeError, UnsupportedLayerError
from archcalc.graph import Builder

# --- the rules ---------------------------------------------------------------------------------


def _one(layer, *shapes):
    b = Builder("t", shapes[0])
    ins = [b.input]
    for i, s in enumerate(shapes[1:], 1):
        ins.append(b.add_input(s, f"input{i}"))
    b.add(layer, *ins, name="layer")
    return archcalc.analyze(b.build())["layer"]


def test_instance_norm_rule_is_group_norm_with_one_group_per_channel():
    rec = _one(L.InstanceNorm2d(affine=True), (8, 5, 6))
    assert rec.output_shape == (8, 5, 6)
    assert rec.params == 2 * 8 and rec.buffers == 0 and rec.macs == 0  # weight and bias, no running stats
    assert rec.flops == 8 * 5 * 6 * (5 + 2) + 4 * 8  # 5 (+2 affine) per element, 4 per channel's statistics
    gn = _one(L.GroupNorm(8, affine=True), (8, 5, 6))
    assert (gn.params, gn.flops) == (rec.params, rec.flops)
    plain = _one(L.InstanceNorm2d(), (8, 5, 6))
    assert plain.params == 0 and plain.flops == 8 * 5 * 6 * 5 + 4 * 8
    h, w = dims.coerce_dim("H"), dims.coerce_dim("W")
    sym = _one(L.InstanceNorm2d(), (8, "H", "W"))  # one rule for ints and symbols
    assert dims.same(sym.flops, 8 * h * w * 5 + 4 * 8)
    with pytest.raises(ShapeError, match=r"\(C, H, W\)"):
        _one(L.InstanceNorm2d(), (8, 5))


def test_grid_sample_rule():
    rec = _one(L.GridSample(align_corners=True), (3, 10, 12), (4, 5, 2))
    assert rec.output_shape == (3, 4, 5)  # the map's channels at the grid's 4 x 5 points
    assert rec.params == 0 and rec.macs == 0
    assert rec.flops == 3 * 4 * 5 * 7  # bilinear: 4 weighted values and 3 adds per output element
    assert _one(L.GridSample("nearest"), (3, 10, 12), (4, 5, 2)).flops == 0
    assert _one(L.GridSample("bicubic"), (3, 10, 12), (4, 5, 2)).flops == 3 * 4 * 5 * 31
    sym = _one(L.GridSample(), (3, "H", "W"), ("G", 5, 2))
    assert dims.same(sym.flops, 3 * dims.coerce_dim("G") * 5 * 7)
    with pytest.raises(ShapeError, match="grid must be"):
        _one(L.GridSample(), (3, 10, 12), (4, 5, 3))
    for bad in (lambda: L.GridSample("area"), lambda: L.GridSample(padding_mode="wrap"),
                lambda: L.GridSample(align_corners=2), lambda: L.InstanceNorm2d(eps=0)):
        with pytest.raises(ArchcalcError) as e:
            bad()
        assert "\n" not in str(e.value)


def test_conventions_of_the_new_kinds():
    b = Builder("t", (4, 6, 6))
    n = b.add(L.InstanceNorm2d(affine=True), b.input, name="norm")
    grid = b.add_input((3, 5, 2), "grid")
    b.add(L.GridSample(), n, grid, name="sample")
    r = archcalc.analyze(b.build(), batch=2)
    norm_in, sample_out = 2 * 4 * 6 * 6, 2 * 4 * 3 * 5
    expected = {"fvcore": 5 * norm_in + 4 * sample_out,  # instance_norm 4 (+1 affine); grid_sampler 4 per output
                "flop_counter": 0, "torchinfo": 2 * (2 * 4),  # batch x the norm's params
                "ptflops": 2 * norm_in, "thop": 4 * norm_in, "archcalc": 0}
    for name, want in expected.items():
        assert C.count(r, name).total == want, name


# --- tiny torch modules ------------------------------------------------------------------------

def _modules(torch):
    nn, F = torch.nn, torch.nn.functional

    class NormNet(nn.Module):
        """Conv, InstanceNorm2d (affine or not), ReLU; then the functional instance norm."""

        def __init__(self, affine):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.norm = nn.InstanceNorm2d(8, affine=affine)
            self.conv2 = nn.Conv2d(8, 4, 3, stride=2)

        def forward(self, x):
            x = torch.relu(self.norm(self.conv(x)))
            return self.conv2(F.instance_norm(x))

    class FunctionalAffine(nn.Module):
        """F.instance_norm with a weight and a bias (torch repeats them over the batch); with
        ``frames``, on both frames in one batch (a folded batch of 2)."""

        def __init__(self, frames=False):
            super().__init__()
            self.frames = frames
            self.conv = nn.Conv2d(3, 4, 3)
            self.weight, self.bias = nn.Parameter(torch.rand(4) + 0.5), nn.Parameter(torch.randn(4))

        def forward(self, a, b=None):
            x = self.conv(torch.cat([a, b], dim=0) if self.frames else a)
            x = F.instance_norm(x, weight=self.weight, bias=self.bias, eps=1e-3)
            return torch.chunk(x, 2, dim=0)[1] if self.frames else x

    class TwoFrames(nn.Module):
        """RAFT's feature encoder: both frames in one batch, InstanceNorm2d, split back by chunk."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.norm = nn.InstanceNorm2d(8)
            self.out = nn.Conv2d(8, 6, 1)

        def forward(self, a, b):
            f = self.out(torch.relu(self.norm(self.conv(torch.cat([a, b], dim=0)))))
            f1, f2 = torch.chunk(f, 2, dim=0)
            return f1 * f2

    class Sampler(nn.Module):
        """F.grid_sample of a conv's output at a grid given as a second input."""

        def __init__(self, mode="bilinear", padding_mode="zeros", align_corners=True):
            super().__init__()
            self.conv = nn.Conv2d(3, 5, 3)
            self.head = nn.Conv2d(5, 2, 1)
            self.kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)

        def forward(self, x, grid):
            return self.head(F.grid_sample(self.conv(x), grid, **self.kw))

    class CorrLookup(nn.Module):
        """RAFT's CorrBlock on one feature map per frame: the all-pairs correlation over sqrt(C),
        a two-level average-pooled pyramid on (B * h * w, 1, h, w), lookups at a coordinate grid
        (arange + meshgrid, repeated over the batch) plus a linspace neighbourhood, then a conv."""

        def __init__(self, c=6, radius=1):
            super().__init__()
            self.fnet = nn.Conv2d(3, c, 3, padding=1)
            self.radius = radius
            side = 2 * radius + 1
            self.head = nn.Conv2d(2 * side * side, 4, 1)

        def forward(self, image1, image2):
            fmap1, fmap2 = self.fnet(image1), self.fnet(image2)
            b, c, h, w = fmap1.shape
            corr = torch.matmul(fmap1.view(b, c, h * w).transpose(1, 2), fmap2.view(b, c, h * w))
            corr = corr.view(b, h, w, 1, h, w) / torch.sqrt(torch.tensor(c))
            corr = corr.reshape(b * h * w, 1, h, w)
            pyramid = [corr, F.avg_pool2d(corr, 2, stride=2)]
            ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
            coords = torch.stack([xs, ys], dim=0).float()[None].repeat(b, 1, 1, 1).to(fmap1.device)
            side = 2 * self.radius + 1
            d = torch.linspace(-self.radius, self.radius, side)
            delta = torch.stack(torch.meshgrid(d, d, indexing="ij"), dim=-1).view(1, side, side, 2)
            centroids = coords.permute(0, 2, 3, 1).reshape(b * h * w, 1, 1, 2)
            out = []
            for level in pyramid:
                pts = centroids + delta
                lh, lw = level.shape[-2:]
                x, y = pts.split([1, 1], dim=-1)
                grid = torch.cat([2 * x / (lw - 1) - 1, 2 * y / (lh - 1) - 1], dim=-1)
                out.append(F.grid_sample(level, grid, align_corners=True).view(b, h, w, -1))
                centroids = centroids / 2
            return self.head(torch.cat(out, dim=-1).permute(0, 3, 1, 2).contiguous())

    class FoldedPools(nn.Module):
        """Pooling functions on a folded batch, (B * C, 1, H, W), as RAFT pools its correlation
        volume, and on an unbatched-style (B * C, H, W) view, whose leading axis torch takes as
        the channels; then a conv on the result."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(6, 5, 3)

        def forward(self, x):
            b, c, h, w = x.shape
            one = x.reshape(b * c, 1, h, w)
            y = F.avg_pool2d(one, 2, stride=2) + F.max_pool2d(one, 2)
            z = F.max_pool2d(x.reshape(b * c, h, w), 2)
            return self.conv(torch.cat([y.reshape(b, c, h // 2, w // 2), z.reshape(b, c, h // 2, w // 2)], 1))

    class CoordsFlow(nn.Module):
        """RAFT's first iteration: two coordinate grids (arange, meshgrid, stack, [None], repeated
        over the batch), their difference into a conv before anything of the sample is mixed in:
        torch runs that conv for every sample."""

        def __init__(self):
            super().__init__()
            self.convflow = nn.Conv2d(2, 6, 3, padding=1)
            self.conv = nn.Conv2d(3, 6, 1)

        def forward(self, x):
            b, _, h, w = x.shape
            ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
            coords0 = torch.stack([xs, ys], dim=0).float()[None].repeat(b, 1, 1, 1).to(x.device)
            coords1 = torch.stack([xs, ys], dim=0).float()[None].repeat(b, 1, 1, 1).to(x.device)
            return self.conv(x) + self.convflow(coords1 - coords0)

    class ConvexUpsample(nn.Module):
        """RAFT large's flow upsampling: a predicted mask viewed (B, 1, 9, f, f, h, w), softmax over
        the 9 neighbours, F.unfold of the scaled flow, a weighted sum, permute and reshape."""

        def __init__(self, factor=2):
            super().__init__()
            self.factor = factor
            self.flow = nn.Conv2d(4, 2, 3, padding=1)
            self.mask = nn.Conv2d(4, 9 * factor * factor, 1)

        def forward(self, x):
            flow, up_mask = self.flow(x), 0.25 * self.mask(x)
            b, c, h, w = flow.shape
            f = self.factor
            up_mask = torch.softmax(up_mask.view(b, 1, 9, f, f, h, w), dim=2)
            up = F.unfold(f * flow, kernel_size=3, padding=1).view(b, c, 9, 1, 1, h, w)
            up = torch.sum(up_mask * up, dim=2)
            return up.permute(0, 1, 4, 2, 5, 3).reshape(b, c, f * h, f * w)

    return {
        "instance_norm": (lambda: NormNet(False), [(3, 8, 8)]),
        "instance_norm_affine": (lambda: NormNet(True), [(3, 8, 8)]),
        "two_frames": (TwoFrames, [(3, 8, 8), (3, 8, 8)]),
        "instance_norm_functional_affine": (FunctionalAffine, [(3, 7, 9)]),
        "two_frames_functional_affine": (lambda: FunctionalAffine(True), [(3, 7, 9), (3, 7, 9)]),
        "grid_sample": (Sampler, [(3, 9, 10), (4, 6, 2)]),
        "grid_sample_nearest_border": (lambda: Sampler("nearest", "border", False), [(3, 9, 10), (4, 6, 2)]),
        "grid_sample_bicubic_reflection": (lambda: Sampler("bicubic", "reflection", True), [(3, 9, 10), (4, 6, 2)]),
        "corr_lookup": (CorrLookup, [(3, 6, 8), (3, 6, 8)]),
        "convex_upsample": (ConvexUpsample, [(4, 5, 6)]),
        "folded_pools": (FoldedPools, [(3, 8, 10)]),
        "coords_flow": (CoordsFlow, [(3, 5, 7)]),
    }


#: cases torch.fx traces (a cat along the batch and the batch folded into another size send the
#: others to the fallback, as in RAFT); every case is also imported by the fallback
FX_CASES = ("instance_norm", "instance_norm_affine", "instance_norm_functional_affine", "grid_sample",
            "grid_sample_nearest_border", "grid_sample_bicubic_reflection", "convex_upsample")
CASES = FX_CASES + ("two_frames", "two_frames_functional_affine", "corr_lookup", "folded_pools", "coords_flow")


def _import(module, shapes, tracer):
    from archcalc.torch_bridge.dispatch_import import import_dispatch
    from archcalc.torch_bridge.fx_import import finish, import_fx

    name = type(module).__name__
    imp, outputs = (import_fx if tracer == "fx" else import_dispatch)(module, shapes, name)
    assert imp.unsupported == []
    return finish(module, imp, outputs, tracer)


def _inputs(torch, shapes, batch):
    xs = [torch.randn(batch, *s) for s in shapes]
    if len(shapes) > 1 and shapes[1][-1] == 2:  # a sampling grid: normalised coordinates
        xs[1] = xs[1].clamp(-1.1, 1.1)
    return xs


@pytest.mark.torch
@pytest.mark.parametrize("case,tracer", [(c, t) for c in CASES for t in (("fx", "dispatch") if c in FX_CASES
                                                                         else ("dispatch",))])
def test_raft_patterns_against_torch(torch, case, tracer):
    from torch.utils.flop_counter import FlopCounterMode

    make, shapes = _modules(torch)[case]
    torch.manual_seed(0)
    module = make().eval()
    graph = _import(module, shapes, tracer)
    if case not in FX_CASES:  # from_torch falls back to the fake-tensor run, as it does for RAFT
        assert archcalc.from_torch(module, shapes if len(shapes) > 1 else shapes[0]).tracer.startswith("dispatch")
    for batch in (1, 3):
        r = archcalc.analyze(graph, batch=batch)
        with FlopCounterMode(display=False) as fc, torch.no_grad():
            y = module(*_inputs(torch, shapes, batch))
        assert r.totals["macs"] == fc.get_total_flops() // 2, batch
        assert C.count(r, "flop_counter").total == fc.get_total_flops()
        assert r.totals["params"] == sum(p.numel() for p in module.parameters())
        assert r.totals["buffers"] == sum(b.numel() for b in module.buffers())
        assert tuple(r.layers[-1].output_shape) == tuple(y.shape[1:])
    kinds = {rec.kind for rec in r.layers}
    if "instance_norm" in case or "two_frames" in case:
        assert any("InstanceNorm2d" in k for k in kinds)  # alone, per item or Shared with its weights
    if "grid_sample" in case or case == "corr_lookup":
        assert any("GridSample" in k for k in kinds)
    if case == "folded_pools":
        assert {"PerItem(AvgPool2d)", "PerItem(MaxPool2d)", "MaxPool2d"} <= kinds


@pytest.mark.torch
@pytest.mark.parametrize("case", FX_CASES)
def test_fx_imports_and_fvcore_agrees(torch, case):
    """torch.fx is the first choice; fvcore run live matches the fvcore convention (instance_norm:
    4 per element, 5 affine; grid_sampler: 4 per output element whatever the mode)."""
    import warnings

    fv = pytest.importorskip("fvcore.nn")
    make, shapes = _modules(torch)[case]
    module = make().eval()
    graph = archcalc.from_torch(module, shapes if len(shapes) > 1 else shapes[0])
    assert graph.tracer == "torch.fx"
    r = archcalc.analyze(graph)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fa = fv.FlopCountAnalysis(module, tuple(_inputs(torch, shapes, 1)))
        fa.unsupported_ops_warnings(False)
        live = fa.total()
    assert C.count(r, "fvcore").total == live


@pytest.mark.torch
def test_ptflops_thop_and_torchinfo_on_instance_norm(torch):
    """ptflops and thop count nn.InstanceNorm2d through their norm hooks (ptflops: input elements,
    x2 affine; thop: 2 per element, x2 affine), torchinfo as any module with parameters (batch x
    params); the module here is conv and norm only."""
    nn = torch.nn
    ptflops = pytest.importorskip("ptflops")
    thop = pytest.importorskip("thop")
    torchinfo = pytest.importorskip("torchinfo")
    for affine in (False, True):
        module = nn.Sequential(nn.Conv2d(3, 8, 3), nn.InstanceNorm2d(8, affine=affine)).eval()
        r = archcalc.analyze(archcalc.from_torch(module, (3, 10, 10)))
        summary = torchinfo.summary(module, input_size=(2, 3, 10, 10), verbose=0)
        assert C.count(archcalc.analyze(r.graph, batch=2), "torchinfo").total == summary.total_mult_adds, affine
        macs, _ = ptflops.get_model_complexity_info(module, (3, 10, 10), as_strings=False,
                                                    print_per_layer_stat=False, verbose=False)
        assert C.count(r, "ptflops").total == macs, affine
        ops, _ = thop.profile(module, inputs=(torch.randn(1, 3, 10, 10),), verbose=False)
        assert C.count(r, "thop").total == int(ops), affine


@pytest.mark.torch
def test_instance_norm_with_running_stats_is_refused_by_name(torch):
    nn = torch.nn
    module = nn.Sequential(nn.Conv2d(3, 4, 1), nn.InstanceNorm2d(4, track_running_stats=True)).eval()
    with pytest.raises(UnsupportedLayerError, match="InstanceNorm2d.*track_running_stats"):
        archcalc.from_torch(module, (3, 6, 6))


@pytest.mark.torch
def test_corr_lookup_counts_the_correlation_per_sample(torch):
    """The correlation volume is per sample: (h*w) x C x (h*w) MACs; the two convs and the head
    are the rest. Arithmetic beside the FlopCounterMode check above."""
    make, shapes = _modules(torch)["corr_lookup"]
    r = archcalc.analyze(archcalc.from_torch(make().eval(), shapes), batch=2)
    h, w, c, side = 6, 8, 6, 3
    fnet = 2 * h * w * c * 3 * 3 * 3  # the 3x3 conv on each frame
    corr = (h * w) * c * (h * w)
    head = h * w * (2 * side * side) * 4
    assert r.totals["macs"] == 2 * (fnet + corr + head)


# --- the models -----------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.heavy  # about 20 s each here (a fake run of 12 refinement iterations, FlopCounterMode on meta)
@pytest.mark.parametrize("name", ["raft_small", "raft_large"])
def test_raft_is_exact(torch, torchvision, name):
    """The corpus row (batch 1), then batch 2 against FlopCounterMode on the meta device: the
    correlation volume and the first flow (two coordinate grids repeated over the batch) are per
    sample, the coordinate and neighbourhood grids themselves once per forward."""
    from torch.utils.flop_counter import FlopCounterMode

    from archcalc.torch_bridge.corpus import build, check

    row = check("torchvision", name)
    assert row["status"] == "exact", row
    assert row["params_ok"] and row["macs_ok"], row
    assert row.get("fvcore_ok") is not False, row
    model, shapes = build("torchvision", name, "meta")
    r = archcalc.analyze(archcalc.from_torch(model, shapes), batch=2)
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model(*[torch.zeros((2, *s), device="meta") for s in shapes])
    assert r.totals["macs"] == fc.get_total_flops() // 2


@pytest.mark.torch
def test_raft_small_imports_as_the_zoo_builds_it(torch, torchvision):
    """raft_small at the zoo's 2 x 3x512x512 (12 iterations), end to end through the fallback
    tracer: params equal torch's unique parameters, and params, buffers and MACs equal the zoo's
    independent construction (which reproduces torchvision's published 47.655 GFLOPS). The
    FlopCounterMode check of the whole model is the heavy row below."""
    with torch.device("meta"):
        model = torchvision.models.optical_flow.raft_small(weights=None).eval()
    graph = archcalc.from_torch(model, [(3, 512, 512), (3, 512, 512)])
    assert graph.tracer.startswith("dispatch")
    ours = archcalc.analyze(graph).totals
    zoo = archcalc.analyze("raft_small").totals
    assert ours["params"] == sum(p.numel() for p in model.parameters()) == zoo["params"]
    assert ours["buffers"] == zoo["buffers"] == 0
    assert ours["macs"] == zoo["macs"] == 47_655_157_760


@pytest.mark.torch
def test_fx_keeps_formulas_through_grid_sample_and_instance_norm(torch):
    """torch.fx keeps H and W symbolic through both kinds: the sampled map has the grid's size."""
    make, _ = _modules(torch)["grid_sample"]
    r = archcalc.analyze(archcalc.from_torch(make().eval(), [(3, "H", "W"), (4, 6, 2)]))
    h, w = dims.coerce_dim("H"), dims.coerce_dim("W")
    assert r.layers[-1].output_shape == (2, 4, 6)
    # the 3x3 conv on the (H, W) map, then the 1x1 head on the 4 x 6 sampled points
    assert dims.same(r.totals["macs"], (h - 2) * (w - 2) * 5 * 3 * 9 + 4 * 6 * 2 * 5)
    assert r.substitute(H=9, W=10).totals["macs"] == 7 * 8 * 5 * 27 + 4 * 6 * 10
    make, _ = _modules(torch)["instance_norm_affine"]
    r = archcalc.analyze(archcalc.from_torch(make().eval(), (3, "H", "W")))
    norm = next(rec for rec in r.layers if rec.kind == "InstanceNorm2d")
    assert norm.params == 2 * 8 and dims.same(norm.flops, 8 * h * w * 7 + 4 * 8)


@pytest.mark.torch
def test_training_memory_keeps_what_torch_saves(torch):
    """What autograd keeps for backward, read with saved_tensors_hooks: instance norm its input and
    a mean and an inverse std per channel of each sample (also per item on two frames), grid_sample
    its map and its grid."""
    from archcalc.memory import STAT_BYTES, training_memory

    F = torch.nn.functional
    saved = []
    x, g = torch.randn(2, 4, 6, 6, requires_grad=True), torch.rand(2, 3, 5, 2, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(tuple(t.shape)) or t, lambda t: t):
        F.grid_sample(F.instance_norm(x), g, align_corners=True)
    assert sorted(saved) == sorted([(1, 8, 6, 6), (8,), (8,), (2, 4, 6, 6), (2, 3, 5, 2)])
    b = Builder("t", (2, 4, 6, 6))
    c = b.add(L.PerItem(L.Conv2d(4, 1)), b.input, name="conv")  # so that the norm's input needs a gradient
    n = b.add(L.PerItem(L.InstanceNorm2d()), c, name="norm")
    grid = b.add_input((2, 3, 5, 2), "grid")
    b.add(L.PerItem(L.GridSample(align_corners=True)), n, grid, name="sample")
    layers = {rec.name: rec for rec in training_memory(archcalc.analyze(b.build(), batch=3)).layers}
    assert layers["norm"].saved == ("input", "row_stats") and layers["sample"].saved == ("input",)
    # the conv's fp32 output, first kept by the norm, and its stat rows: 2 items x 4 channels per
    # sample, a mean and an inverse std each, batch 3
    assert layers["norm"].saved_bytes == 3 * 2 * 4 * 6 * 6 * 4 + 3 * 2 * 4 * 2 * STAT_BYTES
