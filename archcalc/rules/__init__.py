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


def register(*kinds: type):
    """Register the rule for one or more layer classes. Registering a kind twice is an error."""

    def deco(fn):
        for k in kinds:
            if k in _RULES:
                raise RuntimeError(f"a rule for {k.__name__} is already registered ({_RULES[k].__name__})")
            _RULES[k] = fn
        return fn

    return deco


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
