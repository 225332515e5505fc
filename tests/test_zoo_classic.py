"""Classic zoo (issue 3): each model's counts recomputed against the real torchvision/timm model
(built on the meta device, weights=None) layer by layer, and against published figures.

The torch oracle is independent of archcalc's rules: output shapes come from forward hooks, params
from ``numel()``, and MACs from each module's own hyper-parameters times its hooked output size
(conv: ``out.numel() * in/groups * kh * kw``; linear: ``out.numel() * in_features``).
"""

from __future__ import annotations

import pytest

import archcalc
from archcalc.zoo import get_entry


# ---------------------------------------------------------------------------- torch oracle helpers

def torch_profile(torch, model, input_shape, train=False):
    """Per Conv2d/Linear/BatchNorm2d module that runs: (params, per-sample output shape, macs)."""
    nn = torch.nn
    seen = {}
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm2d)):
            def hook(mod, inp, out, name=name):
                per_sample = out[0].numel()
                if isinstance(mod, nn.Conv2d):
                    kh, kw = mod.kernel_size
                    macs = per_sample * (mod.in_channels // mod.groups) * kh * kw
                elif isinstance(mod, nn.Linear):
                    macs = per_sample * mod.in_features
                else:
                    macs = 0
                params = sum(p.numel() for p in mod.parameters(recurse=False))
                seen[name] = (params, tuple(out.shape[1:]), macs)
            hooks.append(m.register_forward_hook(hook))
    model.train(train)
    # batch 2: a training-mode BatchNorm on a 1x1 map (aux heads) refuses a single sample
    with torch.no_grad():
        out = model(torch.empty(2, *input_shape, device="meta"))
    for h in hooks:
        h.remove()
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return seen, [tuple(o.shape[1:]) for o in outs]


def compare_with_torch(torch, result, model, train=False, expect_unmatched=()):
    """Every torch conv/linear/BN module has an archcalc layer of the same name with equal params,
    output shape and MACs; totals agree; returns the torch oracle's total MACs."""
    seen, out_shapes = torch_profile(torch, model, result.input, train)
    ours = {r.name: r for r in result.layers if r.kind in ("Conv2d", "Linear", "BatchNorm2d")}
    missing = sorted(set(seen) - set(ours))
    assert not missing, f"torch modules without an archcalc layer: {missing[:10]}"
    extra = sorted(set(ours) - set(seen) - set(expect_unmatched))
    assert not extra, f"archcalc layers with no torch module that ran: {extra[:10]}"
    for name, (params, shape, macs) in seen.items():
        r = ours[name]
        assert (r.params, r.output_shape, r.macs) == (params, shape, macs), name
    assert result.totals["params"] == sum(p.numel() for p in model.parameters())
    assert result.totals["buffers"] == sum(b.numel() for b in model.buffers())
    final = [result[o].output_shape for o in result.graph.output_names()]
    assert sorted(final) == sorted(out_shapes)
    torch_macs = sum(m for _, _, m in seen.values())
    assert result.totals["macs"] == torch_macs
    return torch_macs


def published(name, source_prefix):
    for p in get_entry(name).published:
        if p.source.startswith(source_prefix):
            return p
    raise AssertionError(f"{name} has no published figure from {source_prefix!r}")


def check_tv_meta(name, result, weights_prefix="torchvision"):
    """Params exactly and MACs to the 3 decimals of torchvision's ``_ops`` (GMACs)."""
    p = published(name, weights_prefix)
    assert result.totals["params"] == p.params
    assert round(result.totals["macs"] / 1e9, 3) == p.extra["gflops"]


# ---------------------------------------------------------------------------- SqueezeNet

@pytest.mark.parametrize("name", ["squeezenet1_0", "squeezenet1_1"])
def test_squeezenet_matches_torchvision(torch, torchvision, name):
    r = archcalc.analyze(name)
    with torch.device("meta"):
        m = getattr(torchvision.models, name)(weights=None)
    compare_with_torch(torch, r, m)
    check_tv_meta(name, r)
    # read the weights meta itself, not a copy of it
    w = torchvision.models.get_model_weights(name).IMAGENET1K_V1.meta
    assert r.totals["params"] == w["num_params"]
    assert round(r.totals["macs"] / 1e9, 3) == w["_ops"]


def test_squeezenet_hand_counts():
    r = archcalc.analyze("squeezenet1_0")
    assert r["features.0"].output_shape == (96, 109, 109)  # (224 - 7)//2 + 1
    assert r["features.2"].output_shape == (96, 54, 54)  # ceil((109 - 3)/2) + 1
    fire2 = 96 * 16 + 16 + 16 * 64 + 64 + 16 * 64 * 9 + 64  # squeeze, expand1x1, expand3x3 (+ biases)
    assert sum(x.params for x in r.layers if x.name.startswith("features.3.")) == fire2
    assert r.totals["params"] == published("squeezenet1_0", "Iandola").params
