"""pytest plugin: cost budgets and cost snapshots for the models a test suite builds.

Installed with archcalc (entry point ``pytest11``, name ``archcalc``); without installing, load it
with ``pytest -p archcalc.pytest_plugin`` or ``pytest_plugins = ["archcalc.pytest_plugin"]`` in a
root conftest. Loading it both ways is harmless (see :mod:`archcalc._pytest_entry`).

- fixture ``archcalc_costs``: ``archcalc_costs.check(model)`` applies the test's ``archcalc``
  marker (budgets, snapshot) to ``model`` and returns its Result; ``.budget(model, max_params=...)``,
  ``.snapshot(model)`` and ``.assert_costs(model, params=...)`` do one thing each.
- marker ``@pytest.mark.archcalc(max_params=, max_trainable_params=, max_macs=, max_flops=,
  max_peak_memory=, snapshot=True|"name")``; bad arguments stop the run with a usage error at
  collection. A marked test that never calls ``archcalc_costs.check`` fails: a budget nobody
  checks cannot fail.
- snapshots live in ``__archcalc_snapshots__/<test module>/<test name>.txt`` next to the test
  file. A missing snapshot is written (and the test passes), except under ``CI`` (environment
  variable set to 1/true/yes) where it fails; a snapshot that differs fails with a per-layer diff;
  ``--archcalc-update`` rewrites missing and differing snapshots.

This module is imported in every pytest session of anyone who installed archcalc, so it imports
only the standard library and pytest at start-up; archcalc's analysis (and the zoo, torch, the
memory model) load only when a test uses the fixture.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

MARKER = "archcalc"
FIXTURE = "archcalc_costs"
SNAPSHOT_DIR = "__archcalc_snapshots__"
#: marker budget -> the ``Result.totals`` key it bounds (``None``: computed by archcalc.memory)
BUDGETS = {
    "max_params": "params",
    "max_trainable_params": "trainable_params",
    "max_macs": "macs",
    "max_flops": "flops",
    "max_peak_memory": None,
}
MARKER_KEYS = tuple(BUDGETS) + ("snapshot",)
_MARKER_DOC = (f"{MARKER}(" + ", ".join(f"{k}=N" for k in BUDGETS) + ", snapshot=True): archcalc cost budgets "
               f"and/or a cost snapshot for every model the test passes to {FIXTURE}.check()")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


class _State:
    def __init__(self):
        self.written: list = []
        self.updated: list = []


_STATE = pytest.StashKey[_State]()
_CHECKER = pytest.StashKey["CostChecker"]()


# ---------------------------------------------------------------------------------------------
# Hooks
# ---------------------------------------------------------------------------------------------


def pytest_addoption(parser):
    group = parser.getgroup("archcalc", "archcalc cost budgets and snapshots")
    group.addoption("--archcalc-update", action="store_true", default=False, dest="archcalc_update",
                    help=f"write missing and rewrite differing archcalc cost snapshots ({SNAPSHOT_DIR}/) "
                         "instead of failing")


def pytest_configure(config):
    config.addinivalue_line("markers", _MARKER_DOC)
    config.stash[_STATE] = _State()


def pytest_collection_modifyitems(session, config, items):
    errors = []
    for item in items:
        if item.get_closest_marker(MARKER) is None:
            continue
        try:
            options = marker_options(item)
        except pytest.UsageError as e:
            errors.append(str(e))
            continue
        if _active(options) and FIXTURE not in getattr(item, "fixturenames", ()):
            errors.append(f"{item.nodeid}: @pytest.mark.{MARKER} needs the {FIXTURE} fixture; "
                          f"add it to the test's arguments and call {FIXTURE}.check(model)")
    if errors:
        raise pytest.UsageError(*errors)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    if item.get_closest_marker(MARKER) is not None and _active(marker_options(item)):
        checker = item.stash.get(_CHECKER, None)
        if checker is None or not checker.checked:
            pytest.fail(f"{item.nodeid} is marked @pytest.mark.{MARKER} but never called "
                        f"{FIXTURE}.check(model): its budgets/snapshot were not checked", pytrace=False)
    return outcome


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(_STATE, None)
    if state is None or not (state.written or state.updated):
        return
    terminalreporter.section("archcalc snapshots")
    for label, paths in (("written", state.written), ("updated", state.updated)):
        for p in paths:
            terminalreporter.write_line(f"{label}: {p}")
    terminalreporter.write_line(f"archcalc: {len(state.written)} snapshot(s) written, "
                                f"{len(state.updated)} updated")


@pytest.fixture
def archcalc_costs(request):
    """Check archcalc cost budgets/snapshots of models built in this test (see :class:`CostChecker`)."""
    checker = CostChecker(request.node, request.config)
    request.node.stash[_CHECKER] = checker
    return checker


# ---------------------------------------------------------------------------------------------
# Marker arguments
# ---------------------------------------------------------------------------------------------


def _budget_value(key, value, where):
    if key == "max_peak_memory" and isinstance(value, str):
        memory = _memory_module(where)
        try:
            return memory.parse_size(value)
        except Exception as e:  # noqa: BLE001 - any parse failure is the user's argument
            raise pytest.UsageError(f"{where}: {key}={value!r} is not a size ({e})") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 12e6
    if isinstance(value, bool) or not isinstance(value, int):
        raise pytest.UsageError(f"{where}: {key}= must be a non-negative integer, got {value!r}")
    if value < 0:
        raise pytest.UsageError(f"{where}: {key}= must be a non-negative integer, got {value}")
    return value


def _memory_module(where):
    try:
        from archcalc import memory
    except ImportError:
        raise pytest.UsageError(f"{where}: max_peak_memory= needs archcalc's peak-memory model "
                                "(archcalc.memory), which this archcalc installation does not have") from None
    return memory


def validate_options(kwargs: dict, args: tuple = (), where: str = f"@pytest.mark.{MARKER}") -> dict:
    """Check marker (or ``budget``) arguments; raise ``pytest.UsageError`` naming the bad one."""
    if args:
        raise pytest.UsageError(f"{where}: takes keyword arguments only ({', '.join(MARKER_KEYS)}), "
                                f"got positional {args!r}")
    out = {}
    for key, value in kwargs.items():
        if key not in MARKER_KEYS:
            import difflib

            close = difflib.get_close_matches(key, MARKER_KEYS, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; expected one of {', '.join(MARKER_KEYS)}"
            raise pytest.UsageError(f"{where}: unknown argument {key}={value!r}{hint}")
        if key == "snapshot":
            if not isinstance(value, (bool, str)) or (isinstance(value, str) and not value.strip()):
                raise pytest.UsageError(f"{where}: snapshot= must be True/False or a snapshot name, got {value!r}")
            out[key] = value
        elif value is not None:
            out[key] = _budget_value(key, value, where)
    if "max_peak_memory" in out:
        _memory_module(where)
    return out


def _active(options: dict) -> bool:
    """Whether marker options ask for anything (``snapshot=False`` alone, e.g. to opt one test out
    of a module-wide snapshot, does not)."""
    return any(k in BUDGETS for k in options) or bool(options.get("snapshot"))


def marker_options(item) -> dict:
    """The item's effective marker options: module/class markers, overridden by closer ones."""
    merged: dict = {}
    for m in reversed(list(item.iter_markers(MARKER))):
        merged.update(validate_options(dict(m.kwargs), tuple(m.args), where=f"{item.nodeid}: @pytest.mark.{MARKER}"))
    return merged


