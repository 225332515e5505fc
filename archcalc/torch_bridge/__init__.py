"""Everything in archcalc that imports torch: cross-checks against real models (``verify``),
third-party profilers (``tools``) and static import of user modules (``from_torch``).

Importing this package imports nothing heavy; each function imports torch when it runs.
"""

from __future__ import annotations


def from_torch(module, input_shape, name=None, allow_partial=False):
    """Turn an ``nn.Module`` into an archcalc :class:`~archcalc.graph.Graph` (see
    :func:`archcalc.torch_bridge.fx_import.from_torch`)."""
    from .fx_import import from_torch as _from_torch

    return _from_torch(module, input_shape, name=name, allow_partial=allow_partial)


def verify(model, device=None, tools=None, batch=1):
    """Cross-check a zoo model against its torchvision/timm twin (see :func:`.verify.verify`)."""
    from .verify import verify as _verify

    return _verify(model, device=device, tools=tools, batch=batch)
