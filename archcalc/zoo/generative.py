"""DCGAN generator and discriminator.

- ``dcgan_generator``: Radford, Metz, Chintala, "Unsupervised Representation Learning with Deep
  Convolutional GANs", ICLR 2016, Fig. 1: a 100-d ``z`` is projected (a Linear layer, "project
  and reshape") to 4x4x1024, then four fractionally-strided 5x5 convolutions with stride 2 give
  8x8x512, 16x16x256, 32x32x128 and 64x64x3. Sec. 3: batch norm in every generator layer but the
  output, ReLU, Tanh output. 5x5 with stride 2 doubles the size with padding 2 and
  output_padding 1 (TensorFlow's 'SAME' transposed conv, which the paper's figure implies).
- ``dcgan_discriminator``: the paper gives no figure for D; sec. 3 says strided convolutions, batch
  norm except on the input layer, LeakyReLU (0.2) and a single sigmoid output after flattening the
  last conv. Widths mirror Fig. 1 (128, 256, 512, 1024, 5x5 stride 2): our reading, as in the
  TensorFlow reimplementation carpedm20/DCGAN-tensorflow with ``df_dim=128``; its convs use
  TensorFlow 'SAME' padding (64 -> 32 -> 16 -> 8 -> 4).
- ``dcgan_generator_pytorch`` / ``dcgan_discriminator_pytorch``: the PyTorch DCGAN tutorial and
  pytorch/examples ``dcgan`` (nz=100, ngf=ndf=64): 4x4 kernels, no biases, z as a 100x1x1 map and
  a first 4x4 transposed conv instead of the Linear projection, widths 512/256/128/64.
  3,576,704 and 2,765,568 parameters.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import Activation, BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Flatten, Linear, ReLU, Reshape
from . import Published, register_model


def dcgan_generator(name, input_shape, base=1024, out_channels=3, kernel=5):
    b = Builder(name, input_shape)
    x = b.add(Linear(base * 4 * 4), b.input, name="project")
    x = b.add(BatchNorm1d(), x, name="project.bn")
    x = b.add(ReLU(True), x, name="project.relu")
    x = b.add(Reshape((base, 4, 4)), x, name="reshape")
    c = base
    for i in range(4):
        last = i == 3
        c = out_channels if last else c // 2
        x = b.add(ConvTranspose2d(c, kernel, stride=2, padding=kernel // 2 - 1 + kernel % 2,
                                  output_padding=kernel % 2), x, name=f"deconv{i + 1}")
        if not last:
            x = b.add(BatchNorm2d(), x, name=f"deconv{i + 1}.bn")
            x = b.add(ReLU(True), x, name=f"deconv{i + 1}.relu")
    b.add(Activation("tanh"), x, name="tanh")
    return b.build()


def dcgan_discriminator(name, input_shape, widths=(128, 256, 512, 1024), kernel=5):
    b = Builder(name, input_shape)
    x = b.input
    for i, c in enumerate(widths):
        x = b.add(Conv2d(c, kernel, stride=2, padding="same"), x, name=f"conv{i + 1}")
        if i:
            x = b.add(BatchNorm2d(), x, name=f"conv{i + 1}.bn")
        x = b.add(Activation("leaky_relu"), x, name=f"conv{i + 1}.lrelu")
    x = b.add(Flatten(), x, name="flatten")
    x = b.add(Linear(1), x, name="fc")
    b.add(Activation("sigmoid"), x, name="sigmoid")
    return b.build()


def dcgan_generator_pytorch(name, input_shape, ngf=64, nc=3):
    b = Builder(name, input_shape)
    layers = []
    for i, mult in enumerate((8, 4, 2, 1)):
        layers += [ConvTranspose2d(ngf * mult, 4, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=False),
                   BatchNorm2d(), ReLU(True)]
    layers += [ConvTranspose2d(nc, 4, 2, 1, bias=False), Activation("tanh")]
    b.sequential("main", b.input, layers)
    return b.build()


def dcgan_discriminator_pytorch(name, input_shape, ndf=64):
    b = Builder(name, input_shape)
    layers = [Conv2d(ndf, 4, 2, 1, bias=False), Activation("leaky_relu", inplace=True)]
    for mult in (2, 4, 8):
        layers += [Conv2d(ndf * mult, 4, 2, 1, bias=False), BatchNorm2d(), Activation("leaky_relu", inplace=True)]
    layers += [Conv2d(1, 4, 1, 0, bias=False), Activation("sigmoid")]
    b.sequential("main", b.input, layers)
    return b.build()


register_model(
    "dcgan_generator", dcgan_generator, family="GAN", variant="paper Fig. 1 (z -> 4x4x1024 -> 64x64x3, 5x5)",
    source="Radford et al. 2016 (DCGAN) Fig. 1, sec. 3", input_shape=(100,),
    published=Published("Radford et al. 2016 Fig. 1", extra={"project": (1024, 4, 4), "output": (3, 64, 64)}),
)
register_model(
    "dcgan_discriminator", dcgan_discriminator, family="GAN", variant="mirror of Fig. 1 (128..1024, 5x5 s2)",
    source="Radford et al. 2016 (DCGAN) sec. 3; widths mirror Fig. 1", input_shape=(3, 64, 64),
)
register_model(
    "dcgan_generator_pytorch", dcgan_generator_pytorch, family="GAN", variant="PyTorch tutorial (ngf=64, 4x4)",
    source="PyTorch DCGAN tutorial / pytorch/examples dcgan Generator", input_shape=(100, 1, 1),
    published=Published("PyTorch DCGAN tutorial Generator", params=3_576_704),
)
register_model(
    "dcgan_discriminator_pytorch", dcgan_discriminator_pytorch, family="GAN",
    variant="PyTorch tutorial (ndf=64, 4x4)",
    source="PyTorch DCGAN tutorial / pytorch/examples dcgan Discriminator", input_shape=(3, 64, 64),
    published=Published("PyTorch DCGAN tutorial Discriminator", params=2_765_568),
)
