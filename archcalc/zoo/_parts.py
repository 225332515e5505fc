"""Helpers shared by the task-head families: graft a built backbone graph into a new Builder."""

from __future__ import annotations

from typing import Callable, Optional

from ..errors import GraphError
from ..graph import Builder, Graph, Node
from ..layers import Input


def graft(b: Builder, graph: Graph, x: str, *, stop_after: Optional[str] = None, prefix: str = "",
          replace: Optional[Callable] = None, skip: tuple = ()) -> tuple:
    """Copy ``graph``'s nodes (in build order) into ``b``, reading ``x`` where ``graph`` read its input.

    Copies up to and including ``stop_after``; ``prefix`` is prepended to names (``backbone.``);
    ``replace(name, layer)`` may return a modified layer (dilated stages). Nodes named in ``skip``
    are left out and their consumers read the skipped node's input. Returns (last name, name map).
    """
    names: dict = {}
    last = x
    for node in graph.nodes.values():
        if isinstance(node.layer, Input):
            names[node.name] = x
            continue
        if node.name in skip:
            names[node.name] = names[node.inputs[0]]
            continue
        layer = replace(node.name, node.layer) if replace else node.layer
        new = prefix + node.name
        b.graph.add(Node(new, layer, tuple(names[i] for i in node.inputs)))
        names[node.name] = last = new
        if node.name == stop_after:
            return last, names
    if stop_after is not None:
        raise GraphError(f"graft: {stop_after!r} is not a layer of {graph.name!r}")
    return last, names
