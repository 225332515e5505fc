"""A network as a directed acyclic graph of named layer nodes, and the builder DSL to write one."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple, Optional

from .errors import GraphError, InvalidTypeError, InvalidValueError
from .layers import Input, Layer


class Node(NamedTuple):
    """One named layer and the names of the nodes it reads (immutable; one per layer, so cheap)."""

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
        if not isinstance(node, Node):
            raise InvalidTypeError(f"Graph.add takes a Node(name, layer, inputs), got {type(node).__name__}")
        _check_node(node.name, node.layer, node.inputs)
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
        """Nodes in an order where every input precedes its consumers, stable: exactly the order of
        repeated insertion-order sweeps that each place every node whose inputs are placed (so a
        graph written inputs-first comes back in insertion order). Linear time (Kahn's algorithm
        plus a bucket per sweep). Raises GraphError on dangling edges or cycles."""
        nodes = self.nodes
        # one pass validates every edge and notes whether the graph is already written inputs-first
        placed: set = set()
        inputs_first = True
        has_input = False
        for name, n in nodes.items():
            if isinstance(n.layer, Input):
                if n.inputs:
                    raise GraphError(f"input layer {n.name!r} cannot have inputs")
                has_input = True
            elif not n.inputs:
                raise GraphError(f"layer {n.name!r} has no inputs")
            else:
                for i in n.inputs:
                    if i not in placed:
                        if i not in nodes:
                            raise GraphError(f"layer {n.name!r} reads {i!r}, which is not a layer of this graph"
                                             + _did_you_mean(i, nodes))
                        inputs_first = False
            placed.add(name)
        for o in self.outputs or ():
            if o not in nodes:
                raise GraphError(f"output {o!r} is not a layer of this graph" + _did_you_mean(o, nodes))
        if not has_input:
            raise GraphError(f"graph {self.name!r} has no Input layer")
        if inputs_first:
            return list(nodes.values())  # the common case, one pass
        index = {name: k for k, name in enumerate(nodes)}
        # Kahn's algorithm gives a topological order; a node's sweep is then the smallest sweep
        # after each input's (the same sweep when the input comes earlier in insertion order).
        missing = {name: len(set(n.inputs)) for name, n in nodes.items()}
        consumers: dict = {name: [] for name in nodes}
        for n in nodes.values():
            for i in set(n.inputs):
                consumers[i].append(n.name)
        ready = [name for name, k in missing.items() if k == 0]
        sweep: dict = {}
        for name in ready:  # grows while it is walked
            me = index[name]
            sweep[name] = max((sweep[i] + (index[i] > me) for i in nodes[name].inputs), default=0)
            for c in consumers[name]:
                missing[c] -= 1
                if missing[c] == 0:
                    ready.append(c)
        if len(ready) < len(nodes):
            cycle = self._find_cycle(sweep)
            err = GraphError("cycle in the graph: " + " -> ".join(repr(x) for x in cycle))
            err.layer = cycle[0]
            raise err
        buckets: list = [[] for _ in range(max(sweep.values()) + 1)]
        for name, n in nodes.items():
            buckets[sweep[name]].append(n)
        return [n for bucket in buckets for n in bucket]

    def _find_cycle(self, placed) -> list:
        """One cycle among the nodes Kahn's algorithm could not place, as a closed path."""
        start = next(name for name in self.nodes if name not in placed)
        path, seen = [], {}
        name = start
        while name not in seen:
            seen[name] = len(path)
            path.append(name)
            name = next(i for i in self.nodes[name].inputs if i not in placed)
        cycle = path[seen[name]:]
        cycle.reverse()  # walk edges producer -> consumer
        order = {n: k for k, n in enumerate(self.nodes)}
        first = min(range(len(cycle)), key=lambda k: order[cycle[k]])  # start at the earliest written
        cycle = cycle[first:] + cycle[:first]
        return cycle + [cycle[0]]

    def __len__(self) -> int:
        return len(self.nodes)


