"""``archcalc verify``: build the real torch twin of a zoo model, profile it with fvcore, torchinfo,
torch's FlopCounterMode, ptflops and thop, and check archcalc layer by layer under each tool's own
convention (:mod:`archcalc.conventions`).

Alignment: archcalc names its layers after torch module paths (``features.0``,
``layer1.0.conv1``); the k-th extra call of a reused module is ``<path>_k`` (torch.fx's naming,
``relu_1``). Layers with no module (``add``, ``cat``, ``flatten``) are functional ops: they are
checked through the totals. A difference anywhere that no rule explains is a failure naming the
layer.
"""

from __future__ import annotations

from .collect import (META_TOOLS, SHARED_KWARGS, TOOL_CONVENTION, VerifyError, materialize, module_for, time_layers,
                      torch_model, verifiable_entries)
from .compare import (FVCORE_OPERATORS, LayerCheck, Verification, compare_module, unseen_by_hooks, verify)
from .render import render_summary, render_table, tool_versions

__all__ = ["verify", "Verification", "LayerCheck", "VerifyError", "verifiable_entries", "torch_model", "materialize",
           "module_for", "time_layers", "compare_module", "unseen_by_hooks", "render_table", "render_summary",
           "tool_versions", "TOOL_CONVENTION", "META_TOOLS", "SHARED_KWARGS", "FVCORE_OPERATORS"]
