"""archcalc.testing: assert_costs, snapshots and per-layer diffs (no pytest plugin involved)."""

from __future__ import annotations

import sys
import types

import pytest

import archcalc
from archcalc.graph import Builder
from archcalc.layers import Conv2d, Flatten, Linear, ReLU
from archcalc.testing import CostArgumentError, CostMismatch, Snapshot, assert_costs, diff_rows, resolve


def tiny(width=8, name="tiny"):
    b = Builder(name, (3, 8, 8))
    x = b.add(Conv2d(width, 3, padding=1), b.input, name="conv")
    x = b.add(ReLU(True), x, name="relu")
    x = b.add(Flatten(), x, name="flatten")
    b.add(Linear(10), x, name="fc")
    return b.build()


# conv: 3*3*3*w weights + w bias; fc: (w*8*8)*10 + 10
def tiny_params(w):
    return (27 * w + w) + (w * 64 * 10 + 10)


def tiny_macs(w):
    return 8 * 8 * w * 27 + w * 64 * 10


def test_exact_figures_pass_and_return_the_result():
    r = assert_costs(tiny(), params=tiny_params(8), trainable_params=tiny_params(8), macs=tiny_macs(8))
    assert r.totals["params"] == 28 * 8 + 5130  # conv 224, fc 8*64*10 + 10


def test_zoo_name_passes_and_fails_exactly():
    # torchvision ResNet18_Weights.IMAGENET1K_V1 num_params
    assert_costs("resnet18", params=11_689_512)
    with pytest.raises(CostMismatch) as e:
        assert_costs("resnet18", params=11_689_511)
    msg = str(e.value)
    assert "params: expected 11,689,511, actual 11,689,512 (+1," in msg
    # no baseline: the largest contributors, largest first (a 3x3 512->512 conv: 512*512*9)
    assert "largest contributors to params (no baseline= given):" in msg
    assert "layer4.0.conv2 (Conv2d, 512x7x7): 2,359,296 (20.2%)" in msg.splitlines()[3]


def test_only_the_differing_figure_is_reported():
    with pytest.raises(CostMismatch) as e:
        assert_costs(tiny(), params=tiny_params(8), macs=tiny_macs(8) + 5)
    msg = str(e.value)
    assert f"macs: expected {tiny_macs(8) + 5:,}, actual {tiny_macs(8):,} (-5," in msg
    assert "params: expected" not in msg
    assert "largest contributors to macs" in msg
    # the fc has 8*64*10 = 5,120 MACs, the conv 8*8*8*27 = 13,824: the conv comes first
    assert msg.index("conv (Conv2d, 8x8x8): 13,824") < msg.index("fc (Linear, 10): 5,120")


def test_baseline_shows_the_layers_that_differ():
    with pytest.raises(CostMismatch) as e:
        assert_costs(tiny(16), params=tiny_params(8), baseline=tiny(8, name="before"))
    msg = str(e.value)
    assert "per-layer differences from baseline before" in msg
    conv = f"~ conv (Conv2d): output 8x8x8 -> 16x8x8; params {28 * 8} -> {28 * 16} (+{28 * 8}, +100%)"
    assert conv in msg
    assert f"~ fc (Linear): params {8 * 640 + 10:,} -> {16 * 640 + 10:,}" in msg
    assert "~ relu (ReLU): output 8x8x8 -> 16x8x8" in msg  # their output shape changed


def test_baseline_alone_asserts_equal_costs():
    assert_costs(tiny(8, name="a"), baseline=tiny(8, name="b"))  # names of the models may differ
    with pytest.raises(CostMismatch) as e:
        assert_costs(tiny(4), baseline=tiny(8))
    msg = str(e.value)
    assert f"params: baseline {tiny_params(8):,}, actual {tiny_params(4):,}" in msg
    assert "~ conv (Conv2d): output 8x8x8 -> 4x8x8" in msg


