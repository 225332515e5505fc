"""2-D human pose: 14 keypoints (the course notes' "14 points along the joints"; LSP's 14 joints).

- ``deeppose_alexnet``: Toshev & Szegedy, "DeepPose", CVPR 2014, sec. 3 and Fig. 2: an AlexNet-like
  ConvNet whose last layer regresses 2k = 28 normalised joint coordinates. Built as torchvision's
  ``alexnet`` with ``num_classes=28`` (224x224; the paper's 220x220 and two-GPU layout differ).
- ``simplebaseline_resnet50``: Xiao, Wu, Wei, "Simple Baselines for Human Pose Estimation and
  Tracking", ECCV 2018, sec. 2 and Fig. 1(c): ResNet-50 trunk, three 4x4/2 deconvolutions (256,
  no bias) with BN + ReLU, a 1x1 conv to one heatmap per joint; input 256x192 -> 64x48 heatmaps.
  Table 2 lists 34.0M params and 8.9 GFLOPs (GMACs) for ResNet-50 at 256x192 with COCO's 17 joints
  (``num_joints=17``); the registered entry uses 14.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import BatchNorm2d, Conv2d, ConvTranspose2d, ReLU
from . import Published, register_model
from ._parts import graft
from .alexnet import alexnet
from .resnet import resnet


def deeppose_alexnet(name, input_shape, num_joints=14, num_classes=None):
    return alexnet(name, input_shape, num_classes=2 * num_joints if num_classes is None else num_classes)


def simplebaseline_resnet50(name, input_shape, num_joints=14, deconv_channels=256, num_classes=None):
    joints = num_joints if num_classes is None else num_classes
    b = Builder(name, input_shape)
    trunk = resnet(name, input_shape, block="bottleneck", layers=(3, 4, 6, 3))
    x, _ = graft(b, trunk, b.input, stop_after="layer4.2.relu_2")
    layers = []
    for _ in range(3):
        layers += [ConvTranspose2d(deconv_channels, 4, stride=2, padding=1, bias=False), BatchNorm2d(), ReLU(True)]
    x = b.sequential("deconv_layers", x, layers)
    b.add(Conv2d(joints, 1), x, name="final_layer")
    return b.build()


register_model(
    "deeppose_alexnet", deeppose_alexnet, family="Pose", variant="regression of 14 x (x, y) = 28 values",
    source="Toshev & Szegedy 2014 (DeepPose) sec. 3; torchvision alexnet(num_classes=28)",
    torchvision="alexnet", torchvision_kwargs={"num_classes": 28},
)
register_model(
    "simplebaseline_resnet50", simplebaseline_resnet50, family="Pose",
    variant="heatmaps: ResNet-50 + 3 deconvs, 14 joints, 256x192",
    source="Xiao et al. 2018 (Simple Baselines) sec. 2, Table 2", input_shape=(3, 256, 192),
    published=Published("Xiao et al. 2018 Table 2 (ResNet-50, 256x192, 17 joints)",
                        extra={"params_millions": 34.0, "gflops": 8.9, "num_joints": 17}),
)
