"""from_torch: nn.Module -> archcalc Graph, statically (torch.fx on the meta device)."""

from __future__ import annotations

import pytest

import archcalc
from archcalc import dims
from archcalc.errors import ArchcalcError, UnsupportedLayerError

pytestmark = pytest.mark.torch


def _twins():
    from archcalc.torch_bridge.verify import verifiable_entries

    return [e.name for e in verifiable_entries()]


#: torch classes from_torch cannot import yet, and an op it names when refusing them.
#: zoo twins the importer refuses today, by zoo name: (error, what the one-line refusal names). Asserted,
#: so that supporting one later shows up here. Every other twin imports with the zoo entry's totals.
NOT_IMPORTABLE: dict = {
}


#: Twins whose import also counts index arithmetic torch runs once per forward on tensors it builds
#: with ``torch.arange`` (MViT v2's relative distances: ``q_coords * q_ratio - k_coords * k_ratio +
#: offset``), which the zoo entry, built from the paper's tables, does not model: their adds are
#: checked against torch's own, and the rest equals the zoo's once that per-forward work is set aside.
INDEX_ARITHMETIC = {"mvit_v2_s"}


def _torch_add_elements(torch, model, shape) -> int:
    """Output elements of every tensor + tensor add torch runs in one forward (meta, batch 1)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    total = [0]

    class Adds(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func.overloadpacket.__name__ in ("add", "add_") and all(
                    isinstance(a, torch.Tensor) and a.dim() > 0 for a in args[:2]):
                total[0] += out.numel()
            return out

    with Adds(), torch.no_grad():
        model(torch.zeros(1, *shape, device="meta"))
    return total[0]


@pytest.mark.parametrize("name", _twins())
def test_imported_torchvision_model_equals_zoo_model(torch, torchvision, name):
    """Imported from the real (meta) model, every zoo twin has the zoo entry's exact totals.
    Training-only branches (GoogLeNet's aux heads) are not traced in eval mode."""
    from archcalc.torch_bridge import from_torch
    from archcalc.torch_bridge.verify import torch_model
    from archcalc.zoo import get_entry

    entry = get_entry(name)
    model = torch_model(entry, "meta")
    if name in NOT_IMPORTABLE:
        # a known gap, asserted so that supporting it later shows up here: the refusal names it
        error, what = NOT_IMPORTABLE[name]
        with pytest.raises(ArchcalcError, match=what) as refused:
            from_torch(model, entry.input_shape, name=name)
        assert type(refused.value).__name__ == error
        return
    # aux heads run only in training: the eval-mode trace is the deployed net (aux_logits=False)
    deployed = {"aux_logits": False} if entry.kwargs.get("aux_logits") else {}
    graph = from_torch(model, entry.input_shape, name=name)
    result = archcalc.analyze(graph)
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
    assert ours["macs"] == zoo["macs"]
    # torchvision's quantizable MobileNetV2 swaps ReLU6 (2 ops: min and max) for ReLU (1 op), so its
    # elementwise FLOPs are lower than its float twin's by one op per ReLU6 output element
    relu6 = sum(dims.prod(r.output_shape) for r in archcalc.analyze(name, **deployed).layers if r.kind == "ReLU6")
    swapped = relu6 if type(model).__name__ == "QuantizableMobileNetV2" else 0
    if name in INDEX_ARITHMETIC:
        def adds(res):
            return sum(r.flops for r in res.layers if r.kind == "Add")

        def per_forward(res):  # built from arange tables alone: no multiply-accumulates
            assert not any(r.macs for r in res.layers if r.per_forward)
            return sum(r.flops for r in res.layers if r.per_forward)

        zoo_result = archcalc.analyze(name, **deployed)
        assert adds(result) == adds(zoo_result) == _torch_add_elements(torch, model, entry.input_shape)
        assert per_forward(result) > 0
        assert ours["flops"] - per_forward(result) == zoo["flops"] - per_forward(zoo_result)
    else:
        assert ours["flops"] == zoo["flops"] - swapped
    rf, zoo_rf = ours["receptive_field"], zoo["receptive_field"]
    if graph.tracer.startswith("dispatch"):  # aten names the op that ends the field (a view, not a flatten)
        assert rf._replace(why="", origin="") == zoo_rf._replace(why="", origin="")
    elif rf.mode == zoo_rf.mode == "undefined":
        # the importer names a function call by its module and op (partition_op.view), the zoo by block
        assert rf.why.split(" (")[1:] == zoo_rf.why.split(" (")[1:]
    else:
        assert rf == zoo_rf
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


# --- issue 14: the cases that used to be wrong, each against torch ------------------------------


def _import(torch_module, shape, **kw):
    from archcalc.torch_bridge import from_torch

    return archcalc.analyze(from_torch(torch_module, shape, **kw))


def _torch_params(m):
    return sum(p.numel() for p in m.parameters())


def test_a_module_called_three_times_counts_its_parameters_once(torch):
    nn = torch.nn

    class Thrice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(10, 10)

        def forward(self, x):
            return self.fc(self.fc(self.fc(x)))

    m = Thrice()
    r = _import(m, (10,))
    assert r.totals["params"] == 10 * 10 + 10 == _torch_params(m)  # 110, not 330
    assert r.totals["macs"] == 3 * 10 * 10  # the work is done three times
    assert [x.kind for x in r.layers[1:]] == ["Linear", "Shared(Linear)", "Shared(Linear)"]


def test_tied_weights_count_once(torch):
    nn = torch.nn

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(4, 4, 3, padding=1)
            self.b = nn.Conv2d(4, 4, 3, padding=1)
            self.b.weight = self.a.weight  # tied kernel, separate biases

        def forward(self, x):
            return self.b(self.a(x))

    m = Tied()
    r = _import(m, (4, 8, 8))
    assert r.totals["params"] == _torch_params(m) == 4 * 4 * 3 * 3 + 4 + 4
    assert r.totals["macs"] == 2 * 8 * 8 * 4 * 4 * 3 * 3


def test_uncalled_modules_are_a_named_line(torch):
    nn = torch.nn

    class WithAux(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Conv2d(3, 8, 3)
            self.aux = nn.Sequential(nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8))  # training-only head

        def forward(self, x):
            y = self.body(x)
            return self.aux(y) if self.training else y

    m = WithAux().eval()
    r = _import(m, (3, 8, 8))
    (line,) = [x for x in r.layers if x.kind == "Unreached"]
    assert line.name == "aux" and line.params == 8 * 8 + 8 + 2 * 8  # 1x1 conv + BN gamma/beta
    assert line.buffers == 2 * 8 + 1 and line.macs == 0
    assert r.totals["params"] == _torch_params(m)


def test_weight_norm_counts_its_real_tensors(torch):
    nn = torch.nn
    conv = nn.utils.parametrizations.weight_norm(nn.Conv2d(3, 8, 3))
    m = nn.Sequential(conv, nn.ReLU())
    r = _import(m, (3, 8, 8))
    # weight_norm keeps g (8x1x1x1) and v (8x3x3x3) instead of the weight, plus the bias
    assert r.totals["params"] == _torch_params(m) == 8 + 8 * 3 * 3 * 3 + 8
    assert r.totals["macs"] == 6 * 6 * 8 * 3 * 3 * 3


@pytest.mark.parametrize("factor,mode", [(1.5, "nearest"), (0.5, "bilinear"), (2, "bicubic")])
def test_upsample_by_any_factor(torch, factor, mode):
    m = torch.nn.Sequential(torch.nn.Upsample(scale_factor=factor, mode=mode))
    r = _import(m, (3, 7, 9))
    with torch.no_grad():
        want = tuple(m(torch.zeros(1, 3, 7, 9)).shape[1:])
    assert r.layers[-1].output_shape == want  # 1.5: (10, 13), floored as torch does


def test_conv_transpose_output_size_is_honoured(torch):
    nn = torch.nn

    class Up(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.up = nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1)

        def forward(self, x):
            return self.up(self.down(x), output_size=x.size())

    m = Up()
    r = _import(m, (3, 10, 10))
    assert r["up"].output_shape == tuple(m(torch.zeros(1, 3, 10, 10)).shape[1:]) == (3, 10, 10)  # not 9x9
    rs = _import(m, (3, "H", "W"))
    assert [str(d) for d in rs["up"].output_shape] == ["3", "H", "W"]


def test_softmax_on_the_channel_axis(torch):
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 1), torch.nn.Softmax(dim=1))
    r = _import(m, (3, 4, 4))
    assert r.layers[-1].layer.dim == 0  # torch's dim 1 = the per-sample channel axis


