"""The benchmark script runs end to end in its quick mode (archcalc only, no torch). Times are
printed, never asserted: a loaded CI machine must not fail the suite."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.skipif(not os.path.exists("/usr/bin/time"), reason="benchmarks/run.py measures with GNU time")
def test_benchmark_quick_mode_prints_both_tables():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "--quick", "--no-compile",
                           "--models", "vgg16", "nosuchmodel"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "archcalc vs torch peers" in out and "archcalc scale" in out
    vgg = next(line for line in out.splitlines() if line.startswith("vgg16 ") and " archcalc " in line)
    assert "params 138,357,544" in vgg  # torchvision's VGG16_Weights num_params, parsed from the CLI table
    assert any(line.startswith("nosuchmodel") and "not in archcalc's zoo yet" in line for line in out.splitlines())
    assert any(line.startswith("synthetic 1000 ") for line in out.splitlines())


def test_synthetic_network_has_exactly_n_layers():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        from synthetic import synthetic
    finally:
        sys.path.pop(0)
    from archcalc import analyze

    r = analyze(synthetic(100))
    assert len(r.layers) == 100  # input + 16 six-layer blocks + avgpool, flatten, fc
    assert r.totals["macs"] == 16 * 2 * (32 * 32 * 16 * 16 * 3 * 3) + 16 * 10  # 32 convs at 32x32 + fc
    with pytest.raises(ValueError):
        synthetic(101)
