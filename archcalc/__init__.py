"""archcalc: exact static costs of CNNs (shapes, params, MACs/FLOPs, memory, receptive field).

Importing archcalc imports no heavy dependency: sympy loads only for symbolic sizes, pandas/jinja2/
matplotlib only for reports, torch only for cross-checks.
"""

from .analysis import Result, analyze
from .errors import ArchcalcError
from .graph import Builder, Graph

__version__ = "0.1.0"
__all__ = ["analyze", "Result", "Builder", "Graph", "ArchcalcError", "__version__"]
