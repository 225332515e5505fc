"""Backend scratch (archcalc.scratch) and the allocator figure (``allocator_peak_bytes``).

The static tests write each buffer of torch's oneDNN convolution as arithmetic (docs/memory.md
lists them); the torch tests measure the same layers with the allocator's own events
(``memory_measure.AllocatorEvents``: torch.profiler allocate/free events paired by pointer) and
require the estimate to equal the measurement to the byte.
"""

from __future__ import annotations

import pytest

import archcalc
from archcalc import cli, scratch
from archcalc.errors import ArchcalcError
from archcalc.graph import Builder
from archcalc.layers import BatchNorm2d, Conv2d, ConvTranspose2d, Flatten, Linear, MaxPool2d, ReLU
from archcalc.memory import fit_batch, inference_memory, parse_size, training_memory

F32 = 4


def needs_avx512(torch):
    """The cpu formulas are measured where oneDNN blocks channels by 16 (AVX-512); on an AVX2-only
    CPU it blocks by 8 and the byte-exact checks below do not apply there."""
    if torch.backends.cpu.get_cpu_capability() != "AVX512":
        pytest.skip(f"cpu scratch formulas are for AVX-512 oneDNN; this CPU is "
                    f"{torch.backends.cpu.get_cpu_capability()}")


def one_conv(conv, shape, batch=2):
    b = Builder("one", shape)
    b.add(conv, b.input, name="conv")
    return archcalc.analyze(b.build(), batch=batch)


def conv_spike(conv, shape, batch=2, threads=1, backend="cpu"):
    e = inference_memory(one_conv(conv, shape, batch), backend=backend, threads=threads)
    return e.layers[1].scratch_bytes, e


def test_dense_conv_reorders_input_weight_and_output():
    # 64 -> 128 channels, 3x3, 56x56, batch 2: the input and the weight are reordered into blocked
    # layouts while the blocked output is computed; the larger of (src + weight) and dst is the spike
    spike, e = conv_spike(Conv2d(128, 3, padding=1), (64, 56, 56))
    src, weight, dst = 2 * 64 * 56 * 56 * F32, 128 * 64 * 9 * F32, 2 * 128 * 56 * 56 * F32
    assert spike == max(src + weight + dst - dst, dst)
    assert e.allocator_peak_bytes == e.peak_bytes + spike  # the only layer is the peak
    assert e.allocator_peak_layer == "conv" and e.allocator_peak_phase == "forward"


def test_wide_input_conv_spike_is_its_reorders():
    # 512 -> 512, 3x3 at 14x14, batch 1: the weight reorder (9.4 MB) dwarfs the output
    spike, _ = conv_spike(Conv2d(512, 3, padding=1), (512, 14, 14), batch=1)
    assert spike == 512 * 14 * 14 * F32 + 512 * 512 * 9 * F32  # src + weight (+ dst - out = 0)


def test_rgb_stem_runs_on_the_plain_input():
    # C_in = 3 < 16: no input reorder; the weight is padded to 64 output channels (already a multiple)
    spike, _ = conv_spike(Conv2d(64, 7, 2, 3, bias=False), (3, 224, 224))
    out = 2 * 64 * 112 * 112 * F32
    assert spike == max(64 * 3 * 49 * F32 + out - out, out)  # = the blocked output


def test_channels_are_padded_to_the_block():
    # depthwise over 8 channels: blocked layouts pad 8 to 16 channels (src, weight and dst)
    spike, _ = conv_spike(Conv2d(8, 3, padding=1, groups=8, bias=False), (8, 28, 28))
    src, weight, dst, out = 2 * 16 * 28 * 28 * F32, 16 * 1 * 9 * F32, 2 * 16 * 28 * 28 * F32, 2 * 8 * 28 * 28 * F32
    assert spike == max(src + weight + dst - out, dst)
    # 64 -> 3 with a bias: weight and dst padded to 16 output channels, bias padded to 16 + 32 values
    spike, _ = conv_spike(Conv2d(3, 3, padding=1), (64, 28, 28))
    src, weight, bias = 2 * 64 * 28 * 28 * F32, 16 * 64 * 9 * F32, (16 + 32) * F32
    dst, out = 2 * 16 * 28 * 28 * F32, 2 * 3 * 28 * 28 * F32
    assert spike == src + weight + bias + dst - out


