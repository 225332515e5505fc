"""``archcalc spec MODEL|FILE [--format yaml|json] [-o FILE]``, ``--schema``, ``--check FILE``."""

from __future__ import annotations

from .parser import Parser, UsageError, check_output_args, emit, examples, is_spec_arg, nonempty


def main(argv) -> int:
    """``archcalc spec MODEL|FILE [--format yaml|json] [-o FILE]``, ``--schema``, ``--check FILE``."""
    from ..spec import SpecError, _read, analyze_file, dumps_spec, load_spec, parse_text, schema_text, \
        validate_with_jsonschema
    from ..text import fmt_int

    p = Parser(prog="archcalc spec", description="Write a network (zoo name or spec file) as a YAML/JSON "
               "spec, print the JSON Schema of specs, or check a spec file.",
               epilog=examples("archcalc spec vgg16 -o vgg16.yaml", "archcalc spec vgg16 --format json",
                               "archcalc spec --check my_net.yaml", "archcalc spec --schema -o schema.json --force"))
    p.add_argument("model", nargs="?", help="a zoo name, a spec file, or module.path:factory (with --input)")
    p.add_argument("--input", type=nonempty("--input"), help="per-sample input shape, for module.path:factory")
    p.add_argument("--format", default="yaml", choices=["yaml", "json"])
    p.add_argument("-o", "--output", metavar="PATH",
                   help="write to PATH atomically ('-' = standard output, the default); an existing file only "
                        "with --force")
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists (through a symlink too)")
    p.add_argument("--schema", action="store_true", help="print the JSON Schema of network specs")
    p.add_argument("--check", action="store_true", help="validate MODEL (a spec file) and its JSON Schema, "
                   "then analyse it; prints 'ok' or one error line")
    args = p.parse_args(argv)
    check_output_args(args)
    if args.input and not (args.model and ":" in args.model and not is_spec_arg(args.model)):
        raise UsageError("--input applies to module.path:factory (a zoo model or spec file has its own)")
    if args.schema and (args.model is not None or args.check):
        raise SpecError("--schema prints the schema of specs; it takes no MODEL and no --check")
    if args.check and args.output is not None:
        raise SpecError("--check prints 'ok' or one error; it writes no file (drop -o)")
    if args.format != "yaml" and (args.schema or args.check):
        raise SpecError("--format chooses how a network is written; --schema is JSON and --check prints 'ok'")
    if args.schema:
        text = schema_text()
    elif args.model is None:
        raise SpecError("give a zoo name or a spec file (or --schema)")
    elif args.check:
        from .. import spec as S

        if hasattr(S, "_analyze_loaded"):  # the engine's one-read loader (spec on stdin): read, schema-check, build once
            loaded = S._load(args.model, check_schema=True)
            path, r = loaded.source, S._analyze_loaded(loaded)
        else:
            path, raw, fmt = _read(args.model)
            validate_with_jsonschema(parse_text(raw, path, fmt), path)
            r = analyze_file(path)
        text = f"ok: {path}: {len(r.layers)} layers, {fmt_int(r.totals['params'])} params\n"
    else:
        if is_spec_arg(args.model):
            graph = load_spec(args.model)
        elif ":" in args.model:
            from .. import dims
            from .parser import load_model

            if not args.input:
                raise UsageError(f"{args.model}: a torch module needs --input (per-sample shape, e.g. 3x224x224)")
            graph = load_model(args.model, input=dims.parse_shape(args.input)).graph
        else:
            from ..zoo import get_entry

            graph = get_entry(args.model).build()
        text = dumps_spec(graph, args.format)
    return emit(args, text)
