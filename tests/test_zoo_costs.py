"""Every registered zoo model through archcalc's own test API (archcalc.testing + the pytest plugin).

The registry is iterated, so a model any family module registers is covered without editing this
file:

- ``test_published_figures``: each ``Published`` figure given as an exact count (``params``,
  ``macs``) is asserted with :func:`archcalc.testing.assert_costs`. Rounded figures (GFLOPS,
  "millions") live in ``extra`` and are checked by the families' own tests, not here. A source that
  counts only trainable parameters says so by also listing ``extra["trainable_params"]`` equal to
  its ``params`` (LeCun 1998: "60,000 trainable parameters", beside LeNet-5's 840 fixed RBF
  weights); its figure is then compared with ``trainable_params``.
- ``test_cost_snapshot``: each model's per-layer shapes/params/MACs against
  ``tests/__archcalc_snapshots__/test_zoo_costs/test_cost_snapshot[<name>].txt``. After adding or
  changing a model, regenerate with
  ``PYTHONPATH=. python -m pytest tests/test_zoo_costs.py --archcalc-update`` and review the diff;
  in CI (``CI=true``) a missing snapshot fails instead of being written.
"""

from __future__ import annotations

import pytest

from archcalc.testing import assert_costs
from archcalc.zoo import entries

ENTRIES = entries()


def published_figures(published) -> dict:
    figures = {}
    if published.params is not None:
        trainable_only = published.extra.get("trainable_params") == published.params
        figures["trainable_params" if trainable_only else "params"] = published.params
    if published.macs is not None:
        figures["macs"] = published.macs
    return figures


CASES = [
    pytest.param(e.name, published_figures(p), id=e.name if len(e.published) == 1 else f"{e.name}-{i}")
    for e in ENTRIES for i, p in enumerate(e.published) if published_figures(p)
]


@pytest.mark.parametrize("name, figures", CASES)
def test_published_figures(name, figures):
    assert_costs(name, **figures)


@pytest.mark.archcalc(snapshot=True)
@pytest.mark.parametrize("name", [e.name for e in ENTRIES])
def test_cost_snapshot(name, archcalc_costs):
    result = archcalc_costs.check(name)
    assert result.entry.name == name


def test_the_registry_is_covered():
    # a broken registry walk would make the parametrized tests above vanish instead of fail
    names = [e.name for e in ENTRIES]
    assert len(names) == len(set(names)) >= 19  # the core zoo: LeNet, AlexNet, VGG, ResNet, GoogLeNet
    assert {"lenet5", "alexnet", "vgg16", "resnet50", "googlenet"} <= set(names)
    assert len(CASES) >= 18  # every core entry but googlenet_aux publishes an exact parameter count