def test_strided_1x1_gathers_per_thread():
    # a 1x1 stride-2 conv first gathers the strided input: one buffer per thread, not per sample
    conv, shape = Conv2d(32, 1, 2), (64, 28, 28)
    base = 2 * 64 * 28 * 28 * F32 + 32 * 64 * F32  # src + weight; dst = out (32 channels)
    for threads in (1, 2, 4):
        spike, _ = conv_spike(conv, shape, threads=threads)
        assert spike == base + threads * 64 * 14 * 14 * F32 + 128


def test_one_formula_for_ints_and_symbols():
    from archcalc import dims

    conv = Conv2d(24, 3, 2, 1)
    ctx = scratch.Context((40, dims.symbol("H"), dims.symbol("W")), (24, 14, 14), 3, F32, 2, True,
                          scratch.BACKENDS["cpu"])
    sym_f, sym_b = scratch.layer_scratch(conv, ctx)
    concrete = scratch.Context((40, 28, 28), (24, 14, 14), 3, F32, 2, True, scratch.BACKENDS["cpu"])
    f, b = scratch.layer_scratch(conv, concrete)
    assert dims.evaluate(sym_f, {"H": 28, "W": 28}) == f
    assert dims.evaluate(sym_b, {"H": 28, "W": 28}) == b


def test_backward_scratch_of_a_conv():
    # grad_output reordered (output-sized), input reordered, weight-gradient buffer, bias gradient
    b = Builder("two", (64, 28, 28))
    x = b.add(Conv2d(64, 3, padding=1, bias=False), b.input, name="c1")
    b.add(Conv2d(128, 3, padding=1), x, name="c2")
    t = training_memory(archcalc.analyze(b.build(), batch=2), "sgd")
    c2 = t.layers[2]
    gout, src, weight, gbias = 2 * 128 * 28 * 28 * F32, 2 * 64 * 28 * 28 * F32, 128 * 64 * 9 * F32, 128 * F32
    gin, gw = 2 * 64 * 28 * 28 * F32, weight
    assert c2.backward_scratch_bytes == max(gout + weight + gin - gin - gw, gin - gw,
                                            gout + src + weight + gbias - gw, weight + gbias)
    # c1's input needs no gradient: its wgrad alone
    c1 = t.layers[1]
    w1 = 64 * 64 * 9 * F32
    assert c1.backward_scratch_bytes == 2 * 64 * 28 * 28 * F32 + src + w1 - w1  # grad_out + src + buffer - grad_w
    assert t.allocator_peak_bytes >= t.peak_bytes


def test_registering_twice_raises():
    with pytest.raises(ArchcalcError, match="twice"):
        scratch.scratch_rule("cpu", Conv2d)(lambda layer, ctx: (0, 0))


def test_kinds_without_a_formula_have_no_scratch():
    b = Builder("mlp", (3, 8, 8))
    x = b.add(Flatten(), b.input, name="f")
    b.add(Linear(10), x, name="fc")
    e = inference_memory(archcalc.analyze(b.build(), batch=4))
    assert e.allocator_peak_bytes == e.peak_bytes  # addmm allocates exactly its output on CPU


def test_cuda_figure_is_flagged_and_names_what_it_leaves_out():
    b = Builder("mlp", (3, 8, 8))
    x = b.add(Flatten(), b.input, name="f")
    b.add(Linear(10), x, name="fc")
    e = inference_memory(archcalc.analyze(b.build(), batch=4), backend="cuda")
    assert e.workspace_bytes == 2 * 4096 * 1024 + 8 * 16 * 1024  # CUBLAS_WORKSPACE_CONFIG :4096:2:16:8
    assert e.allocator_peak_bytes == e.peak_bytes + e.workspace_bytes
    assert "not measured" in e.scratch_note
    assert any("CUDA context" in n for n in e.not_counted)
    d = e.to_dict()
    assert d["allocator_peak_bytes"] == e.allocator_peak_bytes and d["backend"] == "cuda"


