"""The model zoo: one module per family, each registering thin named entries that carry their
citation and the published figures a test recomputes. Published figures are metadata for tests
and reports; archcalc never outputs them in place of a computed count.

Family modules are discovered from this package's directory, so adding a family is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..errors import UnknownModelError


@dataclass(frozen=True)
class Published:
    """A figure published for a model, with where it was published."""

    source: str
    params: Optional[int] = None
    macs: Optional[int] = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    family: str
    builder: Callable
    kwargs: dict
    source: str  # paper + table, and/or the torchvision/timm builder mirrored
    input_shape: tuple = (3, 224, 224)
    variant: str = ""
    published: tuple = ()  # Published figures
    torchvision: Optional[str] = None  # torchvision.models builder name with the same layout
    torchvision_kwargs: dict = field(default_factory=dict)  # e.g. {"aux_logits": True}
    timm: Optional[str] = None
    notes: str = ""
    dtype: str = "fp32"  # analyze()'s dtype when none is given (int8 for the quantized aliases)

    def build(self, **overrides):
        kw = dict(self.kwargs)
        kw.update(overrides)
        _check_kwargs(self, overrides)
        if not overrides:
            return self.builder(name=self.name, input_shape=self.input_shape, **kw)
        from ..errors import ArchcalcError, InvalidTypeError, InvalidValueError

        try:
            return self.builder(name=self.name, input_shape=self.input_shape, **kw)
        except ArchcalcError:
            raise
        except (ValueError, TypeError) as e:  # a builder refusing an option the user gave: one typed line
            cls = InvalidTypeError if isinstance(e, TypeError) else InvalidValueError
            raise cls(f"model {self.name!r} with {', '.join(f'{k}={v!r}' for k, v in overrides.items())}: {e}") from None


def _check_kwargs(entry, overrides) -> None:
    """A builder option the entry's builder does not take is a one-line error, not a TypeError."""
    import inspect

    from ..errors import InvalidValueError

    params = inspect.signature(entry.builder).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        bad = sorted(set(overrides) - set(params) - {"name", "input_shape"})
        if bad:
            takes = ", ".join(n for n in params if n not in ("name", "input_shape"))
            raise InvalidValueError(f"model {entry.name!r} does not take {', '.join(bad)} "
                                    f"(it takes: {takes or 'nothing'})")
    for key, value in overrides.items():
        default = entry.kwargs.get(key, params[key].default if key in params else None)
        is_dim = key in params and "Dim" in str(params[key].annotation)
        _check_option(entry.name, key, value, default, is_dim)


def _check_option(model: str, key: str, value, default, is_dim: bool = False) -> None:
    """A builder option has the type of its default: a count (num_classes) is an int >= 1, a switch
    a bool, a multiplier a finite number > 0; a count the builder annotates ``Dim`` may also be a
    name such as ``"N"`` (RAFT's iterations). Other options are checked by the layers they build."""
    from .. import validate as V

    if value is None or default is None:
        return
    if is_dim:
        V.positive_dim(model, key, value)
    elif isinstance(default, bool):
        V.boolean(model, key, value)
    elif isinstance(default, int):
        V.positive_int(model, key, value)
    elif isinstance(default, float) and key != "dropout":
        V.number(model, key, value, 0, low_open=True)
    elif isinstance(default, float):
        V.number(model, key, value, 0, 1)


_REGISTRY: dict = {}
_MODULE_OF: dict = {}  # name -> the module whose code registered it (entries() orders by it)
_loaded = False


def register_model(name: str, builder: Callable, *, family: str, source: str, **meta: Any) -> ModelEntry:
    """Register ``name``; ``meta`` holds ModelEntry fields, anything else goes to the builder."""
    if name in _REGISTRY:
        raise RuntimeError(f"model {name!r} is registered twice")
    entry_fields = set(ModelEntry.__dataclass_fields__) - {"name", "family", "builder", "kwargs", "source"}
    kwargs = {k: meta.pop(k) for k in list(meta) if k not in entry_fields}
    if "published" in meta and isinstance(meta["published"], Published):
        meta["published"] = (meta["published"],)
    entry = ModelEntry(name=name, family=family, builder=builder, kwargs=kwargs, source=source, **meta)
    _REGISTRY[name] = entry
    _MODULE_OF[name] = sys._getframe(1).f_globals.get("__name__", "")
    return entry


def _family_modules() -> list:
    """The zoo's family modules, in file-name order: the one order entries() follows."""
    return [f"{__name__}.{m.name}" for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
            if not m.name.startswith("_")]


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _family_modules():
        importlib.import_module(module)


def _load_family_of(key: str) -> None:
    """Import just the family module a name most likely lives in (``vgg16_bn`` -> ``vgg``), so
    looking up one model does not import the whole zoo; the caller falls back to loading all."""
    stem = ""
    for ch in key:
        if not (ch.isascii() and ch.isalpha()):
            break
        stem += ch
    if not stem:
        return
    try:
        importlib.import_module(f"{__name__}.{stem}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{stem}":
            raise


def get_entry(name: str) -> ModelEntry:
    key = name.strip().lower()
    if key not in _REGISTRY and not _loaded:
        _load_family_of(key)
    if key not in _REGISTRY:
        _load_all()
    if key not in _REGISTRY:
        import difflib

        close = difflib.get_close_matches(key, _REGISTRY, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; run 'archcalc list' to see all models"
        raise UnknownModelError(f"unknown model {name!r}{hint}")
    return _REGISTRY[key]


def entries() -> list:
    """Every registered model: the zoo's family modules in file-name order, each in its own
    registration order, then models registered from elsewhere in the order they came. Never the
    order the modules happened to be imported in (looking up ``resnet50`` imports resnet.py
    before the rest, and a family module may import another)."""
    _load_all()
    rank = {m: i for i, m in enumerate(_family_modules())}
    return sorted(_REGISTRY.values(), key=lambda e: rank.get(_MODULE_OF.get(e.name), len(rank)))


def names() -> list:
    return [e.name for e in entries()]
