"""Issue 14 item 6: a layer kind is added in one place.

``archcalc.rules.register(Kind, traits=Traits(...))`` carries, beside the cost rule, what the kind
needs elsewhere: what it saves for backward (archcalc.memory's tables), its entry in each counting
convention (archcalc.conventions), and the per-class facts memory reads instead of testing kind
names (parameter tensors, batch-norm's step counter, a composite's intermediates). These tests check
the mechanism; tests/test_rules_modern.py checks that every registered kind has its entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import archcalc
from archcalc import conventions as C
from archcalc import layers as L
from archcalc import memory as M
from archcalc import rules
from archcalc.graph import Builder
from archcalc.rules import Cost, Traits, register, traits_of


@dataclass(frozen=True)
class Probe(L.Layer):
    """A throwaway kind for these tests (twice its input, no parameters)."""


def _probe_rule(layer, inputs):
    return Cost(output=tuple(inputs[0]), flops=2)


@pytest.fixture
def registry_snapshot():
    """Undo whatever a test registers: the rule, the traits and the table entries."""
    tables = {name: getattr(M, name) for name in set(rules._MEMORY_TABLES.values())}
    saved = {name: (set(t) if isinstance(t, set) else dict(t)) for name, t in tables.items()}
    conv_rules = {name: dict(c.rules) for name, c in C.CONVENTIONS.items()}
    rule_map, trait_map, written = dict(rules._RULES), dict(rules._TRAITS), set(rules._MEMORY_WRITTEN)
    yield
    for name, t in tables.items():
        t.clear()
        t.update(saved[name])
    for name, c in C.CONVENTIONS.items():
        c.rules.clear()
        c.rules.update(conv_rules[name])
    rules._RULES.clear()
    rules._RULES.update(rule_map)
    rules._TRAITS.clear()
    rules._TRAITS.update(trait_map)
    rules._MEMORY_WRITTEN.clear()
    rules._MEMORY_WRITTEN.update(written)


def _probe_traits(**extra):
    every = {name: {"Probe": C.R("probe: 1 per output element", out=1)}
             for name in C.OPERATION_CONVENTIONS if name != "archcalc"}
    return Traits(saved=("input",), grad_passthrough=False, forward_scratch=M.INDEX_BYTES, conventions=every, **extra)


def test_registration_writes_every_table(registry_snapshot):
    register(Probe, traits=_probe_traits())(_probe_rule)
    assert M.SAVED_FOR_BACKWARD["Probe"] == ("input",)
    assert M.FORWARD_SCRATCH["Probe"] == M.INDEX_BYTES
    assert "Probe" not in M.GRAD_PASSTHROUGH and "Probe" not in M.TRAINING_UNSUPPORTED
    b = Builder("p", (4, 5, 5))
    x = b.add(L.Conv2d(4, 1, bias=False), b.input, name="conv")  # so that the probe's input needs a gradient
    b.add(Probe(), x, name="probe")
    r = archcalc.analyze(b.build(), batch=3)
    for name in C.OPERATION_CONVENTIONS:
        conv_count = C.count(r, name).by_layer["conv"]
        expected = 0 if name == "archcalc" else 3 * 4 * 5 * 5  # the probe: 1 per output element, batch 3
        assert C.count(r, name).total == conv_count + expected, name
    # what the kind saves is read: training keeps the probe's input for backward
    assert M.training_memory(r).layers[-1].saved == ("input",)
    # the forward scratch trait: while the probe runs, the conv's output and the probe's own (fp32,
    # the conv's output is dead after it) plus int64 indices per output element
    inf = M.inference_memory(r)
    n = 3 * 4 * 5 * 5
    assert inf.layers[-1].live_bytes == 2 * n * 4 + n * M.INDEX_BYTES


def test_a_second_entry_for_a_kind_is_refused(registry_snapshot):
    """One place per kind: an entry already in a table (written the old way) cannot be declared again."""
    M.SAVED_FOR_BACKWARD["Probe"] = ("output",)
    with pytest.raises(RuntimeError, match="SAVED_FOR_BACKWARD already has an entry"):
        register(Probe, traits=_probe_traits())(_probe_rule)


def test_a_second_convention_rule_for_a_kind_is_refused(registry_snapshot):
    C.FVCORE.rules["Probe"] = C.R("old style", **C.ZERO)
    with pytest.raises(RuntimeError, match="convention 'fvcore' already has a rule for 'Probe'"):
        register(Probe, traits=Traits(conventions={"fvcore": {"Probe": C.R("new", out=1)}}))(_probe_rule)


def test_convention_keys_must_name_a_registered_kind(registry_snapshot):
    with pytest.raises(RuntimeError, match="name none of the kinds registered"):
        register(Probe, traits=Traits(conventions={"fvcore": {"Conv2d[x]": C.R("wrong kind", **C.ZERO)}}))(_probe_rule)
    assert Probe not in rules._RULES  # refused before anything was registered


def test_traits_follow_the_class_not_its_name():
    """TrainingBatchNorm2d (kind BatchNorm2d) has BatchNorm2d's traits; a wrapper has none of its
    inner layer's (memory reads the wrapper's own record)."""
    assert traits_of(L.TrainingBatchNorm2d(1e-5, 0.1, True, True)) is traits_of(L.BatchNorm2d)
    assert traits_of(L.BatchNorm3d).counts_batches and not traits_of(L.LayerNorm).counts_batches
    assert traits_of(L.PerItem(L.Linear(4))) is rules.NO_TRAITS
    assert traits_of(L.LocalResponseNorm(5)).backward_maps == 3


@pytest.mark.parametrize("layer, shape, tensors", [
    (L.Conv2d(8, 3), (4, 10, 10), (8 * 4 * 3 * 3, 8)),  # weight, bias
    (L.Conv2d(8, 3, bias=False), (4, 10, 10), (8 * 4 * 3 * 3,)),
    (L.Conv3d(2, (1, 3, 3)), (3, 4, 6, 6), (2 * 3 * 1 * 3 * 3, 2)),
    (L.ConvTranspose2d(6, 2), (4, 5, 5), (4 * 6 * 2 * 2, 6)),
    (L.Linear(5), (7,), (7 * 5, 5)),
    (L.Linear(5, bias=False), (7,), (7 * 5,)),
    (L.BatchNorm2d(), (6, 4, 4), (6, 6)),  # gamma, beta
    (L.LayerNorm((8,)), (3, 8), None),  # one tensor: not declared
])
def test_parameter_tensors_are_a_trait(layer, shape, tensors):
    b = Builder("t", shape)
    b.add(layer, b.input, name="x")
    rec = archcalc.analyze(b.build())["x"]
    split = traits_of(rec.layer).param_tensors
    assert (split(rec.layer, rec.trainable_params) if split else None) == tensors
    if tensors:
        assert sum(tensors) == rec.trainable_params
        assert M._param_tensors(rec) == len(tensors) and M._largest_tensor(rec) == max(tensors)


def test_memory_tests_no_kind_names():
    """memory.py decides nothing on a kind's spelling (``startswith("BatchNorm")``, lists of conv
    kinds): it reads traits and tables. Only the graph's Input is recognised by name."""
    src = Path(M.__file__).read_text()
    kind = r"(?:\.kind\b|\bkind\b|_kind\([^)]*\))"
    by_name = re.findall(kind + r'\s*(?:==|!=)\s*"(\w+)"', src)
    assert set(by_name) == {"Input"}, by_name
    assert not re.findall(kind + r"\.startswith\(", src)
    assert not re.findall(kind + r"\s+(?:not\s+)?in\s+[({\[]", src)  # a literal list of kind names
    assert re.findall(kind + r"\s+in\s+[A-Z_]+\b", src)  # what it does read: tables keyed by kind


