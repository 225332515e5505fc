"""torchvision's detectors on the fallback tracer, under a *capacity* convention.

A detector's work past its backbone depends on the pixels: how many anchors pass a score
threshold, how many boxes survive non-maximum suppression. A run on fake tensors has no pixels, so
the data-dependent filters are forced to keep every candidate:

- ``nonzero`` (``torch.where(mask)``) returns every index of the mask, ``masked_select`` every
  element;
- ``torchvision.ops.nms`` / ``batched_nms`` keep every box, in descending score order.

The sizes are then set by the model's own caps: ``rpn.pre_nms_top_n`` / ``post_nms_top_n``,
``roi_heads.detections_per_img``, ``topk_candidates``. For Faster/Mask/Keypoint R-CNN in eval mode
that gives R = 1000 proposals and D = 100 detections per image: the convention of the zoo's
detection entries (:mod:`archcalc.zoo.detection`, :mod:`archcalc.zoo.detection_tv`), which reproduce
torchvision's published figures at R = 1000, D = 100.

Two steps whose sizes depend on each box's extent in pixels are not run (they hold no
multiply-accumulates): the transform's ``postprocess`` (boxes rescaled to the original image, masks
pasted at image resolution) and Keypoint R-CNN's ``heatmaps_to_keypoints`` (a bicubic resize per
box to the box's size).

The batch: a detector loops over the images of its input in Python (transform, anchors,
postprocess), so the run uses one image (batch 1): each per-image loop then runs once, which is the
per-sample cost. A tensor whose leading axis is that batch of 1 (the padded image batch, the
feature maps) has it removed from its per-sample shape; tensors built per image (proposals, RoIs:
``(R, 256, 7, 7)``) keep every axis, and the spatial layers applied to RoIs are ``PerItem``.

What is counted: the network modules (backbone, FPN, RPN/detection heads, RoI pooling and the
box/mask/keypoint heads) layer by layer, checked against the shapes torch produced. The pipeline
between them (the input transform: normalize, resize, pad; anchor generation, box decoding, top-k,
clipping, score filters, NMS, the final selection) has no multiply-accumulates of weights; its
elementwise work is not counted and it is listed, by module, as ``Uncounted`` nodes named
``detection pipeline (...)``, never as a silent 0.
"""

from __future__ import annotations

import contextlib

from .. import layers as L

#: What a detector import assumes, in the graph (``graph.convention``) and the result's notes.
CAPACITY_NOTE = ("data-dependent filters assumed to keep every candidate (score thresholds, NMS): the "
                 "sizes are the model's caps")


def is_detector(module) -> bool:
    """A torchvision detection model (GeneralizedRCNN: Faster/Mask/Keypoint R-CNN; RetinaNet, FCOS,
    SSD), subclasses and custom backbones included."""
    import sys

    if "torchvision" not in sys.modules:  # not imported: the module cannot be one
        return False
    from torchvision.models import detection as D

    return isinstance(module, (D.generalized_rcnn.GeneralizedRCNN, D.retinanet.RetinaNet, D.fcos.FCOS, D.ssd.SSD))


def short_caps(module) -> str:
    """``R=1000, D=100`` (two-stage) or ``topk_candidates=1000, detections_per_img=300`` (one-stage)."""
    rpn, roi = getattr(module, "rpn", None), getattr(module, "roi_heads", None)
    if rpn is not None and roi is not None:
        return f"R={rpn.post_nms_top_n()}, D={roi.detections_per_img}"
    attrs = ("topk_candidates", "detections_per_img")
    return ", ".join(f"{a}={getattr(module, a)}" for a in attrs if hasattr(module, a))


def capacity_note(module) -> str:
    """The convention in words, with this model's caps."""
    caps = []
    rpn = getattr(module, "rpn", None)
    if rpn is not None:
        caps.append(f"R={rpn.post_nms_top_n()} proposals (rpn post_nms_top_n; pre_nms_top_n "
                    f"{rpn.pre_nms_top_n()} per level)")
    roi = getattr(module, "roi_heads", None)
    if roi is not None:
        caps.append(f"D={roi.detections_per_img} detections per image (roi_heads.detections_per_img)")
    for attr in ("topk_candidates", "detections_per_img"):
        if roi is None and hasattr(module, attr):
            caps.append(f"{attr}={getattr(module, attr)}")
    return CAPACITY_NOTE + ("; " + ", ".join(caps) if caps else "") + \
        "; capped by the model's limits; the transform's postprocess (rescale, mask paste) is not run"


