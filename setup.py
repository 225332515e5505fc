"""The jinja templates live at the top level (``templates/``, beside ``reports/`` and ``tests/``)
and ship inside the wheel as ``archcalc/templates/``, where :mod:`archcalc.report` reads them with
importlib.resources. pyproject's ``packages.find`` cannot map a directory outside the package, so
this shim lists the packages; every other setting is in pyproject.toml."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["archcalc*"]), "archcalc.templates"],
      package_dir={"archcalc.templates": "templates"})