def test_declared_kinds_are_complete():
    """A kind registered with traits has an entry in every operation convention (or the convention's
    default) and a training-memory trait or refusal, like every other kind."""
    for cls, traits in rules._TRAITS.items():
        kind = rules.kind_name(cls)
        if not traits.conventions and not (traits.saved is not None or traits.training_refused):
            continue  # per-class facts only (a conv's tensors): its table entries are elsewhere
        assert kind in M.SAVED_FOR_BACKWARD or kind in M.TRAINING_UNSUPPORTED, kind
        for name in C.OPERATION_CONVENTIONS:
            conv = C.get(name)
            assert conv.default is not None or any(rules._key_kind(k) == kind for k in conv.rules), (name, kind)


def test_old_style_entries_still_count(registry_snapshot):
    """Kinds added by writing the tables directly (the style before Traits) keep working."""
    register(Probe)(_probe_rule)
    M.SAVED_FOR_BACKWARD["Probe"] = ()
    for name in C.OPERATION_CONVENTIONS:
        C.get(name).rules.setdefault("Probe", C.R("old style: 0", **C.ZERO))
    b = Builder("p", (4, 5, 5))
    b.add(Probe(), b.input, name="probe")
    r = archcalc.analyze(b.build())
    assert C.count(r, "fvcore").total == 0
    assert M.training_memory(r).layers[-1].saved == ()


@pytest.mark.parametrize("layer, folds", [
    (L.Conv3d(4, 3), True), (L.BatchNorm1d(), True), (L.TrainingBatchNorm2d(1e-5, 0.1, True, True), True),
    (L.MaxPool1d(2), True), (L.AdaptiveAvgPool3d(1), True), (L.AvgPool2d(2), True),
    (L.Linear(4), False), (L.LayerNorm((4,)), False), (L.GlobalAvgPool2d(), False), (L.Interpolate(size=(4, 4)), False),
])
def test_a_per_item_layer_folds_by_its_fixed_rank_trait(layer, folds):
    """torch runs a fixed-rank module (N, C, *spatial) applied per item on the items folded into the
    batch; a Linear or a norm over the last axis maps over the leading axes as they are."""
    assert traits_of(layer).fixed_rank is folds
    assert C.folds_items(L.PerItem(layer)) is folds
