"""LeNet-5.

- ``lenet5``: LeCun, Bottou, Bengio, Haffner, "Gradient-Based Learning Applied to Document
  Recognition", Proc. IEEE 1998, section II.B and Table I. 32x32 input; C3 reads the S2 maps
  through Table I's sparse connection table; S2/S4 are trainable sub-sampling (a coefficient and a
  bias per map); the output is a layer of Euclidean RBF units whose weights are set by hand and
  kept fixed. Paper: 60,000 trainable parameters; per layer C1 156, S2 12, C3 1,516, S4 32,
  C5 48,120, F6 10,164.
- ``lenet5_modern``: the common modern rewrite (ReLU, max pooling, dense C3, a linear output), as
  in PyTorch's "Neural Networks" tutorial (60-minute blitz): 61,706 parameters.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import RBF, Activation, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Subsample2d
from . import Published, register_model

#: Table I of LeCun et al. 1998: for each C3 map, the S2 maps it reads.
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


def lenet5(name, input_shape, num_classes=10):
    b = Builder(name, input_shape)
    x = b.add(Conv2d(6, 5), b.input, name="C1")
    x = b.add(Activation("tanh"), x, name="C1.act")
    x = b.add(Subsample2d(2), x, name="S2")
    x = b.add(Activation("tanh"), x, name="S2.act")
    x = b.add(Conv2d(16, 5, connections=C3_TABLE), x, name="C3")
    x = b.add(Activation("tanh"), x, name="C3.act")
    x = b.add(Subsample2d(2), x, name="S4")
    x = b.add(Activation("tanh"), x, name="S4.act")
    x = b.add(Conv2d(120, 5), x, name="C5")
    x = b.add(Activation("tanh"), x, name="C5.act")
    x = b.add(Flatten(), x, name="flatten")
    x = b.add(Linear(84), x, name="F6")
    x = b.add(Activation("tanh"), x, name="F6.act")
    b.add(RBF(num_classes), x, name="output")
    return b.build()


def lenet5_modern(name, input_shape, num_classes=10):
    b = Builder(name, input_shape)
    x = b.add(Conv2d(6, 5), b.input, name="conv1")
    x = b.add(ReLU(), x, name="relu1")
    x = b.add(MaxPool2d(2), x, name="pool1")
    x = b.add(Conv2d(16, 5), x, name="conv2")
    x = b.add(ReLU(), x, name="relu2")
    x = b.add(MaxPool2d(2), x, name="pool2")
    x = b.add(Flatten(), x, name="flatten")
    x = b.add(Linear(120), x, name="fc1")
    x = b.add(ReLU(), x, name="relu3")
    x = b.add(Linear(84), x, name="fc2")
    x = b.add(ReLU(), x, name="relu4")
    b.add(Linear(num_classes), x, name="fc3")
    return b.build()


register_model(
    "lenet5", lenet5, family="LeNet", variant="LeCun 1998 (sparse C3, trainable S-layers, RBF output)",
    source="LeCun et al. 1998, Proc. IEEE 86(11), sec. II.B, Table I",
    input_shape=(1, 32, 32),
    published=Published("LeCun et al. 1998 sec. II.B", params=60_000,
                        extra={"trainable_params": 60_000, "C1": 156, "S2": 12, "C3": 1_516, "S4": 32,
                               "C5": 48_120, "F6": 10_164}),
)
register_model(
    "lenet5_modern", lenet5_modern, family="LeNet", variant="modern (ReLU, max-pool, dense C3, linear output)",
    source="PyTorch tutorial 'Neural Networks' (60-minute blitz) Net",
    input_shape=(1, 32, 32),
    published=Published("PyTorch 60-minute blitz Net", params=61_706),
)
