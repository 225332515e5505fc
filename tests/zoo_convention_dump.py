"""Before/after dump for issue 14 item 6 (run by hand, not collected): every zoo model x every convention
(total, per kind with the reason, the --convention text) x five memory modes, as JSON.

    PYTHONPATH=. python tests/zoo_convention_dump.py before.json   # then change the code, dump again, cmp
"""
import hashlib, json, sys, time
import archcalc
from archcalc import conventions as C, memory as M, zoo
from archcalc.errors import ArchcalcError

out = {}
t0 = time.time()
for name in zoo.names():
    row = {}
    try:
        r = archcalc.analyze(name)
    except ArchcalcError as e:
        out[name] = f"analyze: {type(e).__name__}: {e}"
        continue
    for c in C.CONVENTIONS:
        try:
            cc = C.count(r, c)
            row[c] = [str(cc.total), sorted((k, str(v), cc.why[k]) for k, v in cc.by_kind.items())]
        except ArchcalcError as e:
            row[c] = f"{type(e).__name__}: {e}"
        try:
            row[c + ":lines"] = C.convention_lines(r, [c])
        except ArchcalcError as e:
            row[c + ":lines"] = f"{type(e).__name__}: {e}"
    modes = [("inf-cpu", dict(train=False)), ("inf-cuda", dict(train=False, backend="cuda")),
             ("train-sgd", dict(train=True)),
             ("train-adam-cuda", dict(train=True, optimizer="adam", backend="cuda", foreach=True)),
             ("train-momentum-bf16", dict(train=True, optimizer="sgd-momentum", dtype="bf16"))]
    for mode, kw in modes:
        try:
            row["mem:" + mode] = repr(M.estimate(r, **kw))
        except ArchcalcError as e:
            row["mem:" + mode] = f"{type(e).__name__}: {e}"
    out[name] = row
json.dump(out, open(sys.argv[1], "w"), indent=0, sort_keys=True)
print(len(out), "models", f"{time.time()-t0:.0f}s", hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()[:16])
