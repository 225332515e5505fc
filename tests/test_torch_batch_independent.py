"""Work that does not depend on the batch (issue 14): torch computes it once per forward, so its
MACs are not multiplied by the batch. Each pattern of the modern families is a tiny module, imported
by both tracers (torch.fx and the fallback on fake tensors) and compared with torch at batch 1 and 3:
params and buffers with the module's own, MACs with FlopCounterMode, the output shape with a run."""

from __future__ import annotations

import pytest

import archcalc
from archcalc import conventions as C
from archcalc import dims
from archcalc import layers as L
from archcalc.graph import Builder

# --- the engine: a hand-built graph --------------------------------------------------------------


def _table_mlp_graph():
    """A Linear on a (49, 2) coordinate table (once per forward) beside a Linear on the input."""
    b = Builder("t", (16, 8))
    coords = b.add(L.Constant((49, 2), "torch.arange"), b.input, name="coords")
    b.add(L.Linear(8), coords, name="mlp")
    b.add(L.Linear(8), b.input, name="fc")
    return b.build()


def test_batch_free_work_is_counted_once_per_forward():
    g = _table_mlp_graph()
    once, per_sample = 49 * 2 * 8, 16 * 8 * 8  # Linear(2->8) on 49 rows; Linear(8->8) on 16 rows
    for batch in (1, 3):
        r = archcalc.analyze(g, batch=batch)
        assert r.totals["macs"] == once + batch * per_sample
        assert r["mlp"].per_forward and r["coords"].per_forward and not r["fc"].per_forward
        # one (49, 8) tensor whatever the batch, not one per sample
        assert r["mlp"].activations == 49 * 8 and r["fc"].activations == batch * 16 * 8
    r = archcalc.analyze(g, batch="N")
    n = dims.coerce_dim("N")
    assert dims.same(r.totals["macs"], once + n * per_sample)
    assert dims.same(r.substitute(N=3).totals["macs"], once + 3 * per_sample)


def test_once_per_forward_is_shown_in_the_table_and_json():
    r = archcalc.analyze(_table_mlp_graph(), batch=2)
    layers = {d["name"]: d for d in r.to_dict()["layers"]}
    assert layers["mlp"]["per_forward"] is True and "per_forward" not in layers["fc"]
    row = next(line for line in repr(r).splitlines() if line.startswith("mlp "))
    assert "once per forward" in row
    # conventions read the batch from the record, so they count it once too
    assert C.count(r, "fvcore").by_layer["mlp"] == 49 * 2 * 8
    assert C.count(r, "fvcore").by_layer["fc"] == 2 * 16 * 8 * 8


def test_a_constant_is_checked_like_any_layer():
    with pytest.raises(archcalc.errors.InvalidValueError, match="Constant.shape must be >= 1"):
        L.Constant((0, 2))
    with pytest.raises(archcalc.errors.InvalidTypeError, match="Constant.op must be text"):
        L.Constant((2,), 3)
    assert L.Constant((2,), "torch.zeros", batched=True).batch_free is False


# --- tiny torch modules, both tracers --------------------------------------------------------------


