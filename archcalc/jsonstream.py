"""``--format json`` written layer by layer: the same bytes as ``json.dumps(result.to_dict(),
indent=2)`` (archcalc.format.render_json), without building the whole document or its text in
memory. Memory is one layer's dict and text at a time; 500,000 layers stream in seconds.

>>> import sys
>>> from archcalc import analyze
>>> write_json(analyze("lenet5"), sys.stdout)            # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
from json.encoder import encode_basestring_ascii as _string  # json's own (C) string encoder
from typing import Iterator

_ENCODER = json.JSONEncoder(indent=2)
_EMPTY_TAIL = '"layers": []\n}'


def iter_json(result, chunk_layers: int = 256) -> Iterator[str]:
    """Pieces of the JSON document, in order; joined, they equal ``render_json(result)``.
    Layers are encoded one at a time and yielded ``chunk_layers`` at a time."""
    head = copy.copy(result)  # the header and totals exactly as Result.to_dict writes them
    head.layers = []
    text = _ENCODER.encode(head.to_dict())
    if not text.endswith(_EMPTY_TAIL):  # to_dict must keep "layers" last for a stream to exist
        raise AssertionError("Result.to_dict no longer ends with its layers")
    opening = text[:-len("[]\n}")]
    if not result.layers:
        yield text
        return
    yield opening + "[\n"
    batch, sep = [], "    "
    for rec in result.layers:
        # a layer sits two levels deep (root object, "layers" list): four more spaces per line
        batch.append(sep + _dump(rec.to_dict(), "    "))
        sep = ",\n    "
        if len(batch) >= chunk_layers:
            yield "".join(batch)
            batch.clear()
    batch.append("\n  ]\n}")
    yield "".join(batch)


def _dump(o, pad: str) -> str:
    """``json.dumps(o, indent=2)`` for the plain values ``to_dict`` makes (dict, list, str, int,
    float, bool, None), nested at indentation ``pad``. json's encoder with an indent runs in pure
    Python through generators; this direct recursion writes the same text in about half the time."""
    t = type(o)
    if t is str:
        return _string(o)
    if t is int:
        return int.__repr__(o)
    if t is dict:
        if not o:
            return "{}"
        inner = pad + "  "
        return ("{\n" + inner + (",\n" + inner).join([_string(k) + ": " + _dump(v, inner) for k, v in o.items()])
                + "\n" + pad + "}")
    if t is list:
        if not o:
            return "[]"
        inner = pad + "  "
        return "[\n" + inner + (",\n" + inner).join([_dump(v, inner) for v in o]) + "\n" + pad + "]"
    # bool, None, float (NaN and infinities spelled as json spells them), anything else: json's way
    return _ENCODER.encode(o) if t in (bool, float) or o is None else _fallback(o, pad)


def _fallback(o, pad: str) -> str:
    return _ENCODER.encode(o).replace("\n", "\n" + pad)


def write_json(result, fp) -> int:
    """Write the document to the text file ``fp``; returns the characters written."""
    n = 0
    for piece in iter_json(result):
        fp.write(piece)
        n += len(piece)
    return n


def render_json(result) -> str:
    """The whole document as one string (what ``--format json`` prints), built from the stream."""
    return "".join(iter_json(result))
