"""archcalc: exact static costs of CNNs (shapes, params, MACs/FLOPs, memory, receptive field).

Importing archcalc imports no heavy dependency: sympy loads only for symbolic sizes, pandas/jinja2/
matplotlib only for reports, torch only for cross-checks.
"""

from .analysis import Result, analyze
from .errors import ArchcalcError
from .graph import Builder, Graph

__version__ = "0.1.0"
__all__ = ["analyze", "Result", "Builder", "Graph", "ArchcalcError", "__version__"]


def from_torch(module, input_shape, name=None):
    """Turn an ``nn.Module`` into an archcalc Graph statically (torch.fx on the meta device; no
    weights allocated, no real forward). Unsupported ops are refused by name. Needs the torch extra;
    torch is imported only when this is called."""
    import torch

    from .analysis import _coerce_shape
    from .errors import InvalidTypeError

    if not isinstance(module, torch.nn.Module):
        raise InvalidTypeError(f"from_torch takes a torch.nn.Module, got {type(module).__name__}")
    _coerce_shape(input_shape)  # checked here (one-line error); the tracer gets it as written
    if name is not None and not isinstance(name, str):
        raise InvalidTypeError(f"from_torch: name must be text, got {name!r}")
    from .torch_bridge import from_torch as _from_torch

    return _from_torch(module, input_shape, name=name)


__all__.append("from_torch")


def __getattr__(name):
    # archcalc.sweep(model, **grid) -> pandas DataFrame; the module loads (and is callable) on first use
    if name == "sweep":
        import importlib

        return importlib.import_module(".sweep", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__.append("sweep")