def test_non_fp32_cpu_figure_is_flagged():
    e = inference_memory(one_conv(Conv2d(16, 3), (16, 8, 8)), dtype="bf16")
    assert "per-thread scratchpad" in e.scratch_note and "not measured for bf16" in e.scratch_note
    e = inference_memory(one_conv(Conv2d(16, 3), (16, 8, 8)), dtype="fp16")
    assert "measured for fp32 only" in e.scratch_note
    assert inference_memory(one_conv(Conv2d(16, 3), (16, 8, 8))).scratch_note is None


def test_bf16_conv_forward():
    # bf16 (2 bytes): the input reordered unpadded, the weight padded to 32 output channels, the output
    # computed unpadded and, for a dense convolution, one more output-sized buffer beside the result
    e = inference_memory(one_conv(Conv2d(24, 3, padding=1), (64, 28, 28)), dtype="bf16")
    src, weight, out = 2 * 64 * 28 * 28 * 2, 32 * 64 * 9 * 2, 2 * 24 * 28 * 28 * 2
    assert e.layers[1].scratch_bytes == max(src + weight, out + out)
    # depthwise: no extra output-sized buffer
    e = inference_memory(one_conv(Conv2d(96, 3, padding=1, groups=96), (96, 28, 28)), dtype="bf16")
    src, weight, out = 2 * 96 * 28 * 28 * 2, 96 * 1 * 9 * 2, 2 * 96 * 28 * 28 * 2
    assert e.layers[1].scratch_bytes == max(src + weight, out)


def test_bad_backend_and_threads():
    r = one_conv(Conv2d(16, 3), (16, 8, 8))
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        inference_memory(r, backend="tpu")
    with pytest.raises(ValueError, match="threads must be a positive integer, got 0"):
        inference_memory(r, threads=0)


def test_fit_uses_the_allocator_figure_and_headroom():
    r = archcalc.analyze("vgg16")
    budget = parse_size("16GiB")
    f = fit_batch(r, budget, train=True, optimizer="adam", headroom=0.1)
    assert f.usable == int(budget * 0.9)
    assert f.at_max.allocator_peak_bytes <= f.usable < f.over.allocator_peak_bytes
    # the live-tensor figure alone would have allowed a larger batch
    assert f.over.peak_bytes <= f.usable
    with pytest.raises(ValueError, match="headroom"):
        fit_batch(r, budget, headroom=1.5)


