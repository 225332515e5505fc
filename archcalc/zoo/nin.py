"""Network in Network, ImageNet model.

Lin, Chen, Yan, "Network In Network", ICLR 2014 (arXiv:1312.4400): mlpconv layers (a conv followed
by 1x1 convs, "cccp" = cascaded cross-channel parametric pooling, sec. 3.1 and Fig. 2) and global
average pooling of one map per class instead of fully connected layers (sec. 3.2). The paper's
experiments are on CIFAR-10/100, SVHN and MNIST; the ImageNet model is the one the authors released
in the Caffe Model Zoo (``nin_imagenet`` train_val.prototxt, github gist mavenlin/d802a5849de39225bcc6):
four mlpconv blocks, conv1 96 11x11/4, conv2 256 5x5 pad 2, conv3 384 3x3 pad 1, conv4 1024
3x3 pad 1, each followed by two 1x1 convs (the last one to the 1000 classes), ReLU after every conv
(including the class maps), 3x3/2 max pools (Caffe's ceiling rounding: 54 -> 27 -> 13 -> 6),
dropout after the third pool and a 6x6 average pool. Input 224x224 crops. Every conv has a bias.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import AvgPool2d, Conv2d, Dropout, Flatten, MaxPool2d, ReLU
from . import register_model

# Caffe layer names: (conv name, out, kernel, stride, pad), then its two cccp layers
MLPCONV = [
    (("conv1", 96, 11, 4, 0), ("cccp1", 96), ("cccp2", 96)),
    (("conv2", 256, 5, 1, 2), ("cccp3", 256), ("cccp4", 256)),
    (("conv3", 384, 3, 1, 1), ("cccp5", 384), ("cccp6", 384)),
    (("conv4-1024", 1024, 3, 1, 1), ("cccp7-1024", 1024), ("cccp8-1024", None)),  # None: the classes
]


# the prototxt's own names for the ReLUs (it skips relu4) and max pools (it skips pool1)
RELUS = ["relu0", "relu1", "relu2", "relu3", "relu5", "relu6", "relu7", "relu8", "relu9", "relu10", "relu11",
         "relu12"]
POOLS = ["pool0", "pool2", "pool3"]


def nin(name, input_shape, num_classes=1000):
    b = Builder(name, input_shape)
    x = b.input
    relus = iter(RELUS)
    for block, ((cname, out, k, s, p), *cccps) in enumerate(MLPCONV):
        x = b.add(Conv2d(out, k, stride=s, padding=p), x, name=cname)
        x = b.add(ReLU(True), x, name=next(relus))
        for cccp, width in cccps:
            x = b.add(Conv2d(num_classes if width is None else width, 1), x, name=cccp)
            x = b.add(ReLU(True), x, name=next(relus))
        if block < len(POOLS):
            x = b.add(MaxPool2d(3, 2, ceil_mode=True), x, name=POOLS[block])
        if block == 2:
            x = b.add(Dropout(0.5), x, name="drop")
    x = b.add(AvgPool2d(6, 1), x, name="pool4")
    b.add(Flatten(), x, name="flatten")
    return b.build()


register_model(
    "nin", nin, family="NiN", variant="ImageNet model (Caffe Model Zoo nin_imagenet)",
    source="Lin, Chen, Yan 2013, sec. 3 and Fig. 2; Caffe Model Zoo nin_imagenet prototxt (gist mavenlin)",
)
