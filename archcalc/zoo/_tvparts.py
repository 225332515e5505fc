"""Helpers shared by the torchvision families of issue 15 (segmentation, detection)."""

from __future__ import annotations

from ..graph import Graph, Node


def renamed(graph: Graph, old: str, new: str) -> Graph:
    """A copy of ``graph`` with the name prefix ``old`` replaced by ``new`` (``features.`` ->
    ``backbone.``: torchvision's ``IntermediateLayerGetter`` re-roots a trunk's modules)."""
    g = Graph(graph.name)

    def ren(n):
        return new + n[len(old):] if n.startswith(old) else n

    for node in graph.nodes.values():
        g.add(Node(ren(node.name), node.layer, tuple(ren(i) for i in node.inputs)))
    return g


def shape_of(b, x) -> tuple:
    """Per-sample output shape of node ``x`` of the graph built so far (at the builder's input size):
    for a head whose width or resize target torchvision reads off a tensor."""
    from ..analysis import analyze

    return tuple(analyze(b.graph)[x].output_shape)
