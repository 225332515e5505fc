"""S3D (separable 3-d Inception) for video classification.

Xie, Sun, Huang, Tu, Murphy, "Rethinking Spatiotemporal Feature Learning: Speed-Accuracy Trade-offs
in Video Classification", ECCV 2018, section 4 and Figure 2 (S3D: the I3D Inception layout with
every 3-d conv factored into a 1xkxk spatial conv and a kx1x1 temporal conv, each with BN and ReLU).
The layout mirrors ``torchvision.models.video.s3d``: ``TemporalSeparableConv`` stem 7x7 s2,
max pools 1x3x3, a 1x1x1 conv, a separable 3x3, then nine ``SepInceptionBlock3D`` (four branches:
1x1x1; 1x1x1 then separable 3x3; the same; 3x3x3 max pool then 1x1x1; concatenated) with 3-d max
pools between, a 2x7x7 average pool, dropout, a 1x1x1 conv to the 400 classes (with bias) and the
mean over the remaining time and space. BN eps 1e-3 changes no count. Input ``3 x T x 224 x 224``;
registered at T = 16, the clip at which the weights' ``_ops`` (17.979) is reproduced; ``T`` may be
symbolic (the average pool needs T >= 14 frames, torchvision's ``min_temporal_size``).
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import AvgPool3d, BatchNorm3d, Concat, Conv3d, Dropout, MaxPool3d, Mean, ReLU
from . import Published, register_model


def _cna(b, x, prefix, cout, k=1, stride=1, padding=0):
    """torchvision ``Conv3dNormActivation``: conv (no bias), BN3d, ReLU as ``prefix.0/.1/.2``."""
    return b.sequential(prefix, x, [Conv3d(cout, k, stride=stride, padding=padding, bias=False), BatchNorm3d(),
                                    ReLU(True)])


def _sep(b, x, prefix, cout, k, stride, padding):
    """``TemporalSeparableConv``: 1xkxk (stride 1xsxs) then kx1x1 (stride sx1x1)."""
    x = _cna(b, x, f"{prefix}.0", cout, (1, k, k), (1, stride, stride), (0, padding, padding))
    return _cna(b, x, f"{prefix}.1", cout, (k, 1, 1), (stride, 1, 1), (padding, 0, 0))


def _inception(b, x, prefix, b0, b1_mid, b1, b2_mid, b2, b3):
    x0 = _cna(b, x, f"{prefix}.branch0", b0)
    x1 = _sep(b, _cna(b, x, f"{prefix}.branch1.0", b1_mid), f"{prefix}.branch1.1", b1, 3, 1, 1)
    x2 = _sep(b, _cna(b, x, f"{prefix}.branch2.0", b2_mid), f"{prefix}.branch2.1", b2, 3, 1, 1)
    x3 = b.add(MaxPool3d(3, stride=1, padding=1), x, name=f"{prefix}.branch3.0")
    x3 = _cna(b, x3, f"{prefix}.branch3.1", b3)
    return b.add(Concat(), x0, x1, x2, x3, name=f"{prefix}.cat")


#: (position in ``features``, b0, b1 mid, b1, b2 mid, b2, b3): torchvision S3D (Xie et al. 2018, Fig. 2)
BLOCKS = ((5, 64, 96, 128, 16, 32, 32), (6, 128, 128, 192, 32, 96, 64), (8, 192, 96, 208, 16, 48, 64),
          (9, 160, 112, 224, 24, 64, 64), (10, 128, 128, 256, 24, 64, 64), (11, 112, 144, 288, 32, 64, 64),
          (12, 256, 160, 320, 32, 128, 128), (14, 256, 160, 320, 32, 128, 128), (15, 384, 192, 384, 48, 128, 128))


def s3d(name, input_shape, num_classes=400, dropout=0.2):
    b = Builder(name, input_shape)
    x = _sep(b, b.input, "features.0", 64, 7, 2, 3)
    x = b.add(MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)), x, name="features.1")
    x = _cna(b, x, "features.2", 64)
    x = _sep(b, x, "features.3", 192, 3, 1, 1)
    x = b.add(MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)), x, name="features.4")
    for pos, *widths in BLOCKS:
        if pos == 8:
            x = b.add(MaxPool3d(3, stride=2, padding=1), x, name="features.7")
        if pos == 14:
            x = b.add(MaxPool3d(2, stride=2), x, name="features.13")
        x = _inception(b, x, f"features.{pos}", *widths)
    x = b.add(AvgPool3d((2, 7, 7), stride=1), x, name="avgpool")
    x = b.add(Dropout(dropout), x, name="classifier.0")
    x = b.add(Conv3d(num_classes, 1), x, name="classifier.1")
    b.add(Mean((1, 2, 3)), x, name="mean")
    return b.build()


register_model(
    "s3d", s3d, family="Video", input_shape=(3, 16, 224, 224),
    variant="S3D, 16 frames of 224x224, Kinetics-400",
    source="Xie et al. 2018 (arXiv:1712.04851), sec. 4 and Fig. 2 (S3D); torchvision.models.video.s3d",
    torchvision="video.s3d",
    published=Published("torchvision S3D_Weights.KINETICS400_V1 weights meta (reproduced at 16x224x224)",
                        params=8_320_048, extra={"gflops": 17.979, "weights": "KINETICS400_V1"}),
)
