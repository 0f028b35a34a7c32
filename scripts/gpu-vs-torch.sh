#!/usr/bin/env bash
# densenet-lab against PyTorch + cuDNN on one GPU, in one sitting.
#
#   scripts/gpu-vs-torch.sh BINARY PEER OUT_DIR [DEVICE]
#
# BINARY   densenet-lab built with `--features cuda`
# PEER     the PyTorch peer, torch_densenet.py (run with $PYTHON, default python3)
# OUT_DIR  where vs-torch.jsonl (every measurement), vs-torch-summary.jsonl and vs-torch.md go
# DEVICE   default cuda:0
#
# For each model (seed-mnist, the bake-off, DenseNet-BC-100) and batch (64 and 256;
# GPU_VS_TORCH_BATCHES), in GPU_VS_TORCH_ROUNDS rounds (default 2), it runs alternately our
# `bench` in f32 and bf16 and the peer in f32 and --amp bf16, each with and without
# --channels-last, and prints one table of medians and ratios: train and eval images/s, the
# fraction of the GPU's TF32 (f32) or bf16 dense peak reached (3 x forward FLOPs per trained
# image), peak GPU memory (ours sampled from nvidia-smi, the peer's from torch), and our first
# step with a cold and a warm autotune cache. Measurements stop being started after
# GPU_VS_TORCH_MAX_S seconds (default 420); what was skipped is said.
set -uo pipefail

