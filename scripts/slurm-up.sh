#!/usr/bin/env bash
# Starts a one-node Slurm cluster on localhost (munged, slurmctld, slurmd as background
# processes) for the Slurm tests and for trying `run --launcher slurm` by hand. Needs root and
# Debian's slurm-wlm and munge (`apt-get install -y --no-install-recommends slurm-wlm munge`).
# Stop it with scripts/slurm-down.sh. State, logs and PID files go to $SLURM_LAB_DIR
# (default /tmp/densenet-lab-slurm); the config to /etc/slurm/slurm.conf, where sbatch looks.
set -euo pipefail
dir="${SLURM_LAB_DIR:-/tmp/densenet-lab-slurm}"
conf=/etc/slurm/slurm.conf
for tool in munged slurmctld slurmd sbatch; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (apt-get install -y --no-install-recommends slurm-wlm munge)" >&2; exit 1; }
done
[[ "$(id -u)" == 0 ]] || { echo "error: slurm-up.sh needs root (slurmd runs jobs as their users)" >&2; exit 1; }
if [[ -f "$dir/slurmctld.pid" ]] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
  echo "slurm is already up (pids in $dir)"; exit 0
fi
mkdir -p "$dir"/{state,spool} /etc/slurm /run/munge /var/log/munge /var/lib/munge
cpus="$(nproc)"
cat > "$conf" <<CONF
# Written by densenet-lab's scripts/slurm-up.sh: one node, localhost.
ClusterName=densenet-lab
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
AuthInfo=cred_expire=5
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
MinJobAge=3600
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SchedulerType=sched/backfill
MpiDefault=none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
[[ -s /etc/munge/munge.key ]] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
chown munge:munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
chmod 400 /etc/munge/munge.key
# setpriv execs munged in place, so $! is the daemon's pid.
setpriv --reuid=munge --regid=munge --init-groups munged --foreground >"$dir/munged.log" 2>&1 &
echo $! > "$dir/munged.pid"
for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
slurmctld -D -f "$conf" >"$dir/slurmctld.out" 2>&1 &
echo $! > "$dir/slurmctld.pid"
slurmd -D -N localhost -f "$conf" >"$dir/slurmd.out" 2>&1 &
echo $! > "$dir/slurmd.pid"
for _ in $(seq 100); do
  if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo "slurm is up: one node (localhost, $cpus CPUs); logs and pids in $dir"; exit 0
  fi
  sleep 0.2
done
echo "error: the node did not come up; see $dir/slurmctld.log and $dir/slurmd.log" >&2
sinfo -N >&2 || true
exit 1
