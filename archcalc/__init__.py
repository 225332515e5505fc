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
    from .torch_bridge import from_torch as _from_torch

    return _from_torch(module, input_shape, name=name, allow_partial=allow_partial)


__all__.append("from_torch")