# ---------------------------------------------------------------------------------------------
# The fixture's object
# ---------------------------------------------------------------------------------------------


def _safe(name: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_.\[\]=-]+", "_", name).strip("._") or "test"
    if len(text) > 120:
        text = text[:100] + "-" + hashlib.sha1(name.encode()).hexdigest()[:10]
    return text


class CostChecker:
    """What the ``archcalc_costs`` fixture returns.

    Every method takes a model as :func:`archcalc.testing.resolve` does (zoo name, Graph, Result,
    spec path, ``nn.Module`` with ``input=``) and analysis options (``input=``, ``batch=``,
    ``dtype=``, ``freeze=``, ``build_kwargs=``), and returns the model's Result.
    """

    def __init__(self, item, config):
        self.item = item
        self.config = config
        self.checked = 0
        self._names: set = set()

    # -- the marker-driven entry point ----------------------------------------------------------

    def check(self, model, *, name=None, **analysis):
        """Apply this test's ``@pytest.mark.archcalc`` budgets and snapshot to ``model``."""
        options = marker_options(self.item)
        result = self._resolve(model, analysis)
        budgets = {k: v for k, v in options.items() if k in BUDGETS}
        if budgets:
            self._check_budgets(result, budgets)
        snap = options.get("snapshot", False)
        if snap:
            self._check_snapshot(result, name if name is not None else (snap if isinstance(snap, str) else None))
        self.checked += 1
        return result

    # -- one thing each -------------------------------------------------------------------------

    def budget(self, model, **kwargs):
        """Fail when ``model`` exceeds any given ``max_params=``, ``max_macs=`` ... budget."""
        budgets = {k: kwargs.pop(k) for k in list(kwargs) if k in BUDGETS}
        options = validate_options(budgets, where=f"{FIXTURE}.budget")
        if not options:
            raise pytest.UsageError(f"{FIXTURE}.budget needs at least one of {', '.join(BUDGETS)}")
        result = self._resolve(model, kwargs)
        self._check_budgets(result, options)
        return result

    def snapshot(self, model, *, name=None, **analysis):
        """Compare ``model``'s per-layer costs with this test's snapshot file (write it if missing)."""
        result = self._resolve(model, analysis)
        self._check_snapshot(result, name)
        return result

    @staticmethod
    def assert_costs(model, **kwargs):
        """:func:`archcalc.testing.assert_costs`, for convenience."""
        __tracebackhide__ = True
        from archcalc.testing import assert_costs

        return assert_costs(model, **kwargs)

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _resolve(model, analysis: dict):
        from archcalc.testing import resolve

        return resolve(model, **analysis)

    def _check_budgets(self, result, budgets: dict):
        __tracebackhide__ = True
        from archcalc import testing

        lines, contributors = [], []
        for key, limit in budgets.items():
            figure = BUDGETS[key]
            if figure is None:
                memory = _memory_module(f"{self.item.nodeid}: {key}")
                est = memory.inference_memory(result)
                actual = est.peak_bytes
                where = (f" (inference peak at {est.peak_layer}, batch {est.batch}, {est.dtype}; "
                         f"weights {est.weight_bytes:,} B)")
            else:
                actual = result.totals[figure]
                where = ""
            if not isinstance(actual, int):
                raise testing.CostArgumentError(f"{key}: {figure} of {result.model} is symbolic ({actual}); "
                                                "budgets need concrete input sizes and batch")
            if actual > limit:
                over = actual - limit
                lines.append(f"  {figure or 'peak_memory_bytes'} {actual:,} > {key} {limit:,} "
                             f"(over by {over:,}{testing._pct(over, limit)}){where}")
                if figure is not None:
                    contributors.append(f"largest contributors to {figure}:")
                    contributors += ["  " + c for c in testing.top_contributors(result, figure)]
        if lines:
            pytest.fail("\n".join([f"archcalc budget exceeded by {testing._describe(result)}:"] + lines
                                  + contributors), pytrace=False)

    def _snapshot_path(self, name) -> Path:
        from archcalc.testing import CostArgumentError

        base = _safe(self.item.name)
        if name is None:
            k = 1
            while (base if k == 1 else f"{base}.{k}") in self._names:
                k += 1
            stem = base if k == 1 else f"{base}.{k}"
        else:
            stem = f"{base}.{_safe(str(name))}"
            if stem in self._names:
                raise CostArgumentError(f"snapshot name {name!r} used twice in {self.item.nodeid}")
        self._names.add(stem)
        test_file = Path(self.item.path)
        return test_file.parent / SNAPSHOT_DIR / test_file.stem / f"{stem}.txt"

    def _display(self, path: Path) -> str:
        try:
            return os.path.relpath(path, self.config.rootpath)
        except ValueError:  # another drive on Windows
            return str(path)

    def _check_snapshot(self, result, name):
        from archcalc.errors import ArchcalcError
        from archcalc.testing import Snapshot, _cap, diff_rows, totals_diff

        path = self._snapshot_path(name)
        shown = self._display(path)
        state = self.config.stash[_STATE]
        update = self.config.getoption("archcalc_update", False)
        new = Snapshot.of(result)
        if not path.exists():
            if _in_ci() and not update:
                pytest.fail(f"archcalc snapshot {shown} does not exist (CI is set, so it is not written): run "
                            "`pytest --archcalc-update` locally and commit it", pytrace=False)
            new.write(path)
            state.written.append(shown)
            return
        try:
            old = Snapshot.read(path)
        except ArchcalcError as e:
            if not update:
                pytest.fail(f"archcalc snapshot {shown} cannot be read ({e}); rewrite it with "
                            "`pytest --archcalc-update`", pytrace=False)
            old = None
        if old is not None and old.same_costs(new):
            if update and path.read_text(encoding="utf-8") != new.to_text():
                new.write(path)  # same costs, refreshed text (model name, format)
                state.updated.append(shown)
            return
        if update:
            new.write(path)
            state.updated.append(shown)
            return
        msg = [f"archcalc snapshot {shown} differs for {result.model}:"]
        msg += totals_diff(old, new, "snapshot", "now")
        if (old.input, old.batch) != (new.input, new.batch):
            msg.append(f"  input: snapshot {old.input} batch {old.batch}, now {new.input} batch {new.batch}")
        diff = diff_rows(old.rows, new.rows)
        msg.append(f"per-layer differences (~ changed, + new, - removed): {len(diff)}")
        msg += ["  " + d for d in _cap(diff)]
        msg.append("if the change is intended, run `pytest --archcalc-update` and commit the snapshot")
        pytest.fail("\n".join(msg), pytrace=False)
