//! The dashboard in a real pseudo-terminal: a tmux server of its own per test, a fixture
//! store with one done and one running run, and waits on the screen's text that give up
//! (with the screen in the message) instead of hanging.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use densenet_lab::store::{MetricName, MetricRow, NewRun, RunStatus, Scope, Split, Store};
use serde_json::json;

pub struct Tmux {
    pub socket: String,
}

impl Tmux {
    pub fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("running tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-t", "dash"])
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "dash"];
        args.extend(keys);
        self.cmd(&args);
    }

    /// Waits until the screen contains `needle`; returns the screen.
    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_until(needle, |s| s.contains(needle))
    }

    /// Waits for a line that starts with `prefix` and holds no `$`: a command's output, not
    /// the command line that typed it (`echo EXIT=$?`, which shows again, possibly wrapped,
    /// once the dashboard leaves the alternate screen).
    pub fn wait_for_line(&self, prefix: &str) -> String {
        self.wait_until(prefix, |s| {
            s.lines().any(|l| l.starts_with(prefix) && !l.contains('$'))
        })
    }

    pub fn wait_until(&self, needle: &str, found: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        self.wait_until_by(deadline, found)
            .unwrap_or_else(|s| panic!("timed out waiting for {needle:?}; screen:\n{s}"))
    }

    /// Waits until the screen contains `needle`, at most until `deadline`: `Ok` with the
    /// screen, or `Err` with the last screen seen.
    pub fn wait_for_by(&self, needle: &str, deadline: Instant) -> Result<String, String> {
        self.wait_until_by(deadline, |s| s.contains(needle))
    }

    pub fn wait_until_by(
        &self,
        deadline: Instant,
        found: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        loop {
            let s = self.screen();
            if found(&s) {
                return Ok(s);
            }
            if Instant::now() >= deadline {
                return Err(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

pub fn fixture(db: &Path) {
    let mut store = Store::open(db).unwrap();
    let runs: Vec<NewRun> = [(12, 0.0), (24, 0.2)]
        .iter()
        .enumerate()
        .map(|(i, (g, d))| NewRun {
            trial_index: i,
            hash: format!("h{i}"),
            config_json: json!({"model": {"growth_rate": g, "dropout": d}}).to_string(),
            overrides_json: json!({"model.growth_rate": g, "model.dropout": d}).to_string(),
            seed: 1,
            epochs_total: 2,
            params: 1000,
            flops: 2000,
        })
        .collect();
    let source = densenet_lab::spec::render_template("e2e");
    let rows = store
        .register_sweep("e2e", "", "experiments/e2e.toml", &source, &runs)
        .unwrap();
    // Held by this (live) test process, so the dashboard reads the unfinished run as running.
    let me = densenet_lab::runner::liveness::this_process();
    for (r, acc) in rows.iter().zip([0.9, 0.8]) {
        store.claim_run(r.id, "cpu", &me).unwrap();
        log_epoch(&mut store, r.id, 1, acc);
        if r.trial_index == 0 {
            log_epoch(&mut store, r.id, 2, acc);
            store.finish_run(r.id, RunStatus::Done, None).unwrap();
        }
    }
}

pub fn log_epoch(store: &mut Store, run: i64, e: usize, acc: f64) {
    let m = |split, name, value| MetricRow {
        epoch: e,
        step: e as u64,
        scope: Scope::Epoch,
        split,
        name,
        value,
    };
    let rows = [
        m(Split::Train, MetricName::Loss, 1.0 / e as f64),
        m(Split::Train, MetricName::EpochSeconds, 10.0),
        m(Split::Test, MetricName::Loss, 1.1 / e as f64),
        m(Split::Test, MetricName::Accuracy, acc - 0.1 / e as f64),
    ];
    store.finish_epoch(run, e, &rows, None).unwrap();
}

/// A workspace with the fixture store and the `new` template as `experiments/e2e.toml`, and a
/// 110x30 tmux session running `sh` in it; `None` (after `preconditions::missing`) without tmux.
/// `tag` names the tmux server (its socket path must stay short).
pub fn workspace_in_tmux(test: &str, tag: &str) -> Option<(tempfile::TempDir, Tmux)> {
    if !densenet_lab::preconditions::tool_runs("tmux", "-V") {
        densenet_lab::preconditions::missing(test, "tmux", "tmux is not installed");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    fixture(&dir.path().join("lab.db"));
    std::fs::create_dir(dir.path().join("experiments")).unwrap();
    std::fs::write(
        dir.path().join("experiments/e2e.toml"),
        densenet_lab::spec::render_template("e2e"),
    )
    .unwrap();
    let tmux = Tmux {
        socket: format!("dash-{tag}-{}", std::process::id()),
    };
    tmux.cmd(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        "dash",
        "-x",
        "110",
        "-y",
        "30",
        "env",
        "PS1=$ ",
        "sh",
    ]);
    // Keys typed before the shell's first prompt are echoed by the terminal and run later,
    // after a prompt printed in front of their output (`$ EXIT=0`): wait for the shell.
    tmux.wait_until("the shell's prompt", |s| s.trim_end() == "$");
    Some((dir, tmux))
}
