//! `merge` on a shard folder that holds more than good shards: a FIFO or a link named like a
//! shard, a shard with the right header but a table dropped. Each bad entry is refused by
//! name, the good shards beside it are merged, and the exit code (1) says something was
//! refused. The shards are written from a locally trained store, so no Slurm is needed.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Lab, output_within};
use densenet_lab::store::Store;
use rusqlite::Connection;

const THREE_TRIALS: &str = r#"
name = "shards"
[data]
dataset = "mnist-mini"
train_samples = 100
test_samples = 50
[model]
growth_rate = 4
blocks = [1, 1]
[train]
epochs = 1
batch_size = 50
optimizer = { kind = "adam", lr = 1e-3 }
[sweep]
strategy = "grid"
[sweep.axes]
"model.dropout" = [0.0, 0.1, 0.2]
"#;

/// A trained store with runs 1-3 and a published shard of each under `runs/shards/`; the
/// main store then loses run 3's metrics, so that merging its shard has something to write.
fn trained_with_shards() -> (Lab, PathBuf) {
    let lab = Lab::new(THREE_TRIALS);
    let out = output_within(
        &mut lab.command(&["run", "-q", "exp.toml"]),
        Duration::from_secs(300),
    );
    assert!(out.status.success(), "{out:?}");
    let shards = lab.dir.path().join("runs/shards");
    std::fs::create_dir_all(&shards).unwrap();
    let store = Store::open(&lab.db()).unwrap();
    for run in 1..=3 {
        store
            .write_shard(run, &shards.join(format!("run-{run}.db")))
            .unwrap();
    }
    drop(store);
    Connection::open(lab.db())
        .unwrap()
        .execute("DELETE FROM metrics WHERE run_id = 3", [])
        .unwrap();
    (lab, shards)
}

fn merge(lab: &Lab) -> (Option<i32>, String, String) {
    let out = output_within(&mut lab.command(&["merge"]), Duration::from_secs(60));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn metric_rows(lab: &Lab, run: i64) -> i64 {
    lab.sql(&format!(
        "SELECT count(*) FROM metrics WHERE run_id = {run}"
    ))
}

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// A FIFO named like a shard would block SQLite's open() for ever, and a link could point
/// anywhere: both are refused by name without being opened, and the shard beside them merges.
#[test]
fn a_fifo_or_a_link_named_like_a_shard_is_refused_and_the_rest_merges() {
    let (lab, shards) = trained_with_shards();
    let rows_of_3 = {
        let store = Connection::open(shards.join("run-3.db")).unwrap();
        store
            .query_row("SELECT count(*) FROM metrics", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    std::fs::remove_file(shards.join("run-1.db")).unwrap();
    mkfifo(&shards.join("run-1.db"));
    std::fs::remove_file(shards.join("run-2.db")).unwrap();
    std::os::unix::fs::symlink(shards.join("run-3.db"), shards.join("run-2.db")).unwrap();

    let (code, stdout, stderr) = merge(&lab);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("run-1.db: not a regular file but a FIFO"),
        "{stderr}"
    );
    assert!(
        stderr.contains("run-2.db: not a regular file but a symbolic link"),
        "{stderr}"
    );
    assert!(stdout.contains("run 3: merged (done)"), "{stdout}");
    assert!(
        stdout.contains("3 shard(s): 1 merged, 0 unchanged, 2 refused"),
        "{stdout}"
    );
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("2 shard(s) refused")
            && last.contains("run-1.db")
            && last.contains("run-2.db"),
        "{stderr}"
    );
    assert_eq!(
        metric_rows(&lab, 3),
        rows_of_3,
        "run 3's shard merged whole"
    );
}

/// A shard with the right header whose `metrics` table was dropped is refused by name; the
/// shards after it still merge, and the exit code says one was refused.
#[test]
fn a_shard_without_its_metrics_table_is_refused_and_the_rest_merges() {
    let (lab, shards) = trained_with_shards();
    let before_1 = metric_rows(&lab, 1);
    Connection::open(shards.join("run-2.db"))
        .unwrap()
        .execute_batch("DROP TABLE metrics")
        .unwrap();

    let (code, stdout, stderr) = merge(&lab);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("refused") && stderr.contains("run-2.db: it has no `metrics` table"),
        "{stderr}"
    );
    assert!(stdout.contains("run 1: unchanged (done)"), "{stdout}");
    assert!(stdout.contains("run 3: merged (done)"), "{stdout}");
    assert!(
        stderr
            .lines()
            .last()
            .unwrap_or_default()
            .contains("1 shard(s) refused")
            && stderr.contains("run-2.db"),
        "{stderr}"
    );
    assert_eq!(metric_rows(&lab, 1), before_1);
    assert!(metric_rows(&lab, 3) > 0, "run 3's shard merged");
}
