"""``archcalc verify MODEL|--all``: cross-check zoo models against their torchvision/timm twins
with fvcore, torchinfo, FlopCounterMode, ptflops and thop (needs the torch extra).

``--all`` streams one line per model to standard output as each finishes (the full per-layer
tables go to ``--format md|json`` or ``-o``), with a progress bar on standard error when that is a
terminal. ``module.path:factory`` cross-checks any ``nn.Module`` on its totals.
"""

from __future__ import annotations

import sys

from .parser import (Parser, UsageError, add_output_args, check_output_args, emit, examples, is_spec_arg, nonempty,
                     output_format)


def main(argv) -> int:
    import json

    from .. import dims

    p = Parser(prog="archcalc verify", description="Cross-check a zoo model against its real torchvision/timm "
               "twin with fvcore, torchinfo, FlopCounterMode, ptflops and thop. Exit 1 on any unexplained "
               "difference.",
               epilog=examples("archcalc verify resnet50", "archcalc verify --all",
                               "archcalc verify --all --summary --format md -o reports/cross_check.md --force",
                               "archcalc verify mypkg.models:build_net --input 3x224x224"))
    p.add_argument("model", nargs="?", help="a zoo name with a torchvision/timm twin, or module.path:factory")
    p.add_argument("--all", action="store_true", help="every zoo model that has a torchvision/timm twin")
    p.add_argument("--device", choices=["cpu", "cuda"], help="also time each layer's forward on this device")
    add_output_args(p, ("table", "json", "md"), "table")
    p.add_argument("--tools", type=nonempty("--tools"),
                   help="comma-separated subset of fvcore,torchinfo,flop_counter,ptflops,thop")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--input", type=nonempty("--input"),
                   help="per-sample input shape, e.g. 3x112x112 (default: the model's)")
    p.add_argument("--summary", action="store_true", help="one row per model (totals) instead of per-layer tables")
    args = p.parse_args(argv)
    check_output_args(args)
    if bool(args.model) == bool(args.all):
        raise UsageError("give one MODEL or --all")
    if args.batch < 1:
        raise UsageError(f"--batch must be >= 1, got {args.batch}")
    if args.model and is_spec_arg(args.model):
        raise UsageError(f"{args.model}: a spec file has no torch twin to verify against; write it as an nn.Module "
                         f"and pass module.path:factory")
    shape = dims.parse_shape(args.input) if args.input else None
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError("verify needs the torch extra: pip install 'archcalc[torch]'") from None
    from ..torch_bridge.verify import (TOOL_CONVENTION, render_summary, render_table, verifiable_entries,
                                       verify)

    tools = args.tools.split(",") if args.tools else None
    for t in tools or ():
        if t not in TOOL_CONVENTION:
            raise UsageError(f"unknown tool {t!r} in --tools; choose from {', '.join(TOOL_CONVENTION)}")
    import warnings

    # torchvision's GoogLeNet init notice and torch.jit deprecation notes are not about the counts
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    if args.model and ":" in args.model:
        return _verify_factory(args, shape, tools)
    fmt = output_format(args)
    names = [e.name for e in verifiable_entries()] if args.all else [args.model]
    # --all on a terminal-style output: one line per model as it finishes; documents are assembled
    stream = args.all and fmt == "table" and not args.summary
    to_stdout = args.output in (None, "-")
    results, chunks = [], []
    progress = Progress(len(names)) if args.all else None
    try:
        for i, n in enumerate(names):
            if progress:
                progress.start(i, n)
            v = verify(n, device=args.device, tools=tools, batch=args.batch, input_shape=shape)
            results.append(v)
            if stream:
                line = status_line(v)
                if to_stdout:
                    progress.write(line)
                else:
                    chunks.append(render_table(v) + "\n")
                    print(line, file=sys.stderr)
            elif fmt != "json" and not args.summary:
                chunks.append(render_table(v, markdown=fmt == "md") + "\n")
    finally:
        if progress:
            progress.close()
    if fmt == "json":
        payload = [v.to_dict() for v in results]
        chunks = [json.dumps(payload if args.all else payload[0], indent=2) + "\n"]
    elif args.summary:
        chunks = [render_summary(results, markdown=fmt == "md")]
    if chunks:
        emit(args, "".join(chunks), make_dirs=True)
    bad = [v.model for v in results if not v.ok]
    if bad:
        print(f"archcalc verify: unexplained differences in {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def status_line(v) -> str:
    from ..text import compact, terminal_safe

    problems = v.all_problems()
    state = "ok  " if not problems else "FAIL"
    tail = (f"{len(v.totals)} tools agree" if not problems
            else f"{len(problems)} problem(s), first: {problems[0]}")
    return terminal_safe(f"{state} {v.model}: params {compact(v.params[0])}, MACs {compact(v.macs)}; {tail}")


def _verify_factory(args, shape, tools) -> int:
    """Totals of any nn.Module against each tool (:func:`compare_module`)."""
    from ..text import fmt_int
    from ..torch_bridge.verify import compare_module
    from .parser import _from_factory

    if args.all or args.summary or args.device:
        raise UsageError("module.path:factory is checked on its totals; --all/--summary/--device do not apply")
    if shape is None:
        raise UsageError(f"{args.model}: a torch module needs --input (per-sample shape, e.g. 3x224x224)")
    import importlib

    module_name, factory_name = args.model.split(":")
    _from_factory(args.model, shape)  # the same checks and messages as everywhere else
    module = getattr(importlib.import_module(module_name), factory_name)()
    out = compare_module(module, shape, tools=tools, batch=args.batch)
    ok = all(a == b for a, b in out.values())
    if output_format(args) == "json":
        import json

        from ..dims import to_json

        text = json.dumps({"model": args.model, "ok": ok, "totals": {t: {"archcalc": to_json(a), "tool": b}
                                                                      for t, (a, b) in out.items()}}, indent=2)
    else:
        lines = [f"{args.model} vs {', '.join(out)}:"]
        lines += [f"  {t}: tool {b:,}, archcalc {fmt_int(a)} {'ok' if a == b else 'DIFFERS'}" for t, (a, b) in out.items()]
        text = "\n".join(lines)
    emit(args, text)
    return 0 if ok else 1


class Progress:
    """A progress bar on standard error when it is a terminal (rich.progress if installed, else a
    one-line counter); nothing otherwise, so logs and pipes get only the per-model lines."""

    def __init__(self, total: int):
        self.total = total
        self.tty = sys.stderr.isatty()
        self.bar = None
        if self.tty:
            try:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn

                self.console = Console(file=sys.stderr)
                self.bar = RichProgress(TextColumn("verify {task.description}"), BarColumn(), MofNCompleteColumn(),
                                        console=self.console, transient=True)
                self.bar.start()
                self.task = self.bar.add_task("", total=total)
            except ImportError:
                self.bar = None

    def start(self, i: int, name: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=i, description=name)
        elif self.tty:
            sys.stderr.write(f"\r\x1b[Kverify [{i + 1}/{self.total}] {name}")
            sys.stderr.flush()

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.console.file.flush()
        elif self.tty:
            sys.stderr.write("\r\x1b[K")
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
        elif self.tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
