"""archcalc's error types. Every user-facing failure is one of these and prints as one line.

Each error a caller can provoke also subclasses the built-in exception Python code would expect
(``ValueError`` for a value that makes no sense, ``TypeError`` for a value of the wrong kind), so
``except ValueError`` around archcalc calls keeps working.
"""

from __future__ import annotations


class ArchcalcError(Exception):
    """Base class: the CLI prints ``archcalc: error: <message>`` and exits 2."""


class InvalidValueError(ArchcalcError, ValueError):
    """A field or argument has a value of the right type that makes no sense (a negative size, a
    zero stride, non-integer channel groups). Catchable as ``ValueError`` too."""


class InvalidTypeError(ArchcalcError, TypeError):
    """A field or argument has the wrong type (text where a size is expected, an object that is not
    a layer). Catchable as ``TypeError`` too."""


class ShapeError(ArchcalcError, ValueError):
    """A layer cannot accept its input (kernel larger than padded input, channels vs groups...)."""


class GraphError(ArchcalcError, ValueError):
    """The graph itself is malformed (cycle, dangling edge, duplicate name, no input)."""


class UnknownModelError(ArchcalcError, ValueError):
    """A model name that is not in the zoo."""


class UnsupportedLayerError(ArchcalcError, TypeError):
    """A layer kind without a registered rule. Never counted as zero."""


class UnknownLayerError(ArchcalcError, KeyError):
    """A layer name that is not in the network or result (``result["conv9"]``). Catchable as
    ``KeyError`` too."""

    def __str__(self) -> str:  # KeyError quotes its argument; this is a sentence
        return str(self.args[0]) if self.args else ""
