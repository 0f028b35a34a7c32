#!/usr/bin/env python3
"""Copy a densenet-lab store and add a PyTorch peer's test-accuracy curve to it as one more run of
an experiment, so `densenet-lab export` draws the peer beside our runs in one chart.

    scripts/peer-curve-into-store.py STORE COPY EXPERIMENT LABEL PEER.jsonl
    densenet-lab --db COPY export --experiment EXPERIMENT --out chart.png

PEER.jsonl holds one JSON object per epoch with `epoch` and `test_accuracy` (what
../shared/peers/torch_train.py and scripts/seed-2017-mnist.py print). The run's overrides are
{"peer": LABEL}, which the chart's legend shows; its config is the experiment's first run's, its
status `done`. STORE itself is never written: the copy is made with SQLite's backup API (a
consistent snapshot even while a trainer writes), and COPY must not exist yet.
"""
import json, os, sqlite3, sys


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    store, copy, experiment, label, peer = sys.argv[1:]
    if os.path.exists(copy):
        sys.exit(f"{copy}: exists; give a new file for the copy")
    points = []
    with open(peer) as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                row = json.loads(line)
                try:
                    points.append((int(row["epoch"]), float(row["test_accuracy"])))
                except KeyError as missing:
                    sys.exit(f"{peer}:{n}: no {missing} in {line.strip()!r}")
    if not points:
        sys.exit(f"{peer}: no epochs")
    src = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    found = dst.execute("SELECT id FROM experiments WHERE name = ?", (experiment,)).fetchone()
    if found is None:
        dst.close()
        os.remove(copy)
        sys.exit(f"{store}: no experiment named {experiment!r}")
    exp_id = found[0]
    config, seed = dst.execute(
        "SELECT config, seed FROM runs WHERE experiment_id = ? ORDER BY id LIMIT 1", (exp_id,)
    ).fetchone()
    trial = dst.execute(
        "SELECT coalesce(max(trial_index), -1) + 1 FROM runs WHERE experiment_id = ?", (exp_id,)
    ).fetchone()[0]
    now = dst.execute("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')").fetchone()[0]
    last = max(e for e, _ in points)
    with dst:
        run = dst.execute(
            "INSERT INTO runs (experiment_id, trial_index, hash, status, config, overrides, seed,"
            " device, epochs_total, epochs_done, created_at, started_at, finished_at)"
            " VALUES (?, ?, ?, 'done', ?, ?, ?, 'cpu', ?, ?, ?, ?, ?)",
            (exp_id, trial, f"peer-{label}", config, json.dumps({"peer": label}), seed, last,
             last, now, now, now),
        ).lastrowid
        dst.executemany(
            "INSERT INTO metrics (run_id, epoch, step, scope, split, name, value, wall_time)"
            " VALUES (?, ?, ?, 'epoch', 'test', 'accuracy', ?, ?)",
            [(run, e, e, acc, now) for e, acc in points],
        )
    dst.close()
    print(f"{copy}: run {run} of {experiment} holds {label}'s {len(points)} epochs")


if __name__ == "__main__":
    main()
