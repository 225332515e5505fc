"""Every zoo entry that names a torchvision builder matches the real model (weights=None, built on
the meta device: no memory, no real forward), module by module: output shape and parameter count,
plus total parameters and buffers."""

from __future__ import annotations

import pytest

from archcalc import analyze
from archcalc.zoo import entries

# detection builders take image lists, post-process, and are built for their COCO weights with frozen
# BN; tests/test_zoo_heads.py builds and checks them the way their weights define them
TV_ENTRIES = [e for e in entries() if e.torchvision and not e.torchvision.startswith("detection.")]
# modules whose output each archcalc node of the same name must reproduce (activations are shared
# modules in torchvision's ResNet, so they are called several times and skipped here)
CHECKED = ("Conv2d", "ConvTranspose2d", "Linear", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
           "LocalResponseNorm")


def build_meta(torch, torchvision, entry):
    builder = getattr(torchvision.models, entry.torchvision)
    kwargs = dict(entry.torchvision_kwargs)
    with torch.device("meta"):
        try:
            return builder(weights=None, init_weights=False, **kwargs).eval()
        except TypeError:  # builders without an init_weights switch
            return builder(weights=None, **kwargs).eval()


def trace_shapes(torch, model, shape):
    seen = {}

    def hook(name):
        def record(module, inputs, output):
            seen.setdefault(name, tuple(output.shape[1:]))  # returns None: output unchanged
        return record

    hooks = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if type(m).__name__ in CHECKED]
    with torch.no_grad():
        model(torch.empty((1,) + tuple(shape), device="meta"))
    for h in hooks:
        h.remove()
    return seen


@pytest.mark.parametrize("entry", TV_ENTRIES, ids=[e.name for e in TV_ENTRIES])
def test_matches_torchvision(torch, torchvision, entry):
    model = build_meta(torch, torchvision, entry)
    r = analyze(entry.name)
    assert r.totals["params"] == sum(p.numel() for p in model.parameters())
    assert r.totals["buffers"] == sum(b.numel() for b in model.buffers())
    shapes = trace_shapes(torch, model, entry.input_shape)
    modules = dict(model.named_modules())
    checked = 0
    for rec in r.layers:
        mod = modules.get(rec.name)
        if mod is None or type(mod).__name__ not in CHECKED:
            continue
        assert type(mod).__name__ == rec.kind, rec.name
        assert sum(p.numel() for p in mod.parameters(recurse=False)) == rec.params, rec.name
        if rec.name in shapes:
            assert shapes[rec.name] == rec.output_shape, rec.name
            checked += 1
    expected = sum(1 for n in shapes if n in {x.name for x in r.layers})
    assert checked == expected and checked >= 5, f"only {checked} layers aligned"