def _keep_all(boxes, scores, *args, **kwargs):
    """nms / batched_nms under the capacity convention: every box, in descending score order."""
    import torch

    return torch.argsort(scores, descending=True)


def _keypoints_unrun(x, boxes):
    """keypointrcnn_inference without heatmaps_to_keypoints (a resize per box to its pixel size)."""
    import torch

    k = x.shape[1]
    out, scores = [], []
    for b in boxes:
        out.append(x.new_zeros((b.shape[0], k, 3), dtype=torch.float32))
        scores.append(x.new_zeros((b.shape[0], k), dtype=torch.float32))
    return out, scores


def _identity_postprocess(result, image_shapes, original_image_sizes):
    return result


def capacity_mode():
    """A TorchDispatchMode forcing the data-dependent ops to keep every candidate."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    nonzero = {aten.nonzero.default}
    masked = {aten.masked_select.default}
    indexing = {aten.index.Tensor, aten.index_put.default, aten.index_put_.default, aten._unsafe_index.Tensor}

    class Capacity(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func in nonzero:
                mask = args[0]
                return torch.empty((mask.numel(), mask.dim()), dtype=torch.long, device=mask.device)
            if func in masked:
                x, mask = args[0], args[1]
                n = torch.broadcast_shapes(x.shape, mask.shape).numel()
                return torch.empty((n,), dtype=x.dtype, device=x.device)
            if func in indexing and any(i is not None and i.dtype in (torch.bool, torch.uint8) for i in args[1]):
                # x[mask]: the mask becomes every one of its indices (one long index per mask axis)
                idx = []
                for i in args[1]:
                    if i is not None and i.dtype in (torch.bool, torch.uint8):
                        idx += [torch.empty((i.numel(),), dtype=torch.long, device=i.device)] * i.dim()
                    else:
                        idx.append(i)
                return func(args[0], idx, *args[2:], **kwargs)
            if func.namespace == "torchvision" and func.overloadpacket.__name__ == "nms":
                return torch.argsort(args[1], descending=True)
            return func(*args, **kwargs)

    return Capacity()


@contextlib.contextmanager
def capacity(module):
    """Patch the Python-level data-dependent steps of ``module``'s run (restored on exit); use with
    :func:`capacity_mode` under a ``FakeTensorMode``."""
    import torchvision.ops.boxes as box_ops
    from torchvision.models.detection import roi_heads

    saved = [(box_ops, "batched_nms", box_ops.batched_nms), (box_ops, "nms", box_ops.nms),
             (roi_heads, "keypointrcnn_inference", roi_heads.keypointrcnn_inference)]
    box_ops.batched_nms = _keep_all
    box_ops.nms = _keep_all
    roi_heads.keypointrcnn_inference = _keypoints_unrun
    transform = getattr(module, "transform", None)
    had = transform is not None and "postprocess" in vars(transform)
    if transform is not None:
        transform.postprocess = _identity_postprocess
    try:
        yield
    finally:
        for obj, attr, val in saved:
            setattr(obj, attr, val)
        if transform is not None and not had:
            del transform.postprocess


def input_batch(input_shapes, device):
    """The run's inputs: one image per shape (batch 1, see the module docstring)."""
    import torch

    return [torch.empty((1, *s), device=device) for s in input_shapes]


