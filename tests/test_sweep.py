"""``archcalc sweep``: every grid point must equal an exact single analysis (the oracle), and the
MobileNet width x resolution table of Howard et al. 2017 (Tables 6-7) comes out of one sweep."""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas")

import archcalc  # noqa: E402
from archcalc import analyze  # noqa: E402
from archcalc.cli import main  # noqa: E402
from archcalc.memory import inference_memory  # noqa: E402
from archcalc.sweep import SweepError, parse_grid, parse_values, pareto_front  # noqa: E402

TOTALS = ("params", "trainable_params", "macs", "flops", "activations", "activation_bytes")


def _same_as_single_analysis(row, result):
    for k in TOTALS:
        assert row[k] == result.totals[k], k
    assert row["peak_inference_bytes"] == inference_memory(result).peak_bytes


def test_mobilenet_width_by_resolution_table():
    widths, sides = [0.25, 0.5, 0.75, 1.0], [128, 160, 192, 224]
    f = archcalc.sweep("mobilenet_v1", width_mult=widths, resolution=sides)
    assert len(f) == 16 and list(f.columns[:3]) == ["width_mult", "resolution", "valid"]
    for row in f.to_dict("records"):
        _same_as_single_analysis(row, analyze("mobilenet_v1", width_mult=row["width_mult"],
                                              resolution=row["resolution"]))
    macs = {(r["width_mult"], r["resolution"]): r["macs"] for r in f.to_dict("records")}
    # Table 6 (224x224, Million Mult-Adds): 569, 325, 149, 41
    assert [round(macs[(w, 224)] / 1e6) for w in (1.0, 0.75, 0.5, 0.25)] == [569, 325, 149, 41]
    # Table 7 (alpha 1): 569, 418, 290, 186, printed as the 224 count times rho^2
    assert [round(macs[(1.0, 224)] * s * s / 224 ** 2 / 1e6) for s in (224, 192, 160, 128)] == [569, 418, 290, 186]
    assert macs[(1.0, 160)] == 290_675_200  # the exact count the paper rounds down to 290


def test_input_symbols_never_rebuild_and_match_exact_analysis():
    f = archcalc.sweep("resnet50", input="3xHxW", H="32:47", W=[224, 225, 1031])
    assert len(f) == 16 * 3 and f["valid"].all()
    for row in f.to_dict("records")[::5]:
        _same_as_single_analysis(row, analyze("resnet50", input=(3, row["H"], row["W"])))


def test_invalid_points_are_missing_not_numbers():
    f = archcalc.sweep("unet_padded", input="1xHxW", H="8:40", W=[32])
    assert list(f["valid"]) == [h % 16 == 0 for h in range(8, 41)]  # its skip joins need H = 0 (mod 16)
    assert f.loc[~f["valid"], "macs"].isna().all()
    ok = f[f["valid"]].iloc[0]
    assert ok["macs"] == analyze("unet_padded", input=(1, int(ok["H"]), 32)).totals["macs"]


def test_batch_symbol_scales():
    f = archcalc.sweep("resnet18", batch="N", N=[1, 2, 8])
    one = analyze("resnet18")
    assert list(f["macs"]) == [n * one.totals["macs"] for n in (1, 2, 8)]
    assert list(f["peak_inference_bytes"]) == [inference_memory(analyze("resnet18", batch=n)).peak_bytes
                                               for n in (1, 2, 8)]


def test_grid_parsing():
    assert parse_values("H", "32:1031") == list(range(32, 1032)) and len(parse_values("H", "32:1031")) == 1000
    assert parse_values("H", "10:20:5") == [10, 15, 20]
    assert parse_values("width_mult", "0.25,0.5") == [0.25, 0.5]
    assert parse_grid(["a=1", "b=true"]) == {"a": [1], "b": [True]}
    for bad in ("H=", "H=5:1", "H=1:5:0", "H=1:x", "=3", "H=__import__('os')"):
        with pytest.raises(SweepError):
            parse_grid([bad])
    with pytest.raises(SweepError):
        parse_grid(["H=1", "H=2"])


def test_pareto_front():
    f = pd.DataFrame({"valid": [True] * 4, "macs": [1, 2, 3, 4], "params": [5, 3, 4, 1]})
    assert list(pareto_front(f, "macs", "params")["macs"]) == [1, 2, 4]  # 3 is beaten by 2
    assert list(pareto_front(f, "macs", "params", maximize=("params",))["macs"]) == [1]


