#!/usr/bin/env python3
"""Train loss by window of steps (mean of the seeds, then each seed) and the test figures of
a store made by running seed-precision.toml or bc-precision.toml, per precision:

    DENSENET_LAB_DATA=../shared/data densenet-lab --db seed.db run -q docs/cpu-bf16-curves/seed-precision.toml
    python3 docs/cpu-bf16-curves/summarize.py seed.db 50
"""
import sqlite3, sys, json, statistics
db = sys.argv[1]
c = sqlite3.connect(db)
runs = {}
for rid, cfg in c.execute("SELECT id, config FROM runs"):
    p = json.loads(cfg)["train"]["precision"]
    runs.setdefault(p, []).append(rid)
def series(rid, split, name, scope):
    return dict(c.execute("SELECT step, value FROM metrics WHERE run_id=? AND split=? AND name=? AND scope=? ORDER BY step", (rid, split, name, scope)).fetchall())
print(db, {p: r for p, r in runs.items()})
# train loss, means over windows of 50 steps, per precision (mean of the seeds)
for p, rids in runs.items():
    curves = [series(r, "train", "loss", "step") for r in rids]
    steps = sorted(set.intersection(*[set(s) for s in curves]))
    windows = {}
    for s in steps:
        windows.setdefault((s - 1) // (int(sys.argv[2]) if len(sys.argv) > 2 else 50), []).append(statistics.mean(cv[s] for cv in curves))
    W = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    print(p, "train loss by window, mean of seeds:", [round(statistics.mean(v), 4) for _, v in sorted(windows.items())])
    for r, cv in zip(rids, curves):
        w = {}
        for s_ in steps:
            w.setdefault((s_ - 1) // W, []).append(cv[s_])
        print("  run", r, "per window:", [round(statistics.mean(v), 4) for _, v in sorted(w.items())])
    for r in rids:
        acc = series(r, "test", "accuracy", "epoch")
        loss = series(r, "test", "loss", "epoch")
        print("  run", r, "test accuracy", acc, "test loss", {k: round(v, 4) for k, v in loss.items()})
