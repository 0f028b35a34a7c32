#!/usr/bin/env bash
# Stops the cluster scripts/slurm-up.sh started, by the PIDs it wrote (slurmd, slurmctld,
# munged, in that order), waiting for each to exit.
set -uo pipefail
dir="${SLURM_LAB_DIR:-/tmp/densenet-lab-slurm}"
for daemon in slurmd slurmctld munged; do
  pidfile="$dir/$daemon.pid"
  [[ -f "$pidfile" ]] || continue
  pid="$(cat "$pidfile")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
done
echo "slurm is down"
