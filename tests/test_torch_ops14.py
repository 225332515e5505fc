"""from_torch on issue 14's ops, each in a tiny module checked against torch itself: output shape,
unique parameters and buffers, MACs against FlopCounterMode / 2, and the fvcore convention against
fvcore run live when torch.fx imported the module. Both tracers are checked: torch.fx (from_torch)
and the fallback that records aten ops on fake tensors (import_dispatch)."""

from __future__ import annotations

import pytest

import archcalc
from archcalc import conventions as C

pytestmark = pytest.mark.torch


#: The batch of the torch run: 2, so that an op mixing samples would show.
BATCH = 2


def _torch_figures(torch, module, shape, device="cpu"):
    """(output shape without the batch, FlopCounterMode total per sample) of one run."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(BATCH, *shape, device=device)
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        out = module(x)
    total = fc.get_total_flops()
    assert total % BATCH == 0
    return tuple(out.shape[1:]), total // BATCH


def _check(torch, module, shape, tracer="torch.fx", fvcore=True, device="cpu"):
    """Import ``module`` with from_torch (which must pick ``tracer``) and with the fallback tracer,
    and compare both with torch (run on ``device``). Returns the from_torch analysis."""
    from archcalc.torch_bridge import from_torch
    from archcalc.torch_bridge.dispatch_import import import_dispatch
    from archcalc.torch_bridge.fx_import import finish

    module = module.eval().to(device)
    out_shape, flop_counter = _torch_figures(torch, module, shape, device)
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for b in module.buffers())
    graph = from_torch(module, shape)
    assert graph.tracer.startswith(tracer.split(" ")[0]), graph.tracer
    imp, outs = import_dispatch(module, [shape], type(module).__name__)
    assert imp.unsupported == []
    fallback = finish(module, imp, outs, "dispatch")
    results = [archcalc.analyze(graph), archcalc.analyze(fallback)]
    for r in results:
        assert r.layers[-1].output_shape == out_shape
        assert r.totals["params"] == params and r.totals["buffers"] == buffers
        assert 2 * r.totals["macs"] == flop_counter  # FlopCounterMode: 2 FLOPs per multiply-accumulate
        if device == "cpu":
            assert C.count(r, "flop_counter").total == flop_counter
    if fvcore and graph.tracer == "torch.fx":
        fv = pytest.importorskip("fvcore.nn")
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fa = fv.FlopCountAnalysis(module, torch.zeros(1, *shape))
            fa.unsupported_ops_warnings(False)
            live = fa.total()
        assert C.count(archcalc.analyze(from_torch(module, shape)), "fvcore").total == live
    return results[0]


def test_pad_of_any_axes_negative_pads_and_minus_inf_fill(torch):
    nn, F = torch.nn, torch.nn.functional

    class Pads(nn.Module):
        def __init__(self):
            super().__init__()
            self.crop = nn.ZeroPad2d((-1, 0, -1, 0))  # NASNet: a negative pad crops
            self.conv = nn.Conv2d(4, 6, 3)

        def forward(self, x):
            x = F.pad(x, (0, 1))  # the last axis only (BoTNet's relative logits)
            x = F.pad(x, (1, 1, 0, 2, 1, 0))  # three axes, channels included
            x = F.max_pool2d(F.pad(x, (1, 1, 1, 1), value=float("-inf")), 3, 1)  # timm's 'same' max pool
            return self.conv(self.crop(x))

    r = _check(torch, Pads(), (3, 7, 8))
    # (3, 7, 8) -> (3, 7, 9) -> (4, 9, 11) -> padded (4, 11, 13), pooled (4, 9, 11) -> cropped (4, 8, 10)
    assert r.totals["macs"] == 6 * (8 - 2) * (10 - 2) * 4 * 3 * 3  # the 3x3 conv on the cropped map
    assert {"ConstantPad"} <= {rec.kind for rec in r.layers}


def test_tensor_unfold_windows_then_a_linear(torch):
    nn = torch.nn

    class Halo(nn.Module):  # HaloNet's halo blocks: overlapping windows along H then W
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4 * 3 * 3, 5)

        def forward(self, x):
            b = x.shape[0]
            x = x.unfold(2, 3, 2).unfold(3, 3, 2)  # (B, C, 3, 3, 3, 3)
            x = x.permute(0, 2, 3, 1, 4, 5).reshape(b, 9, -1)
            return self.fc(x)

    r = _check(torch, Halo(), (4, 7, 7))
    assert r.totals["macs"] == 9 * (4 * 3 * 3) * 5  # 9 windows, each a 36 -> 5 linear


def test_im2col_module_and_function(torch):
    nn, F = torch.nn, torch.nn.functional

    class Im2col(nn.Module):  # TNT's / VOLO's patch unfolding
        def __init__(self):
            super().__init__()
            self.unfold = nn.Unfold(kernel_size=3, padding=1, stride=2)
            self.fc = nn.Linear(4 * 9, 8)

        def forward(self, x):
            cols = self.unfold(x).transpose(1, 2)  # (B, L, C*k*k)
            more = F.unfold(x, 2, stride=2).sum(-1)
            return self.fc(cols).sum(-1) + more.sum(-1, keepdim=True)

    r = _check(torch, Im2col(), (4, 8, 8))
    assert r.totals["macs"] == 4 * 4 * (4 * 9) * 8  # L = 4 x 4 blocks


def test_col2im_module_and_function(torch):
    nn, F = torch.nn, torch.nn.functional

    class Outlook(nn.Module):  # VOLO's outlook attention folds overlapping windows back into a map
        def __init__(self):
            super().__init__()
            self.unfold = nn.Unfold(3, padding=1, stride=2)
            self.fold = nn.Fold((7, 7), 3, padding=1, stride=2)
            self.conv = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            cols = self.unfold(self.conv(x))
            return self.fold(cols) + F.fold(cols, (7, 7), 3, padding=1, stride=2)

    r = _check(torch, Outlook(), (4, 7, 7))
    folds = [rec for rec in r.layers if rec.kind == "Fold"]
    # the adds: folding columns of ones counts, at every position, the column elements landing there
    landing = torch.nn.functional.fold(torch.ones(1, 4 * 9, 16), (7, 7), 3, padding=1, stride=2).sum()
    assert len(folds) == 2 and folds[0].flops == int(landing) == 4 * 10 * 10
    assert r.totals["macs"] == 7 * 7 * 4 * 4


def test_repeat_tile_and_repeat_interleave(torch):
    nn = torch.nn

    class Copies(nn.Module):
        def __init__(self):
            super().__init__()
            self.window = nn.Parameter(torch.zeros(1, 4, 2, 2))  # Hiera's window position embedding
            self.pos = nn.Parameter(torch.zeros(3, 4))  # MViT's temporal table
            self.conv = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            x = x + self.window.tile((3, 3))  # tile pads the counts with 1s on the left
            x = self.conv(x.repeat(1, 1, 2, 1))
            y = torch.repeat_interleave(self.pos, 2, dim=0)  # (6, 4)
            z = x.flatten(2).transpose(1, 2).repeat_interleave(2, dim=2)  # (B, 72, 8)
            return z[:, :6, :4] + y

    r = _check(torch, Copies(), (4, 6, 6))
    assert r.totals["macs"] == 12 * 6 * 4 * 4  # the 1x1 conv on the (4, 12, 6) repeated map
    assert {"Repeat", "RepeatInterleave"} <= {rec.kind for rec in r.layers}


def test_norm_normalize_and_addcmul(torch):
    nn, F = torch.nn, torch.nn.functional

    class Norms(nn.Module):
        def __init__(self):
            super().__init__()
            self.alpha = nn.Parameter(torch.ones(6))  # ResMLP's Affine
            self.beta = nn.Parameter(torch.zeros(6))
            self.fc = nn.Linear(6, 6)
            self.w_g = nn.Parameter(torch.ones(6, 1))  # SwiftFormer's global query weights

        def forward(self, x):  # (B, 5, 6)
            x = torch.addcmul(self.beta, self.alpha, x)
            x = x * (x @ self.w_g)  # a parameter on the right of a matmul
            x = torch.addcmul(x, x, x, value=0.5)  # x + 0.5 * x * x
            g = x.norm(p=2, dim=1, keepdim=True)  # ConvNeXt v2's GRN
            x = x * (g / (g.mean(dim=-1, keepdim=True) + 1e-6))
            x = x + torch.linalg.vector_norm(x, 2, dim=-1, keepdim=True)
            return self.fc(F.normalize(x, dim=-1))  # SwiftFormer

    r = _check(torch, Norms(), (5, 6))
    assert r.totals["macs"] == 5 * 6 * 1 + 5 * 6 * 6  # x @ w_g, then the linear
    assert any(rec.kind == "Scale" for rec in r.layers)  # addcmul's value
    norms = [rec for rec in r.layers if rec.kind == "VectorNorm"]
    assert len(norms) == 3 and norms[0].flops == 2 * 5 * 6  # a square and an add (or sqrt) per element


def test_multiply_by_a_zero_dim_parameter_in_place(torch):
    nn = torch.nn

    class SkipInit(nn.Module):  # NFNet's skipinit gain, applied in place
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.gain = nn.Parameter(torch.tensor(0.5))

        def forward(self, x):
            y = self.conv(x)
            y.mul_(self.gain)
            return y + 1

    r = _check(torch, SkipInit(), (3, 5, 5))
    assert r.totals["params"] == 4 * 3 * 9 + 4 + 1


def test_timm_self_attention_blocks_through_the_fallback(torch, timm):
    """BoTNet's and HaloNet's attention fold the heads into the batch (``B * heads``): fx refuses the
    batch arithmetic, the fallback records them with relative-position logits, pads and unfolds."""
    from timm.layers.bottleneck_attn import BottleneckAttn
    from timm.layers.halo_attn import HaloAttn

    for block, shape in ((BottleneckAttn(16, 16, feat_size=(8, 8), num_heads=2, dim_head=4), (16, 8, 8)),
                         (HaloAttn(16, 16, feat_size=(8, 8), num_heads=2, block_size=4, halo_size=1, dim_head=4),
                          (16, 8, 8))):
        r = _check(torch, block, shape, tracer="dispatch")
        assert r.totals["macs"] > 0


def test_fixed_rank_module_on_a_folded_batch_is_applied_per_item(torch):
    """TNT runs its pixel conv on ``(B * patches, C, h, w)`` and Hiera its query pool per window:
    fx refuses the batch arithmetic; the fallback applies the module to each of the folded items."""
    nn = torch.nn

    class Patches(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 5, 3, padding=1)
            self.bn = nn.BatchNorm2d(5)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):  # (B, 3, 8, 8) -> 4 patches of 4 x 4 folded into the batch
            b = x.shape[0]
            x = x.reshape(b, 3, 2, 4, 2, 4).permute(0, 2, 4, 1, 3, 5).reshape(b * 4, 3, 4, 4)
            x = self.pool(self.bn(self.conv(x)))
            return x.reshape(b, 4 * 5 * 2 * 2)

    r = _check(torch, Patches(), (3, 8, 8), tracer="dispatch")
    assert r.totals["macs"] == 4 * (5 * 4 * 4 * 3 * 3 * 3)  # the conv on each of the 4 patches
    assert any(rec.kind == "PerItem(Conv2d)" for rec in r.layers)


def test_bidirectional_lstm_whole_and_on_a_folded_batch(torch):
    """nn.LSTM (batch first, stacked, bidirectional) is one layer: FlopCounterMode counts the gate
    matmuls torch's LSTM decomposes into. Sequencer runs one on every row of the map, ``(B * H, W, C)``:
    the fallback applies it per item."""
    nn = torch.nn

    class Rows(nn.Module):
        def __init__(self, folded):
            super().__init__()
            self.folded = folded
            self.rnn = nn.LSTM(6, 5, num_layers=2, batch_first=True, bidirectional=True)

        def forward(self, x):  # (B, 4, 3, 6)
            b = x.shape[0]
            seq = x.reshape(-1, 3, 6) if self.folded else x.reshape(b, 12, 6)
            out, _ = self.rnn(seq)
            return out.reshape(b, 4, 3, 10) if self.folded else out

    per_direction = 4 * (6 * 5 + 5 * 5) + 4 * (10 * 5 + 5 * 5)  # gate weights of layer 1, then layer 2
    for folded, tracer, steps in ((False, "torch.fx", 12), (True, "dispatch", 4 * 3)):
        # on meta tensors torch decomposes the LSTM into the matmuls FlopCounterMode counts (the
        # fused CPU kernel has no formula), and the flop_counter convention refuses to guess which
        r = _check(torch, Rows(folded), (4, 3, 6), tracer=tracer, fvcore=False, device="meta")
        with pytest.raises(C.NotReproduced, match="mkldnn"):
            C.count(r, "flop_counter")
        assert r.totals["params"] == 2 * (per_direction + 2 * 2 * 4 * 5)  # two bias vectors per layer and direction
        assert r.totals["macs"] == 2 * steps * per_direction


def test_autocast_turned_off_for_the_meta_device(torch):
    """EfficientViT runs its linear attention under ``autocast(device_type=v.device.type,
    enabled=False)``: fx cannot trace the device type, and torch refuses autocast for 'meta' even to
    turn it off; the fallback takes that no-op context as the CPU's, and only inside its run."""
    nn = torch.nn
    from archcalc.torch_bridge import from_torch

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(8, 24)

        def forward(self, x):  # (B, 5, 8)
            q, k, v = self.qkv(x).chunk(3, dim=-1)
            with torch.amp.autocast(device_type=v.device.type, enabled=False):
                kv = k.float().transpose(-1, -2) @ v.float()
                return q.float() @ kv

    with torch.device("meta"):
        m = Attn().eval()
    graph = from_torch(m, (5, 8))
    assert graph.tracer.startswith("dispatch")
    assert archcalc.analyze(graph).totals["macs"] == 5 * 8 * 24 + 8 * 5 * 8 + 5 * 8 * 8  # qkv, k^T v, q (k^T v)
    with pytest.raises(RuntimeError):
        with torch.amp.autocast(device_type="meta", enabled=False):
            pass


