"""DenseNet-BC 121/161/169/201/264 in torchvision's layout.

Huang, Liu, van der Maaten, Weinberger, "Densely Connected Convolutional Networks", CVPR 2017,
Table 1 (ImageNet architectures, growth rate k = 32): a 7x7/2 conv with 2k channels and a 3x3/2
max pool, then four dense blocks of [1x1 conv 4k (BN-ReLU-conv bottleneck), 3x3 conv k] layers,
each layer reading the concatenation of the block input and every earlier layer's output, with
transitions (BN-ReLU-1x1 conv halving the channels, compression 0.5; 2x2/2 average pool) between
blocks. Blocks: 121 = 6-12-24-16, 169 = 6-12-32-32, 201 = 6-12-48-32, 264 = 6-12-64-48.
DenseNet-161 (k = 48, 96 stem channels, 6-12-36-24) is the authors' released wide model, not a
Table 1 row.

The graph mirrors ``torchvision.models.densenet`` module for module, including what its forward
materialises: every dense layer first concatenates its inputs (``torch.cat`` copies, even a single
tensor), and the block's output is one more concatenation of all of them; after ``features.norm5``
the net applies a functional in-place ReLU, adaptive average pooling to 1x1, flatten and the
classifier. torchvision's figures (``DenseNet*_Weights.IMAGENET1K_V1``): 121: 7,978,856 params,
2.834 GMACs; 161: 28,681,000, 7.728; 169: 14,149,480, 3.36; 201: 20,013,928, 4.291. torchvision
has no DenseNet-264; its ``DenseNet`` class with ``block_config=(6, 12, 64, 48)`` builds Table 1's.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Concat, Conv2d, Flatten, Linear, MaxPool2d, ReLU
from . import Published, register_model


def dense_layer(b, features, growth_rate, bn_size):
    """One BN-ReLU-1x1 conv (bn_size*k) BN-ReLU-3x3 conv (k) layer over the concatenated inputs."""
    x = b.add(Concat(), *features, name="cat")
    x = b.add(BatchNorm2d(), x, name="norm1")
    x = b.add(ReLU(True), x, name="relu1")
    x = b.add(Conv2d(bn_size * growth_rate, 1, bias=False), x, name="conv1")
    x = b.add(BatchNorm2d(), x, name="norm2")
    x = b.add(ReLU(True), x, name="relu2")
    return b.add(Conv2d(growth_rate, 3, padding=1, bias=False), x, name="conv2")


def densenet(name, input_shape, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64,
             bn_size=4, num_classes=1000):
    b = Builder(name, input_shape)
    with b.scope("features"):
        x = b.add(Conv2d(num_init_features, 7, stride=2, padding=3, bias=False), b.input, name="conv0")
        x = b.add(BatchNorm2d(), x, name="norm0")
        x = b.add(ReLU(True), x, name="relu0")
        x = b.add(MaxPool2d(3, 2, padding=1), x, name="pool0")
        channels = num_init_features
        for i, num_layers in enumerate(block_config, start=1):
            with b.scope(f"denseblock{i}"):
                features = [x]
                for j in range(1, num_layers + 1):
                    with b.scope(f"denselayer{j}"):
                        features.append(dense_layer(b, features, growth_rate, bn_size))
                x = b.add(Concat(), *features, name="cat")
            channels += num_layers * growth_rate
            if i != len(block_config):
                channels //= 2  # compression 0.5
                with b.scope(f"transition{i}"):
                    x = b.add(BatchNorm2d(), x, name="norm")
                    x = b.add(ReLU(True), x, name="relu")
                    x = b.add(Conv2d(channels, 1, bias=False), x, name="conv")
                    x = b.add(AvgPool2d(2, 2), x, name="pool")
        x = b.add(BatchNorm2d(), x, name="norm5")
    x = b.add(ReLU(True), x, name="relu")  # F.relu(features, inplace=True)
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")  # F.adaptive_avg_pool2d(out, (1, 1))
    x = b.add(Flatten(), x, name="flatten")
    b.add(Linear(num_classes), x, name="classifier")
    return b.build()


# name: (growth_rate, block_config, num_init_features, torchvision params, torchvision GMACs)
_TV = {
    "densenet121": (32, (6, 12, 24, 16), 64, 7_978_856, 2.834),
    "densenet161": (48, (6, 12, 36, 24), 96, 28_681_000, 7.728),
    "densenet169": (32, (6, 12, 32, 32), 64, 14_149_480, 3.36),
    "densenet201": (32, (6, 12, 48, 32), 64, 20_013_928, 4.291),
}

for _name, (_k, _blocks, _init, _params, _gmacs) in _TV.items():
    _depth = _name[8:]
    register_model(
        _name, densenet, family="DenseNet", growth_rate=_k, block_config=_blocks, num_init_features=_init,
        variant="DenseNet-BC (bottleneck + compression 0.5)",
        source=(f"Huang et al. 2017, Table 1 (DenseNet-{_depth}, k=32); " if _k == 32 else
                "Huang et al. 2017 (the authors' released DenseNet-161, k=48; not a Table 1 row); ")
        + f"torchvision.models.{_name}",
        torchvision=_name,
        published=Published(f"torchvision DenseNet{_depth}_Weights.IMAGENET1K_V1", params=_params,
                            extra={"gflops": _gmacs}),
    )

register_model(
    "densenet264", densenet, family="DenseNet", growth_rate=32, block_config=(6, 12, 64, 48),
    num_init_features=64, variant="DenseNet-BC (bottleneck + compression 0.5)",
    source="Huang et al. 2017, Table 1 (DenseNet-264, k=32, blocks 6-12-64-48); no torchvision builder "
           "(torchvision.models.DenseNet(32, (6, 12, 64, 48), 64) has the same layout)",
    notes="Table 1 gives the structure only; the test recomputes its channel counts and compares the graph "
          "with torchvision's DenseNet class configured as Table 1.",
)
