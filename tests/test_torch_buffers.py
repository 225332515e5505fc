"""from_torch: every buffer is accounted for, once (issue 14). Tiny modules reproducing the patterns
of the corpus models, each imported through torch.fx and through the fallback tracer and compared
with torch itself: unique parameters and buffers, the output shape, and MACs against
FlopCounterMode / 2.

- an index table read by indexing (Swin's, MaxViT's, BEiT's relative-position bias): the index
  buffer is its own Parameter line of role ``buffer``;
- a buffer no op reads (registered but unused): a named ``Unreached`` line;
- a fixed kernel held as a buffer and applied with ``F.conv2d`` (timm's BlurPool2d): the conv's
  work is Shared with the buffer's Parameter line, which counts it once;
- one buffer registered on two modules, one buffer read twice into one value (DINOv3's rope
  periods): counted once, as ``module.buffers()`` does;
- a GroupNorm with a weight and no bias (timm's GroupNorm1NoBias): the tensor torch holds, not 2C.
"""

from __future__ import annotations

import pytest

import archcalc

pytestmark = pytest.mark.torch


def _pad_size(size, patch):
    """Shape arithmetic kept as one fx node (torch.fx.wrap), like torchvision's _compute_pad_size_3d."""
    return [(p - s % p) % p for s, p in zip(size, patch)]


try:
    import torch.fx

    torch.fx.wrap("_pad_size")
except ImportError:  # the tests below are skipped without torch
    pass

TRACERS = ["fx", "fallback"]


def _make(torch, body, tracer):
    """A module running ``body(self, x)``; for the fallback, forward first branches on a size,
    which torch.fx cannot trace (so the import runs the model once on fake tensors)."""

    class Wrapped(torch.nn.Module):
        def forward(self, x):
            if tracer == "fallback" and x.shape[-1] % 2 == 0:  # control flow on a shape: fx gives up
                x = x + 0.0
            return body(self, x)

    return Wrapped


def _check(torch, m, shape, tracer):
    """Import ``m`` and compare it with torch; returns the analysis."""
    from torch.utils.flop_counter import FlopCounterMode

    from archcalc.torch_bridge import from_torch

    g = from_torch(m.eval(), shape)
    want_tracer = "torch.fx" if tracer == "fx" else "dispatch (fake tensors, concrete shapes)"
    assert g.tracer == want_tracer
    r = archcalc.analyze(g)
    assert r.totals["params"] == sum(p.numel() for p in m.parameters())
    assert r.totals["buffers"] == sum(b.numel() for b in m.buffers())  # unique tensors, as torch counts
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        out = m(torch.zeros((1, *shape)))
    (output,) = g.output_names()
    assert r[output].output_shape == tuple(out.shape[1:])
    assert r.totals["macs"] == fc.get_total_flops() // 2
    return r


def _rel_bias_attention(torch, tracer, w=3, dim=8, heads=2):
    """Swin-style window attention over w*w tokens with a relative-position bias table indexed by
    a buffer."""
    nn = torch.nn

    def body(self, x):
        n = x.shape[1]
        qkv = self.qkv(x).reshape(-1, n, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(n, n, heads).permute(2, 0, 1).contiguous()
        attn = (attn + bias.unsqueeze(0)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(-1, n, dim))

    class RelBias(_make(torch, body, tracer)):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)
            self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * w - 1) ** 2, heads))
            coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)
            rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (w - 1)
            self.register_buffer("relative_position_index", rel[..., 0] * (2 * w - 1) + rel[..., 1])

    return RelBias()


def test_an_index_table_read_by_indexing_is_a_buffer_line(torch):
    # torch.fx cannot index a table by a tensor: the fallback tracer records the gather
    w, dim, heads = 3, 8, 2
    m = _rel_bias_attention(torch, "fx", w, dim, heads)
    r = _check(torch, m, (w * w, dim), "fallback")
    (line,) = [x for x in r.layers if x.name == "relative_position_index"]
    assert line.kind == "Parameter" and line.buffers == (w * w) ** 2  # one index per (query, key) pair
    assert r.totals["buffers"] == (w * w) ** 2
    # qkv and proj (with biases), and the bias table (one row per relative offset)
    assert r.totals["params"] == dim * 3 * dim + 3 * dim + dim * dim + dim + (2 * w - 1) ** 2 * heads


def _blur_net(torch, tracer, c=4, shared_with=False):
    nn = torch.nn

    class Blur(nn.Module):
        def __init__(self):
            super().__init__()
            k = torch.tensor([1.0, 2.0, 1.0])
            self.register_buffer("filt", (k[:, None] * k[None, :] / 16).expand(c, 1, 3, 3).contiguous())

    def body(self, x):
        x = self.conv(x)
        x = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"), self.blur.filt,
                                       stride=2, groups=c)
        if shared_with:  # the same buffer, registered on a second module, read through it
            x = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"),
                                           self.blur2.filt, stride=2, groups=c)
        return self.head(x)

    class Net(_make(torch, body, tracer)):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, c, 3, padding=1, bias=False)
            self.blur = Blur()
            if shared_with:
                self.blur2 = nn.Module()
                self.blur2.register_buffer("filt", self.blur.filt)  # one tensor, two owners
            self.head = nn.Conv2d(c, 2, 1)

    return Net()