def flop_counter_macs(module, input_shapes) -> int:
    """torch's ``FlopCounterMode`` total / 2 on the capacity path, on fake tensors (the corpus oracle
    for detectors: the same forced path the import records)."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils.flop_counter import FlopCounterMode

    p0 = next(iter(module.parameters()), None)
    device = p0.device if p0 is not None else torch.device("cpu")
    with FakeTensorMode(allow_non_fake_inputs=True), capacity(module):
        xs = input_batch(input_shapes, device)
        with capacity_mode(), FlopCounterMode(display=False) as fc, torch.no_grad():
            module(*xs)
    return fc.get_total_flops() // 2


# --- the import ---------------------------------------------------------------------------------

#: Layers that take one (C, H, W) map; applied to a stack of RoIs ``(R, C, H, W)`` they are PerItem.
_SPATIAL = (L.Conv2d, L.ConvTranspose2d, L.BatchNorm2d, L.FrozenBatchNorm2d, L.GroupNorm, L.MaxPool2d,
            L.AvgPool2d, L.AdaptiveAvgPool2d, L.Interpolate)

#: What the pipeline code of each top-level part does (the ``Uncounted`` node's name says it).
_PIPELINE = {
    "transform": "transform: normalize, resize, pad to the size divisor",
    "rpn": "rpn: anchors, box decoding, top-k, clipping, score filter, NMS",
    "roi_heads": "roi_heads: box decoding, score filter, NMS, top detections, mask/keypoint selection",
    "": "postprocess: anchors, box decoding, top-k, score filter, NMS",
}
_ORDER = ["transform", "rpn", "roi_heads", ""]  # a one-stage model's anchor_generator is under ""
#: aten ops with multiply-accumulates: never part of the uncounted pipeline
_MACS_OPS = {"convolution", "_convolution", "mm", "bmm", "addmm", "baddbmm", "matmul", "linear", "einsum",
             "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_efficient_attention",
             "_scaled_dot_product_flash_attention", "scaled_dot_product_attention"}


def _importer_class():
    from .dispatch_import import DispatchImporter

    class DetectImporter(DispatchImporter):
        """The dispatch importer at batch 1: a tensor's leading axis is the batch only when it was
        derived from the padded image batch and is still 1 (``batched``); per-image tensors
        (proposals, RoIs) keep every axis."""

        def __init__(self, *args):
            super().__init__(*args)
            self.batched: set = set()  # ids of tensors whose axis 0 is the batch of 1
            self.batched_nodes: set = set()  # graph node names of those tensors
            self.pdeps: dict = {}  # id(pipeline tensor) -> graph node names it was computed from
            self.plabel: dict = {}  # id(pipeline tensor) -> top-level module path that made it
            self.pnodes: dict = {}  # id(pipeline tensor) -> its Uncounted node
            self.caps = ""  # " to the model's caps, R=1000, D=100" (set by Detect)
            self.per_image: set = set()  # ids of tensors known not to carry the batch (RoI stacks)

        def batch_pos(self, t):
            return 0 if id(t) in self.batched else None

        def per_sample(self, t):
            shape = tuple(int(d) for d in t.shape)
            return shape[1:] if id(t) in self.batched else shape

        def classify(self, ins_batched: bool, outs):
            for o in outs:
                if ins_batched and o.dim() >= 1 and int(o.shape[0]) == 1 and id(o) not in self.per_image:
                    self.batched.add(id(o))
                    self.keep.append(o)

        def value_of(self, t, path):
            if id(t) in self.pdeps and id(t) not in self.names:
                return self.pipeline_node(t)
            return super().value_of(t, path)

        def pipeline_node(self, t):
            """The Uncounted node standing for the pipeline work that produced ``t``."""
            from .dispatch_import import _Skip

            if id(t) not in self.pnodes:
                shape = tuple(int(d) for d in t.shape)
                if t.dim() == 4 and shape[0] == 1:  # the padded image batch
                    self.batched.add(id(t))
                if not all(shape):
                    raise _Skip(f"an empty tensor {list(shape)} from the detection pipeline")
                labels = sorted(self.plabel.get(id(t), {""}), key=_ORDER.index)
                what = "; ".join(_PIPELINE[k] for k in labels)
                ins = sorted(self.pdeps[id(t)]) or ["input"]
                op = f"detection pipeline ({what}) [capacity: every candidate kept{self.caps}]"
                name = self.add(L.Uncounted(op, self.per_sample(t)), ins,
                                self.unique("pipeline." + (labels[-1] or "postprocess")))
                if id(t) in self.batched:
                    self.batched_nodes.add(name)
                self.pnodes[id(t)] = name
            return self.pnodes[id(t)]

        def per_item(self, layer, ins):
            inner = layer.layer if isinstance(layer, L.Shared) else layer
            return isinstance(inner, _SPATIAL) and ins and len(self.shapes[ins[0]]) == 4

        def add(self, layer, ins, lname):
            if self.per_item(layer, ins):  # a spatial layer on a stack of RoIs
                layer = L.Shared(L.PerItem(layer.layer), owner=layer.owner) if isinstance(layer, L.Shared) \
                    else L.PerItem(layer)
            return super().add(layer, ins, lname)

        def rule_params(self, layer, shapes):
            if isinstance(layer, _SPATIAL) and len(shapes[0]) == 4:
                shapes = [tuple(shapes[0][1:])] + list(shapes[1:])
            return super().rule_params(layer, shapes)

        def emit(self, layer, ins, out_tensor, lname, check=True):
            if out_tensor is not None and id(out_tensor) not in self.batched:
                self.classify(any(n in self.batched_nodes for n in ins), [out_tensor])
            name = super().emit(layer, ins, out_tensor, lname, check)
            if out_tensor is not None and id(out_tensor) in self.batched:
                self.batched_nodes.add(name)
            return name

    return DetectImporter


class Detect:
    """The hooks :func:`~archcalc.torch_bridge.dispatch_import.import_dispatch` calls for a detector."""

    def __init__(self, module):
        import torchvision

        self.module = module
        self.note = capacity_note(module)
        net = {"backbone", "head", "rpn.head"}
        roi = getattr(module, "roi_heads", None)
        if roi is not None:
            net |= {f"roi_heads.{c}" for c, _ in roi.named_children()}
        self.network = net
        from torchvision.models.detection.transform import GeneralizedRCNNTransform

        #: parts recorded whole from their module hooks: id(module) -> what it is
        self.parts = {id(m): "roi_pool" for m in module.modules() if isinstance(m, torchvision.ops.MultiScaleRoIAlign)}
        if type(module.transform) is GeneralizedRCNNTransform:  # the stock transform (not a user's own)
            self.parts[id(module.transform)] = "transform"
        self.depth = 0  # network modules on the stack
        self.stack: list = []
        cls, caps = _importer_class(), short_caps(module)

        def importer(*args):
            imp = cls(*args)
            imp.caps = f" to the model's caps, {caps}" if caps else ""
            return imp

        self.importer_class = importer

    # module hooks
    def enter(self, path):
        if path in self.network:
            self.depth += 1
        self.stack.append(path)

    def exit(self, path):
        if path in self.network:
            self.depth -= 1
        if self.stack:
            self.stack.pop()

    def label(self):
        top = next((p for p in self.stack if p), "").split(".")[0]
        return top if top in _ORDER else ""

    # aten ops
    def pipeline_op(self, imp, func_name, tensors, outs) -> bool:
        """Track an op outside the network modules (no layer is recorded); True when it was one."""
        if self.depth:
            imp.classify(any(id(t) in imp.batched for t in tensors), outs)
            return False
        from .dispatch_import import _Skip

        if func_name in _MACS_OPS or any(id(t) in imp.param_path or id(t) in imp.derived for t in tensors):
            # work on weights outside the network modules this import knows (a customised detector):
            # counting it as pipeline would drop it, so it is refused by name
            raise _Skip(f"{func_name} on weights or with multiply-accumulates in the detection pipeline "
                        f"({self.label() or 'the model'}), outside the network modules archcalc records")
        deps, labels = set(), {self.label()}
        for t in tensors:
            if id(t) in imp.names:
                deps.add(imp.names[id(t)].name)
            deps |= imp.pdeps.get(id(t), set())
            labels |= imp.plabel.get(id(t), set())
        for o in outs:
            imp.pdeps[id(o)] = deps
            imp.plabel[id(o)] = labels
            imp.keep.append(o)
        return True

    def record(self, part, imp, mod, args, out, path, lname):
        {"roi_pool": self.roi_pool, "transform": self.transform}[part](imp, mod, args, out, path, lname)

    def transform(self, imp, mod, args, out, path, lname):
        """torchvision's GeneralizedRCNNTransform on one image: normalize (a subtraction and a
        division per element by per-channel constants), a bilinear resize to the size torch chose
        (min_size / max_size, or fixed_size), then the zero padding of ``batch_images`` to a multiple
        of ``size_divisible``. Sizes are the ones torch produced in this run."""
        from .dispatch_import import _Skip

        images = args[0]
        x = images if hasattr(images, "dim") else (images[0] if len(images) == 1 else None)
        if x is None or (hasattr(images, "dim") and (images.dim() != 4 or int(images.shape[0]) != 1)):
            raise _Skip("the transform gets one image per run")
        if x.dim() == 4:
            imp.batched.add(id(x))
        name = imp.value_of(x, path)
        if x.dim() == 4:
            imp.batched_nodes.add(name)
        image_list = out[0]
        rh, rw = (int(d) for d in image_list.image_sizes[0])
        t = image_list.tensors
        big_h, big_w = int(t.shape[-2]), int(t.shape[-1])
        n = imp.emit(L.Pointwise("sub_scalar"), [name], None, imp.unique(lname + ".normalize.sub_mean"))
        n = imp.emit(L.Pointwise("div_scalar"), [n], None, imp.unique(lname + ".normalize.div_std"))
        n = imp.emit(L.Interpolate(size=(rh, rw), mode="bilinear", align_corners=False), [n], None,
                     imp.unique(lname + ".resize"))
        pad = (0, big_w - rw, 0, big_h - rh)
        imp.classify(True, [t])
        imp.emit(L.ZeroPad2d(pad) if any(pad) else L.Identity(), [n], t, imp.unique(lname + ".batch_images"))

    def roi_pool(self, imp, mod, args, out, path, lname):
        """torchvision's MultiScaleRoIAlign as one RoIAlign over the pyramid levels it reads (the
        level assignment per box is data-dependent; each box is pooled from one level)."""
        feats = args[0]
        ins = [imp.value_of(feats[k], path) for k in mod.featmap_names if k in feats]
        oh, ow = mod.output_size if isinstance(mod.output_size, (tuple, list)) else (mod.output_size,) * 2
        scale = mod.scales[0] if getattr(mod, "scales", None) else 1 / 16
        layer = L.RoIAlign((int(oh), int(ow)), int(out.shape[0]), int(mod.sampling_ratio), float(scale))
        imp.per_image.add(id(out))  # (R, C, oh, ow) for this image, even when R is 1
        imp.emit(layer, ins, out, lname)

    # the run
    def inputs(self, input_shapes, device):
        from ..errors import InvalidValueError

        if len(input_shapes) != 1:
            raise InvalidValueError(f"{type(self.module).__name__} is a detector: give one image shape (C, H, W), "
                                    f"got {len(input_shapes)} shapes")
        return input_batch(input_shapes, device)

    def modes(self):
        stack = contextlib.ExitStack()
        stack.enter_context(capacity(self.module))
        stack.enter_context(capacity_mode())
        return stack

    def outputs(self, imp, out):
        """Graph outputs: the model's output tensors (boxes, scores, labels, masks) as pipeline nodes."""
        import torch
        from torch.utils._pytree import tree_flatten

        names = []
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor) or not t.numel():
                continue
            if id(t) in imp.names:
                names.append(imp.names[id(t)].name)
            elif id(t) in imp.pdeps:
                names.append(imp.pipeline_node(t))
        return list(dict.fromkeys(names))


