"""Bind symbols that live inside a graph (RoI counts ``R``, a second input's length ``T``) to values.

``Result.substitute(H=224)`` re-analyses with the input evaluated; symbols can also sit in layer
specs (``RoIAlign(num_rois=R)``) and in secondary graph inputs (a caption's ``(T,)``). This copies the
graph with every such field evaluated, so ``analyze("faster_rcnn_vgg16").substitute(R=300)`` equals
``analyze("faster_rcnn_vgg16", proposals=300)``.
"""

from __future__ import annotations

from dataclasses import fields, replace

from . import dims
from .graph import Graph, Node
from .layers import Input, Layer


def _bind(value, values):
    if isinstance(value, Layer):
        return bind_layer(value, values)
    if isinstance(value, tuple):
        bound = tuple(_bind(v, values) for v in value)
        return value if all(a is b for a, b in zip(bound, value)) else bound
    if hasattr(value, "free_symbols"):
        return dims.evaluate(value, values)
    return value


def bind_layer(layer: Layer, values: dict) -> Layer:
    """``layer`` with symbols in its fields evaluated (the same object when nothing changes)."""
    if isinstance(layer, Input):
        shape = tuple(dims.evaluate(dims.coerce_dim(d), values) for d in layer.shape)
        return layer if shape == tuple(layer.shape) else Input(shape)
    changes = {}
    for f in fields(layer):  # type: ignore[arg-type]
        v = getattr(layer, f.name)
        b = _bind(v, values)
        if b is not v:
            changes[f.name] = b
    return replace(layer, **changes) if changes else layer


def bind_graph(graph: Graph, values: dict) -> Graph:
    """A copy of ``graph`` with symbols in layer specs and graph inputs evaluated."""
    out = Graph(graph.name, outputs=list(graph.outputs) if graph.outputs else None)
    for node in graph.nodes.values():
        out.add(Node(node.name, bind_layer(node.layer, values), node.inputs))
    return out
