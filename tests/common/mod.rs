//! What the integration tests that drive `run` share: a workspace in a temp dir with its
//! experiment file `exp.toml` and database `lab.db`, the binary run there, and SQL on the
//! database it writes. Each test file uses the part it needs.
#![allow(dead_code)]

pub mod tmux;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_densenet-lab");

/// The trial index whose trial panics at its first step (the binary's test hook); never
/// inherited by a test's binary unless the test sets it.
pub const PANIC_ENV: &str = "DENSENET_LAB_TEST_PANIC_TRIAL";

pub struct Lab {
    pub dir: TempDir,
}

impl Lab {
    /// A workspace whose `exp.toml` is `toml`.
    pub fn new(toml: &str) -> Self {
        let dir = TempDir::new().unwrap();
        std::fs::write(dir.path().join("exp.toml"), toml).unwrap();
        Lab { dir }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("lab.db")
    }

    /// The binary with `args`, in the workspace, on its database and an empty data folder,
    /// one CPU thread per trial.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path())
            .env("DENSENET_LAB_DB", self.db())
            .env("DENSENET_LAB_DATA", self.dir.path().join("no-data"))
            .env("RAYON_NUM_THREADS", "1")
            // GPU autotune results shared by every test's trials (a wgpu build on llvmpipe
            // tunes each shape once, not once per workspace).
            .env(
                "DENSENET_LAB_TUNE_CACHE",
                std::env::temp_dir().join("densenet-lab-tests/tune-cache"),
            )
            .env_remove(PANIC_ENV)
            .args(args);
        cmd
    }

    /// `run exp.toml` in the background, its stderr going to `run.stderr` in the workspace
    /// (for [`wait_for_text`]), its stdout to a pipe.
    pub fn spawn_run_logging_stderr(&self) -> (std::process::Child, PathBuf) {
        let log = self.dir.path().join("run.stderr");
        let child = self
            .command(&["run", "exp.toml"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        (child, log)
    }

    /// The first column of the first row of `sql`.
    pub fn sql<T: rusqlite::types::FromSql>(&self, sql: &str) -> T {
        let conn = Connection::open(self.db()).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Waits until `sql` returns true (polling the database the trainer writes).
    pub fn wait_until(&self, sql: &str, what: &str) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(120) {
            if self.db().exists() {
                let conn = Connection::open(self.db()).unwrap();
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                if conn
                    .query_row(sql, [], |r| r.get::<_, bool>(0))
                    .unwrap_or(false)
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("timed out waiting for {what}");
    }
}

/// One metric row that training decides (no timings): (trial index, epoch, step, scope, split,
/// name, value).
pub type CurveRow = (i64, i64, i64, String, String, String, f64);

impl Lab {
    /// Every loss, accuracy and lr row, of one run or of all, ordered by trial and series: two
    /// stores that trained the same trials the same way hold equal curves.
    pub fn curve(&self, run_id: Option<i64>) -> Vec<CurveRow> {
        let conn = Connection::open(self.db()).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT r.trial_index, m.epoch, m.step, m.scope, m.split, m.name, m.value
                 FROM metrics m JOIN runs r ON r.id = m.run_id
                 WHERE m.name IN ('loss', 'accuracy', 'lr') AND (?1 IS NULL OR r.id = ?1)
                 ORDER BY r.trial_index, m.scope, m.split, m.name, m.epoch, m.step",
            )
            .unwrap();
        stmt.query_map([run_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }
}

/// Runs `cmd` to its end with its output captured; kills it and fails the test after `limit`
/// (a command that blocks is a failure, never a hung test).
pub fn output_within(cmd: &mut Command, limit: Duration) -> std::process::Output {
    use std::process::Stdio;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_within(child, limit, &format!("{cmd:?}"))
}

/// Waits for `child` (its piped stdout and stderr read meanwhile, so it never blocks on a
/// full pipe); kills it and fails the test after `limit`.
pub fn wait_within(
    mut child: std::process::Child,
    limit: Duration,
    what: &str,
) -> std::process::Output {
    let reader = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
            panic!("{what} still running after {limit:?}: killed; stderr:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Waits until the file at `path` (a child's stderr, say) holds `needle`; fails the test after
/// two minutes.
pub fn wait_for_text(path: &std::path::Path, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {needle:?} in {}:\n{text}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
