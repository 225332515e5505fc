"""``archcalc verify MODEL|--all``: cross-check zoo models against their torchvision/timm twins
with fvcore, torchinfo, FlopCounterMode, ptflops and thop (needs the torch extra)."""

from __future__ import annotations

import sys

from .parser import Parser


def main(argv) -> int:
    import json

    from .. import dims
    from ..torch_bridge.verify import (TOOL_CONVENTION, VerifyError, render_summary, render_table,
                                       verifiable_entries, verify)

    p = Parser(prog="archcalc verify", description="Cross-check a zoo model against its real torchvision/timm "
               "twin with fvcore, torchinfo, FlopCounterMode, ptflops and thop. Exit 1 on any unexplained "
               "difference.")
    p.add_argument("model", nargs="?", help="a zoo name with a torchvision/timm twin")
    p.add_argument("--all", action="store_true", help="every zoo model that has a torchvision/timm twin")
    p.add_argument("--device", choices=["cpu", "cuda"], help="also time each layer's forward on this device")
    p.add_argument("--format", default="table", choices=["table", "json", "md"])
    p.add_argument("--tools", help="comma-separated subset of " + ",".join(TOOL_CONVENTION))
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--input", help="per-sample input shape, e.g. 3x112x112 (default: the model's)")
    p.add_argument("--output", help="write the report to this file (atomically) instead of stdout")
    p.add_argument("--summary", action="store_true", help="one row per model (totals) instead of per-layer tables")
    args = p.parse_args(argv)
    import warnings

    # torchvision's GoogLeNet init notice and torch.jit deprecation notes are not about the counts
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    if bool(args.model) == bool(args.all):
        raise VerifyError("give one MODEL or --all")
    if args.batch < 1:
        raise VerifyError(f"--batch must be >= 1, got {args.batch}")
    names = [e.name for e in verifiable_entries()] if args.all else [args.model]
    tools = args.tools.split(",") if args.tools else None
    shape = None
    if args.input:
        shape = dims.parse_shape(args.input)
    results = []
    chunks = []

    def emit(text):
        if args.output:
            chunks.append(text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()

    for n in names:
        v = verify(n, device=args.device, tools=tools, batch=args.batch, input_shape=shape)
        results.append(v)
        if args.format != "json" and not args.summary:
            emit(render_table(v, markdown=args.format == "md") + "\n")
    if args.format == "json":
        payload = [v.to_dict() for v in results]
        emit(json.dumps(payload if args.all else payload[0], indent=2) + "\n")
    elif args.summary:
        emit(render_summary(results, markdown=args.format == "md"))
    if args.output:
        from .._io import write_atomic

        write_atomic(args.output, "".join(chunks), force=True, make_dirs=True)
    bad = [v.model for v in results if not v.ok]
    if bad:
        print(f"archcalc verify: unexplained differences in {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0
