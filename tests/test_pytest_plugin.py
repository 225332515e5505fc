"""The pytest plugin end to end, through pytester: snapshots, budgets, usage errors, registration.

The plugin reaches users through the ``pytest11`` entry point, which exists only when archcalc is
pip-installed; these runs load it explicitly with ``-p archcalc.pytest_plugin`` (and one test adds
a fake installed distribution to check that both ways together register it once).
"""

from __future__ import annotations

import os
import sys
import textwrap
import types
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ("-p", "archcalc.pytest_plugin")

MODEL = """
import pytest
from archcalc.graph import Builder
from archcalc.layers import Conv2d, Flatten, Linear, ReLU

WIDTH = {width}

def net():
    b = Builder("tiny", (3, 8, 8))
    x = b.add(Conv2d(WIDTH, 3, padding=1), b.input, name="conv")
    x = b.add(ReLU(True), x, name="relu")
    x = b.add(Flatten(), x, name="flatten")
    b.add(Linear(10), x, name="fc")
    return b.build()
"""


def conv_fc_params(w):
    return (27 * w + w) + (w * 64 * 10 + 10)  # 3x3x3 conv + bias, then fc over w*8*8 features


@pytest.fixture
def run(pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)  # a missing snapshot is written, as on a developer's machine
    # only the -p plugin: scanning every installed distribution's entry points costs seconds per run
    # here (the entry-point route has its own tests below)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    def go(*args):
        return pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider", *args)

    return go


def snapshot_test(pytester, width):
    pytester.makepyfile(test_net=MODEL.format(width=width) + """
@pytest.mark.archcalc(snapshot=True)
def test_tiny(archcalc_costs):
    archcalc_costs.check(net())
""")
    return pytester.path / "__archcalc_snapshots__" / "test_net" / "test_tiny.txt"


def test_snapshot_written_then_passes_then_diff_then_update(pytester, run):
    snap = snapshot_test(pytester, width=8)
    r = run()
    r.assert_outcomes(passed=1)
    assert snap.is_file()
    first = snap.read_text()
    assert "params 5,354\n" in first  # 224 conv + 5,130 fc
    assert conv_fc_params(8) == 5_354
    lines = first.splitlines()
    assert lines[-4].split() == ["conv", "Conv2d", "8x8x8", "224", "13,824"]  # 8x8 pixels * 8 filters * 27
    r.stdout.fnmatch_lines(["written: __archcalc_snapshots__*test_tiny.txt", "archcalc: 1 snapshot(s) written, 0 updated"])

    run().assert_outcomes(passed=1)  # second run: unchanged
    assert snap.read_text() == first

    snapshot_test(pytester, width=16)  # the architecture changes
    r = run()
    r.assert_outcomes(failed=1)
    r.stdout.fnmatch_lines([
        "*archcalc snapshot __archcalc_snapshots__*test_tiny.txt differs for tiny:",
        f"*params: snapshot 5,354, now {conv_fc_params(16):,} (+5,344, +100%)",
        "*per-layer differences (~ changed, + new, - removed): 4",
        "*~ conv (Conv2d): output 8x8x8 -> 16x8x8; params 224 -> 448 (+224, +100%); macs 13,824 -> 27,648*",
        "*~ fc (Linear): params 5,130 -> 10,250*",
        "*run `pytest --archcalc-update`*",
    ])
    assert snap.read_text() == first  # a failing run leaves the snapshot alone

    r = run("--archcalc-update")
    r.assert_outcomes(passed=1)
    r.stdout.fnmatch_lines(["updated: __archcalc_snapshots__*test_tiny.txt"])
    assert f"params {conv_fc_params(16):,}\n" in snap.read_text()
    run().assert_outcomes(passed=1)
    assert not list(snap.parent.glob(".tmp-*"))  # atomic writes leave no temporary files


def test_missing_snapshot_fails_under_ci(pytester, run, monkeypatch):
    snap = snapshot_test(pytester, width=8)
    monkeypatch.setenv("CI", "true")
    r = run()
    r.assert_outcomes(failed=1)
    r.stdout.fnmatch_lines(["*snapshot __archcalc_snapshots__*test_tiny.txt does not exist (CI is set*"])
    assert not snap.exists()
    run("--archcalc-update").assert_outcomes(passed=1)
    assert snap.is_file()


