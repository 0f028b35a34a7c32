//! Slurm's client commands (sbatch, squeue, scancel, scontrol): the only way this program
//! talks to the cluster, so that nothing here needs Slurm's libraries or its accounting.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// One array task as `squeue` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    /// PENDING, RUNNING, COMPLETED, CANCELLED, ...
    pub state: String,
    /// The node it runs on (empty while pending).
    pub node: String,
}

impl TaskState {
    /// Still queued, running or on its way back into the queue.
    pub fn active(&self) -> bool {
        matches!(
            self.state.as_str(),
            "PENDING"
                | "RUNNING"
                | "REQUEUED"
                | "REQUEUE_FED"
                | "REQUEUE_HOLD"
                | "RESIZING"
                | "SUSPENDED"
                | "CONFIGURING"
                | "COMPLETING"
                | "SIGNALING"
                | "STAGE_OUT"
                | "STOPPED"
                | "RESV_DEL_HOLD"
        )
    }
}

fn run(program: &str, args: &[&str]) -> Result<std::process::Output> {
    Command::new(program).args(args).output().with_context(|| {
        format!("cannot run {program}: --launcher slurm needs Slurm's client commands on PATH (is this a Slurm login node?)")
    })
}

/// Fails (naming the missing one) unless both client commands that `--launcher slurm` needs
/// run here: `sbatch` submits the array and `squeue` is how the wait sees it end. Asked before
/// anything is written, so that a machine without Slurm is left as it was.
pub fn check_client_tools() -> Result<()> {
    for program in ["sbatch", "squeue"] {
        let runs = Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !runs {
            bail!(
                "cannot run `{program} --version`: --launcher slurm needs Slurm's client commands \
                 sbatch and squeue on PATH (is this a Slurm login node?); nothing was written"
            );
        }
    }
    Ok(())
}

/// Submits `script`; returns the array's job id.
pub fn sbatch(script: &Path) -> Result<i64> {
    let out = run("sbatch", &["--parsable", &script.to_string_lossy()])?;
    if !out.status.success() {
        bail!(
            "sbatch refused {}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or("");
    id.parse()
        .with_context(|| format!("sbatch printed no job id: {text:?}"))
}

/// The tasks of array `job` that Slurm still knows, by task index. A job Slurm has forgotten
/// gives an empty map (every task ended).
pub fn task_states(job: i64) -> Result<HashMap<i64, TaskState>> {
    let job = job.to_string();
    let out = run(
        "squeue",
        &["-h", "-r", "-t", "all", "-j", &job, "-o", "%K|%T|%N"],
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("Invalid job id") {
            return Ok(HashMap::new());
        }
        bail!("squeue failed: {}", stderr.trim());
    }
    let mut tasks = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.trim().splitn(3, '|');
        let (Some(task), Some(state)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(task) = task.parse::<i64>() else {
            continue;
        };
        tasks.insert(
            task,
            TaskState {
                state: state.to_string(),
                node: parts.next().unwrap_or("").to_string(),
            },
        );
    }
    Ok(tasks)
}

/// Cancels every task of array `job` (Slurm sends them SIGTERM, then SIGKILL).
pub fn scancel(job: i64) -> Result<()> {
    let out = run("scancel", &[&job.to_string()])?;
    if !out.status.success() {
        bail!(
            "scancel {job} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Puts the running task `job_id` (its own `SLURM_JOB_ID`) back into the queue.
pub fn requeue(job_id: &str) -> Result<()> {
    let out = run("scontrol", &["requeue", job_id])?;
    if !out.status.success() {
        bail!(
            "scontrol requeue {job_id} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
