"""Published ImageNet-1K top-1 accuracy of the torchvision weights the zoo's models mirror, as a
static table, so ``archcalc compare`` never imports torch or torchvision.

Every row is copied from torchvision 0.29.1's weights metadata, the figure torchvision publishes
for its own evaluation transforms: ``<Weights>.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]["acc@1"]``,
with that enum's ``num_params`` and ``recipe`` (the training recipe or pull request that produced the
weights, torchvision's own citation). The V1 weights are the ones the zoo's published figures cite.
A row applies to a zoo model only when the model's computed params equal ``num_params``, so an
accuracy never travels to a variant it was not measured on (``googlenet_aux``, ``deeppose_alexnet``).
``tests/test_report_compare.py`` checks every row against torchvision's metadata when it is installed.
"""

from __future__ import annotations

from typing import NamedTuple

#: torchvision release the rows were read from
SOURCE = "torchvision 0.29.1 weights metadata (acc@1 on ImageNet-1K val, torchvision's eval transforms)"


class Top1(NamedTuple):
    top1: float  # percent
    weights: str  # the torchvision weights enum member
    num_params: int  # that checkpoint's parameter count
    recipe: str  # torchvision's citation for the training run


#: torchvision builder name (``ModelEntry.torchvision``) -> its V1 ImageNet weights' published top-1
TOP1 = {
    "alexnet": Top1(56.522, "AlexNet_Weights.IMAGENET1K_V1", 61_100_840, "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"),
    "googlenet": Top1(69.778, "GoogLeNet_Weights.IMAGENET1K_V1", 6_624_904, "https://github.com/pytorch/vision/tree/main/references/classification#googlenet"),
    "densenet121": Top1(74.434, "DenseNet121_Weights.IMAGENET1K_V1", 7_978_856, "https://github.com/pytorch/vision/pull/116"),
    "densenet161": Top1(77.138, "DenseNet161_Weights.IMAGENET1K_V1", 28_681_000, "https://github.com/pytorch/vision/pull/116"),
    "densenet169": Top1(75.6, "DenseNet169_Weights.IMAGENET1K_V1", 14_149_480, "https://github.com/pytorch/vision/pull/116"),
    "densenet201": Top1(76.896, "DenseNet201_Weights.IMAGENET1K_V1", 20_013_928, "https://github.com/pytorch/vision/pull/116"),
    "resnet18": Top1(69.758, "ResNet18_Weights.IMAGENET1K_V1", 11_689_512, "https://github.com/pytorch/vision/tree/main/references/classification#resnet"),
    "resnet34": Top1(73.314, "ResNet34_Weights.IMAGENET1K_V1", 21_797_672, "https://github.com/pytorch/vision/tree/main/references/classification#resnet"),
    "resnet50": Top1(76.13, "ResNet50_Weights.IMAGENET1K_V1", 25_557_032, "https://github.com/pytorch/vision/tree/main/references/classification#resnet"),
    "resnet101": Top1(77.374, "ResNet101_Weights.IMAGENET1K_V1", 44_549_160, "https://github.com/pytorch/vision/tree/main/references/classification#resnet"),
    "resnet152": Top1(78.312, "ResNet152_Weights.IMAGENET1K_V1", 60_192_808, "https://github.com/pytorch/vision/tree/main/references/classification#resnet"),
    "resnext50_32x4d": Top1(77.618, "ResNeXt50_32X4D_Weights.IMAGENET1K_V1", 25_028_904, "https://github.com/pytorch/vision/tree/main/references/classification#resnext"),
    "resnext101_32x8d": Top1(79.312, "ResNeXt101_32X8D_Weights.IMAGENET1K_V1", 88_791_336, "https://github.com/pytorch/vision/tree/main/references/classification#resnext"),
    "resnext101_64x4d": Top1(83.246, "ResNeXt101_64X4D_Weights.IMAGENET1K_V1", 83_455_272, "https://github.com/pytorch/vision/pull/5935"),
    "wide_resnet50_2": Top1(78.468, "Wide_ResNet50_2_Weights.IMAGENET1K_V1", 68_883_240, "https://github.com/pytorch/vision/pull/912#issue-445437439"),
    "wide_resnet101_2": Top1(78.848, "Wide_ResNet101_2_Weights.IMAGENET1K_V1", 126_886_696, "https://github.com/pytorch/vision/pull/912#issue-445437439"),
    "vgg11": Top1(69.02, "VGG11_Weights.IMAGENET1K_V1", 132_863_336, "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"),
    "vgg11_bn": Top1(70.37, "VGG11_BN_Weights.IMAGENET1K_V1", 132_868_840, "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"),
    "vgg13": Top1(69.928, "VGG13_Weights.IMAGENET1K_V1", 133_047_848, "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"),
    "vgg13_bn": Top1(71.586, "VGG13_BN_Weights.IMAGENET1K_V1", 133_053_736, "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"),
    "vgg16": Top1(71.592, "VGG16_Weights.IMAGENET1K_V1", 138_357_544, "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"),
    "vgg16_bn": Top1(73.36, "VGG16_BN_Weights.IMAGENET1K_V1", 138_365_992, "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"),
    "vgg19": Top1(72.376, "VGG19_Weights.IMAGENET1K_V1", 143_667_240, "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"),
    "vgg19_bn": Top1(74.218, "VGG19_BN_Weights.IMAGENET1K_V1", 143_678_248, "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"),
    "efficientnet_b0": Top1(77.692, "EfficientNet_B0_Weights.IMAGENET1K_V1", 5_288_548, "https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1"),
    "efficientnet_b1": Top1(78.642, "EfficientNet_B1_Weights.IMAGENET1K_V1", 7_794_184, "https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1"),
    "efficientnet_b2": Top1(80.608, "EfficientNet_B2_Weights.IMAGENET1K_V1", 9_109_994, "https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1"),
    "efficientnet_b3": Top1(82.008, "EfficientNet_B3_Weights.IMAGENET1K_V1", 12_233_232, "https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1"),
    "efficientnet_b4": Top1(83.384, "EfficientNet_B4_Weights.IMAGENET1K_V1", 19_341_616, "https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1"),
    "efficientnet_b5": Top1(83.444, "EfficientNet_B5_Weights.IMAGENET1K_V1", 30_389_784, "https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1"),
    "efficientnet_b6": Top1(84.008, "EfficientNet_B6_Weights.IMAGENET1K_V1", 43_040_704, "https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1"),
    "efficientnet_b7": Top1(84.122, "EfficientNet_B7_Weights.IMAGENET1K_V1", 66_347_960, "https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1"),
    "inception_v3": Top1(77.294, "Inception_V3_Weights.IMAGENET1K_V1", 27_161_264, "https://github.com/pytorch/vision/tree/main/references/classification#inception-v3"),
    "mobilenet_v2": Top1(71.878, "MobileNet_V2_Weights.IMAGENET1K_V1", 3_504_872, "https://github.com/pytorch/vision/tree/main/references/classification#mobilenetv2"),
    "mobilenet_v3_large": Top1(74.042, "MobileNet_V3_Large_Weights.IMAGENET1K_V1", 5_483_032, "https://github.com/pytorch/vision/tree/main/references/classification#mobilenetv3-large--small"),
    "mobilenet_v3_small": Top1(67.668, "MobileNet_V3_Small_Weights.IMAGENET1K_V1", 2_542_856, "https://github.com/pytorch/vision/tree/main/references/classification#mobilenetv3-large--small"),
    "shufflenet_v2_x0_5": Top1(60.552, "ShuffleNet_V2_X0_5_Weights.IMAGENET1K_V1", 1_366_792, "https://github.com/ericsun99/Shufflenet-v2-Pytorch"),
    "shufflenet_v2_x1_0": Top1(69.362, "ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1", 2_278_604, "https://github.com/ericsun99/Shufflenet-v2-Pytorch"),
    "shufflenet_v2_x1_5": Top1(72.996, "ShuffleNet_V2_X1_5_Weights.IMAGENET1K_V1", 3_503_624, "https://github.com/pytorch/vision/pull/5906"),
    "shufflenet_v2_x2_0": Top1(76.23, "ShuffleNet_V2_X2_0_Weights.IMAGENET1K_V1", 7_393_996, "https://github.com/pytorch/vision/pull/5906"),
    "squeezenet1_0": Top1(58.092, "SqueezeNet1_0_Weights.IMAGENET1K_V1", 1_248_424, "https://github.com/pytorch/vision/pull/49#issuecomment-277560717"),
    "squeezenet1_1": Top1(58.178, "SqueezeNet1_1_Weights.IMAGENET1K_V1", 1_235_496, "https://github.com/pytorch/vision/pull/49#issuecomment-277560717"),
}


def top1(torchvision_name, params):
    """(Top1, None) when the table has the builder and its checkpoint has exactly ``params``
    parameters; otherwise (None, why)."""
    if not torchvision_name:
        return None, "no torchvision counterpart"
    row = TOP1.get(torchvision_name)
    if row is None:
        return None, f"no published ImageNet-1K top-1 for torchvision's {torchvision_name}"
    if row.num_params != params:
        return None, f"{row.weights} has {row.num_params:,} params, this variant {params:,}" if isinstance(
            params, int) else f"{row.weights} has {row.num_params:,} params, this variant {params}"
    return row, None
