"""Instance norm and grid sampling (torchvision's RAFT: its feature encoder's InstanceNorm2d and the
correlation lookups by ``F.grid_sample``). Each kind declares its conventions and memory traits here."""

from __future__ import annotations

from .. import conventions as C
from .. import dims
from ..errors import ShapeError
from ..layers import GRID_SAMPLE_OPS, GridSample, InstanceNorm2d
from . import Cost, Traits, Unfollowed, register
from ._window import expect_rank, format_shape
from .attention import _norm_cost

_INSTANCE_NORM_CONVENTIONS = {
    "fvcore": {"InstanceNorm2d": C.R("aten::instance_norm: norm_flop_counter(1) = 4 per input element, 5 when "
                                     "affine", **{"in": 4, "affine_in": 1})},
    "flop_counter": {"InstanceNorm2d": C.R("aten.native_batch_norm (instance norm runs batch norm on a (1, N*C, "
                                           "H, W) view): no flop formula registered, 0", **C.ZERO)},
    "torchinfo": {"InstanceNorm2d": C.R("other modules with parameters: output_size[0] (batch) x params",
                                        batch_params=1)},
    "ptflops": {"InstanceNorm2d": C.R("bn_flops_counter_hook (nn.InstanceNorm2d is mapped to it): input "
                                      "elements, x2 when affine", **{"in": 1, "affine_in": 1})},
    "thop": {"InstanceNorm2d": C.R("count_normalization: calculate_norm = 2 per element, doubled when affine",
                                   **{"in": 2, "affine_in": 2})},
}

#: instance norm: torch's batch norm in training mode on the (1, N*C, H, W) view saves the input and
#: a mean and an inverse std per channel of each sample (the stat rows: every axis but H and W, so
#: that a per-item output (k, C, H, W) has k * C); it takes (N, C, H, W), so applied per item it
#: runs on the items folded into the batch
INSTANCE_NORM_TRAITS = Traits(saved=("input", "row_stats"), stat_rows=lambda layer, shape: dims.prod(shape[:-2]),
                              param_tensors=lambda layer, params: (params // 2, params // 2), fixed_rank=True,
                              conventions=_INSTANCE_NORM_CONVENTIONS)


@register(InstanceNorm2d, traits=INSTANCE_NORM_TRAITS)
def instance_norm2d(layer: InstanceNorm2d, inputs):
    """Instance norm of a (C, H, W) map: one statistics group per channel; params ``2C`` when affine
    (weight and bias), no buffers. flops: as GroupNorm with C groups (see ``_norm_cost``)."""
    expect_rank(inputs[0], 3)
    c = inputs[0][0]
    return _norm_cost(inputs[0], c, 2 * c if layer.affine else 0, layer.affine)


_GRID_SAMPLE_CONVENTIONS = {
    "fvcore": {"GridSample": C.R("aten::grid_sampler: elementwise_flop_counter(0, 4), 4 per output element "
                                 "whatever the mode ('assume bilinear')", out=4)},
    "flop_counter": {"GridSample": C.R("aten.grid_sampler_2d: no flop formula registered, 0", **C.ZERO)},
    "torchinfo": {"GridSample": C.R("a function call without parameters: no module, 0", **C.ZERO)},
    "ptflops": {"GridSample": C.R("F.grid_sample is not patched and no module runs it: 0", **C.ZERO)},
    "thop": {"GridSample": C.R("functional op, invisible to module hooks: 0", **C.ZERO)},
}

#: grid_sampler_2d's backward (input and grid gradients) reads the input map and the grid; it takes
#: (N, C, H, W) and (N, Hg, Wg, 2), so applied per item it runs on the items folded into the batch
GRID_SAMPLE_TRAITS = Traits(saved=("input",), fixed_rank=True, conventions=_GRID_SAMPLE_CONVENTIONS)

_SAMPLED = Unfollowed("reads the map at positions a second input gives (grid_sample)")


@register(GridSample, traits=GRID_SAMPLE_TRAITS)
def grid_sample(layer: GridSample, inputs):
    """``F.grid_sample(x, grid)``: a (C, H, W) map read at the points of a (Hg, Wg, 2) grid, output
    (C, Hg, Wg). No MACs (torch's FlopCounterMode has no formula for it either). flops: per output
    element :data:`archcalc.layers.GRID_SAMPLE_OPS` for the mode, as :class:`Interpolate` counts the
    same interpolation (bilinear 7: four weighted values, three adds; nearest 0; bicubic 31); the
    per-point work shared by the channels (un-normalising the coordinates, the weights) is not
    counted."""
    if len(inputs) != 2:
        raise ShapeError(f"GridSample needs a map and a grid, got {len(inputs)} input(s)")
    x, grid = inputs
    expect_rank(x, 3)
    if len(grid) != 3 or dims.known_ne(grid[2], 2):
        raise ShapeError(f"GridSample's grid must be (Hg, Wg, 2), got {format_shape(grid)}")
    out = (x[0], grid[0], grid[1])
    return Cost(output=out, flops=dims.normalize(dims.prod(out) * GRID_SAMPLE_OPS[layer.mode]), rf=_SAMPLED)