def test_several_snapshots_in_one_test_and_parametrized_names(pytester, run):
    pytester.makepyfile(test_many=MODEL.format(width=4) + """
@pytest.mark.parametrize("w", [4, 5])
def test_p(archcalc_costs, w):
    archcalc_costs.snapshot(net())
    archcalc_costs.snapshot("lenet5")
    archcalc_costs.snapshot("lenet5", name="again")
""")
    run().assert_outcomes(passed=2)
    folder = pytester.path / "__archcalc_snapshots__" / "test_many"
    assert sorted(p.name for p in folder.iterdir()) == [
        "test_p[4].2.txt", "test_p[4].again.txt", "test_p[4].txt",
        "test_p[5].2.txt", "test_p[5].again.txt", "test_p[5].txt",
    ]
    assert "model lenet5" in (folder / "test_p[4].2.txt").read_text()


def test_budgets(pytester, run):
    pytester.makepyfile(test_budget=MODEL.format(width=8) + """
@pytest.mark.archcalc(max_params=5_354, max_macs=19_000)
def test_fits(archcalc_costs):
    archcalc_costs.check(net())

@pytest.mark.archcalc(max_params=5_000, max_macs=12e6)
def test_too_big(archcalc_costs):
    archcalc_costs.check(net())

def test_explicit(archcalc_costs):
    archcalc_costs.budget("resnet18", max_macs=1_000_000_000)
""")
    r = run()
    r.assert_outcomes(passed=1, failed=2)
    r.stdout.fnmatch_lines([
        "*archcalc budget exceeded by tiny (input 3x8x8, batch 1):",
        "*params 5,354 > max_params 5,000 (over by 354, +7.08%)",
        "largest contributors to params:",
        "*fc (Linear, 10): 5,130 (95.8%)",
        "*conv (Conv2d, 8x8x8): 224 (4.2%)",
    ])
    # torchvision's resnet18: 1.814 GMACs
    r.stdout.fnmatch_lines(["*macs 1,814,073,344 > max_macs 1,000,000,000 (over by 814,073,344, +81%)"])
    assert "max_macs 12,000,000" not in r.stdout.str()  # that budget held


def test_module_marker_applies_and_function_marker_overrides(pytester, run):
    pytester.makepyfile(test_mod=MODEL.format(width=8) + """
pytestmark = pytest.mark.archcalc(max_params=100)

def test_module_budget(archcalc_costs):
    archcalc_costs.check(net())

@pytest.mark.archcalc(max_params=6_000)
def test_override(archcalc_costs):
    archcalc_costs.check(net())
""")
    r = run()
    r.assert_outcomes(passed=1, failed=1)
    r.stdout.fnmatch_lines(["*params 5,354 > max_params 100*"])


def test_snapshot_false_opts_a_test_out_of_a_module_marker(pytester, run):
    pytester.makepyfile(test_opt="""
import pytest

pytestmark = pytest.mark.archcalc(snapshot=True)

def test_snap(archcalc_costs):
    archcalc_costs.check("lenet5")

@pytest.mark.archcalc(snapshot=False)
def test_plain():
    assert True
""")
    run().assert_outcomes(passed=2)
    assert [p.name for p in (pytester.path / "__archcalc_snapshots__" / "test_opt").iterdir()] == ["test_snap.txt"]


def test_marked_test_that_never_checks_fails(pytester, run):
    pytester.makepyfile(test_lazy="""
import pytest

@pytest.mark.archcalc(max_params=10)
def test_forgot(archcalc_costs):
    pass
""")
    r = run()
    r.assert_outcomes(failed=1)
    r.stdout.fnmatch_lines(["*marked @pytest.mark.archcalc but never called archcalc_costs.check(model)*"])


