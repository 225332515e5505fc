"""torchvision's quantized classification builders, as aliases of their float architectures in int8.

``torchvision.models.quantization.<name>`` builds the float network's ``Quantizable*`` twin (the same
convolutions, BN and FC, plus quant/dequant stubs and ``FloatFunctional`` adds that hold no
parameters) and, with ``quantize=True``, converts it to int8 kernels with BN folded. Its weights' meta
repeats the float weights' ``num_params`` and ``_ops``. An alias here has exactly its float twin's
layers (so the same params and MACs under archcalc's convention) and ``int8`` as its default dtype, so
weight and activation bytes are one per element; pass ``dtype=`` to override. Folding BN into the conv
(which int8 inference does) is not modelled: BN layers are counted as in the float network.
"""

from __future__ import annotations

from . import Published, get_entry, register_model
from . import googlenet, inception, mobilenet, resnet, shufflenet  # noqa: F401  (register the float twins)

# quantized builder: (float zoo entry, torchvision weights whose meta is cited, backend)
_ALIASES = {
    "quantized_googlenet": ("googlenet", "IMAGENET1K_FBGEMM_V1"),
    "quantized_inception_v3": ("inception_v3", "IMAGENET1K_FBGEMM_V1"),
    "quantized_mobilenet_v2": ("mobilenet_v2", "IMAGENET1K_QNNPACK_V1"),
    "quantized_mobilenet_v3_large": ("mobilenet_v3_large", "IMAGENET1K_QNNPACK_V1"),
    "quantized_resnet18": ("resnet18", "IMAGENET1K_FBGEMM_V1"),
    "quantized_resnet50": ("resnet50", "IMAGENET1K_FBGEMM_V1"),
    "quantized_resnext101_32x8d": ("resnext101_32x8d", "IMAGENET1K_FBGEMM_V1"),
    "quantized_resnext101_64x4d": ("resnext101_64x4d", "IMAGENET1K_FBGEMM_V1"),
    "quantized_shufflenet_v2_x0_5": ("shufflenet_v2_x0_5", "IMAGENET1K_FBGEMM_V1"),
    "quantized_shufflenet_v2_x1_0": ("shufflenet_v2_x1_0", "IMAGENET1K_FBGEMM_V1"),
    "quantized_shufflenet_v2_x1_5": ("shufflenet_v2_x1_5", "IMAGENET1K_FBGEMM_V1"),
    "quantized_shufflenet_v2_x2_0": ("shufflenet_v2_x2_0", "IMAGENET1K_FBGEMM_V1"),
}

# torchvision weights meta: (num_params, _ops). The meta copies the float weights' figures; Inception-v3's
# num_params counts the auxiliary head as the float weights do, though the int8 model drops it (see the
# float entries inception_v3 / inception_v3_aux), so only its _ops is the alias's own count.
_META = {
    "quantized_googlenet": (6_624_904, 1.498),
    "quantized_inception_v3": (None, 5.713),
    "quantized_mobilenet_v2": (3_504_872, 0.301),
    "quantized_mobilenet_v3_large": (5_483_032, 0.217),
    "quantized_resnet18": (11_689_512, 1.814),
    "quantized_resnet50": (25_557_032, 4.089),
    "quantized_resnext101_32x8d": (88_791_336, 16.414),
    "quantized_resnext101_64x4d": (83_455_272, 15.46),
    "quantized_shufflenet_v2_x0_5": (1_366_792, 0.04),
    "quantized_shufflenet_v2_x1_0": (2_278_604, 0.145),
    "quantized_shufflenet_v2_x1_5": (3_503_624, 0.296),
    "quantized_shufflenet_v2_x2_0": (7_393_996, 0.583),
}

for _q, (_float, _weights) in _ALIASES.items():
    _f = get_entry(_float)
    _params, _gmacs = _META[_q]
    register_model(
        _q, _f.builder, family="Quantized (int8)", input_shape=_f.input_shape, dtype="int8",
        variant=f"int8 alias of {_float}",
        source=f"{_f.source}; torchvision.models.quantization.{_f.torchvision} (registered as {_q}; quantize=True "
               "converts it to int8)",
        torchvision=f"quantization.{_f.torchvision}", torchvision_kwargs={**_f.torchvision_kwargs, "quantize": False},
        notes=f"same layers as {_float}; BN not folded",
        published=Published(f"torchvision {_q} {_weights} weights meta", params=_params,
                            extra={"gflops": _gmacs, "weights": _weights, "float": _float}),
        **_f.kwargs,
    )
