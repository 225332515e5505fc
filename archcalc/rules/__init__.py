"""One pure rule per layer kind: ``rule(layer, input_shapes) -> Cost``.

Rules see per-sample shapes (no batch axis) and return per-sample counts; the analysis multiplies
by the batch size. Units:

- ``params``: trainable parameters; ``frozen_params``: parameters the architecture keeps fixed
  (LeNet-5's RBF). ``buffers``: non-parameter state (BN running statistics).
- ``macs``: multiply-accumulates of weight-bearing ops (conv, linear, matmul). Bias adds are *not*
  MACs (fvcore's and torchvision's ``_ops`` convention).
- ``flops``: ``2 * macs`` plus the elementwise work each rule's docstring lists (bias adds, BN,
  activations, pooling comparisons/adds, residual adds).
- ``rf``: the layer's spatial footprint for receptive-field propagation, or ``None`` when the
  layer is pointwise in space.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..errors import UnsupportedLayerError

_RULES: dict[type, Callable] = {}


@dataclass(frozen=True)
class Traits:
    """What a layer kind needs besides its cost rule, declared with the rule so that a kind cannot
    be half-added: ``@register(LayerNorm, traits=Traits(saved=..., conventions={...}))``.

    Registration writes each table-kept field into the table that reads it, under the kind's name
    (``kind_name`` or the class name): :data:`archcalc.memory.SAVED_FOR_BACKWARD` and its siblings,
    each :class:`archcalc.conventions.Convention`'s rules. A key already in a table is an error (one
    place per kind). Kinds that predate this write those tables directly; both ways are read alike.
    The per-class fields (``param_tensors`` ...) are read through :func:`traits_of`, which follows the
    class's bases (TrainingBatchNorm2d has BatchNorm2d's)."""

    #: memory.SAVED_FOR_BACKWARD: what autograd keeps for backward (``input``, ``output``, ``stats``...)
    saved: Optional[tuple] = None
    #: memory.TRAINING_UNSUPPORTED: training estimates refuse the kind (what it keeps was not measured)
    training_refused: bool = False
    #: memory.SAVED_FOR_BACKWARD_INPLACE: what the in-place variant keeps instead
    saved_inplace: Optional[tuple] = None
    #: memory.GRAD_PASSTHROUGH: backward hands the gradient on without allocating
    grad_passthrough: bool = False
    #: memory.STAT_ROWS: (layer, output shape) -> normalised rows per sample (a mean and an inverse std each)
    stat_rows: Optional[Callable] = None
    #: memory.FORWARD_SCRATCH: bytes per output element the forward allocates and frees (max-pool indices)
    forward_scratch: int = 0
    #: memory.TRAINING_MATERIALISES: a view at inference, a new tensor in training (dropout)
    materialises_in_training: bool = False
    #: conventions: convention name -> {rule key: conventions.Rule} (``"Kind"``, ``"Kind[mode]"``, ``"Kind()"``)
    conventions: dict = field(default_factory=dict)
    #: (layer, trainable params) -> the sizes of its parameter tensors, weight first (optimizer step
    #: temporaries, per-tensor counters); None: one tensor
    param_tensors: Optional[Callable] = None
    #: buffers include torch's int64 ``num_batches_tracked`` scalar when ``track_running_stats``
    counts_batches: bool = False
    #: (layer, output shape, training) -> elements a torch composite holds besides input and output
    #: while the layer runs (forward scratch at inference, saved intermediates in training)
    composite_elements: Optional[Callable] = None
    #: output-sized maps a composite backward holds at once (measured)
    backward_maps: int = 0
    #: a torch module of fixed rank ``(N, C, *spatial)`` (conv, batch norm, pooling): applied per item
    #: (``PerItem``), torch runs it on the items folded into the batch, which is what tools see
    fixed_rank: bool = False


#: Traits for the memory tables, by field: (table name, how the field becomes the table's entry)
_MEMORY_TABLES = {
    "saved": "SAVED_FOR_BACKWARD", "saved_inplace": "SAVED_FOR_BACKWARD_INPLACE", "stat_rows": "STAT_ROWS",
    "forward_scratch": "FORWARD_SCRATCH", "training_refused": "TRAINING_UNSUPPORTED",
    "grad_passthrough": "GRAD_PASSTHROUGH", "materialises_in_training": "TRAINING_MATERIALISES",
}

_TRAITS: dict[type, Traits] = {}
NO_TRAITS = Traits()


def _key_kind(key: str) -> str:
    """The kind a convention rule key is for: ``"Interpolate[bilinear]()"`` -> ``"Interpolate"``."""
    return key.split("[")[0].removesuffix("()")


def kind_name(cls: type) -> str:
    return getattr(cls, "kind_name", cls.__name__)


_MEMORY_WRITTEN: set = set()  # classes whose memory traits are in archcalc.memory's tables


def _write_memory(cls: type, traits: Traits) -> None:
    """Put a class's memory traits into archcalc.memory's tables, once. The memory module is not
    imported for this (it stays out of light start-ups such as the pytest plugin's): when it is not
    loaded yet, it calls :func:`fill_memory_tables` itself once its tables exist."""
    import sys

    memory = sys.modules.get(__name__.rsplit(".", 1)[0] + ".memory")
    if cls in _MEMORY_WRITTEN or not getattr(memory, "_TABLES_READY", False):
        return
    kind = kind_name(cls)
    for fld, table_name in _MEMORY_TABLES.items():
        value = getattr(traits, fld)
        if value in (None, False, 0):
            continue
        table = getattr(memory, table_name)
        if kind in table:
            raise RuntimeError(f"{kind}: memory.{table_name} already has an entry; declare it in one place")
        if isinstance(table, set):
            table.add(kind)
        else:
            table[kind] = value
    _MEMORY_WRITTEN.add(cls)


def fill_memory_tables() -> None:
    for cls, traits in list(_TRAITS.items()):
        _write_memory(cls, traits)


def _declare(cls: type, traits: Traits) -> None:
    from .. import conventions as C

    kind = kind_name(cls)
    if cls in _TRAITS:
        raise RuntimeError(f"traits for {cls.__name__} are already registered")
    _write_memory(cls, traits)
    for conv_name, rules in traits.conventions.items():
        conv = C.CONVENTIONS[conv_name]
        for key, rule in rules.items():
            if _key_kind(key) != kind:
                continue  # a key for another of the classes registered together
            if key in conv.rules:
                raise RuntimeError(f"{kind}: convention {conv_name!r} already has a rule for {key!r}; "
                                   "declare it in one place")
            conv.rules[key] = rule
    _TRAITS[cls] = traits


def register(*kinds: type, traits: Optional[Traits] = None):
    """Register the rule for one or more layer classes, with what the kinds need besides it
    (:class:`Traits`). Registering a kind twice is an error."""

    def deco(fn):
        if traits is not None:
            names = {kind_name(k) for k in kinds}
            stray = [key for rules in traits.conventions.values() for key in rules if _key_kind(key) not in names]
            if stray:
                raise RuntimeError(f"convention keys {stray} name none of the kinds registered ({sorted(names)})")
        for k in kinds:
            if k in _RULES:
                raise RuntimeError(f"a rule for {k.__name__} is already registered ({_RULES[k].__name__})")
            _RULES[k] = fn
            if traits is not None:
                _declare(k, traits)
        return fn

    return deco


def traits_of(layer) -> Traits:
    """The traits declared for a layer (or class) or the nearest of its bases; :data:`NO_TRAITS` if none."""
    cls = layer if isinstance(layer, type) else type(layer)
    for c in cls.__mro__:
        if c in _TRAITS:
            return _TRAITS[c]
    return NO_TRAITS


def rule_for(layer) -> Callable:
    fn = _RULES.get(type(layer))
    if fn is None:
        raise UnsupportedLayerError(f"no cost rule for layer kind {type(layer).__name__}")
    return fn


def registered_kinds() -> list[str]:
    """Kind names with a rule (a class that reports another class's kind, such as
    TrainingBatchNorm2d -> BatchNorm2d, is listed under that kind)."""
    return sorted({getattr(k, "kind_name", k.__name__) for k in _RULES})


@dataclass(frozen=True)
class Footprint:
    """A layer's spatial window as seen by receptive-field propagation (per axis h, w).

    ``kernel`` is the effective extent ``d*(k-1)+1``; ``stride`` may be a Fraction (< 1 for
    upsampling); ``padding`` is the leading-edge padding.
    """

    kernel: tuple
    stride: tuple
    padding: tuple


# The other spatial traits a rule's ``Cost.rf`` may carry (None: the layer maps each position of
# its input's spatial axes to the same position of its output, which analysis checks on the shapes).


@dataclass(frozen=True)
class Mixes:
    """Every output depends on every position along ``axes`` (negative: counted from the last axis)
    of the input: a Linear over its last axis, attention over its sequence axis, a reduction.
    Normalisation statistics (batch, layer, group norm, softmax's sum) do not count: by the usual
    receptive-field convention they are not a window."""

    axes: tuple


@dataclass(frozen=True)
class Moves:
    """A permutation view: output axis ``i`` is input axis ``order[i]``."""

    order: tuple


@dataclass(frozen=True)
class Reshapes:
    """A row-major reshape (view, flatten, squeeze): axes merge or split, positions keep their order."""


@dataclass(frozen=True)
class Extends:
    """Positions that carry no input pixels (a learned token) join the input along ``axis``."""

    axis: int


@dataclass(frozen=True)
class Unfollowed:
    """A spatial mapping the receptive-field walk does not follow; ``reason`` says what it is."""

    reason: str


RESHAPES = Reshapes()


@dataclass
class Cost:
    output: tuple
    params: Any = 0
    frozen_params: Any = 0
    buffers: Any = 0
    macs: Any = 0
    flops: Any = 0
    rf: Optional[object] = None  # Footprint, Mixes, Moves, Reshapes, Extends or Unfollowed
    warnings: list = field(default_factory=list)


def _load_rule_modules() -> None:
    """Import every rule module in this package so its @register decorators run; adding a layer
    family is adding a file."""
    import importlib
    import pkgutil

    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")


_load_rule_modules()
