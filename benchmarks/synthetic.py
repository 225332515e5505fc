"""A synthetic network of exactly ``n`` layers for the scale benchmark.

Residual blocks of six layers (conv-BN-ReLU-conv-BN, add) on a 16x32x32 input, then a pooling,
flatten and linear head: every node exercises a cost rule, a receptive-field step and, once per
block, a merge of two branches. ``n`` must be ``1 + 6*k + 3``; 100, 1,000 and 10,000 are.
"""

from __future__ import annotations

from archcalc.graph import Builder
from archcalc.layers import Add, AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, ReLU


def synthetic(n: int):
    blocks, rest = divmod(n - 4, 6)
    if rest or blocks < 0:
        raise ValueError(f"{n} layers is not 1 + 6k + 3")
    b = Builder(f"synthetic{n}", (16, 32, 32))
    x = b.input
    for i in range(blocks):
        with b.scope(f"block{i}"):
            y = b.add(Conv2d(16, 3, padding=1, bias=False), x, name="conv1")
            y = b.add(BatchNorm2d(), y, name="bn1")
            y = b.add(ReLU(True), y, name="relu")
            y = b.add(Conv2d(16, 3, padding=1, bias=False), y, name="conv2")
            y = b.add(BatchNorm2d(), y, name="bn2")
            x = b.add(Add(), y, x, name="add")
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    b.add(Linear(10), x, name="fc")
    graph = b.build()
    assert len(graph) == n
    return graph