def test_cli_memory_shows_both_figures(capsys):
    assert cli.main(["vgg16", "--memory", "--batch", "2", "--threads", "2"]) == 0
    out = capsys.readouterr().out
    assert "scratch" in out.splitlines()[2]  # a column of the per-layer table
    assert "ALLOCATOR PEAK" in out and "cpu scratch, 2 threads" in out and "PEAK" in out
    assert cli.main(["vgg16", "--memory", "--backend", "cuda", "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert "unmeasured: cuda scratch" in out and "CUDA context" in out
    assert cli.main(["vgg16", "--memory", "--backend", "tpu"]) == 2


def test_cli_fit_prints_batch_and_peak_and_fails_when_nothing_fits(capsys):
    assert cli.main(["fit", "vgg16", "--device-memory", "16GiB", "--train", "--optimizer", "adam",
                     "--headroom", "0"]) == 0
    out = capsys.readouterr().out
    assert "max batch" in out and "allocator peak" in out and "headroom 0%" in out
    assert cli.main(["fit", "vgg16", "--device-memory", "100MiB"]) == 1
    assert "nothing fits" in capsys.readouterr().err
    assert cli.main(["fit", "vgg16", "--device-memory", "16GiB", "--headroom", "lots"]) == 2


# ---------------------------------------------------------------------------------------------
# against the allocator's own events (torch)
# ---------------------------------------------------------------------------------------------

_CONVS = {  # name: (torch conv args, archcalc conv, per-sample input)
    "dense_64_128": ((64, 128, 3, 1, 1), Conv2d(128, 3, 1, 1), (64, 28, 28)),
    "dense_128_64": ((128, 64, 3, 1, 1, 1, 1, False), Conv2d(64, 3, 1, 1, bias=False), (128, 28, 28)),
    "rgb_stem": ((3, 64, 7, 2, 3, 1, 1, False), Conv2d(64, 7, 2, 3, bias=False), (3, 56, 56)),
    "pad_out_3": ((64, 3, 3, 1, 1), Conv2d(3, 3, 1, 1), (64, 16, 16)),
    "pad_in_24": ((24, 64, 3, 1, 1), Conv2d(64, 3, 1, 1), (24, 16, 16)),
    "depthwise_8": ((8, 8, 3, 1, 1, 1, 8, False), Conv2d(8, 3, 1, 1, groups=8, bias=False), (8, 16, 16)),
    "depthwise_96_s2": ((96, 96, 3, 2, 1, 1, 96, False), Conv2d(96, 3, 2, 1, groups=96, bias=False), (96, 28, 28)),
    "strided_1x1": ((256, 128, 1, 2, 0, 1, 1, False), Conv2d(128, 1, 2, bias=False), (256, 28, 28)),
}


@pytest.mark.torch
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", sorted(_CONVS))
def test_conv_scratch_matches_the_allocator(torch, case, threads):
    from archcalc.torch_bridge import memory_measure as mm

    needs_avx512(torch)
    targs, conv, shape = _CONVS[case]
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model = torch.nn.Sequential(torch.nn.Conv2d(*targs))
        got = mm.measure_inference_cpu(model, 2, shape, allocator=True)
    finally:
        torch.set_num_threads(old)
    assert got["allocator_peak"] == got["allocator_counter_peak"]  # paired events = the allocator's counter
    e = inference_memory(one_conv(conv, shape), threads=threads)
    assert e.peak_bytes == got["peak"]
    assert e.allocator_peak_bytes == got["allocator_peak"], (case, e.layers[1].scratch_bytes)


@pytest.mark.torch
@pytest.mark.parametrize("case", ["dense_128_64", "depthwise_96_s2", "pad_out_3"])
def test_bf16_conv_forward_matches_the_allocator(torch, case):
    """Up to oneDNN's per-thread scratchpad, which is not counted (named in the figure's note)."""
    from archcalc.torch_bridge import memory_measure as mm

    needs_avx512(torch)
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        pytest.skip("this CPU has no oneDNN bf16 support")
    targs, conv, shape = _CONVS[case]
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        got = mm.measure_inference_cpu(torch.nn.Sequential(torch.nn.Conv2d(*targs)), 2, shape, allocator=True,
                                       dtype=torch.bfloat16)
    finally:
        torch.set_num_threads(old)
    e = inference_memory(one_conv(conv, shape), dtype="bf16", threads=2)
    assert e.peak_bytes == got["peak"]
    scratchpad = got["allocator_peak"] - e.allocator_peak_bytes
    assert 0 <= scratchpad <= 1 << 20, (case, scratchpad)  # measured: tens of KiB to about 1 MiB


def _small_net(torch):
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
                          nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(inplace=True),
                          nn.Conv2d(64, 16, 1, 2, bias=False), nn.Flatten(), nn.Linear(16 * 8 * 8, 10))
    b = Builder("small", (3, 32, 32))
    x = b.input
    for i, layer in enumerate([Conv2d(32, 3, padding=1, bias=False), BatchNorm2d(), ReLU(True), MaxPool2d(2),
                               Conv2d(64, 3, padding=1), ReLU(True), Conv2d(16, 1, 2, bias=False), Flatten(),
                               Linear(10)]):
        x = b.add(layer, x, name=str(i))
    return model, b.build()


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["inference", "sgd", "adam"])
def test_small_net_allocator_peak(torch, mode):
    from archcalc.torch_bridge import memory_measure as mm

    needs_avx512(torch)
    model, graph = _small_net(torch)
    r = archcalc.analyze(graph, batch=8)
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        if mode == "inference":
            got = mm.measure_inference_cpu(model, 8, (3, 32, 32), allocator=True)
            est = inference_memory(r, threads=2)
        else:
            got = mm.measure_training_cpu(model, 8, mode, (3, 32, 32), num_classes=10, allocator=True)
            est = training_memory(r, mode, threads=2)
    finally:
        torch.set_num_threads(old)
    assert got["allocator_peak"] == got["allocator_counter_peak"]
    # not modelled: batch norm's per-channel temporaries and scalars (a few hundred bytes, named)
    assert abs(est.allocator_peak_bytes - got["allocator_peak"]) <= 512, (est.allocator_phase_peaks, got)
    assert est.allocator_peak_phase == got["allocator_peak_op"].split(":")[0]


