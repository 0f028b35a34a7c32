#!/usr/bin/env bash
# GPU check for a machine that has a GPU but no Rust toolchain.
#
#   scripts/gpu-check.sh BINARY DATA_DIR OUT_DIR [PEER]
#
# BINARY   densenet-lab built with `--features cuda` (NVIDIA), `--features wgpu` (any GPU with
#          Vulkan or Metal), or both
# DATA_DIR a folder with mnist/ (and cifar10/), as ../shared/data
# OUT_DIR  where the JSON lines go (created): devices.jsonl, bench.jsonl, mnist-epoch.jsonl
# PEER     optional: the PyTorch peer torch_densenet.py; on cuda:0 it first runs
#          scripts/gpu-vs-torch.sh (ours against PyTorch + cuDNN, A B A B: vs-torch.md and
#          vs-torch*.jsonl), then the rest
#
# It measures every GPU this binary can use: cuda:0, and the first wgpu adapter that is a GPU
# (software adapters such as llvmpipe are CPUs and skipped; GPU_CHECK_DEVICES=wgpu:0 names the
# devices instead). On each it benches seed-mnist, seed-cifar10 and densenet-bc-100 at batch 64
# (f32, then bf16 convolutions where `devices` lists bf16), and trains one epoch of MNIST (the
# seed-mnist recipe), printing its test accuracy and time. When it can use no GPU (none, no
# driver, a build without the backend, NVRTC or the CUDA headers missing) it says why in one
# line, `gpu-check: cannot use the GPU: ...`, and exits with status 3 before measuring.
# It needs only bash, awk and the binary (the JSON lines come from it), and python3 with PEER.
set -uo pipefail

if [[ $# -lt 3 || $# -gt 4 ]]; then
  sed -n '2,22p' "$0"
  exit 2
fi
bin=$(realpath "$1"); data=$(realpath "$2"); out=$3; peer=${4:-}
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
# A field of a JSON line from `devices` (string values only).
field_of() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<< "$2"; }
row_of() { grep "\"device\":\"$1\"" "$out/devices.jsonl" | head -1; }

# cuda:0, or why not.
cuda_device="" cuda_why=""
gpu=$(row_of cuda:0)
if [[ -z "$gpu" ]]; then
  why=$(status_of "$(row_of cuda)")
  cuda_why="no CUDA GPU: ${why:-the driver reports none}"
else
  case $(status_of "$gpu") in
    ok*) cuda_device=cuda:0 ;;
    *) cuda_why="cuda:0 is $(status_of "$gpu")" ;;
  esac
fi
# The first usable wgpu adapter that is a GPU, or why none.
wgpu_device="" wgpu_why=""
while IFS= read -r row; do
  name=$(field_of device "$row")
  [[ $name == wgpu:* ]] || continue
  if [[ $(field_of kind "$row") == cpu ]]; then
    wgpu_why="no wgpu GPU: $name is a software adapter ($(field_of name "$row"))"
  elif [[ $(status_of "$row") != ok* ]]; then
    wgpu_why="$name is $(status_of "$row")"
  else
    wgpu_device=$name; break
  fi
done < "$out/devices.jsonl"
if [[ -z "$wgpu_device" && -z "$wgpu_why" ]]; then
  why=$(status_of "$(row_of wgpu)")
  wgpu_why="no wgpu GPU: ${why:-wgpu lists none}"
fi

if [[ -n "${GPU_CHECK_DEVICES:-}" ]]; then
  IFS=, read -ra measured <<< "$GPU_CHECK_DEVICES"
else
  measured=()
  [[ -n "$cuda_device" ]] && measured+=("$cuda_device")
  [[ -n "$wgpu_device" ]] && measured+=("$wgpu_device")
fi
if [[ ${#measured[@]} -eq 0 ]]; then
  cannot_use "$cuda_why; $wgpu_why"
fi
for device in "${measured[@]}"; do
  case $(status_of "$(row_of "$device")") in
    ok*) ;;
    "") cannot_use "$device is not listed by \`devices\`" ;;
    *) cannot_use "$device is $(status_of "$(row_of "$device")")" ;;
  esac
done
note "measuring: ${measured[*]}${cuda_why:+ (not CUDA: $cuda_why)}${wgpu_why:+ (not wgpu: $wgpu_why)}"