@pytest.mark.parametrize("marker, message", [
    ("archcalc(max_param=10)", "unknown argument max_param=10; did you mean max_params?"),
    ("archcalc(max_parameters=10)", "unknown argument max_parameters=10; did you mean max_params?"),
    ("archcalc(budget=1)", "unknown argument budget=1; expected one of max_params, *"),
    ("archcalc(max_params=-1)", "max_params= must be a non-negative integer, got -1"),
    ("archcalc(max_macs='1G')", "max_macs= must be a non-negative integer, got '1G'"),
    ("archcalc(max_params=1.5)", "max_params= must be a non-negative integer, got 1.5"),
    ("archcalc(max_params=True)", "max_params= must be a non-negative integer, got True"),
    ("archcalc('resnet18')", "takes keyword arguments only (*), got positional ('resnet18',)"),
    ("archcalc(snapshot=3)", "snapshot= must be True/False or a snapshot name, got 3"),
])
def test_bad_marker_arguments_are_usage_errors(pytester, run, marker, message):
    pytester.makepyfile(test_bad=f"""
import pytest

@pytest.mark.{marker}
def test_x(archcalc_costs):
    archcalc_costs.check("lenet5")
""")
    r = run()
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines([f"ERROR: test_bad.py::test_x: @pytest.mark.archcalc: {message}"])
    r.assert_outcomes()  # nothing ran


def test_marker_without_the_fixture_is_a_usage_error(pytester, run):
    pytester.makepyfile(test_nofix="""
import pytest

@pytest.mark.archcalc(max_params=10)
def test_x():
    pass
""")
    r = run()
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["ERROR: test_nofix.py::test_x: @pytest.mark.archcalc needs the archcalc_costs fixture*"])


def test_max_peak_memory_without_the_memory_model(pytester, run, monkeypatch):
    monkeypatch.setitem(sys.modules, "archcalc.memory", None)  # as an archcalc without archcalc.memory
    import archcalc

    monkeypatch.delattr(archcalc, "memory", raising=False)
    pytester.makepyfile(test_mem="""
import pytest

@pytest.mark.archcalc(max_peak_memory=10_000_000)
def test_x(archcalc_costs):
    archcalc_costs.check("lenet5")
""")
    r = run()
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["ERROR: *max_peak_memory= needs archcalc's peak-memory model (archcalc.memory)*"])


def test_max_peak_memory_uses_archcalc_memory_inference_peak(pytester, run, monkeypatch):
    # the contract with archcalc.memory: inference_memory(result) -> .peak_bytes, .peak_layer, ...;
    # parse_size("10 MiB") -> int
    import archcalc

    fake = types.ModuleType("archcalc.memory")
    fake.inference_memory = lambda result: types.SimpleNamespace(
        peak_bytes=4 * result.totals["params"] + 1000, peak_layer="fc", batch=1, dtype="fp32",
        weight_bytes=4 * result.totals["params"])
    fake.parse_size = lambda text: {"20 KiB": 20 * 1024}[text]
    monkeypatch.setitem(sys.modules, "archcalc.memory", fake)
    monkeypatch.setattr(archcalc, "memory", fake, raising=False)
    pytester.makepyfile(test_mem=MODEL.format(width=8) + """
@pytest.mark.archcalc(max_peak_memory=30_000)
def test_fits(archcalc_costs):
    archcalc_costs.check(net())

@pytest.mark.archcalc(max_peak_memory="20 KiB")
def test_too_big(archcalc_costs):
    archcalc_costs.check(net())
""")
    r = run()
    r.assert_outcomes(passed=1, failed=1)
    # 4 bytes * 5,354 params + 1,000 = 22,416 > 20,480
    r.stdout.fnmatch_lines(["*peak_memory_bytes 22,416 > max_peak_memory 20,480 (over by 1,936, +9.45%) "
                            "(inference peak at fc, batch 1, fp32; weights 21,416 B)"])


def test_real_memory_model_when_present(pytester, run):
    memory = pytest.importorskip("archcalc.memory", reason="the peak-memory model is not merged yet")
    import archcalc

    peak = memory.inference_memory(archcalc.analyze("lenet5")).peak_bytes
    pytester.makepyfile(test_mem=f"""
import pytest

@pytest.mark.archcalc(max_peak_memory={peak})
def test_fits(archcalc_costs):
    archcalc_costs.check("lenet5")

@pytest.mark.archcalc(max_peak_memory={peak - 1})
def test_one_byte_short(archcalc_costs):
    archcalc_costs.check("lenet5")
""")
    run().assert_outcomes(passed=1, failed=1)


