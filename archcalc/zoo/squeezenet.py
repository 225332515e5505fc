"""SqueezeNet 1.0 and 1.1 in torchvision's layout.

Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model
size", 2016, Table 1 (v1.0: 96 7x7/2 conv1, fire2-fire9, max pools after conv1, fire4, fire8).
v1.1 is the SqueezeNet GitHub repository's revision (64 3x3/2 conv1, pools after conv1, fire3,
fire5: "2.4x less computation"). Both mirror ``torchvision.models.squeezenet1_0/1_1``, whose
weights meta list 1,248,424 and 1,235,496 params and 0.819 / 0.349 GFLOPS (torchvision's ``_ops``
are multiply-accumulates). torchvision's classifier is dropout, a 1x1 conv to the classes, ReLU
and adaptive 1x1 average pooling; max pools use ``ceil_mode=True`` as Caffe did. The paper's Table 1
gives 1,248,424 parameters for the uncompressed net as well (its "4.8MB" at 32 bits). Its map
sizes (conv1 111x111, pools to 55, 27, 13) are those of a 227x227 input, the crop of the Caffe
release, although the table heads them "224x224x3": ``archcalc squeezenet1_0 --input 3x227x227``
reproduces them, and the parameter count does not depend on the input.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import AdaptiveAvgPool2d, Concat, Conv2d, Dropout, Flatten, MaxPool2d, ReLU
from . import Published, register_model

# (squeeze, expand1x1, expand3x3) per fire module, in order; "M" is a 3x3/2 ceil-mode max pool
V1_0 = ["M", (16, 64, 64), (16, 64, 64), (32, 128, 128), "M",
        (32, 128, 128), (48, 192, 192), (48, 192, 192), (64, 256, 256), "M", (64, 256, 256)]
V1_1 = ["M", (16, 64, 64), (16, 64, 64), "M", (32, 128, 128), (32, 128, 128), "M",
        (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)]


def fire(b, x, prefix, squeeze, e1, e3):
    """torchvision's Fire: 1x1 squeeze + ReLU, then 1x1 and 3x3 (pad 1) expands + ReLU, concat."""
    with b.scope(prefix):
        s = b.add(Conv2d(squeeze, 1), x, name="squeeze")
        s = b.add(ReLU(True), s, name="squeeze_activation")
        a = b.add(Conv2d(e1, 1), s, name="expand1x1")
        a = b.add(ReLU(True), a, name="expand1x1_activation")
        c = b.add(Conv2d(e3, 3, padding=1), s, name="expand3x3")
        c = b.add(ReLU(True), c, name="expand3x3_activation")
        return b.add(Concat(), a, c, name="cat")


def squeezenet(name, input_shape, version="1_0", num_classes=1000, dropout=0.5):
    b = Builder(name, input_shape)
    if version == "1_0":
        stem, cfg = Conv2d(96, 7, stride=2), V1_0
    elif version == "1_1":
        stem, cfg = Conv2d(64, 3, stride=2), V1_1
    else:
        raise ValueError(f"SqueezeNet version must be '1_0' or '1_1', got {version!r}")
    x = b.add(stem, b.input, name="features.0")
    x = b.add(ReLU(True), x, name="features.1")
    for i, item in enumerate(cfg, start=2):
        if item == "M":
            x = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name=f"features.{i}")
        else:
            x = fire(b, x, f"features.{i}", *item)
    x = b.sequential("classifier", x, [
        Dropout(dropout), Conv2d(num_classes, 1), ReLU(True), AdaptiveAvgPool2d(1),
    ])
    b.add(Flatten(), x, name="flatten")
    return b.build()


register_model(
    "squeezenet1_0", squeezenet, family="SqueezeNet", version="1_0", variant="v1.0 (paper Table 1)",
    source="Iandola et al. 2016, Table 1; torchvision.models.squeezenet1_0",
    torchvision="squeezenet1_0",
    published=(Published("torchvision SqueezeNet1_0_Weights.IMAGENET1K_V1", params=1_248_424,
                         extra={"gflops": 0.819}),
               Published("Iandola et al. 2016, Table 1 (uncompressed SqueezeNet)", params=1_248_424)),
)
register_model(
    "squeezenet1_1", squeezenet, family="SqueezeNet", version="1_1",
    variant="v1.1 (SqueezeNet repository revision, 2.4x less computation)",
    source="github.com/forresti/SqueezeNet v1.1; torchvision.models.squeezenet1_1",
    torchvision="squeezenet1_1",
    published=Published("torchvision SqueezeNet1_1_Weights.IMAGENET1K_V1", params=1_235_496,
                        extra={"gflops": 0.349}),
)
