"""``archcalc list [--format table|json|md] [-o FILE [--force]] [--no-costs]``: the zoo as a table."""

from __future__ import annotations

from .parser import Parser, add_output_args, check_output_args, emit, examples, output_format, terminal_columns


def main(argv) -> int:
    from .. import zoo_report
    from ..text import shape
    from ..zoo import entries

    p = Parser(prog="archcalc list", description="List the zoo: family, variant, source, params and MACs.",
               epilog=examples("archcalc list", "archcalc list --no-costs",
                               "archcalc list --format md -o reports/zoo.md --force"))
    add_output_args(p, ("table", "json", "md"), "table")
    p.add_argument("--no-costs", action="store_true", help="skip computing params/MACs for each entry")
    args = p.parse_args(argv)
    check_output_args(args)
    if args.no_costs:
        rows = [{"name": e.name, "family": e.family, "variant": e.variant, "source": e.source,
                 "input": shape(tuple(e.input_shape)), "input_shape": tuple(e.input_shape),
                 "params": None,
                 "trainable_params": None, "macs": None, "published_params": None} for e in entries()]
    else:
        rows = zoo_report.zoo_rows()
    fmt = output_format(args)
    if fmt == "table":
        return emit(args, zoo_report.render_text(rows, width=terminal_columns()))
    render = {"json": zoo_report.render_json, "md": zoo_report.render_markdown}
    return emit(args, render[fmt](rows))