def test_kinds_without_a_formula_are_named():
    # ConvTranspose2d: no cpu scratch formula and not measured to need none
    b = Builder("up", (16, 8, 8))
    b.add(ConvTranspose2d(8, 2, 2), b.input, name="up")
    e = inference_memory(archcalc.analyze(b.build(), batch=1))
    assert e.scratch_unmodelled == ("ConvTranspose2d",)
    # every kind of VGG-16 is either modelled or measured without scratch
    assert inference_memory(archcalc.analyze("vgg16", batch=1)).scratch_unmodelled == ()


def test_native_path_columns():
    # batch 1, a 3x3 kernel and 64*7*7 = 3136 <= 20480 input values: torch skips oneDNN for its
    # native slow_conv2d, whose im2col columns (C_in*k*k x OH*OW) are the scratch, forward and backward
    spike, _ = conv_spike(Conv2d(64, 3, padding=1, bias=False), (64, 7, 7), batch=1)
    assert spike == 64 * 9 * 7 * 7 * F32
    # a 1x1 unstrided kernel on one thread, batch < 16: the native path needs no columns at all
    spike, _ = conv_spike(Conv2d(64, 1, bias=False), (64, 16, 16), batch=4, threads=1)
    assert spike == 0
    # ... and with two threads torch takes oneDNN (src + weight + dst - out, or dst)
    spike, _ = conv_spike(Conv2d(64, 1, bias=False), (64, 16, 16), batch=4, threads=2)
    assert spike == max(4 * 64 * 256 * F32 + 64 * 64 * F32, 4 * 64 * 256 * F32)


@pytest.mark.torch
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", ["native_3x3", "unit_1x1"])
def test_conv_path_matches_the_allocator(torch, case, threads):
    from archcalc.torch_bridge import memory_measure as mm

    needs_avx512(torch)
    targs, conv, shape, batch = {
        "native_3x3": ((64, 64, 3, 1, 1, 1, 1, False), Conv2d(64, 3, 1, 1, bias=False), (64, 7, 7), 1),
        "unit_1x1": ((64, 64, 1, 1, 0, 1, 1, False), Conv2d(64, 1, bias=False), (64, 16, 16), 4),
    }[case]
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model = torch.nn.Sequential(torch.nn.Conv2d(*targs))
        got = mm.measure_inference_cpu(model, batch, shape, allocator=True)
        tgot = mm.measure_training_cpu(torch.nn.Sequential(torch.nn.Conv2d(*targs), torch.nn.Flatten(),
                                                           torch.nn.Linear(64 * shape[1] * shape[2], 10)),
                                       batch, "sgd", shape, num_classes=10, allocator=True)
    finally:
        torch.set_num_threads(old)
    assert inference_memory(one_conv(conv, shape, batch), threads=threads).allocator_peak_bytes == \
        got["allocator_peak"]
    b = Builder("t", shape)
    x = b.add(conv, b.input, name="0")
    x = b.add(Flatten(), x, name="1")
    b.add(Linear(10), x, name="2")
    est = training_memory(archcalc.analyze(b.build(), batch=batch), "sgd", threads=threads)
    # not counted, and named (scratch.CPU_NOT_COUNTED): oneDNN's per-thread partial sums of the weight
    # gradient when it splits that reduction across threads, at most (threads-1) weights + 8.5 KiB
    partial_sums = (threads - 1) * 64 * 64 * targs[2] ** 2 * F32 + 8704
    assert 0 <= tgot["allocator_peak"] - est.allocator_peak_bytes <= partial_sums + 64, \
        (est.allocator_phase_peaks, tgot)
