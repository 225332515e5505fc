"""A network as a directed acyclic graph of named layer nodes, and the builder DSL to write one."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .errors import GraphError
from .layers import Input, Layer


@dataclass(frozen=True)
class Node:
    name: str
    layer: Layer
    inputs: tuple = ()


@dataclass
class Graph:
    """Nodes in insertion order; ``outputs`` defaults to the nodes nobody consumes."""

    name: str
    nodes: dict = field(default_factory=dict)
    outputs: Optional[list] = None

    def add(self, node: Node) -> None:
        if node.name in self.nodes:
            raise GraphError(f"duplicate layer name {node.name!r}")
        self.nodes[node.name] = node

    @property
    def inputs(self) -> list:
        return [n.name for n in self.nodes.values() if isinstance(n.layer, Input)]

    def sinks(self) -> list:
        used = {i for n in self.nodes.values() for i in n.inputs}
        return [name for name in self.nodes if name not in used]

    def output_names(self) -> list:
        return list(self.outputs) if self.outputs else self.sinks()

    def topological(self) -> list:
        """Nodes in an order where every input precedes its consumers (stable: insertion order
        wherever the edges allow). Raises GraphError on dangling edges or cycles."""
        for n in self.nodes.values():
            if isinstance(n.layer, Input) and n.inputs:
                raise GraphError(f"input layer {n.name!r} cannot have inputs")
            if not isinstance(n.layer, Input) and not n.inputs:
                raise GraphError(f"layer {n.name!r} has no inputs")
            for i in n.inputs:
                if i not in self.nodes:
                    raise GraphError(f"layer {n.name!r} reads {i!r}, which is not a layer of this graph")
        for o in self.outputs or ():
            if o not in self.nodes:
                raise GraphError(f"output {o!r} is not a layer of this graph")
        if not self.inputs:
            raise GraphError(f"graph {self.name!r} has no Input layer")
        order, placed = [], set()
        pending = list(self.nodes.values())
        while pending:
            rest = []
            for n in pending:
                if all(i in placed for i in n.inputs):
                    order.append(n)
                    placed.add(n.name)
                else:
                    rest.append(n)
            if len(rest) == len(pending):
                raise GraphError("cycle in the graph through " + ", ".join(repr(n.name) for n in rest[:5]))
            pending = rest
        return order

    def __len__(self) -> int:
        return len(self.nodes)


class Builder:
    """Write a network as code::

        b = Builder("tiny", input_shape=(3, 32, 32))
        x = b.add(Conv2d(3, 3, padding=1), b.input, name="conv1")
        x = b.add(ReLU(inplace=True), x)
        y = b.add(Add(), x, b.input)  # branches are just names
        g = b.build()

    ``add`` returns the new node's name; pass names (or lists of names) as inputs. ``scope`` prefixes
    names (``layer1.0.conv1``), ``sequential`` chains layers named ``prefix.0``, ``prefix.1``... as
    torch.nn.Sequential does, so names line up with torchvision's module paths.
    """

    def __init__(self, name: str, input_shape: tuple = (3, 224, 224), input_name: str = "input"):
        self.graph = Graph(name)
        self._scope: list = []
        self._counts: dict = {}
        self.input = self.add_input(input_shape, input_name)

    def add_input(self, shape: tuple, name: str) -> str:
        self.graph.add(Node(name, Input(tuple(shape)), ()))
        return name

    def _auto_name(self, layer: Layer) -> str:
        base = self._qualify(layer.kind.lower())
        k = self._counts.get(base, 0)
        self._counts[base] = k + 1
        return f"{base}{k}" if k or base in self.graph.nodes else base

    def _qualify(self, name: str) -> str:
        return ".".join(self._scope + [name]) if self._scope else name

    def add(self, layer: Layer, *inputs, name: Optional[str] = None) -> str:
        flat: list = []
        for x in inputs:
            flat.extend(x if isinstance(x, (list, tuple)) else [x])
        full = self._qualify(name) if name is not None else self._auto_name(layer)
        self.graph.add(Node(full, layer, tuple(flat)))
        return full

    def sequential(self, prefix: str, x: str, layers: Iterable[Layer], start: int = 0) -> str:
        for i, layer in enumerate(layers, start):
            x = self.add(layer, x, name=f"{prefix}.{i}" if prefix else str(i))
        return x

    @contextmanager
    def scope(self, prefix: str):
        self._scope.append(prefix)
        try:
            yield self
        finally:
            self._scope.pop()

    def build(self, outputs: Optional[list] = None) -> Graph:
        self.graph.outputs = list(outputs) if outputs else None
        self.graph.topological()  # validate now, not at analysis time
        return self.graph