@pytest.mark.parametrize("tracer", TRACERS)
def test_a_buffer_weight_conv_is_shared_with_its_buffer_line(torch, tracer):
    c = 4
    m = _blur_net(torch, tracer, c)
    r = _check(torch, m, (3, 16, 16), tracer)
    (blur,) = [x for x in r.layers if x.kind == "Shared(Conv2d)"]
    assert blur.params == blur.buffers == 0 and blur.macs == 8 * 8 * c * 3 * 3  # depthwise 3x3, stride 2
    assert r.totals["buffers"] == c * 3 * 3  # the blur kernel, on its own line
    assert r.totals["params"] == 3 * c * 3 * 3 + c * 2 + 2  # conv (no bias) and the 1x1 head


@pytest.mark.parametrize("tracer", TRACERS)
def test_a_buffer_registered_on_two_modules_counts_once(torch, tracer):
    c = 4
    m = _blur_net(torch, tracer, c, shared_with=True)
    assert len(list(m.named_buffers(remove_duplicate=False))) == 2
    r = _check(torch, m, (3, 16, 16), tracer)
    assert r.totals["buffers"] == c * 3 * 3  # one tensor
    assert r.totals["macs"] == 3 * 16 * 16 * c * 9 + 8 * 8 * c * 9 + 4 * 4 * c * 9 + 4 * 4 * c * 2


@pytest.mark.parametrize("tracer", TRACERS)
def test_an_unused_buffer_is_a_named_line(torch, tracer):
    nn = torch.nn

    def body(self, x):
        return self.bn(self.conv(x))

    class Net(_make(torch, body, tracer)):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.register_buffer("spare", torch.zeros(5, 7))  # registered, never read
            self.conv.register_buffer("mask", torch.ones(4), persistent=False)  # on a called module, unread

    m = Net()
    r = _check(torch, m, (3, 8, 8), tracer)
    lines = {x.name: x for x in r.layers if x.kind == "Unreached"}
    assert sorted(lines) == ["conv.mask", "spare"]
    assert lines["spare"].buffers == 5 * 7 and lines["conv.mask"].buffers == 4
    assert lines["spare"].params == lines["spare"].macs == 0
    assert r.totals["buffers"] == 5 * 7 + 4 + 2 * 4 + 1  # the unused ones, BN's statistics and count


@pytest.mark.parametrize("tracer", TRACERS)
def test_a_buffer_read_twice_into_one_value_counts_once(torch, tracer):
    nn = torch.nn

    def body(self, x):
        pe = torch.cat([self.periods.sin(), self.periods.cos()], -1)  # rope-style: one buffer, two reads
        return self.fc(x + pe)

    class Net(_make(torch, body, tracer)):
        def __init__(self):
            super().__init__()
            self.register_buffer("periods", torch.arange(4.0))
            self.fc = nn.Linear(8, 3)

    m = Net()
    r = _check(torch, m, (5, 8), tracer)
    assert r.totals["buffers"] == 4


def test_a_group_norm_with_a_weight_and_no_bias_counts_the_weight(torch):
    nn = torch.nn

    class GroupNorm1NoBias(nn.GroupNorm):  # timm's, in PoolFormerV2: a weight, no bias
        def __init__(self, c):
            super().__init__(1, c)
            self.bias = None

        def forward(self, x):
            return nn.functional.group_norm(x, 1, self.weight, None, self.eps)

    c = 6
    m = nn.Sequential(nn.Conv2d(3, c, 1), GroupNorm1NoBias(c))
    r = _check(torch, m, (3, 8, 8), "fallback")  # fx refuses one affine tensor: the fallback counts it
    assert r.totals["params"] == 3 * c + c + c  # 1x1 conv with bias, the norm's weight only (not 2C)
    assert [x.kind for x in r.layers if "GroupNorm" in x.kind] == ["Shared(GroupNorm)"]


def test_a_wrapped_shape_helper_on_concrete_sizes_is_evaluated(torch):
    nn = torch.nn

    class PatchEmbed(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Conv2d(3, 8, 4, stride=4)

        def forward(self, x):
            _, _, h, w = x.size()
            ph, pw = _pad_size((h, w), (4, 4))  # evaluated: the helper sees plain ints
            return self.proj(nn.functional.pad(x, (0, pw, 0, ph)))

    m = PatchEmbed()
    r = _check(torch, m, (3, 14, 18), "fx")
    assert r.layers[-1].output_shape == (8, 4, 5)  # padded to 16 x 20, then 4x4 patches
    assert r.totals["macs"] == 4 * 5 * 8 * 3 * 4 * 4
    sym = _symbolic(m)
    assert "_pad_size" in sym  # a symbolic size stays a refusal naming the helper


def _symbolic(m):
    from archcalc.errors import UnsupportedLayerError
    from archcalc.torch_bridge import from_torch

    with pytest.raises(UnsupportedLayerError) as e:
        from_torch(m, (3, "H", "W"))
    return str(e.value)


def test_a_buffer_read_into_nothing_counted_is_refused_by_name(torch):
    from archcalc.torch_bridge import from_torch
    from archcalc.torch_bridge.fx_import import ImportMismatchError

    def body(self, x):
        self.scale * 2  # read, and the value dropped: no counted op holds the buffer
        return self.fc(x)

    class Net(_make(torch, body, "fallback")):
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", torch.ones(3))
            self.fc = torch.nn.Linear(4, 2)

    with pytest.raises(ImportMismatchError, match=r"holds 0 buffer elements but module.buffers\(\) holds 3 "
                                                  r"\(read, held by no layer: scale\)"):
        from_torch(Net(), (4,))
