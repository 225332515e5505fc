"""OverFeat, the "fast" and "accurate" classification models.

Sermanet, Eigen, Zhang, Mathieu, Fergus, LeCun, "OverFeat: Integrated Recognition, Localization
and Detection using Convolutional Networks", ICLR 2014 (arXiv:1312.6229).

- ``overfeat_fast``: Table 1. Input 231x231; conv 96 11x11/4 + 2x2/2 max pool (56 -> 28);
  conv 256 5x5 + 2x2/2 pool (24 -> 12); conv 512, 1024, 1024 3x3 with 1-pixel zero padding
  (12x12) + 2x2/2 pool (6x6); fully connected 3072, 4096, 1000.
- ``overfeat_accurate``: Table 3. Input 221x221; conv 96 7x7/2 + 3x3/3 pool (108 -> 36);
  conv 256 7x7 + 2x2/2 pool (30 -> 15); conv 512, 512, 1024, 1024 3x3 padded (15x15) + 3x3/3
  pool (5x5); fully connected 4096, 4096, 1000.

ReLU after every layer but the last, no contrast normalisation, non-overlapping max pooling, and
dropout (0.5) on the fully connected layers, an identity at inference that changes no count.
Biases are included in ``params``.

Parameter counts: Table 4 gives 145M (fast) and 144M (accurate). These models have 145,920,872
and 144,656,488 parameters (with biases; 145,909,792 and 144,643,872 weights alone): the table
truncates rather than rounds (145.9M is printed as 145M, 144.7M as 144M), which the test checks.
The figure is kept as ``extra["params_millions_printed"]``, not as an exact ``params``.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU
from . import Published, register_model

# (out, kernel, stride, padding, pool kernel (= stride) or 0)
FAST = [(96, 11, 4, 0, 2), (256, 5, 1, 0, 2), (512, 3, 1, 1, 0), (1024, 3, 1, 1, 0), (1024, 3, 1, 1, 2)]
ACCURATE = [(96, 7, 2, 0, 3), (256, 7, 1, 0, 2), (512, 3, 1, 1, 0), (512, 3, 1, 1, 0),
            (1024, 3, 1, 1, 0), (1024, 3, 1, 1, 3)]


def overfeat(name, input_shape, convs, fcs, num_classes=1000):
    b = Builder(name, input_shape)
    x = b.input
    for i, (out, k, s, p, pool) in enumerate(convs, start=1):
        x = b.add(Conv2d(out, k, stride=s, padding=p), x, name=f"conv{i}")
        x = b.add(ReLU(True), x, name=f"relu{i}")
        if pool:
            x = b.add(MaxPool2d(pool, pool), x, name=f"pool{i}")
    x = b.add(Flatten(), x, name="flatten")
    n = len(convs)
    for j, width in enumerate(fcs, start=n + 1):
        x = b.add(Dropout(0.5), x, name=f"drop{j}")
        x = b.add(Linear(width), x, name=f"fc{j}")
        x = b.add(ReLU(True), x, name=f"relu{j}")
    b.add(Linear(num_classes), x, name=f"fc{n + len(fcs) + 1}")
    return b.build()


register_model(
    "overfeat_fast", overfeat, family="OverFeat", input_shape=(3, 231, 231), convs=FAST, fcs=(3072, 4096),
    variant="fast model (Table 1)",
    source="Sermanet et al. 2013, Table 1 (architecture) and Table 4 (parameters)",
    published=Published("Sermanet et al. 2013, Table 4 ('145' million parameters)",
                        extra={"params_millions_printed": 145}),
)
register_model(
    "overfeat_accurate", overfeat, family="OverFeat", input_shape=(3, 221, 221), convs=ACCURATE,
    fcs=(4096, 4096), variant="accurate model (Table 3)",
    source="Sermanet et al. 2013, Table 3 (architecture) and Table 4 (parameters)",
    published=Published("Sermanet et al. 2013, Table 4 ('144' million parameters)",
                        extra={"params_millions_printed": 144}),
)