def test_repeat_of_the_batch_makes_a_folded_batch(torch):
    """GCViT repeats its global query once per window, ``q.repeat(B_windows // B, 1, 1, 1)``: the
    batch copied k times is a folded batch of k items per sample."""
    nn = torch.nn

    class GlobalQuery(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = nn.AvgPool2d(2)
            self.fc = nn.Linear(8, 3)

        def forward(self, x):  # (B, 8, 4, 4): four 2x2 windows
            b = x.shape[0]
            win = x.reshape(b, 8, 2, 2, 2, 2).permute(0, 2, 4, 3, 5, 1).reshape(b * 4, 2, 2, 8)
            q = self.pool(x).permute(0, 2, 3, 1).repeat(4, 1, 1, 1)  # (B * 4, 2, 2, 8)
            return self.fc(win * q).reshape(b, 4 * 2 * 2 * 3)

    r = _check(torch, GlobalQuery(), (8, 4, 4), tracer="dispatch")
    assert r.totals["macs"] == 4 * 2 * 2 * 8 * 3  # the linear on 4 windows of 2 x 2 positions
    assert any(rec.kind == "Repeat" and rec.output_shape == (4, 2, 2, 8) for rec in r.layers)


def test_writes_into_slices(torch):
    """MViT adds its shortcut to all but the class token in place, ``x[:, :, 1:, :] += s[:, :, 1:, :]``,
    and writes relative positions into a block of the scores, ``attn[:, :, 1:, 1:] = ...``: the
    fallback makes the written tensor a new node (slice_scatter) that later reads see."""
    nn = torch.nn

    class Writes(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 6)

        def forward(self, x):  # (B, 2, 5, 6)
            s = self.fc(x)
            x = x * 1.0
            x[:, :, 1:, :] += s[:, :, 1:, :]
            attn = x @ x.transpose(-1, -2)  # (B, 2, 5, 5)
            attn[:, :, 1:, 1:] = attn[:, :, 1:, 1:] + 1.0
            return self.fc(attn.softmax(-1) @ x)

    r = _check(torch, Writes(), (2, 5, 6), tracer="dispatch")
    scatters = [rec for rec in r.layers if rec.kind == "SliceScatter"]
    # one per sliced axis, innermost first: attn[:, :, 1:][:, :, :, 1:] is written into attn[:, :, 1:]
    assert [rec.output_shape for rec in scatters] == [(2, 5, 6), (2, 4, 5), (2, 5, 5)]
    assert r.totals["macs"] == 2 * (2 * 5 * 6 * 6) + 2 * (5 * 6 * 5 + 5 * 5 * 6)  # two linears, two matmuls
    assert sum(rec.flops for rec in r.layers if rec.kind == "Add") == 2 * 4 * 6  # the in-place add of 4 rows


#: Corpus models that issue 14's ops made exact (each pattern above has its tiny test): run by hand
#: with ``-m heavy`` (whole models, meta device, FlopCounterMode; fvcore live where fx imports them).
OPS14_MODELS = [("timm", n) for n in (
    "botnet26t_256", "sebotnet33ts_256", "eca_botnext26ts_256", "halonet26t", "halo2botnet50ts_256", "haloregnetz_b",
    "lamhalobotnet50ts_256", "sehalonet33ts", "nasnetalarge", "pnasnet5large", "dm_nfnet_f0", "resmlp_12_224",
    "swiftformer_l1", "convnextv2_atto", "hieradet_small", "sam2_hiera_base_plus", "volo_d1_224", "tnt_b_patch16_224",
    "coat_lite_medium", "efficientvit_b0", "sequencer2d_l", "pit_b_224", "cait_m36_384", "samvit_base_patch16",
    "mvitv2_base", "edgenext_base")] + [("torchvision", "mvit_v1_b"), ("torchvision", "mvit_v2_s")]


@pytest.mark.heavy
@pytest.mark.parametrize("source,name", OPS14_MODELS)
def test_corpus_models_made_exact(torch, source, name):
    pytest.importorskip(source)
    from archcalc.torch_bridge.corpus import check

    row = check(source, name)
    assert row["status"] == "exact" and row["params_ok"] and row["macs_ok"], row
    assert row.get("fvcore_ok") is not False, row


def test_symbolic_sizes_through_the_new_ops(torch):
    """torch.fx keeps H and W symbolic through pad, unfold, repeat, norm and im2col: the formula,
    evaluated, is the concrete import."""
    nn, F = torch.nn, torch.nn.functional
    from archcalc.torch_bridge import from_torch

    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.unfold = nn.Unfold(2, stride=2)

        def forward(self, x):
            x = self.conv(F.pad(x, (0, 1, 1, 0)).repeat(1, 1, 2, 1))
            g = x.norm(p=2, dim=(2, 3), keepdim=True)
            return self.unfold(x * g).sum(-1).reshape(-1, 4, 4).sum(-1) + x.unfold(2, 2, 2).mean((2, 3, 4))

    with torch.device("meta"):
        m = Mixed().eval()
    sym = archcalc.analyze(from_torch(m, (4, "H", "W")))
    assert sym.symbols == ["H", "W"] and sym.graph.tracer == "torch.fx"
    concrete = archcalc.analyze(from_torch(m, (4, 7, 9)))
    assert sym.substitute(H=7, W=9).totals == concrete.totals
    assert concrete.totals["macs"] == 4 * (2 * (7 + 1)) * (9 + 1) * 4 * 9  # the conv on the padded, repeated map