def test_cli_csv_and_errors(capsys, tmp_path):
    argv = ["sweep", "mobilenet_v1", "--grid", "width_mult=0.25,0.5,0.75,1.0", "--grid",
            "resolution=128,160,192,224", "--format", "csv"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 17 and lines[0].startswith("width_mult,resolution,valid,params,")
    assert main(["sweep", "resnet50", "--grid", "depth=3"]) == 2
    assert "not a builder keyword of resnet50" in capsys.readouterr().err
    assert main(["sweep", "resnet50", "--input", "3xHxW", "--grid", "H=32:40"]) == 2
    assert "input symbol W has no values" in capsys.readouterr().err
    assert main(["sweep", "mobilenet_v1", "--list-params"]) == 0
    assert "width_mult=1.0" in capsys.readouterr().out
    out = tmp_path / "front.html"
    assert main(["sweep", "mobilenet_v1", "--grid", "width_mult=0.5,1.0", "--grid", "resolution=128,224",
                 "--report", "html", "-o", str(out)]) == 0
    page = out.read_text()
    assert "<svg" in page and "Pareto front of macs against params" in page
    assert main(["sweep", "mobilenet_v1", "--grid", "width_mult=0.5", "-o", str(out)]) == 2  # exists, no --force
    assert "exists" in capsys.readouterr().err


def test_a_symbol_inside_the_model_needs_grid_values(capsys):
    # Faster R-CNN's proposal count is the symbol R by default (a builder keyword, proposals=)
    assert main(["sweep", "faster_rcnn_vgg16", "--grid", "num_classes=21,81"]) == 2
    assert "depend on R, which the grid does not set: add --grid proposals=..." in capsys.readouterr().err
    f = archcalc.sweep("faster_rcnn_vgg16", proposals=[100, 300])
    for row in f.to_dict("records"):
        _same_as_single_analysis(row, analyze("faster_rcnn_vgg16", proposals=row["proposals"]))


def test_benchmark_quick_sweep_rows():
    import os
    import subprocess
    import sys

    if not os.path.exists("/usr/bin/time"):
        pytest.skip("benchmarks measure with GNU time (apt-get install -y time)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, os.path.join(root, "benchmarks", "symbolic.py"), "--no-zoo",
                           "--points", "10000"], capture_output=True, text=True, timeout=300, cwd=root)
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.strip().startswith("10,000"))
    assert "100x100" in row


def test_spec_file_sweeps_its_input_symbols(tmp_path):
    from archcalc.spec import dumps_spec
    from test_formula import chain

    path = tmp_path / "chain.yaml"
    path.write_text(dumps_spec(chain(2)))
    f = archcalc.sweep(str(path), input="4xHxW", H="1:40", W=[7])
    # two ceil-pool/conv joins: valid for H = 3 (mod 4) once both stages have a row, i.e. H >= 7
    assert [int(h) for h in f.loc[f["valid"], "H"]] == [h for h in range(1, 41) if h % 4 == 3 and h >= 7]
    row = f[f["H"] == 23].iloc[0]
    assert row["macs"] == analyze(chain(2), input=(4, 23, 7)).totals["macs"]


def test_a_build_too_small_to_run_gives_invalid_rows():
    # VGG-16 at 16x16: pool5 would need 2 rows where 1 is left; each build fails, each row is invalid
    f = archcalc.sweep("vgg16", input="3x16x16", num_classes=[10, 100])
    with pytest.raises(archcalc.ArchcalcError):
        analyze("vgg16", input=(3, 16, 16), num_classes=10)
    assert list(f["valid"]) == [False, False] and f["macs"].isna().all()
    ok = archcalc.sweep("vgg16", input="3x32x32", num_classes=[10])
    assert ok["valid"].all() and ok["macs"][0] == analyze("vgg16", input=(3, 32, 32), num_classes=10).totals["macs"]


def test_counts_beyond_int64_are_refused(capsys):
    # 10^11 images of ResNet-50 at 224: 4.1e9 * 1e11 MACs is past 2^62; numpy would wrap silently
    assert main(["sweep", "resnet50", "--batch", "N", "--grid", "N=1,100000000000"]) == 2
    assert "does not fit in 64-bit integers" in capsys.readouterr().err
