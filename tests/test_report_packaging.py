"""The templates live at the top level (templates/) and ship in the wheel as archcalc/templates/,
where an installed archcalc finds them with importlib.resources."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_templates_are_at_the_top_level_only():
    assert (ROOT / "templates" / "report.html").is_file()
    assert not (ROOT / "archcalc" / "templates").exists()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("setuptools")
    src = tmp_path_factory.mktemp("src")  # a copy, so the build leaves nothing in the checkout
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("archcalc", "templates"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "--no-index", "-q", "-w", str(out), str(src)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(proc.stderr[-2000:])
    (whl,) = out.glob("archcalc-*.whl")
    return whl


def test_wheel_ships_every_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"archcalc/templates/{p.name}" for p in (ROOT / "templates").iterdir() if p.is_file()}
    assert expected and expected <= names
    assert not any(n.startswith("templates/") for n in names)  # no stray top-level package


def test_installed_wheel_renders_a_report(wheel, tmp_path):
    pytest.importorskip("jinja2")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target",
                    str(target), str(wheel)], check=True)
    code = ("import archcalc, archcalc.report as r; from pathlib import Path; "
            "assert Path(archcalc.__file__).parent.parent == Path(r'%s'), archcalc.__file__; "
            "print(r.templates()); print(archcalc.analyze('lenet5').report('md').split(chr(10))[0])" % target)
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == str(target / "archcalc" / "templates") and out[1].startswith("# lenet5 (")
