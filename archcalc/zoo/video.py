"""torchvision's video classifiers built from 3-d convolutions: R3D-18, MC3-18 and R(2+1)D-18.

Tran, Wang, Torresani, Ray, LeCun, Paluri, "A Closer Look at Spatiotemporal Convolutions for Action
Recognition", CVPR 2018: section 3 (R3D: every conv 3x3x3; MCx: 3-d convs in the bottom stage only,
2-d (1x3x3) convs above; R(2+1)D: each 3x3x3 conv factored into a 1x3x3 spatial conv to ``M_i``
channels, BN, ReLU and a 3x1x1 temporal conv, ``M_i = floor(t d^2 N_{i-1} N_i / (d^2 N_{i-1} + t N_i))``
(eq. 1) so the pair has the 3-d conv's parameters) and Table 1 (the 18-layer ResNet: stages of 2
basic blocks, 64/128/256/512 channels). The layout mirrors ``torchvision.models.video.resnet``: stem
3x7x7 (R(2+1)D: 1x7x7 to 45 channels, then 3x1x1 to 64) with stride (1, 2, 2), stages 2-4 halving
T, H and W (MC3 and the stride of R(2+1)D's temporal conv included), 1x1x1 projection shortcuts,
global 3-d average pool, FC to the 400 Kinetics classes. Input ``3 x T x H x W``; each entry is
registered at the weights' clip of 16 frames of 112x112, where their ``_ops`` apply; ``T`` may be
symbolic (``input="3xTx112x112"``).
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import Add, AdaptiveAvgPool3d, BatchNorm3d, Conv3d, Flatten, Linear, ReLU
from . import Published, register_model


def _conv(b, x, prefix, kind, mid, cout, stride):
    """One of torchvision's conv builders (Conv3DSimple, Conv3DNoTemporal, Conv2Plus1D)."""
    if kind == "3d":
        return b.add(Conv3d(cout, 3, stride=stride, padding=1, bias=False), x, name=prefix)
    if kind == "2d":
        return b.add(Conv3d(cout, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False), x,
                     name=prefix)
    return b.sequential(prefix, x, [
        Conv3d(mid, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False), BatchNorm3d(),
        ReLU(True), Conv3d(cout, (3, 1, 1), stride=(stride, 1, 1), padding=(1, 0, 0), bias=False)])


def video_resnet(name, input_shape, convs=("3d", "3d", "3d", "3d"), stem="3d", layers=(2, 2, 2, 2),
                 num_classes=400):
    b = Builder(name, input_shape)
    if stem == "2plus1d":
        x = b.sequential("stem", b.input, [
            Conv3d(45, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False), BatchNorm3d(), ReLU(True),
            Conv3d(64, (3, 1, 1), stride=1, padding=(1, 0, 0), bias=False), BatchNorm3d(), ReLU(True)])
    else:
        x = b.sequential("stem", b.input, [
            Conv3d(64, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False), BatchNorm3d(), ReLU(True)])
    cin = 64
    for stage, (kind, planes, n) in enumerate(zip(convs, (64, 128, 256, 512), layers), start=1):
        for i in range(n):
            stride = 2 if stage > 1 and i == 0 else 1
            with b.scope(f"layer{stage}.{i}"):
                short = x
                if stride != 1 or cin != planes:
                    ds = (1, stride, stride) if kind == "2d" else stride  # get_downsample_stride
                    short = b.sequential("downsample", x, [Conv3d(planes, 1, stride=ds, bias=False), BatchNorm3d()])
                # eq. 1 (the 3-d conv's parameter budget), computed once per block from its input
                # width, so the block's second (planes -> planes) factorisation uses it too (torchvision)
                mid = (cin * planes * 3 * 3 * 3) // (cin * 3 * 3 + 3 * planes)
                y = _conv(b, x, "conv1.0", kind, mid, planes, stride)
                y = b.sequential("conv1", y, [BatchNorm3d(), ReLU(True)], start=1)
                y = _conv(b, y, "conv2.0", kind, mid, planes, 1)
                y = b.add(BatchNorm3d(), y, name="conv2.1")
                y = b.add(Add(inplace=True), y, short, name="add")
                x = b.add(ReLU(True), y, name="relu")
            cin = planes
    x = b.add(AdaptiveAvgPool3d(1), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    b.add(Linear(num_classes), x, name="fc")
    return b.build()


# torchvision *_Weights.KINETICS400_V1 meta at 16 x 112 x 112: num_params, _ops (GFLOPS = GMACs)
_TV = {
    "r3d_18": (("3d",) * 4, "3d", "R3D-18", 33_371_472, 40.697),
    "mc3_18": (("3d", "2d", "2d", "2d"), "3d", "MC3-18", 11_695_440, 43.343),
    "r2plus1d_18": (("2plus1d",) * 4, "2plus1d", "R(2+1)D-18", 31_505_325, 40.519),
}

for _name, (_convs, _stem, _label, _params, _gmacs) in _TV.items():
    register_model(
        _name, video_resnet, family="Video", convs=_convs, stem=_stem, input_shape=(3, 16, 112, 112),
        variant=f"{_label}, 16 frames of 112x112, Kinetics-400",
        source=f"Tran et al. 2018 (arXiv:1711.11248), sec. 3 and Table 1 ({_label}); "
               f"torchvision.models.video.{_name}",
        torchvision=f"video.{_name}",
        published=Published(f"torchvision {_name} KINETICS400_V1 weights meta (at 16x112x112)", params=_params,
                            extra={"gflops": _gmacs, "weights": "KINETICS400_V1"}),
    )
