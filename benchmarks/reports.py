"""Report rendering benchmarks (issue 17): how long a report, the notebook view and the JSON
document take, and what streaming the JSON costs in memory.

    python benchmarks/reports.py            # full: up to 10,000-layer reports, 500,002-layer JSON
    python benchmarks/reports.py --quick    # 1,000 layers, one HTML report (benchmarks/run.py --quick)

Each case runs in a fresh ``python`` process (imports included where the row says "cold");
times are wall seconds of the rendering call only, the analysis is done before the clock starts.
``rss`` is the process's peak resident set size after the case, ``rss before`` after the analysis:
their difference is what rendering added. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CASE = r"""
import json, os, resource, sys, time
sys.path[:0] = [ROOT, os.path.join(ROOT, "benchmarks")]
from archcalc import analyze
what, model = sys.argv[1], sys.argv[2]
if model.startswith("synthetic"):
    from synthetic import synthetic
    r = analyze(synthetic(int(model.split()[1])))
else:
    r = analyze(model)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if what == "notebook cold":
    n = len(r._repr_html_())
elif what == "notebook warm":
    r._repr_html_()
    t = time.perf_counter()
    n = len(r._repr_html_())
elif what in ("html", "md"):
    n = len(r.report(what))
elif what == "json (format.render_json)":
    from archcalc.format import render_json
    with open(os.devnull, "w") as f:
        n = f.write(render_json(r))
elif what == "json (streamed)":
    from archcalc.jsonstream import write_json
    with open(os.devnull, "w") as f:
        n = write_json(r, f)
s = time.perf_counter() - t
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": s, "chars": n, "rss_before_mb": before / 1024, "rss_mb": after / 1024,
                  "layers": len(r.layers)}))
"""


def cases(quick: bool) -> list:
    big = "synthetic 1000" if quick else "synthetic 10000"
    out = [("notebook cold", "resnet50"), ("notebook warm", "resnet50"), ("html", "vgg16")]
    out += [] if quick else [("html", "resnet50"), ("html", big)]
    out += [("md", big), ("json (format.render_json)", big), ("json (streamed)", big)]
    if not quick:
        out += [("json (format.render_json)", "synthetic 500002"), ("json (streamed)", "synthetic 500002")]
    return out


def run_case(what: str, model: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CASE.replace("ROOT", repr(ROOT)), what, model],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list:
    rows = []
    run_case("html", "lenet5")  # warm-up, discarded: the first process pays for disk caches (fonts, .pyc)
    print("archcalc reports (each case a fresh process; seconds = the rendering call only)")
    print(f"{'case':<28} {'model':<18} {'layers':>8} {'seconds':>8} {'MB out':>8} {'rss before':>10} {'rss':>8}")
    for what, model in cases(quick):
        r = run_case(what, model)
        rows.append({"case": what, "model": model, **r})
        if "error" in r:
            print(f"{what:<28} {model:<18} error: {r['error']}")
            continue
        print(f"{what:<28} {model:<18} {r['layers']:>8,} {r['seconds']:>8.3f} {r['chars'] / 1e6:>8.2f} "
              f"{r['rss_before_mb']:>10.0f} {r['rss_mb']:>8.0f}")
    print()
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="1,000-layer cases only")
    run(p.parse_args(argv).quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
