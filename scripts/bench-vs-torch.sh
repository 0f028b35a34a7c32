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
# THREADS (default 2) and BATCH (default 64) tune the run. PRECISIONS (default "f32 bf16")
# picks the columns: f32 against the peer's f32, bf16 (`bench --precision bf16`) against its
# `--amp bf16` (torch.autocast on the CPU). COMPILE=1 adds the peer under `--compile`
# (inductor) for each precision, as a third row. Needs python3 for the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/densenet-lab}
PEER_DIR=${PEER_DIR:-../shared/peers}
PEER_PYTHON=${PEER_PYTHON:-/tmp/peer-venv/bin/python}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
BATCH=${BATCH:-64}
MODELS=${MODELS:-"seed-mnist bake-off densenet-bc-100"}
PRECISIONS=${PRECISIONS:-"f32 bf16"}
COMPILE=${COMPILE:-0}

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
peer() { # model precision [--compile]
  local model=$1 precision=$2 extra=${3:-} steps evals warm amp=()
  read -r steps evals warm <<<"${THEIRS[$model]}"
  [[ $precision == bf16 ]] && amp=(--amp bf16)
  "$PEER_PYTHON" "$PEER_DIR/torch_densenet.py" --config "${PEER[$model]}" --batch "$BATCH" \
    --steps "$steps" --eval-steps "$evals" --warmup "$warm" --threads "$THREADS" "${amp[@]}" $extra | tail -1
}
for round in $(seq "$ROUNDS"); do
  for model in $MODELS; do
    for precision in $PRECISIONS; do
      echo "round $round: $model $precision" >&2
      line=$(RAYON_NUM_THREADS=$THREADS "$BIN" bench "${FILE[$model]}" --batch "$BATCH" \
        --steps "${OURS[$model]}" --precision "$precision")
      echo "ours $model $precision $line" >>"$OUT"
      echo "torch $model $precision $(peer "$model" "$precision")" >>"$OUT"
      if [[ $COMPILE == 1 ]]; then
        echo "torch-compiled $model $precision $(peer "$model" "$precision" --compile)" >>"$OUT"
      fi
    done
  done
done

python3 - "$OUT" <<'PY'
import json, statistics, sys
runs = {}
for raw in open(sys.argv[1]):
    who, model, precision, line = raw.split(" ", 3)
    j = json.loads(line)
    if who == "ours":
        figs = (j["train_images_per_sec"], j["eval_images_per_sec"], j["peak_rss_mib"] * 1.048576, j["engine"])
    else:
        figs = (j["train_images_per_s"], j["eval_images_per_s"], j["peak_rss_mb"], f"{who} {j['torch']}")
    runs.setdefault((model, precision, who), []).append(figs)
print("| model | precision | against | train img/s ours / torch | eval img/s ours / torch | peak RSS MB ours / torch |")
print("| --- | --- | --- | --- | --- | --- |")
med = lambda rs, i: statistics.median(r[i] for r in rs)
for (model, precision, who), theirs in runs.items():
    if who == "ours":
        continue
    ours = runs[(model, precision, "ours")]
    cells = []
    for i in range(3):
        o, t = med(ours, i), med(theirs, i)
        cells.append(f"{o:,.0f} / {t:,.0f} = {o / t:.2f}x")
    print(f"| {model} | {precision} | {theirs[0][3]} | " + " | ".join(cells) + " |")
rounds = len(next(iter(runs.values())))
print(f"(medians of {rounds} alternating rounds; ours ran the {ours[0][3]})")
PY
