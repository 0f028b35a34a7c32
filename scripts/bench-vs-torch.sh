#!/usr/bin/env bash
# Times densenet-lab's `bench` and the PyTorch peer on the same three models, alternately
# (ours, theirs, ours, theirs...: absolute figures drift by 30% between runs on shared
# machines, ratios taken side by side much less), and prints the medians and the ratios.
#
#   scripts/bench-vs-torch.sh [BINARY]      (default: target/release/densenet-lab)
#
# The peer is not part of this repository. PEER_DIR (default ../shared/peers) must hold
# torch_densenet.py; PEER_PYTHON (default /tmp/peer-venv/bin/python) a Python with torch
# (`bash $PEER_DIR/setup.sh` creates it). ROUNDS (default 2), MODELS (default all three),
# THREADS (default 2) and BATCH (default 64) tune the run. Needs python3 for the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/densenet-lab}
PEER_DIR=${PEER_DIR:-../shared/peers}
PEER_PYTHON=${PEER_PYTHON:-/tmp/peer-venv/bin/python}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
BATCH=${BATCH:-64}
MODELS=${MODELS:-"seed-mnist bake-off densenet-bc-100"}

[[ -x $BIN ]] || { echo "no binary at $BIN: cargo build --release" >&2; exit 2; }
[[ -f $PEER_DIR/torch_densenet.py ]] || { echo "no PyTorch peer in $PEER_DIR (set PEER_DIR)" >&2; exit 2; }
"$PEER_PYTHON" -c 'import torch' 2>/dev/null || {
  echo "no torch for $PEER_PYTHON: bash $PEER_DIR/setup.sh (or set PEER_PYTHON)" >&2; exit 2; }

# model -> experiment file, peer config, our steps, peer steps / eval steps / warm-up
declare -A FILE=([seed-mnist]=experiments/seed-mnist.toml [bake-off]=experiments/bake-off.toml [densenet-bc-100]=experiments/densenet-bc-100.toml)
declare -A PEER=([seed-mnist]=seed-mnist [bake-off]=spike-mnist [densenet-bc-100]=bc100-cifar)
declare -A OURS=([seed-mnist]=60 [bake-off]=20 [densenet-bc-100]=8)
declare -A THEIRS=([seed-mnist]="100 100 10" [bake-off]="30 60 5" [densenet-bc-100]="12 20 2")

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
for round in $(seq "$ROUNDS"); do
  for model in $MODELS; do
    echo "round $round: $model" >&2
    line=$(RAYON_NUM_THREADS=$THREADS "$BIN" bench "${FILE[$model]}" --batch "$BATCH" --steps "${OURS[$model]}")
    echo "ours $model $line" >>"$OUT"
    read -r steps evals warm <<<"${THEIRS[$model]}"
    line=$("$PEER_PYTHON" "$PEER_DIR/torch_densenet.py" --config "${PEER[$model]}" --batch "$BATCH" \
      --steps "$steps" --eval-steps "$evals" --warmup "$warm" --threads "$THREADS" | tail -1)
    echo "torch $model $line" >>"$OUT"
  done
done

python3 - "$OUT" <<'PY'
import json, statistics, sys
runs = {}
for raw in open(sys.argv[1]):
    who, model, line = raw.split(" ", 2)
    j = json.loads(line)
    if who == "ours":
        figs = (j["train_images_per_sec"], j["eval_images_per_sec"], j["peak_rss_mib"] * 1.048576, j["engine"])
    else:
        figs = (j["train_images_per_s"], j["eval_images_per_s"], j["peak_rss_mb"], "torch " + j["torch"])
    runs.setdefault((model, who), []).append(figs)
print("| model | engine | train img/s ours / torch | eval img/s ours / torch | peak RSS MB ours / torch |")
print("| --- | --- | --- | --- | --- |")
models = dict.fromkeys(m for m, _ in runs)
for model in models:
    ours, theirs = runs[(model, "ours")], runs[(model, "torch")]
    med = lambda rs, i: statistics.median(r[i] for r in rs)
    cells = []
    for i in range(3):
        o, t = med(ours, i), med(theirs, i)
        cells.append(f"{o:,.0f} / {t:,.0f} = {o / t:.2f}x")
    print(f"| {model} | {ours[0][3]} | " + " | ".join(cells) + " |")
print(f"(medians of {len(ours)} alternating rounds)")
PY
