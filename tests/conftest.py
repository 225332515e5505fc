"""Shared test set-up.

Tests that need torch use the ``torch``, ``torchvision`` and ``timm`` fixtures; tests/torch_oracle.py
builds the real models and compares them with archcalc. Outside CI they skip when the torch extra
is missing; in CI (``CI=true``) a missing torch is an error, never a silent skip.
"""

from __future__ import annotations

import importlib
import os

import pytest

# archcalc's own pytest plugin (budgets, cost snapshots, --archcalc-update). pytest registers it once
# even where the installed entry point has loaded it already.
pytest_plugins = ["archcalc.pytest_plugin"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        if IN_CI:
            raise
        pytest.skip(f"{module} not installed (install archcalc[torch])")


@pytest.fixture(scope="session")
def torch():
    return require("torch")


@pytest.fixture(scope="session")
def torchvision():
    require("torch")
    return require("torchvision")


@pytest.fixture(scope="session")
def timm():
    require("torch")
    return require("timm")


# CI runs the same hypothesis examples every time (a red CI must be reproducible); local runs explore.
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("ci", derandomize=True, print_blob=True)
if IN_CI:
    _hyp_settings.load_profile("ci")
