"""Stride warnings mean real input was lost: unread padding is silent, and so is a tail no wider
than the gap the stride already leaves between windows (the project lead's rule, issue 13 item 5)."""

from __future__ import annotations

from archcalc import analyze
from archcalc.graph import Builder
from archcalc.layers import Conv2d, MaxPool2d


def one(layer, shape):
    b = Builder("t", shape)
    b.add(layer, b.input, name="x")
    return analyze(b.build())["x"]


def test_course_case_drops_real_pixels_and_warns_once():
    # (8 - 3)/2 + 1 = 3.5: windows start at 0, 2, 4; input row 7 is never read, with no padding
    r = one(Conv2d(4, 3, stride=2), (3, 8, 8))
    assert r.output_shape == (4, (8 - 3) // 2 + 1, (8 - 3) // 2 + 1)
    assert r.warnings == ["stride 2 leaves the last 1 input rows and columns unread: (8 + 0 - 3)/2 + 1 = 3.5"]


def test_only_height_loses_a_row():
    r = one(Conv2d(4, 3, stride=2), (3, 8, 9))  # width: (9 - 3)/2 + 1 = 4 exactly
    assert r.warnings == ["stride 2 leaves the last 1 input row(s) unread: (8 + 0 - 3)/2 + 1 = 3.5"]


def test_unread_padding_is_not_a_warning():
    # ResNet conv1: (224 + 6 - 7)/2 = 111.5; the unread position is trailing padding (3 of it)
    assert one(Conv2d(64, 7, stride=2, padding=3), (3, 224, 224)).warnings == []
    # ResNet/GoogLeNet max pool: (112 + 2 - 3)/2 = 55.5; again padding only
    assert one(MaxPool2d(3, 2, padding=1), (64, 112, 112)).warnings == []


def test_a_tail_no_wider_than_the_stride_gap_is_not_a_warning():
    # ResNet's 1x1 stride-2 downsample on 56x56: row 55 is unread, but the stride already skips
    # every other row (gap 2 - 1 = 1); nothing beyond that is lost
    assert one(Conv2d(128, 1, stride=2), (64, 56, 56)).warnings == []
    # a 1x1 stride-4 conv on 11: last window at 8; rows 9, 10 unread = 2 < gap 3
    assert one(Conv2d(8, 1, stride=4), (3, 11, 11)).warnings == []


def test_a_tail_wider_than_the_gap_warns():
    # 2x2 stride-3 (gap 1) on 10: windows at 0, 3, 6 cover up to 7; rows 8, 9 (2 > 1) are lost
    r = one(Conv2d(2, 2, stride=3), (1, 10, 10))
    assert r.output_shape == (2, (10 - 2) // 3 + 1, (10 - 2) // 3 + 1)
    assert len(r.warnings) == 1 and "last 2 input rows and columns" in r.warnings[0]


def test_stock_torchvision_models_print_no_stride_warnings():
    for name in ("resnet50", "mobilenet_v2", "vgg16", "googlenet", "densenet121", "alexnet"):
        assert analyze(name).warnings == [], name


def test_symbolic_sizes_warn_only_when_decidable():
    r = analyze(_graph(Conv2d(4, 3, stride=2)), input="3xHxW")
    assert r["x"].warnings == []  # (H - 3) mod 2 is unknown: no claim either way


def _graph(layer):
    b = Builder("t", (3, 8, 8))
    b.add(layer, b.input, name="x")
    return b.build()
