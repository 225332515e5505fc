"""Random Conv2d / ConvTranspose2d / pooling / Linear configurations against the real torch layer.

For each drawn configuration archcalc's rule and the torch layer (on the CPU: the meta device skips
some of torch's argument checks, e.g. ConvTranspose2d's output_padding < stride; the tensors are tiny) must agree on: whether the configuration is valid, the output shape, the
parameter count and the MACs (FlopCounterMode's FLOPs / 2 for conv and linear; 0 for pooling).

The number of configurations checked is written to pytest's cache
(``pytest --cache-show archcalc/hypothesis_configs``) and, when the environment variable
``ARCHCALC_HYPOTHESIS_REPORT`` names a file, to that file as JSON.
"""

from __future__ import annotations

import json
import os

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import archcalc  # noqa: E402
from archcalc.errors import ArchcalcError  # noqa: E402
from archcalc.graph import Builder  # noqa: E402
from archcalc import layers as L  # noqa: E402

pytestmark = pytest.mark.torch

N_EXAMPLES = 2000
CHECKED = {"conv2d": 0, "conv_transpose2d": 0, "max_pool2d": 0, "avg_pool2d": 0, "linear": 0, "invalid": 0}

small = st.integers(1, 4)


@st.composite
def configs(draw):
    kind = draw(st.sampled_from(["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "linear"]))
    if kind == "linear":
        return kind, {"fin": draw(st.integers(1, 64)), "fout": draw(st.integers(1, 64)),
                      "bias": draw(st.booleans()), "rows": draw(st.sampled_from([None, 1, 3]))}
    # mostly valid sizes, with edge cases (1-pixel inputs, kernels larger than the input) kept in
    h, w = draw(st.one_of(st.integers(6, 24), st.integers(1, 5))), draw(st.one_of(st.integers(6, 24), st.integers(1, 5)))
    k = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    s = (draw(small), draw(small))
    if kind.endswith("pool2d"):  # torch requires padding <= kernel/2; draw mostly in range
        p = (draw(st.integers(0, k[0] // 2 + (draw(st.integers(0, 9)) == 0))),
             draw(st.integers(0, k[1] // 2 + (draw(st.integers(0, 9)) == 0))))
    else:
        p = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    d = (draw(st.sampled_from([1, 1, 1, 2, 3])), draw(st.sampled_from([1, 1, 1, 2, 3])))
    cfg = {"h": h, "w": w, "k": k, "s": s, "p": p, "d": d}
    if kind in ("conv2d", "conv_transpose2d"):
        g = draw(st.sampled_from([1, 1, 2, 3, 4]))
        cfg.update(cin=g * draw(small), cout=g * draw(small), groups=g, bias=draw(st.booleans()))
        if kind == "conv_transpose2d":
            cfg["op"] = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
        elif draw(st.booleans()):
            cfg["p"] = draw(st.sampled_from(["same", "valid"]))
            if cfg["p"] == "same":
                cfg["s"] = (1, 1)  # torch allows padding='same' only with stride 1
    else:
        cfg.update(c=draw(small), ceil=draw(st.booleans()))
        if kind == "avg_pool2d":
            cfg["include_pad"] = draw(st.booleans())
    return kind, cfg


def _torch_layer(nn, kind, c):
    if kind == "conv2d":
        return nn.Conv2d(c["cin"], c["cout"], c["k"], c["s"], c["p"], c["d"], c["groups"], c["bias"]), (c["cin"], c["h"], c["w"])
    if kind == "conv_transpose2d":
        return nn.ConvTranspose2d(c["cin"], c["cout"], c["k"], c["s"], c["p"], c["op"], c["groups"], c["bias"], c["d"]), \
            (c["cin"], c["h"], c["w"])
    if kind == "max_pool2d":
        return nn.MaxPool2d(c["k"], c["s"], c["p"], c["d"], ceil_mode=c["ceil"]), (c["c"], c["h"], c["w"])
    if kind == "avg_pool2d":
        return nn.AvgPool2d(c["k"], c["s"], c["p"], c["ceil"], c["include_pad"]), (c["c"], c["h"], c["w"])
    shape = (c["fin"],) if c["rows"] is None else (c["rows"], c["fin"])
    return nn.Linear(c["fin"], c["fout"], c["bias"]), shape


def _archcalc_layer(kind, c):
    if kind == "conv2d":
        return L.Conv2d(c["cout"], c["k"], c["s"], c["p"], c["d"], c["groups"], c["bias"])
    if kind == "conv_transpose2d":
        return L.ConvTranspose2d(c["cout"], c["k"], c["s"], c["p"], c["op"], c["d"], c["groups"], c["bias"])
    if kind == "max_pool2d":
        return L.MaxPool2d(c["k"], c["s"], c["p"], c["d"], c["ceil"])
    if kind == "avg_pool2d":
        return L.AvgPool2d(c["k"], c["s"], c["p"], c["ceil"], c["include_pad"])
    return L.Linear(c["fout"], c["bias"])


@pytest.fixture(scope="module")
def report(request):
    yield CHECKED
    n = sum(CHECKED.values())
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        cache.set("archcalc/hypothesis_configs", dict(CHECKED, total=n))
    path = os.environ.get("ARCHCALC_HYPOTHESIS_REPORT")
    if path:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dict(CHECKED, total=n), f)
        os.replace(tmp, path)
    print(f"\narchcalc hypothesis: {n} layer configurations checked against torch {dict(CHECKED)}")


def test_random_layers_match_torch(torch, report):
    nn = torch.nn
    from torch.utils.flop_counter import FlopCounterMode

    @settings(max_examples=N_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(configs())
    def check(cfg):
        kind, c = cfg
        # torch: validity, output shape, params, MACs
        try:
            mod, shape = _torch_layer(nn, kind, c)
            x = torch.zeros((1, *shape))
            mode = FlopCounterMode(display=False)
            with mode, torch.no_grad():
                y = mod(x)
            # torch returns an empty tensor for a transposed conv whose output size is 0; archcalc
            # rejects that configuration, so both call it invalid
            torch_error = ValueError(f"empty output {tuple(y.shape)}") if y.numel() == 0 else None
        except (RuntimeError, ValueError) as e:
            torch_error = e
        b = Builder("one", shape if torch_error is None else _torch_shape(kind, c))
        b.add(_archcalc_layer(kind, c), b.input, name="layer")
        try:
            r = archcalc.analyze(b.build())
            ours_error = None
        except ArchcalcError as e:
            ours_error = e
        except ValueError as e:  # spec-level rejection (e.g. bad padding string)
            ours_error = e
        if torch_error is not None or ours_error is not None:
            assert (torch_error is None) == (ours_error is None), (
                f"{kind} {c}: torch says {torch_error!r}, archcalc says {ours_error!r}")
            CHECKED["invalid"] += 1
            return
        rec = r["layer"]
        assert tuple(y.shape[1:]) == tuple(rec.output_shape), f"{kind} {c}: shape"
        assert sum(p.numel() for p in mod.parameters()) == rec.params, f"{kind} {c}: params"
        if kind in ("conv2d", "conv_transpose2d", "linear"):
            assert mode.get_total_flops() == 2 * rec.macs, f"{kind} {c}: macs (FlopCounterMode = 2 x MACs)"
        else:
            assert rec.macs == 0 and mode.get_total_flops() == 0
        CHECKED[kind] += 1

    check()
    assert sum(CHECKED.values()) >= N_EXAMPLES  # every drawn configuration was checked one way or the other


def _torch_shape(kind, c):
    if kind == "linear":
        return (c["fin"],) if c["rows"] is None else (c["rows"], c["fin"])
    return (c.get("cin", c.get("c")), c["h"], c["w"])