def _check_node(name, layer, inputs) -> None:
    """A node's name is non-empty text, its layer a layer spec, its inputs node names (text)."""
    if not isinstance(name, str) or not name:
        raise InvalidTypeError(f"a layer name must be non-empty text, got {name!r}")
    if not isinstance(layer, Layer):
        raise InvalidTypeError(f"layer {name!r}: expected a layer spec such as Conv2d(...), got "
                               f"{type(layer).__name__}")
    if not isinstance(inputs, tuple):
        raise InvalidTypeError(f"layer {name!r}: inputs must be a tuple of layer names, got {inputs!r}")
    for i in inputs:
        if not isinstance(i, str):
            raise InvalidTypeError(f"layer {name!r}: inputs must be layer names (text), got {i!r}")


def _did_you_mean(name: str, names) -> str:
    import difflib  # only on the error path

    close = difflib.get_close_matches(name, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
        if not isinstance(name, str) or not name:
            raise InvalidTypeError(f"Builder: the network name must be non-empty text, got {name!r}")
        self.graph = Graph(name)
        self._scope: list = []
        self._counts: dict = {}
        self.input = self.add_input(input_shape, input_name)

    def add_input(self, shape: tuple, name: str) -> str:
        self.graph.add(Node(name, Input(shape), ()))
        return name

    def _auto_name(self, layer: Layer) -> str:
        base = self._qualify(layer.kind.lower())
        k = self._counts.get(base, 0)
        self._counts[base] = k + 1
        return f"{base}{k}" if k or base in self.graph.nodes else base

    def _qualify(self, name: str) -> str:
        return ".".join(self._scope + [name]) if self._scope else name

    def add(self, layer: Layer, *inputs, name: Optional[str] = None) -> str:
        if not isinstance(layer, Layer):
            raise InvalidTypeError(f"Builder.add{'' if name is None else f' ({name!r})'}: expected a layer spec "
                                   f"such as Conv2d(...), got {type(layer).__name__}")
        if name is not None and (not isinstance(name, str) or not name):
            raise InvalidTypeError(f"Builder.add: name must be non-empty text, got {name!r}")
        if len(inputs) == 1 and type(inputs[0]) is str:  # the common case: one named input
            flat = inputs
        else:
            flat = []
            for x in inputs:
                flat.extend(x if isinstance(x, (list, tuple)) else [x])
            flat = tuple(flat)
            if not flat and not isinstance(layer, Input):
                raise InvalidValueError(f"Builder.add ({name or layer.kind}): no inputs; pass the names of the "
                                        "layers it reads (b.input for the network input)")
        full = self._qualify(name) if name is not None else self._auto_name(layer)
        self.graph.add(Node(full, layer, flat))
        return full

    def sequential(self, prefix: str, x: str, layers: Iterable[Layer], start: int = 0) -> str:
        for i, layer in enumerate(layers, start):
            x = self.add(layer, x, name=f"{prefix}.{i}" if prefix else str(i))
        return x

    @contextmanager
    def scope(self, prefix: str):
        if not isinstance(prefix, str) or not prefix:
            raise InvalidTypeError(f"Builder.scope: the prefix must be non-empty text, got {prefix!r}")
        self._scope.append(prefix)
        try:
            yield self
        finally:
            self._scope.pop()

    def build(self, outputs: Optional[list] = None) -> Graph:
        if isinstance(outputs, str):
            outputs = [outputs]  # one name, not its characters
        if outputs is not None and (not isinstance(outputs, (list, tuple))
                                    or not all(isinstance(o, str) for o in outputs)):
            raise InvalidTypeError(f"Builder.build: outputs must be a list of layer names, got {outputs!r}")
        self.graph.outputs = list(outputs) if outputs else None
        self.graph.topological()  # validate now, not at analysis time
        return self.graph
