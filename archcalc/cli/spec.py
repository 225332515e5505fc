"""``archcalc spec MODEL|FILE [--format yaml|json] [-o FILE]``, ``--schema``, ``--check FILE``."""

from __future__ import annotations

import sys

from .parser import Parser, is_spec_arg


def main(argv) -> int:
    """``archcalc spec MODEL|FILE [--format yaml|json] [-o FILE]``, ``--schema``, ``--check FILE``."""
    from ..spec import SpecError, _read, analyze_file, dumps_spec, load_spec, parse_text, schema_text, \
        validate_with_jsonschema
    from ..text import fmt_int

    p = Parser(prog="archcalc spec", description="Write a network (zoo name or spec file) as a YAML/JSON "
               "spec, print the JSON Schema of specs, or check a spec file.")
    p.add_argument("model", nargs="?", help="a zoo name or a spec file")
    p.add_argument("--format", default="yaml", choices=["yaml", "json"])
    p.add_argument("-o", "--output", help="write to this file (atomically) instead of stdout")
    p.add_argument("--schema", action="store_true", help="print the JSON Schema of network specs")
    p.add_argument("--check", action="store_true", help="validate MODEL (a spec file) and its JSON Schema, "
                   "then analyse it; prints 'ok' or one error line")
    args = p.parse_args(argv)
    if args.schema:
        text = schema_text()
    elif args.model is None:
        raise SpecError("give a zoo name or a spec file (or --schema)")
    elif args.check:
        path, raw, fmt = _read(args.model)
        validate_with_jsonschema(parse_text(raw, path, fmt), path)
        r = analyze_file(path)
        text = f"ok: {path}: {len(r.layers)} layers, {fmt_int(r.totals['params'])} params\n"
    else:
        if is_spec_arg(args.model):
            graph = load_spec(args.model)
        else:
            from ..zoo import get_entry

            graph = get_entry(args.model).build()
        text = dumps_spec(graph, args.format)
    if args.output:
        from .._io import write_atomic

        write_atomic(args.output, text, force=True)
    else:
        sys.stdout.write(text)
    return 0