if [[ $# -lt 3 || $# -gt 4 ]]; then
  sed -n '2,18p' "$0"
  exit 2
fi
bin=$(realpath "$1"); peer=$(realpath "$2"); out=$3; device=${4:-cuda:0}
python=${PYTHON:-python3}
rounds=${GPU_VS_TORCH_ROUNDS:-2}
read -ra batches <<< "${GPU_VS_TORCH_BATCHES:-64 256}"
steps=${GPU_VS_TORCH_STEPS:-20}
budget=${GPU_VS_TORCH_MAX_S:-420}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"; out=$(realpath "$out")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
note() { echo "gpu-vs-torch: $*" >&2; }
command -v "$python" >/dev/null || { note "no $python to run the peer"; exit 3; }
[[ -f $peer ]] || { note "no peer script at $peer"; exit 3; }

# A cold tune cache of our own, so the first round shows what autotuning costs.
export DENSENET_LAB_TUNE_CACHE=$work/tune-cache
# ours:peer names of the same network.
models=(seed-mnist:seed-mnist bake-off:spike-mnist densenet-bc-100:bc100-cifar)
row=$("$bin" devices --format jsonl | grep "\"device\":\"$device\"" | head -1)
gpu_name=$(sed -n 's/.*"name":"\([^"]*\)".*/\1/p' <<< "$row")
precisions=$(sed -n 's/.*"precisions":"\([^"]*\)".*/\1/p' <<< "$row")
[[ -n $row ]] || { note "$bin does not list $device"; exit 3; }
note "$device: ${gpu_name:-unnamed}, precisions ${precisions:-none}"

lines=$out/vs-torch.jsonl
: > "$lines"
start=$SECONDS
# The largest memory.used nvidia-smi reports for process $1 while it lives (MiB), or null.
peak_gpu_mib() {
  local pid=$1 peak="" used
  command -v nvidia-smi >/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    used=$(nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits 2>/dev/null \
      | awk -F', *' -v p="$pid" '$1 == p { print $2 }')
    [[ -n $used && ( -z $peak || $used -gt $peak ) ]] && peak=$used
    sleep 0.2
  done
  echo "$peak"
}
# One measurement: `record SIDE MODEL BATCH ROUND VARIANT -- COMMAND...` appends its JSON line
# with those fields in front (or a line with the exit status and the stderr file's name).
record() {
  local side=$1 model=$2 batch=$3 round=$4 variant=$5; shift 6
  local tag=$side-$model-$batch-$variant-$round
  local head="{\"side\":\"$side\",\"model\":\"$model\",\"batch\":$batch,\"round\":$round,\"variant\":\"$variant\""
  if (( SECONDS - start > budget )); then
    echo "$head,\"skipped\":\"past the ${budget}s budget\"}" >> "$lines"
    return
  fi
  "$@" > "$work/$tag.out" 2> "$out/$tag.stderr" &
  local pid=$! peak
  peak=$(peak_gpu_mib "$pid")
  wait "$pid"; local status=$?
  local line; line=$(grep '^{' "$work/$tag.out" | tail -1)
  if [[ $status -ne 0 || -z $line ]]; then
    echo "$head,\"exit_status\":$status,\"stderr\":\"$tag.stderr\"}" >> "$lines"
    note "$tag failed ($status): $(tail -1 "$out/$tag.stderr")"
    return
  fi
  rm -f "$out/$tag.stderr"
  echo "$head,\"sampled_gpu_mib\":${peak:-null},${line#\{}" >> "$lines"
}

for round in $(seq 1 "$rounds"); do
  for pair in "${models[@]}"; do
    ours=${pair%%:*} theirs=${pair##*:}
    for batch in "${batches[@]}"; do
      note "round $round: $ours, batch $batch"
      for precision in f32 bf16; do
        if [[ ", $precisions, " == *", $precision, "* ]]; then
          record ours "$ours" "$batch" "$round" "$precision" -- \
            "$bin" bench "$here/experiments/$ours.toml" --batch "$batch" --steps "$steps" \
            --device "$device" --precision "$precision"
        else
          echo "{\"side\":\"ours\",\"model\":\"$ours\",\"batch\":$batch,\"round\":$round,\"variant\":\"$precision\",\"skipped\":\"$device lists ${precisions:-no precisions}\"}" >> "$lines"
        fi
        amp=(); [[ $precision == bf16 ]] && amp=(--amp bf16)
        for layout in "" -cl; do
          cl=(); [[ -n $layout ]] && cl=(--channels-last)
          record torch "$ours" "$batch" "$round" "$precision$layout" -- \
            "$python" "$peer" --config "$theirs" --device "${device}" --batch "$batch" \
            --steps "$steps" --eval-steps "$steps" --warmup 5 --max-wall 60 "${amp[@]}" "${cl[@]}"
        done
      done
    done
  done
done
note "measured in $((SECONDS - start)) s"

GPU_NAME=$gpu_name "$python" - "$lines" "$out" <<'EOF'
import json, os, statistics, sys

lines_path, out = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(lines_path) if l.strip()]
name = os.environ.get("GPU_NAME", "")
# Dense tensor-core peaks in TFLOP/s (vendor data sheets: SXM parts; PCIe where named).
PEAKS = [("H200", 989, 495), ("H100 PCIe", 756, 378), ("H100", 989, 495),
         ("A100", 312, 156), ("L40S", 362, 183), ("L4", 121, 60)]
peak = {"bf16": None, "f32": None}
for key, bf16, tf32 in PEAKS:
    if key in name:
        peak = {"bf16": bf16, "f32": tf32}
        break
for env, key in (("GPU_PEAK_TFLOPS_BF16", "bf16"), ("GPU_PEAK_TFLOPS_TF32", "f32")):
    if os.environ.get(env):
        peak[key] = float(os.environ[env])

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def measured(side, model, batch, variant):
    return [r for r in rows if r["side"] == side and r["model"] == model
            and r["batch"] == batch and r["variant"] == variant and "skipped" not in r
            and "exit_status" not in r]

# Forward FLOPs per image come from the peer (the same network, counted by PyTorch).
flops = {}
for r in rows:
    if r["side"] == "torch" and r.get("fwd_flops_per_image"):
        flops[r["model"]] = r["fwd_flops_per_image"]

summary = []
keys = sorted({(r["model"], r["batch"]) for r in rows}, key=lambda k: (k[0] != "seed-mnist", k))
for model, batch in keys:
    for precision in ("f32", "bf16"):
        ours = measured("ours", model, batch, precision)
        plain = measured("torch", model, batch, precision)
        cl = measured("torch", model, batch, precision + "-cl")
        s = dict(model=model, batch=batch, precision=precision, gpu=name)
        for phase, ours_key, torch_key in (("train", "train_images_per_sec", "train_images_per_s"),
                                           ("eval", "eval_images_per_sec", "eval_images_per_s")):
            o = med([r.get(ours_key) for r in ours])
            t = med([r.get(torch_key) for r in plain])
            tc = med([r.get(torch_key) for r in cl])
            best = max([x for x in (t, tc) if x is not None], default=None)
            s[f"ours_{phase}"] = o
            s[f"torch_{phase}"] = t
            s[f"torch_{phase}_channels_last"] = tc
            s[f"ratio_{phase}"] = round(o / best, 3) if o and best else None
            f = flops.get(model)
            per_image = (3 if phase == "train" else 1) * f if f else None
            p = peak[precision]
            for side, v in (("ours", o), ("torch", best)):
                s[f"{side}_{phase}_peak_fraction"] = (
                    float(f"{v * per_image / (p * 1e12):.4g}") if v and per_image and p else None)
        s["ours_gpu_mib"] = med([r.get("sampled_gpu_mib") for r in ours])
        s["torch_gpu_mib"] = med([r.get("peak_gpu_mem_mb") for r in plain + cl])
        first = sorted(ours, key=lambda r: r["round"])
        s["ours_first_step_ms_cold"] = first[0].get("first_train_step_ms") if first else None
        s["ours_first_step_ms_warm"] = med([r.get("first_train_step_ms") for r in first[1:]])
        summary.append(s)

with open(os.path.join(out, "vs-torch-summary.jsonl"), "w") as f:
    for s in summary:
        f.write(json.dumps(s) + "\n")

def fmt(v, pct=False):
    if v is None:
        return "-"
    if pct:
        return f"{100 * v:.3g}%"
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"

head = ("| model | batch | precision | ours train | torch train (NCHW / CL) | ours/torch | "
        "ours eval | torch eval (NCHW / CL) | ours/torch | peak reached train ours / torch | "
        "GPU MiB ours / torch | ours first step cold / warm ms |")
table = [f"GPU: {name or 'unknown'}; peaks used: TF32 {peak['f32']} and bf16 {peak['bf16']} TFLOP/s dense",
         "", head, "|" + " --- |" * 12]
for s in summary:
    table.append(
        f"| {s['model']} | {s['batch']} | {s['precision']} | {fmt(s['ours_train'])} | "
        f"{fmt(s['torch_train'])} / {fmt(s['torch_train_channels_last'])} | {fmt(s['ratio_train'])} | "
        f"{fmt(s['ours_eval'])} | {fmt(s['torch_eval'])} / {fmt(s['torch_eval_channels_last'])} | "
        f"{fmt(s['ratio_eval'])} | {fmt(s['ours_train_peak_fraction'], True)} / "
        f"{fmt(s['torch_train_peak_fraction'], True)} | {fmt(s['ours_gpu_mib'])} / "
        f"{fmt(s['torch_gpu_mib'])} | {fmt(s['ours_first_step_ms_cold'])} / "
        f"{fmt(s['ours_first_step_ms_warm'])} |")
skipped = [r for r in rows if "skipped" in r or "exit_status" in r]
if skipped:
    table.append("")
    table.append(f"{len(skipped)} measurement(s) skipped or failed: see vs-torch.jsonl")
text = "\n".join(table) + "\n"
open(os.path.join(out, "vs-torch.md"), "w").write(text)
print(text)
EOF