def test_assert_costs_failure_shows_in_pytest(pytester, run):
    pytester.makepyfile(test_ac="""
from archcalc.testing import assert_costs

def test_x():
    assert_costs("resnet18", params=11_689_000, baseline="resnet18")
""")
    r = run()
    r.assert_outcomes(failed=1)
    r.stdout.fnmatch_lines(["*params: expected 11,689,000, actual 11,689,512 (+512, +0.004%)",
                            "*per-layer differences from baseline resnet18*: 0"])


def fake_installed_distribution(folder: Path) -> Path:
    """A dist-info declaring archcalc's pytest11 entry point, as ``pip install archcalc`` would."""
    info = folder / "archcalc_entrypoint_probe-0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: archcalc-entrypoint-probe\nVersion: 0.0\n")
    pyproject = (ROOT / "pyproject.toml").read_text()
    section = pyproject.split("[project.entry-points.pytest11]", 1)[1].split("\n[", 1)[0]
    entry = [line for line in section.splitlines() if line.strip() and not line.startswith("#")]
    assert len(entry) == 1 and entry[0].startswith("archcalc = "), entry  # `-p no:archcalc` disables it
    target = entry[0].split("=", 1)[1].strip().strip('"')
    (info / "entry_points.txt").write_text(f"[pytest11]\narchcalc = {target}\n")
    return folder


@pytest.mark.parametrize("extra_args", [(), PLUGIN], ids=["entry-point", "entry-point+-p"])
def test_entry_point_alone_and_together_with_p(pytester, monkeypatch, extra_args):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.syspath_prepend(str(fake_installed_distribution(pytester.path / "site")))
    pytester.makepyfile(test_ep="""
import pytest

@pytest.mark.archcalc(max_params=61_706)
def test_x(archcalc_costs, request):
    archcalc_costs.check("lenet5_modern")
    pm = request.config.pluginmanager
    hooks = [p for p in pm.get_plugins() if getattr(p, "__name__", "") == "archcalc.pytest_plugin"]
    assert len(hooks) == 1
""")
    r = pytester.runpytest(*extra_args, "-p", "no:cacheprovider", "--archcalc-update")
    r.assert_outcomes(passed=1)
    r = pytester.runpytest(*extra_args, "-p", "no:cacheprovider", "--markers")
    assert r.stdout.str().count("@pytest.mark.archcalc(") == 1


def test_entry_point_can_be_disabled(pytester, monkeypatch):
    monkeypatch.syspath_prepend(str(fake_installed_distribution(pytester.path / "site")))
    r = pytester.runpytest("-p", "no:archcalc", "-p", "no:cacheprovider", "--archcalc-update")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*unrecognized arguments: --archcalc-update*"])


def test_plugin_start_up_imports_nothing_heavy(pytester, monkeypatch):
    # a fresh interpreter: pytest with the plugin loaded, a test that only looks at sys.modules
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # what other installed plugins import is theirs
    pytester.makepyfile(test_light="""
import sys

def test_nothing_heavy_loaded():
    heavy = ("torch", "sympy", "pandas", "numpy", "jinja2", "matplotlib", "yaml", "archcalc.zoo", "archcalc.memory")
    assert [m for m in sys.modules if m.split(".")[0] in heavy or m.startswith(heavy)] == []
""")
    r = pytester.runpytest_subprocess(*PLUGIN, "-p", "no:cacheprovider")
    r.assert_outcomes(passed=1)


def test_snapshot_text_is_stable(pytester, run):
    # two different runs over the same model write byte-identical files
    snap = snapshot_test(pytester, width=8)
    run().assert_outcomes(passed=1)
    first = snap.read_bytes()
    snap.unlink()
    run().assert_outcomes(passed=1)
    assert snap.read_bytes() == first
    assert textwrap.dedent(first.decode()).startswith("# archcalc cost snapshot v1")
