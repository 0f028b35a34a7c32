//! The sbatch script of one submission: readable, so that a user can read what ran and
//! resubmit it by hand (`sbatch runs/slurm/<experiment>-<time>.sbatch`).

use std::path::Path;

/// The warning Slurm sends before a time limit or preemption unless `--sbatch-arg` names
/// another `--signal`: USR1 to the batch step (our task), 120 s ahead.
pub const DEFAULT_SIGNAL: &str = "--signal=B:USR1@120";

/// What goes into a script.
pub struct ScriptSpec<'a> {
    pub experiment: &'a str,
    /// The run each array task trains, by task index.
    pub runs: &'a [i64],
    pub array_parallelism: Option<usize>,
    /// User options, one per `#SBATCH` line, after ours (so they win).
    pub sbatch_args: &'a [String],
    pub binary: &'a Path,
    pub workdir: &'a Path,
    pub data_dir: &'a Path,
    pub runs_dir: &'a Path,
    pub device: &'a str,
    /// `--gpu-fusion` for every task.
    pub gpu_fusion: bool,
    /// `%A_%a` is filled in by Slurm.
    pub output: &'a Path,
}

/// `text` quoted for bash.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn path(p: &Path) -> String {
    quote(&p.to_string_lossy())
}

/// Why `arg` cannot be one `#SBATCH` line, if it cannot.
pub fn check_sbatch_arg(arg: &str) -> Result<(), String> {
    if !arg.starts_with('-') {
        return Err(format!(
            "sbatch argument {arg:?} is not an option: give each as one argument, like --partition=gpu"
        ));
    }
    if arg.contains(['\n', '\r']) {
        return Err(format!("sbatch argument {arg:?} holds a line break"));
    }
    Ok(())
}

pub fn render(s: &ScriptSpec<'_>) -> String {
    let n = s.runs.len();
    let array = match s.array_parallelism {
        Some(p) => format!("0-{}%{p}", n - 1),
        None => format!("0-{}", n - 1),
    };
    let mut text = format!(
        "#!/bin/bash\n\
         # densenet-lab: experiment {experiment}, {n} run(s), one array task each.\n\
         # Each task trains into its own shard (runs/shards/run-ID.db); `densenet-lab merge`\n\
         # folds the shards into the store. Resubmit by hand with: sbatch THIS_FILE\n\
         #SBATCH --job-name=densenet-lab-{experiment}\n\
         #SBATCH --array={array}\n\
         #SBATCH --output={output}\n\
         #SBATCH --open-mode=append\n\
         #SBATCH --requeue\n\
         #SBATCH --chdir={workdir}\n",
        experiment = s.experiment,
        output = s.output.to_string_lossy(),
        workdir = s.workdir.to_string_lossy(),
    );
    if !s.sbatch_args.iter().any(|a| a.starts_with("--signal")) {
        text.push_str(&format!("#SBATCH {DEFAULT_SIGNAL}\n"));
    }
    for arg in s.sbatch_args {
        text.push_str(&format!("#SBATCH {arg}\n"));
    }
    let runs: Vec<String> = s.runs.iter().map(i64::to_string).collect();
    text.push_str(&format!(
        "\n# Task i trains run RUNS[i].\n\
         RUNS=({runs})\n\
         if [[ -z \"${{RAYON_NUM_THREADS:-}}\" && -n \"${{SLURM_CPUS_PER_TASK:-}}\" ]]; then\n\
         \x20 export RAYON_NUM_THREADS=\"$SLURM_CPUS_PER_TASK\"\n\
         fi\n\
         # exec: the task is the batch step, so Slurm's warning signal reaches it.\n\
         exec {binary} --data-dir {data} slurm-task \"${{RUNS[$SLURM_ARRAY_TASK_ID]}}\" \\\n\
         \x20 --runs-dir {runs_dir} --device {device}{fusion}\n",
        runs = runs.join(" "),
        binary = path(s.binary),
        data = path(s.data_dir),
        runs_dir = path(s.runs_dir),
        device = quote(s.device),
        fusion = if s.gpu_fusion { " --gpu-fusion" } else { "" },
    ));
    text
}