def _modules(torch):
    nn = torch.nn

    class SwinV2Bias(nn.Module):
        """Swin V2: an MLP on a (1, 2w-1, 2w-1, 2) coordinate buffer, viewed as a bias table, read
        through an index buffer and added to the attention logits."""

        def __init__(self, w=3, heads=2, dim=8):
            super().__init__()
            self.heads, self.n = heads, w * w
            self.register_buffer("coords", torch.randn(1, 2 * w - 1, 2 * w - 1, 2))
            self.register_buffer("index", torch.randint(0, (2 * w - 1) ** 2, (w * w * w * w,)))
            self.cpb_mlp = nn.Sequential(nn.Linear(2, 16), nn.ReLU(inplace=True), nn.Linear(16, heads, bias=False))
            self.q = nn.Linear(dim, dim)

        def forward(self, x):  # (B, n, dim)
            table = self.cpb_mlp(self.coords).view(-1, self.heads)
            bias = table[self.index.view(-1)].view(self.n, self.n, -1).permute(2, 0, 1).contiguous()
            q = self.q(x).reshape(x.shape[0], self.n, self.heads, -1).permute(0, 2, 1, 3)
            attn = q @ q.transpose(-2, -1)
            return (attn + bias.unsqueeze(0)).softmax(-1)

    class ArangePosition(nn.Module):
        """A position encoding built with torch.arange inside forward, projected, added to x."""

        def __init__(self, dim=8):
            super().__init__()
            self.proj = nn.Linear(1, dim)

        def forward(self, x):  # (B, T, dim)
            pos = torch.arange(x.shape[1], dtype=x.dtype, device=x.device).unsqueeze(-1)
            return x + self.proj(pos)

    class LevitBias(nn.Module):
        """LeViT: a (heads, offsets) parameter read through an index buffer, added to attention."""

        def __init__(self, n=9, heads=2, dim=8):
            super().__init__()
            self.heads, self.n = heads, n
            self.attention_biases = nn.Parameter(torch.zeros(heads, 7))
            self.register_buffer("attention_bias_idxs", torch.randint(0, 7, (n, n)))
            self.q = nn.Linear(dim, dim)

        def forward(self, x):  # (B, n, dim)
            q = self.q(x).reshape(x.shape[0], self.n, self.heads, -1).permute(0, 2, 1, 3)
            return q @ q.transpose(-2, -1) + self.attention_biases[:, self.attention_bias_idxs]

    class BasisLeft(nn.Module):
        """CSATv2's DCT stem: a parameter on the left of a matmul with the input (per sample), and
        a product of two parameters (once per forward) added to it."""

        def __init__(self):
            super().__init__()
            self.basis = nn.Parameter(torch.randn(16, 8))
            self.a = nn.Parameter(torch.randn(16, 4))
            self.b = nn.Parameter(torch.randn(4, 5))

        def forward(self, x):  # (B, 8, 5)
            return torch.matmul(self.basis, x) + self.a @ self.b

    class ZerosPerSample(nn.Module):
        """EdgeNeXt: torch.zeros((B, ...)) inside forward is made per sample, so a conv on it is
        per-sample work (not once per forward)."""

        def __init__(self):
            super().__init__()
            self.proj = nn.Conv2d(4, 6, 1)

        def forward(self, x):  # (B, 6, H, W)
            pos = torch.zeros((x.shape[0], 4, x.shape[2], x.shape[3]), device=x.device)
            return x + self.proj(pos)

    class FourierConv(nn.Module):
        """XCiT: sinusoids of torch.arange positions, a 1x1 conv on (1, C, H, W) once per forward,
        added to the input."""

        def __init__(self):
            super().__init__()
            self.proj = nn.Conv2d(4, 6, 1)

        def forward(self, x):  # (B, 6, H, W)
            h, w = x.shape[2], x.shape[3]
            pos = torch.arange(4 * h * w, dtype=x.dtype, device=x.device).view(1, 4, h, w).sin()
            return x + self.proj(pos)

    class ExpandedToken(nn.Module):
        """A class token expanded over the batch and then projected: torch projects it for every
        sample, so that work is per sample although it reads a parameter alone."""

        def __init__(self):
            super().__init__()
            self.cls_token = nn.Parameter(torch.randn(1, 1, 8))
            self.proj = nn.Linear(8, 8)

        def forward(self, x):  # (B, T, 8)
            return torch.cat((self.proj(self.cls_token.expand(x.shape[0], -1, -1)), x), dim=1)

    return {"expanded_token": (ExpandedToken, (5, 8)), "fourier_conv": (FourierConv, (6, 4, 4)), "swin_v2_bias": (SwinV2Bias, (9, 8)),
            "arange_position": (ArangePosition, (5, 8)), "levit_bias": (LevitBias, (9, 8)),
            "basis_left": (BasisLeft, (8, 5)), "zeros_per_sample": (ZerosPerSample, (6, 4, 4))}


CASES = ("expanded_token", "fourier_conv", "swin_v2_bias", "arange_position", "levit_bias", "basis_left", "zeros_per_sample")
#: layers each case must count once per forward (MACs on batch-free tensors alone)
ONCE = {"fourier_conv": 6 * 4 * 4 * 4,  # the 1x1 conv 4 -> 6 on the 4x4 Fourier features
        "swin_v2_bias": 5 * 5 * (2 * 16 + 16 * 2),  # the MLP 2 -> 16 -> 2 on the 5x5 coordinate table
        "arange_position": 5 * 1 * 8,  # Linear(1 -> 8) on the 5 positions
        "levit_bias": 0, "basis_left": 16 * 4 * 5,  # a @ b, (16, 4) @ (4, 5)
        "zeros_per_sample": 0,  # a conv on zeros((B, ...)) is per-sample work
        "expanded_token": 0}  # the projection of the token expanded over the batch too


def _import(torch, module, shape, tracer):
    from archcalc.torch_bridge.dispatch_import import import_dispatch
    from archcalc.torch_bridge.fx_import import finish, import_fx

    if tracer == "fx":
        imp, outputs = import_fx(module, [shape], type(module).__name__)
    else:
        imp, outputs = import_dispatch(module, [shape], type(module).__name__)
    assert imp.unsupported == []
    return finish(module, imp, outputs, tracer)


@pytest.mark.parametrize("tracer", ["fx", "dispatch"])
@pytest.mark.parametrize("case", CASES)
def test_batch_independent_work_against_torch(torch, case, tracer):
    from torch.utils.flop_counter import FlopCounterMode

    cls, shape = _modules(torch)[case]
    torch.manual_seed(0)
    module = cls().eval()
    graph = _import(torch, module, shape, tracer)
    for batch in (1, 3):
        r = archcalc.analyze(graph, batch=batch)
        x = torch.randn(batch, *shape)
        with FlopCounterMode(display=False) as fc:  # (no_grad trips its module tracker on expand)
            y = module(x)
        assert r.totals["macs"] == fc.get_total_flops() // 2, batch
        assert r.totals["params"] == sum(p.numel() for p in module.parameters())
        assert r.totals["buffers"] == sum(b.numel() for b in module.buffers())
        assert tuple(r.layers[-1].output_shape) == tuple(y.shape[1:])
        assert sum(rec.macs for rec in r.layers if rec.per_forward) == ONCE[case]


