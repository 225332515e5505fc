"""The quadratic training-memory walk archcalc shipped before the linear one (rfmem), kept verbatim
as an oracle: tests/test_memory_linear.py checks the linear walk returns identical estimates."""

from archcalc import scratch
from archcalc.errors import UnsupportedLayerError
from archcalc.memory import (ACCUMULATE_IN_PLACE, GRAD_PASSTHROUGH, INDEX_BYTES, OPTIMIZER_STATE,
                             SAVED_FOR_BACKWARD, SAVED_FOR_BACKWARD_INPLACE, STAT_BYTES, STEP_COUNTERS,
                             STEP_TEMPORARIES, TARGET_BYTES, LayerMemory, MemoryEstimate, _backend_setup,
                             _backward_flops, _buffer_bytes, _concrete, _forward_live, _kind, _largest_tensor,
                             _lrn_elements, _param_tensors, _Plan, _requires_grad, _scratch, _setup,
                             _unmodelled, backward_macs, optimizer_name)


def training_memory(result, optimizer: str = "sgd", batch=None, dtype=None, foreach: bool = False,
                    backend: str = "cpu", threads: int = 1) -> MemoryEstimate:
    """Peak memory of one steady-state training step (forward, cross-entropy loss, backward,
    ``optimizer.step()``), weights, gradients and optimizer state included.

    ``foreach`` picks torch's multi-tensor optimizer implementation (its CUDA default) for the step's
    temporaries; the default is the per-parameter loop (torch's CPU default). ``backend`` /
    ``threads`` pick the scratch model of the allocator figure (:mod:`archcalc.scratch`).
    """
    batch, dtype, bpe = _setup(result, batch, dtype)
    backend, note, not_counted = _backend_setup(backend, threads, dtype)
    opt = optimizer_name(optimizer)
    plan = _Plan(result, training=True)
    recs = plan.records
    n = len(recs)
    req = _requires_grad(plan)
    for r in recs:
        if _kind(r) not in SAVED_FOR_BACKWARD:
            raise UnsupportedLayerError(f"layer {r.name!r}: no rule for what {_kind(r)} saves for backward; "
                                        "training memory is not modelled for it")

    def full(i):  # bytes of record i's output tensor (whether or not it owns its storage)
        return plan.per_sample[i] * batch * bpe

    # --- what each recorded layer saves ------------------------------------------------------
    savers: dict = {}  # storage -> indices of layers saving it
    extras: dict = {}  # layer index -> bytes of its own saved tensors (indices, masks, stats)
    saved_items = []
    for i, r in enumerate(recs):
        kind = _kind(r)
        items = SAVED_FOR_BACKWARD[kind] if req[i] else ()
        if items and getattr(r.layer, "inplace", False):
            items = SAVED_FOR_BACKWARD_INPLACE.get(kind, items)
            items = tuple("input_copy" if it == "input" else it for it in items)
        saved_items.append(items)
        x = 0
        for item in items:
            if item == "input":
                for name in r.inputs:
                    savers.setdefault(plan.storage[plan.index[name]], []).append(i)
            elif item == "output":
                savers.setdefault(plan.storage[i], []).append(i)
            elif item == "indices":
                x += plan.per_sample[i] * batch * INDEX_BYTES
            elif item == "lrn":
                x += _lrn_elements(r.layer, r.output_shape, training=True) * batch * bpe
            elif item == "input_copy":
                x += full(plan.index[r.inputs[0]])
            elif item == "mask":
                x += full(i)
            elif item == "stats":
                x += 2 * _concrete(r.output_shape[0], r.name) * STAT_BYTES  # batch norms: per channel (axis 0)
        extras[i] = x

    size = {s: plan.per_sample[s] * batch * bpe for s in plan.owner}
    weights = sum(_concrete(r.params, r.name) for r in recs) * bpe
    trainable = sum(_concrete(r.trainable_params, r.name) for r in recs)
    buffers = _buffer_bytes(recs, bpe)
    input_bytes = sum(size[s] for s in plan.held if recs[s].kind == "Input")
    target_bytes = batch * TARGET_BYTES * len(plan.outputs)
    opt_state = OPTIMIZER_STATE[opt] * trainable * bpe
    if opt in STEP_COUNTERS:  # Adam's per-tensor fp32 step count
        opt_state += STEP_COUNTERS[opt] * sum(_param_tensors(r) for r in recs)
    resident = weights + buffers + opt_state + input_bytes + target_bytes
    loss_bytes = sum(full(o) for o in plan.outputs)  # log_softmax output, saved

    # --- forward: liveness, with saved storages kept to the end and extras accumulating -------
    # (max-pool indices are saved, so counted in the extras, not as scratch)
    live = _forward_live(plan, batch, bpe, keep_until_end=set(savers), scratch=False)
    phase_peak = {"forward": (0, "")}
    alloc_peak = {"forward": (0, "")}  # the same with backend scratch
    spikes = [_scratch(r, backend, batch, bpe, threads, any(req[plan.index[n]] for n in r.inputs), dtype)
              for r in recs]
    extra_running = 0
    layers = []
    first_saver: dict = {}
    for s, who in savers.items():
        first_saver.setdefault(min(who), []).append(s)
    for i, r in enumerate(recs):
        extra_running += extras[i]
        total = live[i] + extra_running - input_bytes
        if total > phase_peak["forward"][0]:
            phase_peak["forward"] = (total, r.name)
        if total + spikes[i][0] > alloc_peak["forward"][0]:
            alloc_peak["forward"] = (total + spikes[i][0], r.name)
        own_saved = sum(size[s] for s in first_saver.get(i, ()) if s not in plan.held) + extras[i]
        out_b = full(i) if plan.storage[i] == i else 0
        layers.append(LayerMemory(r.name, r.kind, out_b, total, saved=saved_items[i],
                                  saved_bytes=own_saved, scratch_bytes=spikes[i][0],
                                  backward_scratch_bytes=spikes[i][1] if req[i] else 0))
    saved_total = sum(size[s] for s in savers if s not in plan.held) + sum(extras.values())
    # after the last layer: the loss (log_softmax output saved) while everything saved is alive;
    # outputs are held by the graph until the loss has read them
    end_forward = saved_total + loss_bytes + sum(size[s] for s in {plan.storage[o] for o in plan.outputs}
                                                  if s not in savers)
    if end_forward > phase_peak["forward"][0]:
        phase_peak["forward"] = (end_forward, "loss")
    if end_forward > alloc_peak["forward"][0]:
        alloc_peak["forward"] = (end_forward, "loss")

    # --- backward: node by node in reverse order ----------------------------------------------
    alive = {s: size[s] for s in savers if s not in plan.held}  # saved activation storages
    pending = {s: set(who) for s, who in savers.items()}
    extra_alive = dict(extras)
    grads: dict = {}  # gradient id -> bytes
    refs: dict = {}  # gradient id -> number of layers whose output gradient it is (pending)
    grad_of: dict = {}  # layer index -> gradient id
    counter = [0]
    wgrads = 0

    def new_grad(nbytes):
        counter[0] += 1
        grads[counter[0]] = nbytes
        refs[counter[0]] = 0
        return counter[0]

    def current():
        return sum(alive.values()) + sum(extra_alive.values()) + sum(grads.values()) + wgrads

    # loss backward: grad of log_softmax output, then of the logits
    peak_b = (current() + loss_bytes + 2 * loss_bytes, "loss")
    alloc_b = peak_b
    for o in plan.outputs:
        g = new_grad(full(o))
        grad_of[o] = g
        refs[g] += 1

    def drop(g):
        refs[g] -= 1
        if refs[g] <= 0:
            grads.pop(g, None)
            refs.pop(g, None)

    total_bwd_flops = 0
    for i in range(n - 1, -1, -1):
        r = recs[i]
        if not req[i]:
            continue
        g = grad_of.get(i)
        in_req = [plan.index[name] for name in r.inputs if req[plan.index[name]]]
        dg, wg = backward_macs(r, input_requires_grad=bool(in_req)) if r.macs else (0, 0)
        bflops = _backward_flops(r, dg, wg, batch)
        total_bwd_flops += bflops
        contributions = []
        new_bytes = 0
        for j in in_req:
            if _kind(r) in GRAD_PASSTHROUGH and g is not None:
                contributions.append((j, g, False))
            else:
                contributions.append((j, None, True))
                new_bytes += full(j)
        wgrad_bytes = _concrete(r.trainable_params, r.name) * bpe
        if r.kind == "LocalResponseNorm":
            # torch's composite backward (division, pow, avg_pool3d, mul) holds several map-sized
            # temporaries at once: 3 maps, measured (exact for (C, size) = (8, 5), (16, 3), (8, 7), (4, 9)
            # in tests/test_memory_measure.py), not derived op by op
            new_bytes += 3 * full(i)
        at_node = current() + new_bytes + wgrad_bytes
        if at_node > peak_b[0]:
            peak_b = (at_node, r.name)
        if at_node + spikes[i][1] > alloc_b[0]:
            alloc_b = (at_node + spikes[i][1], r.name)
        layers[i].backward_live_bytes = at_node - wgrads - wgrad_bytes
        layers[i].dgrad_macs, layers[i].wgrad_macs, layers[i].backward_flops = dg, wg, bflops
        wgrads += wgrad_bytes
        for j, cg, is_new in contributions:
            if is_new:
                cg = new_grad(full(j))
            old = grad_of.get(j)
            if old is None:
                grad_of[j] = cg
                refs[cg] += 1
            elif old == cg:
                pass
            elif ACCUMULATE_IN_PLACE and refs[old] == 1:  # in place into the exclusively owned buffer
                if is_new:
                    grads.pop(cg)
                    refs.pop(cg)
            elif ACCUMULATE_IN_PLACE and is_new:  # the fresh contribution takes the sum in place
                grad_of[j] = cg
                refs[cg] += 1
                drop(old)
            else:  # out of place (policy, or both shared): old + new into a third tensor
                s = new_grad(full(j))
                at = current()
                if at > peak_b[0]:
                    peak_b = (at, r.name)
                if at > alloc_b[0]:
                    alloc_b = (at, r.name)
                grad_of[j] = s
                refs[s] += 1
                drop(old)
                if is_new:
                    grads.pop(cg)
                    refs.pop(cg)
        # release this node's output gradient, its saved tensors and its own extras
        if g is not None:
            drop(g)
        extra_alive.pop(i, None)
        for s, who in pending.items():
            if i in who:
                who.discard(i)
                if not who:
                    alive.pop(s, None)
    phase_peak["backward"] = peak_b
    alloc_peak["backward"] = alloc_b

    # --- optimizer step -----------------------------------------------------------------------
    loop_mult, foreach_mult = STEP_TEMPORARIES[opt]
    if foreach:
        step_tmp = foreach_mult * trainable * bpe
    else:
        step_tmp = loop_mult * max((_largest_tensor(r) for r in recs), default=0) * bpe
    grads_total = trainable * bpe
    phase_peak["step"] = (grads_total + step_tmp, "optimizer.step")
    alloc_peak["step"] = phase_peak["step"]  # the optimizer's kernels allocate only their results

    phase, (peak_act, where) = max(phase_peak.items(), key=lambda kv: kv[1][0])
    alloc_phase, (alloc_act, alloc_where) = max(alloc_peak.items(), key=lambda kv: kv[1][0])
    workspace = scratch.resident_bytes(backend, recs)
    fwd_flops = sum(_concrete(r.flops, r.name) for r in recs)
    return MemoryEstimate(
        model=result.model, mode="training", batch=batch, dtype=dtype, weight_bytes=weights,
        buffer_bytes=buffers, input_bytes=input_bytes,
        sum_of_outputs_bytes=sum(plan.per_sample[s] for s in plan.owner) * batch * bpe,
        peak_bytes=resident + peak_act, peak_activation_bytes=peak_act, peak_layer=where, peak_phase=phase,
        layers=layers, optimizer=opt, foreach=foreach, gradient_bytes=grads_total,
        optimizer_state_bytes=opt_state, target_bytes=target_bytes, saved_bytes=saved_total,
        step_temporary_bytes=step_tmp, phase_peaks={k: resident + v[0] for k, v in phase_peak.items()},
        forward_flops=fwd_flops, backward_flops=total_bwd_flops,
        backend=backend, threads=threads, allocator_peak_bytes=resident + workspace + alloc_act,
        allocator_peak_layer=alloc_where, allocator_peak_phase=alloc_phase,
        allocator_phase_peaks={k: resident + workspace + v[0] for k, v in alloc_peak.items()},
        workspace_bytes=workspace, scratch_note=note, not_counted=not_counted,
        scratch_unmodelled=_unmodelled(recs, backend),
    )