def test_batch_norm_in_training_mode_follows_fvcore(torch):
    fvcore = pytest.importorskip("fvcore.nn")
    from archcalc import conventions as C

    m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    for training in (True, False):
        m.train(training)
        r = _import(m, (3, 8, 8))
        fa = fvcore.FlopCountAnalysis(m, torch.zeros(1, 3, 8, 8))
        fa.unsupported_ops_warnings(False)
        assert C.count(r, "fvcore").total == fa.total()
        # training: 4 per element + 1 affine (norm_flop_counter); eval: 1 + 1
        assert C.count(r, "fvcore").by_layer["1"] == 4 * 6 * 6 * (5 if training else 2)


def test_a_bare_leaf_module_is_a_root(torch):
    r = _import(torch.nn.Conv2d(3, 8, 3), (3, 10, 10))
    assert [x.kind for x in r.layers] == ["Input", "Conv2d"]
    assert r.totals["macs"] == 8 * 8 * 8 * 3 * 3 * 3


def test_optional_forward_arguments_and_several_inputs(torch):
    nn = torch.nn

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 4)

        def forward(self, a, b, mask=None, scale: float = 2.0):
            y = self.fc(a) + self.fc(b)
            if mask is not None:  # a default argument: not an input, its branch not taken
                y = y * mask
            return y * scale

    r = _import(Two(), [(5, 6), (5, 6)])
    assert [x.kind for x in r.layers] == ["Input", "Input", "Linear", "Shared(Linear)", "Add", "Scale"]
    assert r.totals["macs"] == 2 * 5 * 6 * 4


