#!/usr/bin/env bash
# GPU check for a machine that has an NVIDIA GPU but no Rust toolchain.
#
#   scripts/gpu-check.sh BINARY DATA_DIR OUT_DIR
#
# BINARY   densenet-lab built with `cargo build --release --features cuda`
# DATA_DIR a folder with mnist/ (and cifar10/), as ../shared/data
# OUT_DIR  where the JSON lines go (created): devices.jsonl, bench.jsonl, mnist-epoch.jsonl
#
# It lists the devices, benches seed-mnist, seed-cifar10 and densenet-bc-100 at batch 64 on
# cuda:0 (f32, then bf16 convolutions), trains one epoch of MNIST (the seed-mnist recipe) on
# cuda:0 and prints its test accuracy and time. When this binary cannot use the GPU (no GPU
# or driver, a build without `cuda`, NVRTC or the CUDA headers missing) it says why in one
# line, `gpu-check: cannot use the GPU: ...`, and exits with status 3 before measuring.
# It needs only bash, awk and the binary (the JSON lines come from it).
set -uo pipefail

if [[ $# -ne 3 ]]; then
  sed -n '2,15p' "$0"
  exit 2
fi
bin=$(realpath "$1"); data=$(realpath "$2"); out=$3
here=$(cd "$(dirname "$0")/.." && pwd)
experiments=$here/experiments
mkdir -p "$out"; out=$(realpath "$out")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
note() { echo "gpu-check: $*" >&2; }

# Refuses to measure, with one line saying why (also kept as usable.jsonl).
cannot_use() {
  echo "gpu-check: cannot use the GPU: $*" >&2
  reason=${*//\\/\\\\}; reason=${reason//\"/\\\"}
  printf '{"check":"usable","ok":false,"reason":"%s"}\n' "$reason" > "$out/usable.jsonl"
  exit 3
}
# The `status` field of a JSON line from `devices`.
status_of() { sed -n 's/.*"status":"\([^"]*\)".*/\1/p' <<< "$1"; }

"$bin" devices --format jsonl > "$out/devices.jsonl"
status=$?
cat "$out/devices.jsonl"
[[ $status -ne 0 ]] && cannot_use "\`$bin devices\` failed with status $status"
gpu=$(grep '"device":"cuda:0"' "$out/devices.jsonl" | head -1)
if [[ -z "$gpu" ]]; then
  why=$(status_of "$(grep '"device":"cuda"' "$out/devices.jsonl" | head -1)")
  cannot_use "no CUDA GPU: ${why:-the driver reports none}"
fi
case $(status_of "$gpu") in
  ok*) ;;
  *) cannot_use "cuda:0 is $(status_of "$gpu")" ;;
esac

# The CUDA backend compiles its kernels at run time with NVRTC, loaded like any shared library
# (the loader cache or LD_LIBRARY_PATH); the generated code includes CUDA headers such as
# cuda_runtime.h.
headers=""
for dir in "${CUDA_PATH:+$CUDA_PATH/include}" /usr/local/cuda/include /usr/include /opt/cuda/include; do
  [[ -n "$dir" && -f "$dir/cuda_runtime.h" ]] && { headers=$dir; break; }
done
nvrtc=$(ldconfig -p 2>/dev/null | grep -o '/[^ ]*/libnvrtc\.so[.0-9]*$' | head -1)
IFS=: read -ra library_path <<< "${LD_LIBRARY_PATH:-}"
for dir in "${library_path[@]}"; do
  [[ -z "$nvrtc" && -n "$dir" ]] && nvrtc=$(compgen -G "$dir/libnvrtc.so*" | head -1)
done
printf '{"check":"environment","cuda_headers":"%s","nvrtc":"%s"}\n' "$headers" "$nvrtc" > "$out/environment.jsonl"
cat "$out/environment.jsonl"
if [[ -z "$nvrtc" ]]; then
  hint=$(compgen -G "${CUDA_PATH:-/usr/local/cuda}/lib64/libnvrtc.so*" | head -1)
  cannot_use "NVRTC (libnvrtc.so) is not on the loader path${hint:+ (there is $hint: add its folder to LD_LIBRARY_PATH)}"
fi
[[ -z "$headers" ]] && cannot_use "no CUDA headers (cuda_runtime.h in \$CUDA_PATH/include or /usr/local/cuda/include); set CUDA_PATH"
note "CUDA headers: $headers; NVRTC: $nvrtc"

# A failed bench becomes a line with its exit status; its stderr is kept beside the lines.
: > "$out/bench.jsonl"
for name in seed-mnist seed-cifar10 densenet-bc-100; do
  for precision in f32 bf16; do
    note "bench $name (batch 64, cuda:0, $precision)"
    err=$out/bench-$name-$precision.stderr
    "$bin" bench "$experiments/$name.toml" --batch 64 --steps 20 --device cuda:0 \
      --precision "$precision" >> "$out/bench.jsonl" 2> "$err"
    status=$?
    if [[ $status -ne 0 ]]; then
      printf '{"experiment":"%s","precision":"%s","exit_status":%d,"stderr":"%s"}\n' \
        "$name" "$precision" "$status" "$(basename "$err")" >> "$out/bench.jsonl"
    else
      rm -f "$err"
    fi
  done
done
cat "$out/bench.jsonl"

note "one epoch of MNIST on cuda:0 (seed-mnist recipe)"
sed -e 's/^name = .*/name = "gpu-check-mnist"/' -e 's/^epochs = .*/epochs = 1/' \
  "$experiments/seed-mnist.toml" > "$work/mnist-epoch.toml"
start=$(date +%s.%N)
"$bin" --db "$work/lab.db" --data-dir "$data" run "$work/mnist-epoch.toml" --device cuda:0 \
  --runs-dir "$work/runs" 2> "$out/mnist-epoch.stderr" >&2
status=$?
[[ $status -ne 0 ]] && { note "run failed ($status):"; tail -20 "$out/mnist-epoch.stderr" >&2; }
wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
"$bin" --db "$work/lab.db" query --format jsonl \
  "SELECT 'mnist-one-epoch' AS \"check\", $wall AS wall_seconds, $status AS exit_status,
          r.status, r.device, s.final_test_accuracy AS test_accuracy,
          (SELECT value FROM metrics m WHERE m.run_id = r.id AND m.name = 'epoch_seconds') AS epoch_seconds,
          (SELECT value FROM metrics m WHERE m.run_id = r.id AND m.name = 'images_per_sec' AND m.scope = 'epoch') AS train_images_per_sec,
          r.error
     FROM runs r JOIN run_summary s ON s.run_id = r.id" > "$out/mnist-epoch.jsonl" 2>> "$out/mnist-epoch.stderr"
if [[ ! -s "$out/mnist-epoch.jsonl" ]]; then
  printf '{"check":"mnist-one-epoch","wall_seconds":%s,"exit_status":%d,"stderr":"mnist-epoch.stderr"}\n' \
    "$wall" "$status" > "$out/mnist-epoch.jsonl"
fi
cp -r "$work/runs" "$out/runs" 2>/dev/null
cat "$out/mnist-epoch.jsonl"