# The CUDA backend compiles its kernels at run time with NVRTC, loaded like any shared library
# (the loader cache or LD_LIBRARY_PATH); the generated code includes CUDA headers such as
# cuda_runtime.h.
if [[ " ${measured[*]} " == *" cuda:"* ]]; then
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
fi

# The question a user asks first: how fast against PyTorch on this GPU.
if [[ -n $peer && " ${measured[*]} " == *" cuda:0 "* ]]; then
  note "side by side with PyTorch on cuda:0"
  "$here/scripts/gpu-vs-torch.sh" "$bin" "$peer" "$out" cuda:0
  status=$?
  [[ $status -ne 0 ]] && note "gpu-vs-torch.sh failed with status $status"
fi

# A failed bench becomes a line with its exit status; its stderr is kept beside the lines. A
# precision the device does not list becomes a line saying so.
: > "$out/bench.jsonl"
for device in "${measured[@]}"; do
  precisions=$(field_of precisions "$(row_of "$device")")
  for name in seed-mnist seed-cifar10 densenet-bc-100; do
    for precision in f32 bf16; do
      if [[ ", $precisions, " != *", $precision, "* ]]; then
        printf '{"experiment":"%s","device":"%s","precision":"%s","skipped":"%s lists %s"}\n' \
          "$name" "$device" "$precision" "$device" "${precisions:-no precisions}" >> "$out/bench.jsonl"
        continue
      fi
      note "bench $name (batch 64, $device, $precision)"
      err=$out/bench-$name-${device/:/}-$precision.stderr
      "$bin" bench "$experiments/$name.toml" --batch 64 --steps 20 --device "$device" \
        --precision "$precision" >> "$out/bench.jsonl" 2> "$err"
      status=$?
      if [[ $status -ne 0 ]]; then
        printf '{"experiment":"%s","device":"%s","precision":"%s","exit_status":%d,"stderr":"%s"}\n' \
          "$name" "$device" "$precision" "$status" "$(basename "$err")" >> "$out/bench.jsonl"
      else
        rm -f "$err"
      fi
    done
  done
done
cat "$out/bench.jsonl"

: > "$out/mnist-epoch.jsonl"
for device in "${measured[@]}"; do
  note "one epoch of MNIST on $device (seed-mnist recipe)"
  tag=${device/:/}
  # Without its [sweep] (the file's last table): one run, the seed's net without dropout.
  sed -e 's/^name = .*/name = "gpu-check-mnist"/' -e 's/^epochs = .*/epochs = 1/' \
    -e '/^\[sweep/,$d' "$experiments/seed-mnist.toml" > "$work/mnist-epoch.toml"
  err=$out/mnist-epoch-$tag.stderr
  start=$(date +%s.%N)
  "$bin" --db "$work/$tag.db" --data-dir "$data" run "$work/mnist-epoch.toml" --device "$device" \
    --runs-dir "$work/runs-$tag" 2> "$err" >&2
  status=$?
  [[ $status -ne 0 ]] && { note "run failed ($status):"; tail -20 "$err" >&2; }
  wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  line=$("$bin" --db "$work/$tag.db" query --format jsonl \
    "SELECT 'mnist-one-epoch' AS \"check\", $wall AS wall_seconds, $status AS exit_status,
            r.status, r.device, s.final_test_accuracy AS test_accuracy,
            (SELECT value FROM metrics m WHERE m.run_id = r.id AND m.name = 'epoch_seconds') AS epoch_seconds,
            (SELECT value FROM metrics m WHERE m.run_id = r.id AND m.name = 'images_per_sec' AND m.scope = 'epoch') AS train_images_per_sec,
            r.error
       FROM runs r JOIN run_summary s ON s.run_id = r.id" 2>> "$err")
  if [[ -z "$line" ]]; then
    line=$(printf '{"check":"mnist-one-epoch","device":"%s","wall_seconds":%s,"exit_status":%d,"stderr":"%s"}' \
      "$device" "$wall" "$status" "$(basename "$err")")
  fi
  echo "$line" >> "$out/mnist-epoch.jsonl"
  cp -r "$work/runs-$tag" "$out/runs-$tag" 2>/dev/null
done
cat "$out/mnist-epoch.jsonl"