def plan(module):
    """The detector hooks for ``module``, or None for any other model."""
    return Detect(module) if is_detector(module) else None


# --- two inputs encoded in one batch (RAFT's feature encoder) ------------------------------------

def batch_axis_cat(imp, seq, dim, out, name_of, lname) -> bool:
    """``torch.cat([a, b], dim=0)`` of batched tensors (RAFT encodes both frames in one batch): per
    sample, the pieces stack on a new leading axis (or a folded one grows); the axis then travels as
    a folded batch (``B * k``). False when ``dim`` is not the batch axis of every piece."""
    from .dispatch_import import BATCH

    rank = seq[0].dim()
    dim = dim + rank if dim < 0 else dim
    if any(imp.batch_pos(t) != dim for t in seq):
        return False
    names = []
    for t in seq:
        n = name_of(t)
        if int(t.shape[dim]) // BATCH == 1:  # one sample's tensor: a new axis of 1 to stack on
            n = imp.add(L.Unsqueeze(dim), [n], imp.unique(lname + ".unsqueeze"))
        names.append(n)
    imp.emit(L.Concat(dim), names, out, imp.unique(lname))
    return True


def batch_axis_split(imp, x, dim, pieces, name_of, lname) -> bool:
    """``torch.chunk(x, 2, dim=0)`` undoing :func:`batch_axis_cat`: each piece of ``k`` samples' worth
    is a slice of the folded per-sample axis (a select when ``k`` is 1). Only shapes are read: the
    pieces must be whole multiples of the batch. False when ``dim`` is not a folded batch axis."""
    from .dispatch_import import BATCH

    dim = dim + x.dim() if dim < 0 else dim
    if imp.batch_pos(x) != dim or int(x.shape[dim]) // BATCH < 2 or \
            any(int(p.shape[dim]) % BATCH for p in pieces):
        return False
    start = 0
    for p in pieces:
        k = int(p.shape[dim]) // BATCH
        layer = L.Select(dim, start) if k == 1 else L.Slice(start, start + k, dim)
        imp.emit(layer, [name_of(x)], p, imp.unique(lname))
        start += k
    return True
