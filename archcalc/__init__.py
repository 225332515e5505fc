"""archcalc: exact static costs of CNNs (shapes, params, MACs/FLOPs, memory, receptive field).

Importing archcalc imports no heavy dependency: sympy loads only for symbolic sizes, pandas/jinja2/
matplotlib only for reports, torch only for cross-checks.
"""

from .analysis import Result, analyze
from .errors import ArchcalcError
from .graph import Builder, Graph

__version__ = "0.1.0"
__all__ = ["analyze", "Result", "Builder", "Graph", "ArchcalcError", "__version__"]


def from_torch(module, input_shape, name=None, allow_partial=False):
    """Turn an ``nn.Module`` into an archcalc Graph statically (torch.fx; when fx cannot trace it,
    one run on fake tensors; no weights allocated). Unsupported ops are refused by name, or with
    ``allow_partial`` listed as ``uncounted``. Needs the torch extra; torch is imported only when
    this is called."""
    import torch

    from .analysis import _coerce_shape
    from .errors import InvalidTypeError

    if not isinstance(module, torch.nn.Module):
        raise InvalidTypeError(f"from_torch takes a torch.nn.Module, got {type(module).__name__}")
    several = (isinstance(input_shape, (list, tuple)) and input_shape
               and all(isinstance(s, (tuple, list, str)) for s in input_shape))
    for shape in (input_shape if several else (input_shape,)):  # one shape, or one per tensor input
        _coerce_shape(shape)  # checked here (one-line error); the tracer gets them as written
    if name is not None and not isinstance(name, str):
        raise InvalidTypeError(f"from_torch: name must be text, got {name!r}")
    if not isinstance(allow_partial, bool):
        raise InvalidTypeError(f"from_torch: allow_partial must be True or False, got {allow_partial!r}")
    from .torch_bridge import from_torch as _from_torch

    return _from_torch(module, input_shape, name=name, allow_partial=allow_partial)


__all__.append("from_torch")


def __getattr__(name):
    # archcalc.sweep(model, **grid) -> pandas DataFrame; the module loads (and is callable) on first use
    if name == "sweep":
        import importlib

        return importlib.import_module(".sweep", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__.append("sweep")
