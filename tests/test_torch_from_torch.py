"""from_torch: nn.Module -> archcalc Graph, statically (torch.fx on the meta device)."""

from __future__ import annotations

import pytest

import archcalc
from archcalc.errors import UnsupportedLayerError

pytestmark = pytest.mark.torch


def _twins():
    from archcalc.torch_bridge.verify import verifiable_entries

    return [e.name for e in verifiable_entries()]


#: torch classes from_torch cannot import yet, and an op it names when refusing them.
NOT_IMPORTABLE: dict = {}  # every zoo twin imports (ShuffleNetV2's chunk/transpose shuffle included)


@pytest.mark.parametrize("name", _twins())
def test_imported_torchvision_model_equals_zoo_model(torch, torchvision, name):
    """Imported from the real (meta) model, every zoo twin has the zoo entry's exact totals.
    Training-only branches (GoogLeNet's aux heads) are not traced in eval mode."""
    from archcalc.torch_bridge import from_torch
    from archcalc.torch_bridge.verify import torch_model
    from archcalc.zoo import get_entry

    entry = get_entry(name)
    model = torch_model(entry, "meta")
    if type(model).__name__ in NOT_IMPORTABLE:
        # a known gap, asserted so that supporting it later shows up here: the ops are named
        with pytest.raises(UnsupportedLayerError, match=NOT_IMPORTABLE[type(model).__name__]):
            from_torch(model, entry.input_shape, name=name)
        return
    # aux heads run only in training: the eval-mode trace is the deployed net (aux_logits=False)
    deployed = {"aux_logits": False} if entry.kwargs.get("aux_logits") else {}
    result = archcalc.analyze(from_torch(model, entry.input_shape, name=name))
    ours = result.totals
    zoo = archcalc.analyze(name, **deployed).totals
    # parameters of modules the eval-mode forward never calls are their own named lines
    unreached = [r for r in result.layers if r.kind == "Unreached"]
    assert bool(unreached) == bool(deployed)
    if deployed:
        assert sorted(r.name for r in unreached) == sorted(n for n in ("aux1", "aux2", "AuxLogits")
                                                           if hasattr(model, n))
    for key in ("params", "trainable_params", "buffers"):
        assert ours[key] - sum(getattr(r, key) for r in unreached) == zoo[key], key
    for key in ("macs", "flops"):
        assert ours[key] == zoo[key], key
    assert ours["receptive_field"] == zoo["receptive_field"]
    # every torch parameter is accounted for (meta tensors: nothing was allocated)
    assert ours["params"] == sum(p.numel() for p in model.parameters())
    assert all(p.is_meta for p in model.parameters())


def test_resnet50_layer_names_follow_module_paths(torch, torchvision):
    from archcalc.torch_bridge import from_torch

    with torch.device("meta"):
        m = torchvision.models.resnet50()
    r = archcalc.analyze(from_torch(m, (3, 224, 224)))
    zoo = archcalc.analyze("resnet50")
    assert r["layer1.0.conv2"].macs == zoo["layer1.0.conv2"].macs == 56 * 56 * 64 * 3 * 3 * 64  # 3x3, 64->64
    assert r["layer1.0.relu_2"].output_shape == (256, 56, 56)  # third call of the block's shared ReLU
    assert r["layer1.0.add"].kind == "Add"  # the residual add, named by its module scope
    assert r.totals["macs"] == zoo.totals["macs"]


def test_symbolic_input(torch, torchvision):
    from archcalc.torch_bridge import from_torch

    with torch.device("meta"):
        m = torchvision.models.resnet18()
    r = archcalc.analyze(from_torch(m, (3, "H", "W")))
    assert r.is_symbolic
    assert r.substitute(H=224, W=224).totals["macs"] == archcalc.analyze("resnet18").totals["macs"]


def test_user_model_with_functional_ops(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(8)
            self.fc = nn.Linear(8, 10)

        def forward(self, x):
            y = F.relu(self.bn(self.conv(x)))
            y = y + F.max_pool2d(y, 3, 1, 1)
            y = F.adaptive_avg_pool2d(y, 1)
            return self.fc(torch.flatten(y, 1))

    with torch.device("meta"):
        net = Net()
    from archcalc.torch_bridge import from_torch

    r = archcalc.analyze(from_torch(net, (3, 32, 32)))
    assert [l.kind for l in r.layers] == ["Input", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Add",
                                          "AdaptiveAvgPool2d", "Flatten", "Linear"]
    assert r.totals["macs"] == 32 * 32 * 8 * 3 * 3 * 3 + 8 * 10  # conv 3x3 3->8, fc 8->10
    assert r.totals["params"] == 8 * 3 * 3 * 3 + 2 * 8 + 8 * 10 + 10  # conv, BN gamma/beta, fc
    assert r.totals["buffers"] == 2 * 8 + 1  # BN running stats + num_batches_tracked


def test_unsupported_ops_are_listed_by_name(torch):
    nn = torch.nn

    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.norm = nn.GroupNorm(2, 4)
            self.scale = nn.Parameter(torch.ones(1))

        def forward(self, x):
            y = self.norm(self.conv(x))
            y = torch.sort(y, dim=1).values
            return y * self.scale

    from archcalc.torch_bridge import from_torch
    from archcalc.torch_bridge.fx_import import unsupported_ops

    with torch.device("meta"):
        m = Odd()
    names = unsupported_ops(m, (3, 16, 16))
    assert len(names) == 1 and "sort" in names[0]  # GroupNorm and a parameter read by forward are counted now
    with pytest.raises(UnsupportedLayerError, match=r"have no archcalc rule \(none is counted as 0\).*sort"):
        from_torch(m, (3, 16, 16))


def test_untraceable_module_is_a_clear_error(torch):
    class Branchy(torch.nn.Module):
        def forward(self, x):
            if x.sum() > 0:  # data-dependent control flow: fx cannot trace it
                return x
            return -x

    from archcalc.torch_bridge import from_torch

    with pytest.raises(UnsupportedLayerError, match="torch.fx cannot trace Branchy"):
        from_torch(Branchy(), (3, 8, 8))


def test_import_archcalc_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, archcalc, archcalc.conventions, archcalc.torch_bridge; "
            "archcalc.conventions.count(archcalc.analyze('vgg16'), 'ptflops'); "
            "bad = [m for m in ('torch', 'fvcore', 'torchinfo', 'ptflops', 'thop') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    from pathlib import Path

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stdout + done.stderr


def test_top_level_from_torch_is_the_bridge(torch, torchvision):
    import archcalc

    with torch.device("meta"):
        model = torchvision.models.resnet18(weights=None)
    g = archcalc.from_torch(model, (3, 224, 224))
    assert archcalc.analyze(g).totals["macs"] == archcalc.analyze("resnet18").totals["macs"] == 1_814_073_344
