"""The command line: formats, the stable JSON schema, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from archcalc.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    # these tests read phrases out of the text; the fitted layout has its own tests (test_cli_terminal)
    monkeypatch.setenv("COLUMNS", "400")


def run(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "archcalc", *args], capture_output=True, text=True, env=env)


def test_json_schema_is_stable(capsys):
    assert main(["vgg16", "--format", "json", "--batch", "2", "--dtype", "fp16"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d) >= {"model", "input", "batch", "dtype", "totals", "layers"}
    assert set(d["totals"]) >= {"params", "trainable_params", "buffers", "macs", "flops", "activations",
                                "activation_bytes", "param_bytes", "receptive_field"}
    layer = d["layers"][1]
    assert set(layer) >= {"name", "kind", "input_shape", "output_shape", "params", "macs", "flops", "activations",
                          "receptive_field", "warnings"}
    assert set(layer["receptive_field"]) == {"size", "jump", "start"}
    assert d["batch"] == 2 and d["dtype"] == "fp16" and d["input"] == [3, 224, 224]
    assert d["totals"]["macs"] == 2 * 15_470_264_320
    assert d["totals"]["param_bytes"] == 2 * 138_357_544
    assert layer == {**layer, "name": "features.0", "kind": "Conv2d", "output_shape": [64, 224, 224],
                     "params": 3 * 9 * 64 + 64}


def test_symbolic_json(capsys):
    assert main(["resnet18", "--input", "3xHxW", "--batch", "N", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["input"] == [3, "H", "W"] and "H" in d["totals"]["macs"] and "N" in d["totals"]["macs"]


@pytest.mark.parametrize("fmt,marker", [("table", "receptive field"), ("csv", "name,kind,config"),
                                        ("md", "| layer | kind |")])
def test_formats(capsys, fmt, marker):
    assert main(["alexnet", "--format", fmt]) == 0
    assert marker in capsys.readouterr().out


def test_tally_flag(capsys):
    assert main(["vgg16", "--tally"]) == 0
    out = capsys.readouterr().out
    assert "TOTAL memory: 15,237,608 elements" in out and "not the sum of its own rows" in out


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "vgg16" in out and "138.4 M" in out and "Simonyan" in out  # compact in the table
    assert main(["list", "--format", "md"]) == 0 and "| 138,357,544 |" in capsys.readouterr().out  # exact in md


@pytest.mark.parametrize("args,needle", [
    (["nosuchnet"], "unknown model 'nosuchnet'"),
    (["vgg16", "--input", "3x16x16"], "layer 'features.30' (MaxPool2d): kernel 2"),
    (["vgg16", "--input", "3x2x"], "bad shape"),
    (["vgg16", "--dtype", "fp7"], "unknown dtype 'fp7'"),
    (["vgg16", "--batch", "0"], "batch must be >= 1"),
    (["vgg16", "--format", "xml"], "invalid choice"),
    (["vgg16", "--input", "3x__import__('os')x2"], "bad"),
])
def test_bad_input_one_line_exit_2(args, needle):
    p = run(*args)
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archcalc: error:") and needle in lines[0], p.stderr
    assert "Traceback" not in p.stderr


def test_static_path_imports_no_heavy_dependency():
    code = ("import sys, archcalc; r = archcalc.analyze('vgg16'); repr(r); "
            "from archcalc.cli import main; main(['vgg16']); main(['resnet50', '--depth', '2', '--color', 'always']); "
            "main(['layer', 'conv', '--input', '3x227x227', '--out', '96', '--kernel', '11', '--stride', '4']); "
            "main(['list', '--no-costs']); main(['vgg16', '--exact', '--tally']); "
            "heavy = [m for m in ('torch', 'pandas', 'sympy', 'jinja2', 'matplotlib', 'numpy', 'rich') "
            "if m in sys.modules]; "
            "sys.stderr.write(repr(heavy))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip() == "[]"
