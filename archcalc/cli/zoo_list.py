"""``archcalc list [--format table|json|md] [-o FILE] [--no-costs]``: the zoo as a table."""

from __future__ import annotations

import sys

from .parser import Parser


def main(argv) -> int:
    from .. import zoo_report
    from .._io import write_atomic
    from ..text import shape
    from ..zoo import entries

    p = Parser(prog="archcalc list", description="List the zoo: family, variant, source, params and MACs.")
    p.add_argument("--format", default="table", choices=["table", "json", "md"])
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    p.add_argument("--no-costs", action="store_true", help="skip computing params/MACs for each entry")
    args = p.parse_args(argv)
    if args.no_costs:
        rows = [{"name": e.name, "family": e.family, "variant": e.variant, "source": e.source,
                 "input": shape(tuple(e.input_shape)), "input_shape": tuple(e.input_shape),
                 "params": None,
                 "trainable_params": None, "macs": None, "published_params": None} for e in entries()]
    else:
        rows = zoo_report.zoo_rows()
    render = {"table": zoo_report.render_text, "json": zoo_report.render_json, "md": zoo_report.render_markdown}
    text = render[args.format](rows)
    if args.output:
        write_atomic(args.output, text, force=True)
    else:
        sys.stdout.write(text)
    return 0