def test_added_and_removed_layers():
    b = Builder("deeper", (3, 8, 8))
    x = b.add(Conv2d(8, 3, padding=1), b.input, name="conv")
    x = b.add(Conv2d(8, 3, padding=1), x, name="conv2")
    x = b.add(Flatten(), x, name="flatten")
    b.add(Linear(10), x, name="fc")
    lines = diff_rows(Snapshot.of(archcalc.analyze(tiny())).rows, Snapshot.of(archcalc.analyze(b.build())).rows)
    assert f"+ conv2 (Conv2d): output 8x8x8, params {8 * 9 * 8 + 8}, macs {64 * 8 * 72:,}" in lines
    assert "- relu (ReLU): output 8x8x8, params 0, macs 0" in lines
    assert not any(line.startswith(("~ conv ", "~ fc")) for line in lines)


def test_baseline_from_a_snapshot_file(tmp_path):
    path = tmp_path / "tiny.txt"
    Snapshot.of(archcalc.analyze(tiny())).write(path)
    assert_costs(tiny(), baseline=str(path))
    with pytest.raises(CostMismatch, match=r"~ conv \(Conv2d\): output 8x8x8 -> 9x8x8"):
        assert_costs(tiny(9), baseline=path.as_posix())


def test_snapshot_text_round_trip_and_is_readable():
    r = archcalc.analyze("lenet5")
    snap = Snapshot.of(r)
    text = snap.to_text()
    lines = text.splitlines()
    assert "params 60,840" in lines  # 60,000 trainable + the RBF output's 840 fixed weights
    assert "trainable_params 60,000" in lines
    assert any(line.split() == ["C1", "Conv2d", "6x28x28", "156", "117,600"] for line in lines)  # 28*28*6*25
    back = Snapshot.from_text(text)
    assert back.same_costs(snap) and back.rows == snap.rows and back.model == "lenet5"


def test_snapshot_names_with_spaces_and_symbolic_sizes():
    b = Builder("odd names", (3, 8, 8))
    x = b.add(Conv2d(4, 3, padding=1), b.input, name="my conv")
    b.add(ReLU(), x, name=" lead")
    snap = Snapshot.of(archcalc.analyze(b.build(), input=(3, "H", "W"), batch="N"))
    back = Snapshot.from_text(snap.to_text())
    assert [r.name for r in back.rows] == ["input", "my conv", " lead"]
    assert back.same_costs(snap)
    assert back.rows[1].macs == "108*H*N*W"  # 4 filters * 27 weights per output pixel


def test_snapshot_rejects_garbage():
    with pytest.raises(archcalc.ArchcalcError, match="not an archcalc snapshot"):
        Snapshot.from_text("hello\n")


def test_bad_arguments_are_clear():
    with pytest.raises(CostArgumentError, match="could never fail"):
        assert_costs("resnet18")
    with pytest.raises(CostArgumentError, match=r"params= must be an exact integer count, got 11700000\.0"):
        assert_costs("resnet18", params=11.7e6)
    with pytest.raises(CostArgumentError, match="must be an exact integer count, got True"):
        assert_costs("resnet18", macs=True)
    with pytest.raises(CostArgumentError, match="cannot take the costs of a list"):
        assert_costs([1, 2], params=1)
    with pytest.raises(TypeError):  # CostArgumentError is a TypeError too
        assert_costs("resnet18", params="11M")
    with pytest.raises(archcalc.ArchcalcError, match="unknown model 'resnet81'"):
        assert_costs("resnet81", params=1)


def test_spec_files_go_through_archcalc_spec_load_spec(monkeypatch, tmp_path):
    seen = []
    fake = types.ModuleType("archcalc.spec")
    fake.load_spec = lambda path: seen.append(path) or tiny(name="from-spec")
    monkeypatch.setitem(sys.modules, "archcalc.spec", fake)
    monkeypatch.setattr(archcalc, "spec", fake, raising=False)
    for suffix in (".yaml", ".yml", ".json"):
        assert_costs(str(tmp_path / f"net{suffix}"), params=tiny_params(8))
    assert_costs(tmp_path / "net.YAML", macs=tiny_macs(8))
    assert [p.rsplit("/", 1)[-1] for p in seen] == ["net.yaml", "net.yml", "net.json", "net.YAML"]


