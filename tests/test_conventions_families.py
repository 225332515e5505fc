"""Tool conventions on the modern zoo families, without torch (the live cross-check is in
tests/test_torch_verify.py): what is reproduced prints the tool's number, what is not is refused by
name."""

from __future__ import annotations

import pytest

import archcalc
from archcalc import conventions as C
from archcalc.cli import main


@pytest.mark.parametrize("name", ["fvcore", "ptflops", "thop"])
def test_raft_lookups_are_refused_by_tools_that_count_interpolation(name):
    """RAFT's correlation lookups are torch grid_sample calls, which the zoo graph writes as a
    bilinear interpolation per item: a tool that counts interpolations (fvcore's upsample handles,
    ptflops' patched F.interpolate, thop's upsample hook) counts another op than the graph spells,
    so the convention refuses the model, naming the layer, instead of printing an unmatched number."""
    r = archcalc.analyze("raft_small")
    with pytest.raises(C.NotReproduced, match=r"layer 'corr_block.lookup0' \(PerItem\(PerItem\(Interpolate\)\)\)"):
        C.count(r, name)


def test_raft_counts_where_interpolation_counts_nothing():
    r = archcalc.analyze("raft_small")
    assert C.count(r, "flop_counter").total == 2 * r.totals["macs"]  # FlopCounterMode: 2 per MAC, upsampling 0
    assert C.count(r, "archcalc").total == r.totals["macs"]
    assert C.count(r, "torchinfo").total > 0  # modules with parameters only: the lookups are no module


def test_cli_refuses_raft_under_fvcore_in_one_line(capsys):
    assert main(["raft_small", "--convention", "fvcore"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "corr_block.lookup0" in err and "grid_sample" in err


#: What fvcore 0.1.5.post20221221 and ptflops 0.7.5 print for the torchvision twins at the zoo's input
#: (torch 2.14.1, CPU, measured live on 2026-12-01 with archcalc.torch_bridge.tools; tests/test_torch_verify.py
#: re-measures the cheapest twin of each family).
MEASURED = {
    "convnext_tiny": {"fvcore": 4_470_437_376, "ptflops": 4_488_347_368},
    # ptflops prints 3,128,183,416 for swin_t: torchvision computes qkv/proj with F.linear on the
    # modules' weights, which no ptflops hook sees; `archcalc verify swin_t` reads that from the real
    # module tree and reproduces it, the static CLI takes those Linear layers as modules (and says so)
    "swin_t": {"fvcore": 4_509_232_128},
    "vit_b_32": {"fvcore": 4_367_906_304, "ptflops": 4_418_839_336},
    "maxvit_t": {"fvcore": 5_608_201_264, "ptflops": 5_483_328_960},
    # attn.softmax(dim=-1), a Tensor method ptflops does not patch (zoo: Softmax(call="method"))
    "mvit_v1_b": {"fvcore": 70_803_884_928, "ptflops": 70_896_008_272},
    "mvit_v2_s": {"fvcore": 64_456_924_584, "ptflops": 64_323_830_320},
}


@pytest.mark.parametrize("model", sorted(MEASURED))
def test_modern_twins_print_the_live_tools_numbers(model):
    """``archcalc MODEL --convention fvcore`` (and ptflops) print what the tool prints."""
    r = archcalc.analyze(model)
    for name, live in MEASURED[model].items():
        assert C.count(r, name).total == live, name


def test_layer_norm_under_ptflops_is_not_doubled():
    """ptflops' bn hook doubles the count when the module has a truthy ``affine`` attribute;
    nn.LayerNorm's is ``elementwise_affine``, so an affine LayerNorm counts its input once (GroupNorm,
    which has ``affine``, twice)."""
    from archcalc import layers as L
    from archcalc.graph import Builder

    b = Builder("n", (4, 6, 6))
    x = b.add(L.GroupNorm(2), b.input, name="gn")
    b.add(L.Permute((1, 2, 0)), x, name="perm")
    b.add(L.LayerNorm((4,)), "perm", name="ln")
    r = archcalc.analyze(b.build())
    by_layer = C.count(r, "ptflops", functional=set()).by_layer
    assert by_layer["gn"] == 2 * 4 * 6 * 6  # input elements, x2 (affine)
    assert by_layer["ln"] == 4 * 6 * 6  # input elements once


def test_ptflops_attention_hook_written_out():
    """ptflops' multihead_attention_counter_hook for self-attention (L tokens of width E, h heads,
    biases), need_weights=False: F.linear is not patched and the core runs in the unpatched
    scaled_dot_product_attention, so the hook is the whole count (whatever path torch takes)."""
    from archcalc import layers as L
    from archcalc.graph import Builder

    b = Builder("a", (7, 16))
    b.add(L.MultiheadAttention(16, 4, need_weights=False), b.input, name="mha")
    r = archcalc.analyze(b.build())
    n, e, h = 7, 16, 4
    hook = (n * e  # q scaling
            + 3 * n * e * e  # q, k, v projections as len x dim x dim
            + 3 * n * e  # in_proj bias
            + h * (n * n * (e // h) + n * n + n * n * (e // h))  # per head QK^T, softmax, AV
            + n * e * (e + 1))  # out_proj with its bias
    assert C.count(r, "ptflops").total == hook == 9_492
    b = Builder("a", (7, 16))
    b.add(L.MultiheadAttention(16, 4, need_weights=True), b.input, name="mha")
    with pytest.raises(C.NotReproduced, match="slow path"):
        C.count(archcalc.analyze(b.build()), "ptflops")