def test_symbolic_sizes_and_batch_keep_the_once_per_forward_work_apart(torch):
    cls, _ = _modules(torch)["arange_position"]
    graph = archcalc.from_torch(cls().eval(), ("T", 8))
    r = archcalc.analyze(graph, batch="N")
    t = dims.coerce_dim("T")
    assert dims.same(r.totals["macs"], 8 * t)  # the projection of the T positions, once
    assert r.substitute(T=5, N=3).totals["macs"] == 5 * 8


def test_memory_holds_one_per_forward_tensor_whatever_the_batch():
    from archcalc.memory import inference_memory

    g = _table_mlp_graph()
    for batch in (1, 3):
        held = inference_memory(archcalc.analyze(g, batch=batch)).sum_of_outputs_bytes
        # fp32: the input and fc's output per sample; the (49, 2) constant and the MLP's (49, 8)
        # output once
        assert held == 4 * (batch * 16 * 8 + 49 * 2 + 49 * 8 + batch * 16 * 8)


#: real models whose relative-position bias (an MLP on a coordinate table, a gathered bias table)
#: is batch-independent work; with issue 14's other branches merged, swin_v2_t/s/b, timm's
#: swinv2_base_window8_256, edgenext_base, xcit_large_24_p8_224, levit_128, samvit_base_patch16
#: and lambda_resnet26rpt_256 join them (they also need F.normalize, repeat, constant pads and
#: index buffers reconciled)
MODELS = [("torchvision", "maxvit_t"), ("timm", "maxvit_base_tf_224"), ("timm", "maxxvit_rmlp_nano_rw_256")]


@pytest.mark.heavy  # whole models on the meta device, twice each: run by hand (-m heavy)
@pytest.mark.parametrize("source,name", MODELS)
def test_models_with_batch_independent_work_are_exact_at_batch_1_and_3(torch, source, name):
    from torch.utils.flop_counter import FlopCounterMode

    if source == "timm":
        pytest.importorskip("timm")
    from archcalc.torch_bridge.corpus import build

    model, shape = build(source, name, "meta")
    graph = archcalc.from_torch(model, shape, name=name)
    for batch in (1, 3):
        r = archcalc.analyze(graph, batch=batch)
        with FlopCounterMode(display=False) as fc, torch.no_grad():
            model(torch.zeros((batch, *shape), device="meta"))
        assert r.totals["macs"] == fc.get_total_flops() // 2, batch
        assert r.totals["params"] == sum(p.numel() for p in model.parameters())
        assert r.totals["buffers"] == sum(b.numel() for b in model.buffers())
    # its bias tables are built once per forward (a gather, an einsum with lookup tensors, an MLP)
    assert any(rec.per_forward and rec.kind not in ("Parameter", "Constant") for rec in r.layers)


def test_a_slice_written_in_place_reads_its_source(torch):
    """MViTv2: relative-position terms (queries times a parameter table) added into a slice of the
    attention logits in place (x[:, i:, j:] = ...); fx cannot trace the write, the fallback can."""
    from torch.utils.flop_counter import FlopCounterMode

    nn = torch.nn

    class SliceWrite(nn.Module):
        def __init__(self):
            super().__init__()
            self.rel = nn.Parameter(torch.randn(4, 4))
            self.q = nn.Linear(4, 4)

        def forward(self, x):  # (B, 5, 4)
            q = self.q(x)
            attn = q @ q.transpose(-2, -1)
            attn[:, 1:, 1:] = attn[:, 1:, 1:] + q[:, 1:] @ self.rel
            return attn.softmax(-1)

    module = SliceWrite().eval()
    graph = archcalc.from_torch(module, (5, 4))
    for batch in (1, 3):
        r = archcalc.analyze(graph, batch=batch)
        with FlopCounterMode(display=False) as fc, torch.no_grad():
            module(torch.randn(batch, 5, 4))
        assert r.totals["macs"] == fc.get_total_flops() // 2 == batch * (5 * 4 * 4 + 5 * 5 * 4 + 4 * 4 * 4)


@pytest.mark.parametrize("batch", [1, 3])
def test_fvcore_sizes_a_parameter_left_of_a_matmul_without_the_batch(torch, batch):
    """fvcore's matmul counts prod(a.shape) * b.shape[-1]: a parameter on the left has no batch, so
    its count does not grow with the batch (the work does: archcalc's MACs); the product of two
    parameters is once per forward in both."""
    fvcore = pytest.importorskip("fvcore.nn")
    cls, shape = _modules(torch)["basis_left"]
    module = cls().eval()
    r = archcalc.analyze(archcalc.from_torch(module, shape), batch=batch)
    live = fvcore.FlopCountAnalysis(module, (torch.randn(batch, *shape),))
    live.unsupported_ops_warnings(False)
    assert C.count(r, "fvcore").total == live.total() == 16 * 8 * 5 + 16 * 4 * 5
    assert r.totals["macs"] == batch * 16 * 8 * 5 + 16 * 4 * 5