def test_spec_files_without_the_spec_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "archcalc.spec", None)  # makes the import fail
    monkeypatch.delattr(archcalc, "spec", raising=False)
    with pytest.raises(CostArgumentError, match=r"cannot load spec file 'net\.yaml': archcalc\.spec is not available"):
        assert_costs("net.yaml", params=1)


def test_other_paths_are_not_models(tmp_path):
    with pytest.raises(CostArgumentError, match="is not a model"):
        assert_costs(tmp_path / "net.txt", params=1)


def test_nn_module_goes_through_from_torch(torch, monkeypatch):
    calls = []
    fake = types.ModuleType("archcalc.torch_bridge")
    fake.from_torch = lambda module, shape: calls.append((type(module).__name__, shape)) or tiny(name="imported")
    monkeypatch.setitem(sys.modules, "archcalc.torch_bridge", fake)
    monkeypatch.setattr(archcalc, "torch_bridge", fake, raising=False)
    with torch.device("meta"):
        module = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1))
    assert_costs(module, input=(3, 8, 8), params=tiny_params(8))
    assert calls == [("Sequential", (3, 8, 8))]
    with pytest.raises(CostArgumentError, match="needs input="):
        assert_costs(module, params=1)


def test_nn_module_without_from_torch(torch, monkeypatch):
    monkeypatch.setitem(sys.modules, "archcalc.torch_bridge", None)
    monkeypatch.delattr(archcalc, "torch_bridge", raising=False)
    with torch.device("meta"):
        module = torch.nn.Linear(3, 4)
    with pytest.raises(CostArgumentError, match="archcalc.torch_bridge.from_torch is not available"):
        assert_costs(module, input=(3,), params=16)


def test_real_from_torch_matches_the_zoo(torch, torchvision):
    bridge = pytest.importorskip("archcalc.torch_bridge", reason="from_torch not merged yet")
    if not hasattr(bridge, "from_torch"):
        pytest.skip("archcalc.torch_bridge has no from_torch yet")
    with torch.device("meta"):
        model = torchvision.models.resnet18(weights=None)
    # torchvision ResNet18_Weights.IMAGENET1K_V1: 11,689,512 params, 1.814 GFLOPS (= GMACs)
    assert_costs(model, input=(3, 224, 224), params=11_689_512, macs=archcalc.analyze("resnet18").totals["macs"])


def test_resolve_passes_results_through_and_refuses_reanalysis():
    r = archcalc.analyze("lenet5")
    assert resolve(r) is r
    with pytest.raises(CostArgumentError, match="already analysed"):
        resolve(r, input=(1, 28, 28))


def test_freeze_and_batch_reach_the_analysis():
    # freezing the conv leaves the fc's 8*64*10 + 10 trainable; batch 4 multiplies MACs
    assert_costs(tiny(), trainable_params=5130, non_trainable_params=224, freeze=("conv",))
    assert_costs(tiny(), macs=4 * tiny_macs(8), batch=4)


def test_symbolic_figures_compare_as_expressions():
    import sympy

    H, W = sympy.symbols("H W", integer=True, positive=True)
    # conv: 8 filters * 27 weights per output pixel, same padding; fc: in_features follow H*W
    r = assert_costs(tiny(), input=(3, "H", "W"), macs=216 * H * W + 80 * H * W)
    assert r.is_symbolic
    with pytest.raises(CostMismatch) as e:
        assert_costs(tiny(), input=(3, "H", "W"), macs=296 * H * W + 1)
    assert "(symbolic macs: not ranked; see the per-layer table)" in str(e.value)
