"""The torch oracle the zoo tests compare archcalc with: the real torchvision/timm model, built on the
meta device (weights=None: no memory, no download), run once with a forward hook on every module.

It is independent of archcalc's rules: output shapes come from the hooks, params from ``numel()``,
MACs from each conv/linear module's own hyper-parameters times its hooked output size
(conv: ``out.numel() * in/groups * kh * kw``; linear: ``out.numel() * in_features``; bias not
counted) and, separately, from torch's FlopCounterMode (which charges ``2 * MACs``).

Imported by the tests as a plain module (``from torch_oracle import ...``), like ``conftest.require``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# torch module kinds whose archcalc layer carries the same kind name (by isinstance, so timm's
# subclasses such as BatchNormAct2d count as their base kind)
MAC_KINDS = ("Conv2d", "Linear")
NO_MAC_KINDS = ("BatchNorm2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "LocalResponseNorm")  # macs == 0
#: zoo families added for issue 15, each compared with its torchvision twin by tests/test_zoo_torchvision.py
#: with the settings the family needs (3-d convs, attention and channels-last layers through
#: FlopCounterMode per module; RAFT with its iterations); the classic-family checks skip them there
TWIN_CHECKED_BY_TEST_ZOO_TORCHVISION = ("RegNet", "MNASNet", "EfficientNetV2", "Segmentation (torchvision)", "Video",
                                        "ConvNeXt", "ViT", "Swin", "MaxViT", "Optical flow")

KINDS = ("Conv2d", "ConvTranspose2d", "Linear", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
         "LocalResponseNorm")
# what test_zoo_classic.py's models are checked on (every one that runs must have an archcalc layer)
CONV_LINEAR_BN = ("Conv2d", "Linear", "BatchNorm2d")


# ---------------------------------------------------------------------------------------- building


def tv_model(torch, torchvision, builder: str, **kwargs):
    """``torchvision.models.<builder>(weights=None, **kwargs)`` on the meta device; ``builder`` may be
    dotted (``"detection.ssd300_vgg16"``)."""
    fn = torchvision.models
    for part in builder.split("."):
        fn = getattr(fn, part)
    with torch.device("meta"):
        return fn(weights=None, **kwargs)


def tv_entry_model(torch, torchvision, entry):
    """A zoo entry's torchvision builder with its ``torchvision_kwargs``, on the meta device, in eval
    mode; ``init_weights=False`` where the builder has that switch (it only costs time on meta)."""
    try:
        return tv_model(torch, torchvision, entry.torchvision, init_weights=False, **entry.torchvision_kwargs).eval()
    except TypeError:  # builders without an init_weights switch
        return tv_model(torch, torchvision, entry.torchvision, **entry.torchvision_kwargs).eval()


def timm_model(torch, timm, name: str):
    with torch.device("meta"):
        return timm.create_model(name, pretrained=False)


# ---------------------------------------------------------------------------------------- profiling


@dataclass
class Run:
    """One torch module: its kind (by isinstance for KINDS, else its class name), own parameter count,
    per-sample output shape of each call (None for a non-tensor output), MACs from its own
    hyper-parameters summed over its calls (None where it is no conv/linear), FlopCounterMode flops."""

    kind: str
    params: int
    leaf: bool
    shapes: list = field(default_factory=list)
    macs: int | None = None
    flops: int | None = None

    @property
    def calls(self) -> int:
        return len(self.shapes)

    @property
    def shape(self):
        """Output shape of its only call; None when it ran zero or several times."""
        return self.shapes[0] if len(self.shapes) == 1 else None


@dataclass
class Profile:
    modules: dict  # name -> Run, every named module except the root, in named_modules() order
    outputs: list  # per-sample shapes of the model's outputs
    flops: int  # FlopCounterMode total per sample

    def __contains__(self, name):
        return name in self.modules


def kind_of(nn, module) -> str:
    for kind in KINDS:
        if isinstance(module, getattr(nn, kind)):
            return kind
    return type(module).__name__


def _hyper_macs(nn, module, per_sample_out: int):
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return per_sample_out * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return per_sample_out * module.in_features
    return None


def profile(torch, model, input_shape, train: bool = False) -> Profile:
    """One forward pass of ``model`` (eval mode unless ``train``) on a meta tensor. Batch 2 in training
    mode: a training-mode BatchNorm on a 1x1 map (aux heads) refuses a single sample."""
    from torch.utils.flop_counter import FlopCounterMode

    nn = torch.nn
    batch = 2 if train else 1
    runs = {n: Run(kind_of(nn, m), sum(p.numel() for p in m.parameters(recurse=False)), not list(m.children()))
            for n, m in model.named_modules() if n}

    def hook(name):
        def record(module, args, out):
            run = runs[name]
            if isinstance(out, torch.Tensor):
                run.shapes.append(tuple(out.shape[1:]))
                macs = _hyper_macs(nn, module, out[0].numel())
                if macs is not None:
                    run.macs = (run.macs or 0) + macs
            else:
                run.shapes.append(None)
        return record  # returns None: the output is unchanged

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if n]
    counter = FlopCounterMode(display=False)
    model.train(train)
    try:
        with torch.no_grad(), counter:
            out = model(torch.empty((batch, *input_shape), device="meta"))
    finally:
        for h in handles:
            h.remove()
    prefix = type(model).__name__ + "."
    for key, counts in counter.get_flop_counts().items():
        if key.startswith(prefix) and key[len(prefix):] in runs:
            runs[key[len(prefix):]].flops = sum(counts.values()) // batch
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return Profile(runs, [tuple(o.shape[1:]) for o in outs], counter.get_total_flops() // batch)


# ---------------------------------------------------------------------------------------- comparing


def assert_matches(torch, result, model, *, require="params", train=False, expect_unmatched=(), min_aligned=0):
    """archcalc's ``result`` mirrors ``model``. Asserts, naming the first module that differs:

    - totals: params and buffers equal torch's; MACs equal the conv/linear hyper-parameter count
      summed over every call and half of FlopCounterMode's total;
    - every torch module ``require`` selects has an archcalc layer of the same name:
      ``"params"`` every module holding parameters (run or not), ``"leaves"`` every leaf module that
      ran, a tuple of kinds (see KINDS) every module of those kinds that ran (these two: exactly once);
    - for every torch module with an archcalc layer of the same name: equal own params; for those of
      a kind in KINDS the same kind (and no MACs for BN, pools, LRN); for those that ran exactly once
      the same output shape, and for conv/linear the same MACs as the hyper-parameters and as
      FlopCounterMode;
    - every archcalc layer holding params names a torch module that ran holding the same count (a
      leaf one with ``"leaves"``), and no archcalc conv/linear/BN layer lacks a torch module that
      ran, except the names in ``expect_unmatched``;
    - the graph's outputs have torch's output shapes (the last layer torch's single output's).

    Returns (profile, number of required modules whose output shape was compared); fewer than
    ``min_aligned`` is a failure.
    """
    prof = profile(torch, model, result.input, train)
    ours = {x.name: x for x in result.layers}
    mods = prof.modules

    if require == "params":
        required = [n for n, run in mods.items() if run.params]
    elif require == "leaves":
        required = [n for n, run in mods.items() if run.leaf and run.calls]
    else:
        required = [n for n, run in mods.items() if run.kind in require and run.calls]
    missing = [n for n in required if n not in ours]
    assert not missing, f"torch modules without an archcalc layer of that name: {missing[:10]}"
    if require != "params":  # each one's shape, MACs are compared below: one call, one answer
        shared = [n for n in required if mods[n].calls != 1]
        assert not shared, f"torch modules that ran more than once: {shared[:10]}"

    for name, run in mods.items():
        rec = ours.get(name)
        if rec is None:
            continue
        assert rec.params == run.params, (name, rec.params, run.params)
        if run.kind in KINDS:
            assert rec.kind == run.kind, (name, rec.kind, run.kind)
        if run.kind in NO_MAC_KINDS:
            assert rec.macs == 0, (name, rec.macs)
        if run.shape is not None:
            assert tuple(rec.output_shape) == run.shape, (name, rec.output_shape, run.shape)
            if run.kind in MAC_KINDS:
                assert rec.macs == run.macs, (name, rec.macs, run.macs)
                assert 2 * rec.macs == run.flops, (name, rec.macs, run.flops)
    aligned = sum(1 for n in required if mods[n].shape is not None)
    assert aligned >= min_aligned, f"only {aligned} layers aligned"

    def holds_same(x):  # a torch module of its name ran and holds its params (with "leaves": a leaf)
        run = mods.get(x.name)
        return run is not None and run.calls and run.params == x.params and (run.leaf or require != "leaves")

    extra = [x.name for x in result.layers if x.params and not holds_same(x)]
    assert not extra, f"archcalc layers holding params no torch module that ran holds: {extra[:10]}"
    unrun = [x.name for x in result.layers if x.kind in CONV_LINEAR_BN and x.name not in expect_unmatched
             and not (x.name in mods and mods[x.name].calls)]
    assert not unrun, f"archcalc layers with no torch module that ran: {unrun[:10]}"

    assert_totals(result, model, prof)
    return prof, aligned


def assert_totals(result, model, prof: Profile):
    """Whole-model figures only (for a model whose module names differ from archcalc's): params,
    buffers, MACs (hyper-parameter count and half of FlopCounterMode's) and output shapes."""
    assert result.totals["params"] == sum(p.numel() for p in model.parameters())
    assert result.totals["buffers"] == sum(b.numel() for b in model.buffers())
    final = [tuple(result[o].output_shape) for o in result.graph.output_names()]
    assert sorted(final) == sorted(prof.outputs)
    if len(prof.outputs) == 1:
        assert tuple(result.layers[-1].output_shape) == prof.outputs[0]
    hyper = sum(run.macs for run in prof.modules.values() if run.macs is not None)
    assert result.totals["macs"] == hyper
    assert 2 * result.totals["macs"] == prof.flops
