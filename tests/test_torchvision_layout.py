"""Every zoo entry that names a torchvision builder matches the real model (weights=None, built on
the meta device: no memory, no real forward), module by module: output shape and parameter count,
plus total parameters, buffers and MACs (tests/torch_oracle.py)."""

from __future__ import annotations

import pytest

from archcalc import analyze
from archcalc.zoo import entries
from torch_oracle import KINDS, TWIN_CHECKED_BY_TEST_ZOO_TORCHVISION, assert_matches, tv_entry_model

# detection builders take image lists, post-process, and are built for their COCO weights with frozen
# BN; tests/test_zoo_heads.py builds and checks them the way their weights define them. The families
# issue 15 added are checked against their twins by tests/test_zoo_torchvision.py, which selects them
# by the same family names (a family missing from one list is checked by the other).
TV_ENTRIES = [e for e in entries() if e.torchvision and not e.torchvision.startswith("detection.")
              and e.family not in TWIN_CHECKED_BY_TEST_ZOO_TORCHVISION]



@pytest.mark.parametrize("entry", TV_ENTRIES, ids=[e.name for e in TV_ENTRIES])
def test_matches_torchvision(torch, torchvision, entry):
    model = tv_entry_model(torch, torchvision, entry)
    r = analyze(entry.name)
    # every conv, linear, BN, pool and LRN module that runs has an archcalc layer of its name and kind
    # with its params and output shape (activations are shared modules in torchvision's ResNet, called
    # several times: their shapes are not compared); totals of params, buffers and MACs agree. Aux
    # heads only run in training mode.
    train = bool(entry.torchvision_kwargs.get("aux_logits"))
    assert_matches(torch, r, model, require=KINDS, train=train, min_aligned=5)