def test_unsupported_ops_with_allow_partial_are_listed_not_zero(torch):
    class Odd(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return torch.cumsum(self.conv(x), dim=1)

    from archcalc.torch_bridge import from_torch

    with pytest.raises(UnsupportedLayerError, match="cumsum"):
        from_torch(Odd(), (3, 8, 8))
    r = _import(Odd(), (3, 8, 8), allow_partial=True)
    (u,) = r.totals["uncounted"]
    assert u["op"].endswith("cumsum") and u["count"] == 1 and u["where"] == ["cumsum"]
    assert r.to_dict()["totals"]["uncounted"] == r.totals["uncounted"]
    assert r.layers[-1].output_shape == (4, 6, 6) and r.layers[-1].warnings


def test_fallback_tracer_runs_what_fx_cannot(torch):
    nn = torch.nn

    class ShapeBranch(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            if x.shape[-1] > 4:  # control flow on a size: fx cannot trace it
                x = torch.nn.functional.max_pool2d(x, 2)
            y = self.conv(x).mean((2, 3))
            return self.fc(y)

    from archcalc.torch_bridge import from_torch

    g = from_torch(ShapeBranch(), (3, 8, 8))
    assert g.tracer.startswith("dispatch")
    r = archcalc.analyze(g)
    assert r.totals["macs"] == 4 * 4 * 8 * 3 * 3 * 3 + 8 * 2  # the 8 > 4 branch: a 4x4 conv, then fc
    assert r.totals["params"] == _torch_params(ShapeBranch())
    with pytest.raises(UnsupportedLayerError, match="needs concrete sizes"):
        from_torch(ShapeBranch(), (3, "H", "W"))


def test_vit_imports_with_parameters_read_by_forward(torch, torchvision):
    with torch.device("meta"):
        m = torchvision.models.vit_b_16().eval()
    r = _import(m, (3, 224, 224))
    assert r.totals["params"] == _torch_params(m)
    assert r["class_token"].kind == "Parameter" and r["class_token"].params == 768
    # patch embedding, then per layer 4 E^2 L (q, k, v, out) + 2 L^2 E (scores, values) + 8 E^2 L (MLP), then the head
    E, L = 768, 197
    assert r.totals["macs"] == 196 * 768 * 3 * 16 * 16 + 12 * (12 * E * E * L + 2 * L * L * E) + E * 1000


def test_fvcore_does_not_see_convolutions_with_text_padding(torch):
    """nn.Conv2d(padding='same') runs aten::_convolution_mode, which fvcore counts as 0 (timm's
    ConvMixer depthwise convs): the fvcore convention says so, checked live."""
    fvcore = pytest.importorskip("fvcore.nn")
    from archcalc import conventions as C

    m = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3, padding="same", groups=4), torch.nn.Conv2d(4, 8, 1))
    r = _import(m, (4, 6, 6))
    fa = fvcore.FlopCountAnalysis(m, torch.zeros(1, 4, 6, 6))
    fa.unsupported_ops_warnings(False)
    assert C.count(r, "fvcore").total == fa.total() == 6 * 6 * 8 * 4  # only the 1x1 conv


@pytest.mark.slow  # two subprocesses that import torch: ~20 s each on the shared machine
def test_cli_allow_partial(torch, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "oddnet.py").write_text(
        "import torch\n"
        "class Odd(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = torch.nn.Conv2d(3, 4, 3)\n"
        "    def forward(self, x):\n"
        "        return torch.cumsum(self.conv(x), dim=1)\n"
        "def make():\n"
        "    return Odd()\n")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(tmp_path)]))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "archcalc", "oddnet:make", "--input", "3x8x8", *args],
                              capture_output=True, text=True, env=env)

    refused = run()
    assert refused.returncode == 2 and "cumsum" in refused.stderr and "Traceback" not in refused.stderr
    partial = run("--allow-partial")
    assert partial.returncode == 0, partial.stderr
    assert "NOT COUNTED" in partial.stdout and "torch.cumsum x1: cumsum" in partial.stdout
    assert "traced by torch.fx" in partial.stdout  # the table says which tracer read the module


def test_cli_names_the_fallback_tracer_and_fits_the_width(torch, tmp_path):
    """A module fx cannot trace (a loop over a tensor's size) goes through the fallback: the table
    says so under the totals, wrapped to the terminal like every other line."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "loopnet.py").write_text(
        "import torch\n"
        "class Loop(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)\n"
        "    def forward(self, x):\n"
        "        for _ in range(x.shape[1] - 2):\n"
        "            x = torch.relu(x)\n"
        "        return self.conv(x)\n"
        "def make():\n"
        "    return Loop()\n")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(tmp_path)]), COLUMNS="40")
    out = subprocess.run([sys.executable, "-m", "archcalc", "loopnet:make", "--input", "3x8x8"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert "traced by dispatch (fake tensors," in out.stdout
    assert max(len(line) for line in out.stdout.splitlines()) <= 40
