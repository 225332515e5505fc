"""Symbolic analysis and sweep throughput (issue 16), as whole processes.

    python benchmarks/symbolic.py                  # every zoo model, sweeps of 10^4, 10^6, 10^7 points
    python benchmarks/symbolic.py --quick          # two models, 10^4 points (what the test runs)
    python benchmarks/run.py                       # runs this too, after the peer and scale tables

- **symbolic / numeric**: ``python -m archcalc MODEL`` against ``python -m archcalc MODEL --input
  CxHxW`` (the table printed either way; the symbolic process imports sympy, about half its time).
  The ratio is of cpu time (user + system), which a loaded machine disturbs less than wall time;
  the issue's bound is 10x.
- **sweep throughput**: ResNet-50 at ``3xHxW`` in a fresh process for grids of 10^4, 10^6 and 10^7
  points (H x W = 100x100, 1000x1000, 1000x10000): the process's wall and cpu time and peak RSS (GNU
  time), and the in-process time of evaluating every column (totals, validity mask, inference peak)
  from the compiled formulas over the grid (imports, the one symbolic analysis and compilation
  excluded), as points per second.

Times are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import run as base  # noqa: E402  (benchmarks/run.py: run_process, measure, the environment)

SWEEPS = {10 ** 4: ("32:131", "32:131"), 10 ** 6: ("32:1031", "32:1031"), 10 ** 7: ("32:1031", "32:10031")}

_SWEEP_SCRIPT = """
import sys, time
import numpy as np
import archcalc.sweep as s
from archcalc import analyze
grid = s.parse_grid(["H=" + sys.argv[1], "W=" + sys.argv[2]])
result = analyze("resnet50", input="3xHxW")
model = s.CompiledModel(result)  # compile the formulas once
t = time.process_time()  # cpu time: a loaded machine's waiting is not the sweep's
h, w = np.meshgrid(np.array(grid["H"]), np.array(grid["W"]), indexing="ij")
n = h.size
cols = model({"H": h.ravel(), "W": w.ravel()}, n)
dt = time.process_time() - t
print("EVAL", n, dt, int(cols["valid"].sum()))
"""


def zoo_ratios(models, repeat, env):
    from archcalc.zoo import get_entry

    rows = []
    for name in models:
        shape = get_entry(name).input_shape
        if len(shape) != 3:
            rows.append((name, None, None, f"input {shape} has no H, W"))
            continue
        num = base.measure([sys.executable, "-m", "archcalc", name], repeat, env)
        sym = base.measure([sys.executable, "-m", "archcalc", name, "--input", f"{shape[0]}xHxW"], repeat, env)
        rows.append((name, num, sym, num.get("error") or sym.get("error") or ""))
        print(f"  {name:28s} {_fmt(num)}  {_fmt(sym)}  {_ratio(num, sym)}", flush=True)
    return rows


def _fmt(m):
    if not m or "error" in m:
        return "           -          -"
    return f"{m['wall']:10.3f} {m['cpu']:10.3f}"


def _ratio(num, sym):
    if not num or not sym or "error" in num or "error" in sym:
        return "-"
    return f"{sym['cpu'] / num['cpu']:5.1f}x"


def print_ratios(rows):
    ratios = [(r[2]["cpu"] / r[1]["cpu"], r[0]) for r in rows if r[1] and r[2] and "error" not in r[1]
              and "error" not in r[2]]
    if not ratios:
        return
    values = sorted(x for x, _ in ratios)
    worst = max(ratios)
    over = [n for x, n in ratios if x > 10]
    print(f"\nsymbolic / numeric cpu time over {len(ratios)} models: median {statistics.median(values):.1f}x, "
          f"worst {worst[0]:.1f}x ({worst[1]}); above 10x: {', '.join(over) or 'none'}")
    for r in rows:
        if r[3]:
            print(f"  {r[0]}: {r[3]}")


def sweep_throughput(sizes, env):
    print("\nsweep throughput: resnet50 at 3xHxW, every column from the compiled formulas (fresh process each)\n")
    print(f"{'points':>12} {'grid':>14} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9} {'eval s':>8} {'points/s':>14}")
    rows = []
    for n in sizes:
        h, w = SWEEPS[n]
        wall, cpu, peak, code, out, err = base.run_process([sys.executable, "-c", _SWEEP_SCRIPT, h, w], env)
        if code != 0:
            print(f"{n:>12,} error: {(err.strip().splitlines() or ['exit %d' % code])[-1]}")
            continue
        line = next(x for x in out.splitlines() if x.startswith("EVAL "))
        _, points, dt, valid = line.split()
        points, dt = int(points), float(dt)
        rows.append((points, wall, cpu, peak, dt))
        grid = f"{len(range(*_bounds(h)))}x{len(range(*_bounds(w)))}"
        print(f"{points:>12,} {grid:>14} {wall:8.2f} {cpu:8.2f} {peak:9.1f} {dt:8.3f} {points / dt:>14,.0f}")
    return rows


def _bounds(text):
    a, b = text.split(":")
    return int(a), int(b) + 1


def main_from_run(args, env):
    """Called by benchmarks/run.py after its own tables (``--quick`` there means quick here)."""
    # one run per process: the zoo part alone is 222 processes (run symbolic.py --repeat N for medians)
    run_all(quick=getattr(args, "quick", False), repeat=1, env=env)


def run_all(quick=False, repeat=1, models=None, sizes=None, env=None):
    from archcalc.zoo import names

    env = env or base._env()
    models = models or (["resnet50", "efficientnet_b0"] if quick else list(names()))
    sizes = sizes or ([10 ** 4] if quick else sorted(SWEEPS))
    print(f"\narchcalc symbolic: whole processes, median of {repeat} run(s)\n")
    print(f"  {'model':28s} {'numeric wall':>10} {'cpu':>10}  {'symbolic wall':>10} {'cpu':>10}  ratio (cpu)")
    print_ratios(zoo_ratios(models, repeat, env))
    sweep_throughput(sizes, env)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="two models, 10^4 points")
    p.add_argument("--repeat", type=int, default=1, help="runs per process (median)")
    p.add_argument("--models", nargs="+", help="zoo models (default: all)")
    p.add_argument("--points", nargs="+", type=int, choices=sorted(SWEEPS), help="sweep sizes")
    p.add_argument("--no-zoo", action="store_true", help="only the sweep throughput")
    args = p.parse_args(argv)
    sys.path.insert(0, base.ROOT)
    env = base._env()
    if args.no_zoo:
        sweep_throughput(args.points or sorted(SWEEPS), env)
        return 0
    run_all(quick=args.quick, repeat=args.repeat, models=args.models, sizes=args.points, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
