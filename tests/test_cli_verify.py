"""``archcalc verify`` wiring, without running the profilers: ``--all`` streams one line per model
as each finishes, documents go to -o atomically, spec files and bad flags are one-line errors."""

from __future__ import annotations

import json

import pytest

from archcalc.cli import main

pytest.importorskip("torch")


class FakeVerification:
    def __init__(self, name, ok=True):
        self.model, self.ok, self.macs = name, ok, 1_000_000
        self.params = (61_100_840, 61_100_840)
        self.totals = {"fvcore": (1, 1), "thop": (1, 1)}
        self._problems = [] if ok else ["conv1: params 1 but torch's conv1 has 2"]

    def all_problems(self):
        return self._problems

    def to_dict(self):
        return {"model": self.model, "ok": self.ok}


@pytest.fixture
def fake(monkeypatch):
    import importlib

    V = importlib.import_module("archcalc.torch_bridge.verify")  # the package (torch_bridge.verify is also a function)

    seen = []

    def fake_verify(name, **kw):
        seen.append(name)
        return FakeVerification(name, ok=name != "b")

    monkeypatch.setattr(V, "verify", fake_verify)
    monkeypatch.setattr(V, "verifiable_entries", lambda: [type("E", (), {"name": n}) for n in ("a", "b", "c")])
    monkeypatch.setattr(V, "render_table", lambda v, markdown=False: f"TABLE {v.model}\n")
    return seen


def test_all_streams_one_line_per_model(fake, capsys):
    assert main(["verify", "--all"]) == 1  # b fails
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [line.split()[1].rstrip(":") for line in lines] == ["a", "b", "c"]
    assert lines[0].startswith("ok   a: params 61.10 M, MACs 1.000 M; 2 tools agree")
    assert lines[1].startswith("FAIL b: params 61.10 M, MACs 1.000 M; 1 problem(s), first: conv1: params 1")
    assert "unexplained differences in b" in err and "TABLE" not in out


def test_all_to_a_file_writes_the_tables_and_streams_to_stderr(fake, tmp_path, capsys):
    target = tmp_path / "v.txt"
    assert main(["verify", "--all", "-o", str(target)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and target.read_text() == "TABLE a\n\nTABLE b\n\nTABLE c\n\n"
    assert "ok   a:" in err and "FAIL b:" in err
    assert main(["verify", "--all", "-o", str(target)]) == 2  # exists: needs --force
    assert main(["verify", "--all", "--format", "json", "-o", str(target), "--force"]) == 1
    assert [d["model"] for d in json.loads(target.read_text())] == ["a", "b", "c"]


@pytest.mark.parametrize("argv, words", [
    (["verify", "net.yaml"], "no torch twin"),
    (["verify"], "give one MODEL or --all"),
    (["verify", "alexnet", "--tools", "fvcore,nope"], "unknown tool 'nope'"),
    (["verify", "alexnet", "--batch", "0"], "--batch must be >= 1"),
    (["verify", "alexnet", "--output", ""], "-o/--output is empty"),
])
def test_verify_usage_errors(fake, capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
