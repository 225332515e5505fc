"""zoo.entries() has one order, whatever was imported first: the family modules by file name, each
in its registration order (reports/zoo.md and ``archcalc list`` depend on it)."""

from __future__ import annotations

import subprocess
import sys

from archcalc import zoo

_NAMES = "import archcalc.zoo as z; {first}print('\\n'.join(e.name for e in z.entries()))"


def _names_after(first: str) -> list:
    code = _NAMES.format(first=first)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_entries_order_does_not_depend_on_import_order():
    fresh = _names_after("")
    # looking up one model imports just its family module (resnet.py, vgg.py) before the rest
    assert _names_after("z.get_entry('resnet50'); z.get_entry('vgg16'); ") == fresh
    assert _names_after("z.get_entry('vgg16'); ") == fresh
    assert fresh == [e.name for e in zoo.entries()]
    assert len(fresh) == len(set(fresh))


def test_entries_follow_family_files_then_registration():
    modules = zoo._family_modules()
    assert modules == sorted(modules)
    ranks = [modules.index(zoo._MODULE_OF[e.name]) for e in zoo.entries() if zoo._MODULE_OF[e.name] in modules]
    assert ranks == sorted(ranks)
    vgg = [e.name for e in zoo.entries() if zoo._MODULE_OF[e.name] == "archcalc.zoo.vgg"]
    assert vgg[:2] == ["vgg11", "vgg11_bn"]  # vgg.py registers A, A + BN, B, ... in that order
