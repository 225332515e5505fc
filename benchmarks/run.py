"""archcalc vs its torch peers, as whole processes; and archcalc's own scaling.

    python benchmarks/run.py            # full run: peers on vgg16, resnet50, densenet121 + scale
    python benchmarks/run.py --quick    # archcalc only, one repetition, small scale sizes (CI smoke)

Every measurement is a fresh ``python`` process started by this script under GNU ``/usr/bin/time``:
wall time is the time from spawn to exit, cpu its user + system time, peak memory its maximum
resident set size (``%M``, the figure ``/usr/bin/time -v`` prints). Each tool does the same job: build the
model and report its parameter count and its MACs/FLOPs.

- ``archcalc``: ``python -m archcalc MODEL`` (the CLI, default table output).
- ``torchinfo``: ``summary(torchvision.models.MODEL(weights=None), (1, 3, 224, 224))`` on CPU.
- ``fvcore``: ``FlopCountAnalysis`` + ``parameter_count`` on CPU.
- ``flopcounter-meta``: the model built on the meta device, one forward under
  ``torch.utils.flop_counter.FlopCounterMode`` (no real memory for weights or activations).

The scale part runs each case ``--repeat`` times in a fresh process and reports the median run:

- ``synthetic N``: ``analyze`` of a synthetic network of 100 / 1,000 / 10,000 layers (the
  ``analysis`` column is the in-process time of that call, to show linear growth);
- ``whole zoo: archcalc list``: the CLI building and analysing every zoo entry and printing one
  row each (process time only; its cpu column is the whole process's);
- ``whole zoo analysis``: the same through the API, ``analyze(name)`` for every entry;
- ``whole zoo + tables``: that plus ``render_table`` of every result (about 24,000 rows);
- ``resnet50 3xHxW``: ResNet-50 with a symbolic input, analysed and rendered.

The whole-zoo cases import sympy, as the zoo has symbolic defaults (Faster/Mask R-CNN's proposal
count ``R``, Show and Tell's caption length ``T``). On a shared machine wall times include waiting
for a core; the cpu column does not. This is a benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("vgg16", "resnet50", "densenet121")
#: issue #2 budgets for `archcalc vgg16` as a whole process on the reference 2-core machine
BUDGET = {"vgg16": (0.10, 40.0)}
#: issue #7 budgets. "The whole zoo in one process": every entry built and analysed, through the CLI
#: (`archcalc list`) and through the API; rendering 24,000 per-layer table rows on top is reported
#: alongside, without a budget of its own.
SCALE_BUDGET_S = {"synthetic 10000": 1.0, "whole zoo: archcalc list": 1.0, "whole zoo analysis": 1.0,
                  "resnet50 3xHxW": 2.0}

_PEERS = {
    "torchinfo": """
import torch, torchvision
from torchinfo import summary
m = getattr(torchvision.models, MODEL)(weights=None).eval()
s = summary(m, input_size=(1, 3, 224, 224), verbose=0)
print(s)
print("RESULT", s.total_params, s.total_mult_adds)
""",
    "fvcore": """
import torch, torchvision
from fvcore.nn import FlopCountAnalysis, parameter_count, flop_count_table
m = getattr(torchvision.models, MODEL)(weights=None).eval()
x = torch.zeros(1, 3, 224, 224)
with torch.no_grad():
    f = FlopCountAnalysis(m, x)
    f.unsupported_ops_warnings(False)
    f.uncalled_modules_warnings(False)
    total = f.total()
print(flop_count_table(f, max_depth=2))
print("RESULT", parameter_count(m)[""], total)
""",
    "flopcounter-meta": """
import torch, torchvision
from torch.utils.flop_counter import FlopCounterMode
with torch.device("meta"):
    m = getattr(torchvision.models, MODEL)(weights=None).eval()
    x = torch.empty(1, 3, 224, 224)
with FlopCounterMode(display=False) as fc, torch.no_grad():
    m(x)
