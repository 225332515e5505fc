"""The presentation layer points down: import-direction checks over the package's source.

- nothing under archcalc/ outside archcalc/cli/ imports archcalc.cli (``__main__`` entry points,
  which only run as programs, excepted);
- the subcommand modules import nothing of each other, only archcalc.cli.parser from the package;
- the core (analysis, rules, graph, layers, dims, dtypes, memory, ...) imports no renderer.
"""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "archcalc"

#: Modules that turn results into text or documents. The core may not import them.
RENDERERS = {"archcalc.format", "archcalc.report", "archcalc.cli", "archcalc.zoo_report", "archcalc.memory_cli",
             "archcalc.tally", "archcalc.renderers"}
CORE = ("analysis", "graph", "layers", "dims", "dtypes", "rules", "memory", "errors", "validate", "symbols",
        "conventions", "spec", "zoo", "detection")


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: pathlib.Path) -> set:
    """Absolute names of the modules ``path`` imports anywhere except under ``if __name__ == "__main__"``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    found = set()

    def visit(node):
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module
            found.add(root)
            found.update(f"{root}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _sources():
    return [p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py"]


def _hits(imports: set, prefix: str) -> set:
    return {m for m in imports if m == prefix or m.startswith(prefix + ".")}


def test_only_the_cli_package_imports_the_cli():
    offenders = {}
    for path in _sources():
        if "cli" in path.relative_to(PACKAGE).parts[:1]:
            continue
        hits = _hits(_imports(path), "archcalc.cli")
        if hits:
            offenders[str(path.relative_to(PACKAGE))] = sorted(hits)
    assert not offenders, offenders


def test_subcommand_modules_do_not_import_each_other():
    cli = PACKAGE / "cli"
    modules = {p.stem for p in cli.glob("*.py")} - {"__init__", "parser"}
    assert {"zoo_list", "verify", "compare", "fit", "spec", "report_examples", "model"} <= modules
    for path in cli.glob("*.py"):
        if path.stem == "__init__":
            continue
        from_cli = {m for m in _hits(_imports(path), "archcalc.cli") if m != "archcalc.cli"}
        assert from_cli <= {"archcalc.cli.parser"} | {f"archcalc.cli.parser.{n}" for n in dir(__import__(
            "archcalc.cli.parser", fromlist=["x"]))}, (path.name, from_cli)


def test_core_imports_no_renderer():
    offenders = {}
    for path in _sources():
        rel = path.relative_to(PACKAGE)
        if rel.parts[0].removesuffix(".py") not in CORE:
            continue
        hits = set()
        for r in RENDERERS:
            hits |= _hits(_imports(path), r)
        # Result keeps thin notebook conveniences (repr, report(), _repr_html_) that import lazily
        if rel.parts[0] == "analysis.py":
            hits = {h for h in hits if h.startswith(("archcalc.report", "archcalc.format"))} - {
                "archcalc.report", "archcalc.report.render_report", "archcalc.report.save",
                "archcalc.report.frame", "archcalc.report.frame.result_frame",
                "archcalc.format", "archcalc.format.render_table"}
        if hits:
            offenders[str(rel)] = sorted(hits)
    assert not offenders, offenders


def test_the_analysis_does_not_import_renderers_at_module_level():
    tree = ast.parse((PACKAGE / "analysis.py").read_text(encoding="utf-8"))
    top = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    assert not top & {"format", "report", "text", "cli"}, top


def test_dtype_sizes_live_beside_the_dims():
    from archcalc import analysis, dtypes

    assert analysis.DTYPE_BYTES is dtypes.DTYPE_BYTES  # one table, re-exported for older callers
    assert dtypes.dtype_name("half") == "fp16"
