"""The streamed JSON writer is byte-identical to ``--format json`` (json.dumps of Result.to_dict)."""

from __future__ import annotations

import io
import json
import sys
import tracemalloc
from pathlib import Path

import pytest

from archcalc import Builder, analyze
from archcalc.layers import Conv2d
from archcalc.jsonstream import iter_json, write_json


def render_json(r) -> str:
    """The oracle: the whole document through json's own encoder (what format.render_json printed
    before it was streamed)."""
    return json.dumps(r.to_dict(), indent=2)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.mark.parametrize("model, kwargs", [
    ("lenet5", {}), ("vgg16", {"batch": 3, "dtype": "fp16"}), ("googlenet", {}),
    ("resnet50", {"input": "3xHxW"}), ("faster_rcnn_vgg16", {}), ("show_and_tell", {}),
])
def test_stream_equals_format_json(model, kwargs):
    if kwargs.get("input") or model in ("faster_rcnn_vgg16", "show_and_tell"):
        pytest.importorskip("sympy")
    r = analyze(model, **kwargs)
    buf = io.StringIO()
    n = write_json(r, buf)
    assert buf.getvalue() == render_json(r) and n == len(buf.getvalue())


def test_stream_equals_format_json_for_one_layer_and_hostile_names():
    b = Builder('quote"back\\slash\u00e9\n', input_shape=(3, 8, 8))
    b.add(Conv2d(4, 3), b.input, name='c"\\\u2028')
    r = analyze(b.build())
    assert "".join(iter_json(r)) == render_json(r)


def test_stream_memory_stays_bounded():
    from synthetic import synthetic

    r = analyze(synthetic(10000))
    whole = sum(len(piece) for piece in iter_json(r, chunk_layers=64))  # also warms the shape caches
    tracemalloc.start()
    for _ in iter_json(r, chunk_layers=64):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # a chunk of 64 layers (about 0.25 MB traced at the peak), not the 10,000-layer document (4.8 MB)
    assert peak < whole / 10, (peak, whole)
