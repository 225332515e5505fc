"""Dense prediction: FCN-8s and U-Net.

- ``fcn8s``: Long, Shelhamer, Darrell, "Fully Convolutional Networks for Semantic Segmentation",
  CVPR 2015, sec. 4.1-4.2 and Fig. 3, as released in Caffe (``voc-fcn8s``): VGG-16 with conv1_1
  padded by 100, Caffe's ceil-mode pooling, fc6/fc7 as 7x7 and 1x1 convolutions (4096), 21 VOC
  scores, 2x deconvs (4x4/2, no bias) fused with 1x1 score layers on pool4 and pool3 after Caffe
  ``Crop`` (offsets 5 and 9), a final 8x deconv (16x16/8) cropped at offset 31 to the input. Table 1
  of the paper gives FCN-VGG16 134M parameters. Input 3x500x500 (PASCAL VOC's largest side).
  All deconvolutions are counted trainable (they are bilinear-initialised; pass
  ``freeze=("upscore",)`` to model fixed bilinear upsampling).
- ``unet``: Ronneberger, Fischer, Brox, "U-Net", MICCAI 2015, Fig. 1: 572x572x1 -> 388x388x2, two
  unpadded 3x3 convs + ReLU per level (64..1024 channels), 2x2 max pooling, 2x2 up-convolutions
  halving the channels, centre crop of the contracting map and concatenation, a final 1x1 conv to 2
  classes: 31,030,658 parameters. The paper prints no count; the often-quoted 31,031,685 is the
  popular Keras re-implementation (zhixuhao/unet), whose head is a 3x3 conv to 2 maps and a 1x1
  conv to 1 sigmoid map instead of Fig. 1's 1x1 conv to 2: 31,030,658 - (64*2+2) + (64*2*9+2) +
  (2*1+1) = 31,031,685 (``tests/test_zoo_heads.py`` checks this arithmetic).
- ``unet_padded``: the common PyTorch re-implementation (milesial/Pytorch-UNet, ``bilinear=False``):
  padded 3x3 convs without bias, each followed by BatchNorm; output size = input size, so no crop.
  It differs from Fig. 1 in shapes (output = input; default input 512x512, since sizes must be
  divisible by 16 without milesial's pad-to-fit) and params (BN's 2C instead of conv biases).
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import Add, BatchNorm2d, Concat, Conv2d, ConvTranspose2d, Crop, Dropout, MaxPool2d, ReLU
from . import Published, register_model
from .vgg import CONFIGS


def fcn8s(name, input_shape, num_classes=21):
    b = Builder(name, input_shape)
    layers = []
    first = True
    for v in CONFIGS["D"]:
        if v == "M":
            layers.append(MaxPool2d(2, 2, ceil_mode=True))  # Caffe pools round up
        else:
            layers += [Conv2d(v, 3, padding=100 if first else 1), ReLU(True)]
            first = False
    x = b.input
    taps = {}
    for i, layer in enumerate(layers):
        x = b.add(layer, x, name=f"features.{i}")
        if i in (16, 23):  # pool3, pool4
            taps[i] = x
    x = b.sequential("fc", x, [Conv2d(4096, 7), ReLU(True), Dropout(0.5),
                               Conv2d(4096, 1), ReLU(True), Dropout(0.5)])
    x = b.add(Conv2d(num_classes, 1), x, name="score_fr")
    up2 = b.add(ConvTranspose2d(num_classes, 4, stride=2, bias=False), x, name="upscore2")
    p4 = b.add(Conv2d(num_classes, 1), taps[23], name="score_pool4")
    p4 = b.add(Crop((5, 5)), p4, up2, name="score_pool4c")
    x = b.add(Add(), up2, p4, name="fuse_pool4")
    up4 = b.add(ConvTranspose2d(num_classes, 4, stride=2, bias=False), x, name="upscore_pool4")
    p3 = b.add(Conv2d(num_classes, 1), taps[16], name="score_pool3")
    p3 = b.add(Crop((9, 9)), p3, up4, name="score_pool3c")
    x = b.add(Add(), up4, p3, name="fuse_pool3")
    x = b.add(ConvTranspose2d(num_classes, 16, stride=8, bias=False), x, name="upscore8")
    b.add(Crop((31, 31)), x, b.input, name="score")
    return b.build()


def _double_conv(b, x, prefix, c, padded):
    with b.scope(prefix):
        if padded:
            for i in range(2):
                x = b.add(Conv2d(c, 3, padding=1, bias=False), x, name=f"{3 * i}")
                x = b.add(BatchNorm2d(), x, name=f"{3 * i + 1}")
                x = b.add(ReLU(True), x, name=f"{3 * i + 2}")
        else:
            for i in range(2):
                x = b.add(Conv2d(c, 3), x, name=f"{2 * i}")
                x = b.add(ReLU(True), x, name=f"{2 * i + 1}")
    return x


def unet(name, input_shape, num_classes=2, base=64, depth=4, padded=False):
    b = Builder(name, input_shape)
    skips = []
    x = b.input
    for level in range(depth):
        x = _double_conv(b, x, f"down{level + 1}", base * 2 ** level, padded)
        skips.append(x)
        x = b.add(MaxPool2d(2, 2), x, name=f"pool{level + 1}")
    x = _double_conv(b, x, "bottom", base * 2 ** depth, padded)
    for level in reversed(range(depth)):
        c = base * 2 ** level
        x = b.add(ConvTranspose2d(c, 2, stride=2), x, name=f"up{level + 1}.upconv")
        skip = skips[level]
        if not padded:
            skip = b.add(Crop("center"), skip, x, name=f"up{level + 1}.crop")
        x = b.add(Concat(), skip, x, name=f"up{level + 1}.cat")
        x = _double_conv(b, x, f"up{level + 1}.conv", c, padded)
    b.add(Conv2d(num_classes, 1), x, name="outc")
    return b.build()


register_model(
    "fcn8s", fcn8s, family="Segmentation", variant="VGG-16, Caffe voc-fcn8s (pad 100, crops 5/9/31)",
    source="Long et al. 2015 (FCN) sec. 4, Fig. 3, Table 1; Caffe voc-fcn8s net", input_shape=(3, 500, 500),
    published=Published("Long et al. 2015 Table 1 (FCN-VGG16)", extra={"params_millions": 134}),
)
register_model(
    "unet", unet, family="Segmentation", variant="paper Fig. 1 (valid convs, crop-and-concat)",
    source="Ronneberger et al. 2015 (U-Net) Fig. 1", input_shape=(1, 572, 572),
    published=Published("Ronneberger et al. 2015 Fig. 1", extra={"output": (2, 388, 388), "params_millions": 31}),
)
register_model(
    "unet_padded", unet, family="Segmentation", padded=True,
    variant="common PyTorch layout (padded convs + BN, no crop)",
    source="milesial/Pytorch-UNet UNet(bilinear=False) layout; Ronneberger et al. 2015 widths",
    input_shape=(1, 512, 512),
)