print("RESULT", sum(p.numel() for p in m.parameters()), fc.get_total_flops() // 2)
""",
}


TIME = "/usr/bin/time"


def run_process(cmd, env=None, timeout=600):
    """Run cmd to completion; return (wall s, cpu s, peak RSS MiB, exit code, stdout, stderr).

    Peak RSS comes from GNU time (``%M``), which forks a tiny process to exec ``cmd``: measuring
    with ``wait4`` on a child of this Python process would count the forked copy of this process's
    own memory (Linux keeps the pre-exec high-water mark in ``ru_maxrss``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        t0 = time.perf_counter()
        proc = subprocess.Popen([TIME, "-f", "%U %S %M", "-o", stats.name, *cmd], stdout=out, stderr=err,
                                env=env, cwd=ROOT)
        # a blocking wait: Popen.wait(timeout=...) polls with sleeps of up to 50 ms, which would
        # be added to a 0.1 s process; the timer kills a runaway child instead
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            proc.wait()
        finally:
            killer.cancel()
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        lines = stats.read().strip().splitlines()
        user, system, max_kib = lines[-1].split()  # "Command exited with non-zero status" may precede
        return (wall, float(user) + float(system), int(max_kib) / 1024, proc.returncode,
                out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _result_line(stdout):
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            params, macs = line.split()[1:3]
            return int(params), int(float(macs))
    return None


def _archcalc_numbers(stdout):
    params = macs = None
    for line in stdout.splitlines():
        key, _, rest = line.strip().partition(": ")
        if key == "params":
            params = int(rest.split()[0].replace(",", ""))
        elif key == "MACs":
            macs = int(rest.split()[0].replace(",", ""))
    return (params, macs) if params is not None else None


def measure(cmd, repeat, env):
    runs = []
    for _ in range(repeat):
        wall, cpu, peak, code, out, err = run_process(cmd, env)
        if code != 0:
            return {"error": (err.strip().splitlines() or [f"exit {code}"])[-1]}
        runs.append((wall, cpu, peak, out))
    return {"wall": statistics.median(r[0] for r in runs), "cpu": statistics.median(r[1] for r in runs),
            "peak": statistics.median(r[2] for r in runs), "out": runs[-1][3], "runs": len(runs)}


def peers_table(models, tools, repeat, peer_repeat, env):
    from archcalc.zoo import names

    zoo = set(names())
    rows = []
    for model in models:
        base = None
        for tool in tools:
            if tool == "archcalc":
                if model not in zoo:
                    rows.append((model, tool, None, None, None, None, None, "not in archcalc's zoo yet"))
                    continue
                m = measure([sys.executable, "-m", "archcalc", model], repeat, env)
                numbers = _archcalc_numbers(m.get("out", ""))
            else:
                code = f"MODEL = {model!r}\n" + _PEERS[tool]
                m = measure([sys.executable, "-c", code], peer_repeat, env)
                numbers = _result_line(m.get("out", ""))
            if "error" in m:
                rows.append((model, tool, None, None, None, None, None, "failed: " + m["error"][:60]))
                continue
            if tool == "archcalc":
                base = m
            ratio_t = m["wall"] / base["wall"] if base else None
            ratio_m = m["peak"] / base["peak"] if base else None
            nums = f"params {numbers[0]:,}  MACs {numbers[1]:,}" if numbers else ""
            rows.append((model, tool, m["wall"], m["cpu"], m["peak"], ratio_t, ratio_m, nums))
            print(f"  measured {model:<12} {tool:<17} {m['wall']:7.3f} s {m['peak']:8.1f} MiB", file=sys.stderr,
                  flush=True)
    return rows


def print_peers(rows):
    print("archcalc vs torch peers (whole processes; median of runs; x = tool / archcalc)\n")
    head = (f"{'model':<12} {'tool':<17} {'wall s':>8} {'cpu s':>7} {'peak MiB':>9} {'x wall':>8} {'x mem':>7}"
            "  result")
    print(head)
    print("-" * len(head))
    for model, tool, wall, cpu, peak, rt, rm, note in rows:
        if wall is None:
            print(f"{model:<12} {tool:<17} {'-':>8} {'-':>7} {'-':>9} {'-':>8} {'-':>7}  {note}")
            continue
        print(f"{model:<12} {tool:<17} {wall:8.3f} {cpu:7.3f} {peak:9.1f} {_x(rt):>8} {_x(rm):>7}  {note}")
    print()
    for model, (t_budget, m_budget) in BUDGET.items():
        for r in rows:
            if r[0] == model and r[1] == "archcalc" and r[2] is not None:
                ok = r[2] <= t_budget and r[4] <= m_budget
                print(f"budget: archcalc {model} <= {t_budget:.2f} s and <= {m_budget:.0f} MiB: wall {r[2]:.3f} s "
                      f"(cpu {r[3]:.3f} s), {r[4]:.1f} MiB -> {'within' if ok else 'OVER'}")
    print()


def _x(v):
    return "-" if v is None else f"{v:.1f}x"


_SCALE_CHILD = r"""
import json, sys, time
t_start = time.perf_counter()
sys.path.insert(0, {bench!r})
from archcalc import analyze
from archcalc.format import render_table
what = {what!r}
if what.startswith("synthetic"):
    from synthetic import synthetic
    graph = synthetic(int(what.split()[1]))
    w, c = time.perf_counter(), time.process_time()
    r = analyze(graph)
    w, c = time.perf_counter() - w, time.process_time() - c
elif what.startswith("whole zoo"):
    from archcalc.zoo import names
    render = what == "whole zoo + tables"
    w, c = time.perf_counter(), time.process_time()
    for n in names():
        r = analyze(n)
        if render:
            render_table(r)
    w, c = time.perf_counter() - w, time.process_time() - c
else:
    model, shape = what.split()
    w, c = time.perf_counter(), time.process_time()
    render_table(analyze(model, input=shape))
    w, c = time.perf_counter() - w, time.process_time() - c
print(json.dumps({{"wall": w, "cpu": c}}))
"""

#: the whole zoo as a user runs it: the CLI builds and analyses every entry and prints one row each
ZOO_CLI = "whole zoo: archcalc list"


def scale_table(sizes, extra, env, repeat):
    """Each case ``repeat`` times in a fresh process; the row is the run with the median process time."""
    from archcalc.zoo import names

    cases = [f"synthetic {n}" for n in sizes] + list(extra)
    rows = []
    for what in cases:
        if what == ZOO_CLI:
            cmd = [sys.executable, "-m", "archcalc", "list"]
        else:
            cmd = [sys.executable, "-c", _SCALE_CHILD.format(bench=os.path.join(ROOT, "benchmarks"), what=what)]
        runs, failure = [], None
        for _ in range(repeat):
            wall, cpu, peak, rc, out, err = run_process(cmd, env)
            if rc != 0:
                failure = "failed: " + (err.strip().splitlines() or ["?"])[-1][:60]
                break
            inner = {"wall": None, "cpu": cpu} if what == ZOO_CLI else json.loads(out.strip().splitlines()[-1])
            runs.append((wall, inner["wall"], inner["cpu"], peak))
        if failure:
            rows.append((what, None, None, wall, peak, failure))
            continue
        runs.sort()
        pw, w, c, peak = runs[len(runs) // 2]
        note = ""
        if what.startswith("whole zoo"):
            note = f"{len(names())} models" + (", per-layer tables" if what.endswith("tables") else
                                               ", one summary row each" if what == ZOO_CLI else ", no tables")
        if repeat > 1:
            note += ("; " if note else "") + f"process {runs[0][0]:.3f}-{runs[-1][0]:.3f} s over {repeat} runs"
        rows.append((what, w, c, pw, peak, note))
        print(f"  measured {what:<24} {pw:7.3f} s (process, median of {repeat})", file=sys.stderr, flush=True)
    return rows


def print_scale(rows):
    print("archcalc scale (fresh processes; 'analysis' = the timed part inside the process, "
          "see the module docstring; median run)\n")
    head = f"{'case':<24} {'analysis s':>10} {'cpu s':>7} {'process s':>9} {'peak MiB':>9}  note"
    print(head)
    print("-" * len(head))
    prev = None
    for what, w, c, pw, peak, note in rows:
        if c is None:
            print(f"{what:<24} {'-':>10} {'-':>7} {pw:9.3f} {peak:9.1f}  {note}")
            continue
        if what.startswith("synthetic") and prev:
            note = f"x{w / prev[1]:.1f} time for x{int(what.split()[1]) // prev[0]} layers" + ("; " + note if note else "")
        if what.startswith("synthetic"):
            prev = (int(what.split()[1]), w)
        budget = SCALE_BUDGET_S.get(what)
        if budget is not None:
            measured = w if what.startswith("synthetic") else pw
            note = (note + "; " if note else "") + f"budget {budget:.0f} s ({'analysis' if what.startswith('synthetic') else 'process'}): " + (
                "within" if measured <= budget else "OVER")
        print(f"{what:<24} {'-' if w is None else f'{w:.3f}':>10} {c:7.3f} {pw:9.3f} {peak:9.1f}  {note}")
    print()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="archcalc only, 1 repetition, 100/1,000 layers")
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--tools", nargs="+", default=["archcalc", *_PEERS], choices=["archcalc", *_PEERS])
    p.add_argument("--repeat", type=int, default=5, help="runs of archcalc per model (median)")
    p.add_argument("--peer-repeat", type=int, default=1, help="runs of each torch peer per model (median)")
    p.add_argument("--no-scale", action="store_true")
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--no-compile", action="store_true", help="do not byte-compile archcalc first")
    args = p.parse_args(argv)
    if args.quick:
        args.tools, args.repeat, args.peer_repeat = ["archcalc"], 1, 1
    env = _env()
    sys.path.insert(0, ROOT)
    if not args.no_compile:
        # pip byte-compiles installed packages; a source checkout under PYTHONDONTWRITEBYTECODE=1 would
        # otherwise recompile every module in every process
        import compileall

        compileall.compile_dir(os.path.join(ROOT, "archcalc"), quiet=1)
    cpus = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {sys.version.split()[0]} on {cpus} CPU(s); load average {load:.1f} at start "
          "(wall times include waiting for a core; cpu = user + system time)\n")
    if not args.no_peers:
        print_peers(peers_table(args.models, args.tools, args.repeat, args.peer_repeat, env))
    if not args.no_scale:
        sizes = (100, 1000) if args.quick else (100, 1000, 10000)
        extra = () if args.quick else (ZOO_CLI, "whole zoo analysis", "whole zoo + tables", "resnet50 3xHxW")
        print_scale(scale_table(sizes, extra, env, args.repeat))
        __import__("reports").run(quick=args.quick)  # benchmarks/reports.py: report rendering (issue 17)
    __import__("symbolic").main_from_run(args, env)  # benchmarks/symbolic.py: symbolic/numeric ratios, sweep throughput
    return 0


if __name__ == "__main__":
    sys.exit(main())
