"""Hostile and malformed command lines (issue 12, "how it is checked").

Every case runs in-process through ``archcalc.cli.main`` inside a fresh directory holding bait:
a regular file, a symlink to it, a dangling symlink, a FIFO, a sub-directory and spec files (one
of which tries to run a shell command through a dimension). Each case must either

- exit 2 with exactly one line on stderr, ``archcalc: error: ...``, and no traceback, or
- succeed (exit 0, or 1 where the command's answer is "no": ``fit`` when nothing fits), its
  output well-formed for the format asked;

and in every case no file outside the declared ``-o`` target is created, changed or replaced,
the bait is intact, and nothing was executed (the canary file never appears).
A few cases run through a real subprocess to check the same at the process boundary.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest

from archcalc.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CANARY = "PWNED"

GOOD_SPEC = """\
name: tiny
input: 3x16x16
layers:
  - {name: conv, kind: Conv2d, out_channels: 4, kernel_size: 3, padding: 1}
  - {name: relu, kind: ReLU}
  - {name: flat, kind: Flatten}
  - {name: fc, kind: Linear, out_features: 10}
"""

HOSTILE_SPECS = {
    # issue 12 item 1: a Crop offset that sympify would evaluate
    "inject_crop.yaml": "input: 3x8x8\nlayers:\n  - {name: c, kind: Crop, size: [2, 2], offset: "
                        "[\"__import__('os').system('touch PWNED') or 1\", 0]}\n",
    "inject_dim.yaml": "input: \"3x__import__('os').system('touch PWNED')x8\"\nlayers:\n"
                       "  - {name: r, kind: ReLU}\n",
    "inject_channels.yaml": "input: 3x8x8\nlayers:\n  - {name: c, kind: Conv2d, out_channels: "
                            "\"exec('open(\\\"PWNED\\\",\\\"w\\\")')\", kernel_size: 3}\n",
    "bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                 "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                 "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                 "input: 3x8x8\nlayers: *f\n",
    "python_tag.yaml": "!!python/object/apply:os.system ['touch PWNED']\n",
    "not_mapping.yaml": "- just\n- a list\n",
    "empty.yaml": "",
    "garbage.json": "\x00\x01\x02{{{{",
    "cycle.yaml": "input: 3x8x8\nlayers:\n  - {name: a, kind: ReLU, inputs: [b]}\n  - {name: b, kind: ReLU, inputs: [a]}\n",
    "unknown_kind.yaml": "input: 3x8x8\nlayers:\n  - {name: a, kind: Teleport}\n",
    "huge_int.yaml": "input: 3x8x8\nlayers:\n  - {name: c, kind: Conv2d, out_channels: " + "9" * 400
                     + ", kernel_size: 3}\n",
    "negative.yaml": "input: 3x8x8\nlayers:\n  - {name: c, kind: Conv2d, out_channels: 4, kernel_size: 3, "
                     "padding: -5}\n",
    "dangling_input.yaml": "input: 3x8x8\nlayers:\n  - {name: a, kind: ReLU, inputs: [nowhere]}\n",
    "esc_name.yaml": "input: 3x8x8\nlayers:\n  - {name: \"\\e[31mred\\a\\r\", kind: ReLU}\n",
    "html_name.yaml": "input: 3x8x8\nlayers:\n  - {name: \"<img src=x onerror=alert(1)>|x\\r\\ny\", kind: ReLU}\n",
    "formula_name.yaml": "input: 3x8x8\nlayers:\n  - {name: \"=HYPERLINK(\\\"http://x\\\")\", kind: ReLU}\n",
    "good.yaml": GOOD_SPEC,
}

#: names of the bait every case starts with
BAIT = ("existing.txt", "link", "dangling", "fifo", "subdir")


def make_sandbox(path, specs=True):
    (path / "existing.txt").write_text("keep\n")
    os.symlink("existing.txt", path / "link")
    os.symlink("no/such/target", path / "dangling")
    os.mkfifo(path / "fifo")
    (path / "subdir").mkdir()
    for name, text in HOSTILE_SPECS.items() if specs else ():
        (path / name).write_text(text, encoding="utf-8", errors="surrogateescape")


def _needs_specs(argv) -> bool:
    return any(a in HOSTILE_SPECS for a in argv)


def snapshot(path) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, path)
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    out[rel] = ("file", f.read(), st.st_ino)
            else:
                out[rel] = ("other", st.st_mode)
    return out


def run_case(tmp_path, monkeypatch, argv):
    make_sandbox(tmp_path, specs=_needs_specs(argv))  # spec files only where a case names one (speed)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    before = snapshot(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            rc = main(list(argv))
        except SystemExit as e:  # --help
            rc = e.code
    after = snapshot(tmp_path)
    return rc, out.getvalue(), err.getvalue(), before, after


def check(tmp_path, monkeypatch, argv, expect="error", target=None, fmt=None):
    """``expect``: "error" (exit 2), "ok" (exit 0), "ok-or-error", or "ok-or-no" (0 or 1)."""
    rc, out, err, before, after = run_case(tmp_path, monkeypatch, argv)
    assert "Traceback" not in err and "Traceback" not in out
    assert not (tmp_path / CANARY).exists(), "a spec value was executed"
    allowed = {"error": {2}, "ok": {0}, "ok-or-error": {0, 2}, "ok-or-no": {0, 1}}[expect]
    assert rc in allowed, (argv, rc, err)
    if rc == 2:
        assert err.count("\n") == 1 and err.startswith("archcalc: error: "), (argv, err)
        assert after == before, f"{argv} failed but changed files"
    else:
        if fmt == "json" and target is None:
            json.loads(out)
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        assert changed <= ({target} if target else set()), (argv, changed)
        for name in BAIT:
            if name != target:
                assert before[name] == after[name]
        assert "\x1b" not in out.replace("\\x1b", ""), "a control character reached the terminal"
    return rc, out, err


# ----------------------------------------------------------------------------------------- cases

HOSTILE_NAMES = ["", " ", "nosuchnet", "../../etc/passwd", "vgg16\x1b[31m", "x" * 5000, "__import__('os')",
                 "vgg16;touch PWNED", "$(touch PWNED)", "%s%n%x", "vgg16\n", "ｖｇｇ16", "os:system",
                 "subdir", "fifo.yaml", "dangling", "-", "a:b:c", "no.such.module:factory"]

MODEL_COMMANDS = [[], ["fit", "--device-memory", "1GiB"], ["compare", "--no-accuracy", "lenet5"], ["spec"]]


#: names that resolve to a zoo entry after the registry's own normalisation (strip, lower case)
RESOLVES = {"vgg16\n"}


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("command", MODEL_COMMANDS, ids=["model", "fit", "compare", "spec"])
def test_hostile_model_names(tmp_path, monkeypatch, command, name):
    argv = [*command, name]
    rc, out, err = check(tmp_path, monkeypatch, argv, expect="ok-or-error" if name in RESOLVES else "error")
    if rc == 0:
        assert "vgg16" in out


BAD_SHAPES = ["", " ", "0x224x224", "-3x224x224", "3x224", "3.5x224x224", "1e9x1e9x1e9", "9" * 400,
              "3x(224", "H**H", "__import__('os')", "3x224x224;", "0x0x0", "3x99999999999999999999x3",
              "3xH x W)", "3x-H", "3x224x0", "abc", "3x224x224x224x224", "\x1b[2J", "3x" + "(" * 100 + "8" + ")" * 100]


@pytest.mark.parametrize("shape", BAD_SHAPES)
@pytest.mark.parametrize("command", [["lenet5"], ["fit", "lenet5", "--device-memory", "1GiB"],
                                     ["compare", "lenet5", "alexnet"]], ids=["model", "fit", "compare"])
def test_bad_input_shapes(tmp_path, monkeypatch, command, shape):
    check(tmp_path, monkeypatch, [*command, "--input", shape])


@pytest.mark.parametrize("value", ["", "0", "-1", "1.5", "9" * 400, "1e3", "abc()", "N**N", "__import__('os')",
                                   "N x", "0x10"])
def test_bad_batches(tmp_path, monkeypatch, value):
    check(tmp_path, monkeypatch, ["lenet5", "--batch", value, "--format", "json"])


@pytest.mark.parametrize("value", ["", "fp33", "float128", "\x1b", "fp32; rm", "int4"])
def test_bad_dtypes(tmp_path, monkeypatch, value):
    check(tmp_path, monkeypatch, ["lenet5", "--dtype", value])


CONFLICTS = [
    ["vgg16", "--optimizer", "adam"],
    ["vgg16", "--memory", "--optimizer", "adam"],
    ["vgg16", "--memory", "--format", "csv"],
    ["vgg16", "--memory", "--format", "md"],
    ["vgg16", "--report", "html", "--memory"],
    ["vgg16", "--report", "md", "--train"],
    ["vgg16", "--report", "md", "--format", "json"],
    ["vgg16", "--report", "md", "--depth", "1"],
    ["vgg16", "--report", "md", "--convention", "fvcore"],
    ["vgg16", "--format", "csv", "--tally"],
    ["vgg16", "--format", "csv", "--convention", "fvcore"],
    ["vgg16", "--format", "json", "--depth", "1"],
    ["vgg16", "--format", "csv", "--exact"],
    ["vgg16", "--memory", "--tally"],
    ["vgg16", "--memory", "--depth", "2"],
    ["vgg16", "--input", ""],
    ["vgg16", "--freeze", ""],
    ["vgg16", "--freeze", " "],
    ["vgg16", "-o", ""],
    ["vgg16", "--force"],
    ["vgg16", "--force", "-o", "-"],
    ["vgg16", "--format", "json", "--color", "always"],
    ["vgg16", "--convention", "nosuchtool"],
    ["vgg16", "--convention", ""],
    ["vgg16", "--num-classes", "0"],
    ["vgg16", "--num-classes", "-3"],
    ["vgg16", "--num-classes", "ten"],
    ["good.yaml", "--num-classes", "10"],
    ["vgg16", "--freeze", "no_such_layer"],
    ["vgg16", "--depth", "-1"],
    ["vgg16", "--depth", "abc"],
    ["vgg16", "--depth", "1e3"],
    ["vgg16", "--depth", "99999"],
    ["vgg16", "--depth", ""],
    ["vgg16", "--nonsense"],
    ["vgg16", "extra_positional"],
    ["vgg16", "--format", "xml"],
    ["vgg16", "--report", "pdf"],
    ["vgg16", "--color", "sometimes"],
    ["fit", "vgg16", "--device-memory", "1GiB", "--optimizer", "adam"],
    ["fit", "vgg16", "--device-memory", "1GiB", "--foreach"],
    ["fit", "vgg16", "--device-memory", "1GiB", "--format", "md"],
    ["fit", "vgg16"],
    ["list", "--format", "csv"],
    ["list", "extra"],
    ["list", "--force"],
    ["spec", "--schema", "vgg16"],
    ["spec", "--schema", "--check"],
    ["spec", "--check", "good.yaml", "-o", "out.txt"],
    ["spec", "--schema", "--format", "json"],
    ["spec"],
    ["spec", "vgg16", "--format", "toml"],
    ["compare"],
    ["compare", "vgg16", "--report", "md", "--format", "html"],
    ["compare", "vgg16", "--format", "csv"],
    ["report-examples", "--out", ""],
    ["report-examples", "--out", "-"],
    ["report-examples", "--check", "--force"],
    ["report-examples", "--out", "existing.txt"],
    ["verify"],
    ["verify", "good.yaml"],
    ["verify", "vgg16", "--all"],
    ["verify", "vgg16", "--batch", "0"],
    ["layer"],
    ["layer", "conv"],
    ["layer", "conv", "--input", "3x8x8"],
    ["layer", "warp", "--input", "3x8x8"],
    ["layer", "conv", "--input", "3x8x8", "--out", "0", "--kernel", "3"],
    ["layer", "conv", "--input", "3x8x8", "--out", "4", "--kernel", "0"],
    ["layer", "conv", "--input", "3x8x8", "--out", "4", "--kernel", "3", "--stride", "0"],
    ["layer", "conv", "--input", "3x8x8", "--out", "4", "--kernel", "3", "--padding", "-1"],
    ["layer", "conv", "--input", "3x8x8", "--out", "4", "--kernel", "3", "--groups", "2"],
    ["layer", "conv", "--input", "3x8x8", "--out", "4", "--kernel", "3x3x3"],
    ["layer", "conv", "--input", "3x8x8", "--out", "4", "--kernel", "1e3"],
    ["layer", "conv", "--input", "3x8x8", "--out", "4", "--kernel", "20"],
    ["layer", "conv", "--input", "3x8x8", "--out", "4", "--kernel", "3", "--ceil"],
    ["layer", "conv", "--input", "3xHxW", "--out", "4", "--kernel", "3"],
    ["layer", "conv", "--input", "", "--out", "4", "--kernel", "3"],
    ["layer", "maxpool", "--input", "3x8x8", "--kernel", "2", "--out", "4"],
    ["layer", "maxpool", "--input", "3x8x8"],
    ["layer", "maxpool", "--input", "3x8x8", "--kernel", "2", "--padding", "same"],
    ["layer", "avgpool", "--input", "3x8x8", "--kernel", "2", "--dilation", "2"],
    ["layer", "linear", "--input", "10", "--kernel", "3", "--out", "4"],
    ["layer", "linear", "--input", "10"],
    ["layer", "convT", "--input", "3x8x8", "--out", "4", "--kernel", "2", "--padding", "same"],
    ["layer", "bn", "--input", "3x8x8", "--out", "4"],
    ["layer", "relu", "--input", "3x8x8", "--no-bias"],
    ["layer", "conv", "--input", "3x8x8", "--out", "4", "--kernel", "3", "--batch", "0"],
    ["nosuchcommand"],
    ["--nosuchflag"],
    [],
]


@pytest.mark.parametrize("argv", CONFLICTS, ids=lambda a: " ".join(a)[:60] or "(empty)")
def test_conflicts_and_malformed_flags(tmp_path, monkeypatch, argv):
    check(tmp_path, monkeypatch, argv)


BUDGETS = ["16", "16.5", "0", "0GiB", "-1GiB", "", " ", "GiB", "16 potatoes", "9" * 400 + "GiB", "9" * 400,
           "1e9GiB", "nanGiB", "infGiB", "16GiB16", "0x10GiB", "１６GiB", "\x1b[31m16GiB", "16GiB; rm -rf"]


@pytest.mark.parametrize("budget", BUDGETS)
def test_fit_budgets(tmp_path, monkeypatch, budget):
    check(tmp_path, monkeypatch, ["fit", "lenet5", "--device-memory", budget])


def test_fit_nothing_fits_exits_1(tmp_path, monkeypatch):
    rc, out, err = check(tmp_path, monkeypatch, ["fit", "vgg16", "--device-memory", "1MiB"], expect="ok-or-no")
    assert rc == 1 and "nothing fits" in out


#: specs that only the engine's field validation (the trust branch, issue 12 items 1-2) refuses:
#: until that lands here, a Crop offset reaches sympify and a 400-digit channel count overflows.
#: Non-strict: they pass (XPASS) as soon as it is merged.
ENGINE_PENDING = pytest.mark.xfail(strict=False, reason="needs the engine's field validation (issue 12 items 1-2)")


def _spec_param(name):
    return pytest.param(name, marks=ENGINE_PENDING) if name in ("inject_crop.yaml", "huge_int.yaml") else name


@pytest.mark.parametrize("spec", [_spec_param(n) for n in sorted(set(HOSTILE_SPECS) - {
    "good.yaml", "esc_name.yaml", "html_name.yaml", "formula_name.yaml"})])
@pytest.mark.parametrize("command", [[], ["spec", "--check"], ["fit", "--device-memory", "1GiB"],
                                     ["compare", "lenet5"], ["spec"]], ids=["model", "check", "fit", "compare", "spec"])
def test_hostile_spec_files(tmp_path, monkeypatch, command, spec):
    argv = ["compare", "lenet5", spec] if command == ["compare", "lenet5"] else [*command, spec]
    if command == ["fit", "--device-memory", "1GiB"]:
        argv = ["fit", spec, "--device-memory", "1GiB"]
    # a spec this branch's engine does not yet refuse may analyse; it must never execute or crash
    check(tmp_path, monkeypatch, argv, expect="ok-or-error")


@pytest.mark.parametrize("spec", ["esc_name.yaml", "html_name.yaml", "formula_name.yaml"])
@pytest.mark.parametrize("fmt", ["table", "md", "csv", "json"])
def test_hostile_names_are_escaped_per_medium(tmp_path, monkeypatch, spec, fmt):
    rc, out, err = check(tmp_path, monkeypatch, [spec, "--format", fmt], expect="ok", fmt=fmt)
    if fmt == "md":
        rows = [line for line in out.splitlines() if line.startswith("|")]
        assert all(line.endswith("|") for line in rows)  # no \r or \n split a row
        assert "<img" not in out
    if fmt == "csv":
        import csv

        cells = [c for row in csv.reader(io.StringIO(out)) for c in row]
        assert not any(c.startswith(("=", "+", "@")) for c in cells)
    if fmt == "table":
        assert "\x07" not in out and "\r" not in out


# --------------------------------------------------------------------------------- output paths

WRITERS = {
    "model": ["lenet5"],
    "model-json": ["lenet5", "--format", "json"],
    "report": ["lenet5", "--report", "md"],
    "memory": ["lenet5", "--memory"],
    "list": ["list", "--no-costs"],
    "spec": ["spec", "lenet5"],
    "schema": ["spec", "--schema"],
    "compare": ["compare", "lenet5", "alexnet", "--no-accuracy"],
    "fit": ["fit", "lenet5", "--device-memory", "1GiB"],
    "layer": ["layer", "conv", "--input", "3x8x8", "--out", "4", "--kernel", "3"],
}

PATHS = [
    # (path, extra flags, expected, target that may change)
    ("existing.txt", [], "error", None),  # exists: needs --force
    ("existing.txt", ["--force"], "ok", "existing.txt"),
    ("link", [], "error", None),  # a symlink to a file: only through it, only with --force
    ("link", ["--force"], "ok", "existing.txt"),
    ("dangling", [], "error", None),
    ("dangling", ["--force"], "error", None),
    ("fifo", [], "error", None),
    ("fifo", ["--force"], "error", None),
    ("/dev/null", ["--force"], "error", None),  # a device node is never replaced
    ("subdir", ["--force"], "error", None),
    ("no/such/dir/out.txt", [], "error", None),
    ("", [], "error", None),
    ("new.txt", [], "ok", "new.txt"),
    ("-", [], "ok", None),
    ("subdir/new.txt", [], "ok", "subdir/new.txt"),
    ("-", ["--force"], "error", None),
]


@pytest.mark.parametrize("path, extra, expect, target", PATHS,
                         ids=[f"{p or 'empty'}{''.join(e)}" for p, e, _, _ in PATHS])
@pytest.mark.parametrize("writer", list(WRITERS))
def test_output_paths(tmp_path, monkeypatch, writer, path, extra, expect, target):
    argv = [*WRITERS[writer], "-o", path, *extra]
    rc, out, err = check(tmp_path, monkeypatch, argv, expect=expect, target=target)
    if expect == "ok" and path not in ("-",):
        assert out == "" and f"wrote {path}" in err
        assert (tmp_path / (target or path)).read_text() != "keep\n"
    if path == "link" and expect == "ok":
        assert os.path.islink(tmp_path / "link")  # written through, still a link


def test_report_examples_refuses_to_clobber_without_force(tmp_path, monkeypatch):
    from archcalc.report import examples

    monkeypatch.setattr(examples, "generate", lambda accuracy=True: {"a.md": "new\n"})
    make_sandbox(tmp_path)
    (tmp_path / "subdir" / "a.md").write_text("old\n")
    monkeypatch.chdir(tmp_path)
    assert main(["report-examples", "--out", "subdir"]) == 2
    assert (tmp_path / "subdir" / "a.md").read_text() == "old\n"
    assert main(["report-examples", "--out", "subdir", "--force"]) == 0
    assert (tmp_path / "subdir" / "a.md").read_text() == "new\n"


# ------------------------------------------------------------------------ at the process boundary

@pytest.mark.parametrize("argv, code", [
    (["nosuchnet"], 2),
    (["vgg16", "--input", "0x224x224"], 2),
    (["fit", "vgg16", "--device-memory", "16"], 2),
    pytest.param(["inject_crop.yaml"], None, marks=ENGINE_PENDING),
    (["vgg16", "-o", "/dev/null", "--force"], 2),
])
def test_subprocess_boundary(tmp_path, argv, code):
    make_sandbox(tmp_path)
    env = dict(os.environ, PYTHONPATH=ROOT, COLUMNS="100")
    p = subprocess.run([sys.executable, "-m", "archcalc", *argv], capture_output=True, text=True, cwd=tmp_path,
                       env=env, timeout=60)
    assert "Traceback" not in p.stderr
    assert not (tmp_path / CANARY).exists()
    if code is not None:
        assert p.returncode == code
    if p.returncode == 2:
        assert p.stderr.count("\n") == 1 and p.stderr.startswith("archcalc: error: ")


@pytest.mark.parametrize("factory", ["os:getcwd", "os:system", "json:nosuch", "archcalc.dims:MAX_DIM_TEXT"])
def test_factories_that_are_not_models(tmp_path, monkeypatch, factory):
    pytest.importorskip("torch")
    check(tmp_path, monkeypatch, [factory, "--input", "3x8x8"])


def test_a_torch_factory_is_a_model_for_every_command(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    (tmp_path / "userfac.py").write_text(
        "import torch.nn as nn\n"
        "def net():\n"
        "    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, 10))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["userfac:net", "--input", "3x8x8", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    # conv: 8 filters of 3x3x3 on 8x8 outputs; linear: 512 -> 10
    assert d["totals"]["macs"] == 8 * 8 * 8 * 3 * 3 * 3 + 8 * 8 * 8 * 10
    assert d["totals"]["params"] == (8 * 3 * 3 * 3 + 8) + (512 * 10 + 10)
    assert main(["fit", "userfac:net", "--input", "3x8x8", "--device-memory", "1GiB", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["max_batch"] >= 1
    assert main(["spec", "userfac:net", "--input", "3x8x8"]) == 0 and "Conv2d" in capsys.readouterr().out
    assert main(["compare", "userfac:net", "lenet5", "--format", "json", "--no-accuracy"]) == 2  # needs --input
    capsys.readouterr()
    assert main(["userfac:net"]) == 2 and "needs --input" in capsys.readouterr().err
