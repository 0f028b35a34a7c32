//! Every way a user can get the input wrong, through the real binary: each exits with exactly 2,
//! says on stderr what is wrong and where, never panics or prints a backtrace, and (where a
//! store is involved) writes nothing.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use densenet_lab::store::Store;
use tempfile::TempDir;

/// A valid sweep: 2 tiny trials on the bundled mnist-mini. Line numbers below refer to it:
/// 5 dataset, 10 growth_rate, 11 blocks, 16 batch_size, 17 optimizer, 23 the dropout axis.
const TINY: &str = r#"name = "tiny"
description = "two tiny trials"

[data]
dataset = "mnist-mini"
train_samples = 300
test_samples = 100

[model]
growth_rate = 4
blocks = [2, 2]
stem = "imagenet"

[train]
epochs = 1
batch_size = 50
optimizer = { kind = "adam", lr = 1e-3 }
log_every = 2

[sweep]
strategy = "grid"
[sweep.axes]
"model.dropout" = [0.0, 0.2]
"#;

/// The binary, run in `dir` with its own database and data folder (neither exists yet).
/// RUST_BACKTRACE=1 so that a panic or an error printed with its backtrace would show one.
fn lab(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("densenet-lab").unwrap();
    lab_env(&mut cmd, dir);
    cmd
}

fn lab_env(cmd: &mut Command, dir: &Path) {
    cmd.current_dir(dir)
        .env("DENSENET_LAB_DB", db(dir))
        .env("DENSENET_LAB_DATA", dir.join("data"))
        .env("RUST_BACKTRACE", "1")
        .env("RAYON_NUM_THREADS", "2");
}

fn db(dir: &Path) -> PathBuf {
    dir.join("lab.db")
}

/// Runs `cmd`, asserts exit code 2, an `error:` line on stderr holding every one of `needles`,
/// nothing on stdout, and no panic or backtrace. Returns stderr.
fn bad_input(cmd: &mut Command, needles: &[&str]) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit code 2\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "stderr lacks {needle:?}:\n{stderr}"
        );
    }
    let lower = stderr.to_lowercase();
    assert!(
        !lower.contains("panicked") && !lower.contains("backtrace"),
        "{stderr}"
    );
    assert!(
        stdout.is_empty(),
        "nothing on stdout expected, got:\n{stdout}"
    );
    stderr
}

/// Neither a store nor a checkpoint folder was created in `dir`.
fn assert_nothing_written(dir: &Path) {
    assert!(!db(dir).exists(), "the store was created");
    assert!(!dir.join("runs").exists(), "a runs folder was created");
}

/// `TINY` with `from` (which must be there) replaced by `to`, written to `dir/bad.toml`.
fn bad_file(dir: &Path, from: &str, to: &str) -> PathBuf {
    assert!(TINY.contains(from), "{from:?} not in TINY");
    let path = dir.join("bad.toml");
    std::fs::write(&path, TINY.replacen(from, to, 1)).unwrap();
    path
}

/// `check` and `run` of an invalid experiment file both exit 2 with `needles` on stderr, and
/// the store is never created.
fn rejected_file(from: &str, to: &str, needles: &[&str]) {
    let dir = TempDir::new().unwrap();
    let file = bad_file(dir.path(), from, to);
    for command in ["check", "run"] {
        bad_input(lab(dir.path()).arg(command).arg(&file), needles);
    }
    assert_nothing_written(dir.path());
}

// ------------------------------------------------------------------ experiment files

#[test]
fn toml_syntax_error_is_located_by_line_and_column() {
    rejected_file(
        "growth_rate = 4",
        "growth_rate = = 4",
        &["bad.toml:10:15:", "extra `=`"],
    );
}

#[test]
fn a_string_where_an_integer_belongs_names_the_key_and_both_types() {
    rejected_file(
        "batch_size = 50",
        "batch_size = \"fifty\"",
        &[
            "bad.toml:16:14: train.batch_size:",
            "expected a non-negative integer, found string \"fifty\"",
        ],
    );
}

#[test]
fn an_unknown_top_level_key_is_named_with_the_accepted_ones() {
    rejected_file(
        "description =",
        "colour = \"red\"\ndescription =",
        &[
            "bad.toml:2:1: colour:",
            "unknown key \"colour\": expected one of name, description, device, data, model, train, sweep",
        ],
    );
}

#[test]
fn an_unknown_key_in_model_is_named_with_the_accepted_ones() {
    rejected_file(
        "growth_rate = 4",
        "growth = 4",
        &[
            "bad.toml:10:1: model.growth:",
            "unknown key \"growth\": expected one of growth_rate, blocks",
        ],
    );
}

#[test]
fn an_unknown_key_in_the_optimizer_inline_table_is_located_inside_it() {
    rejected_file(
        "lr = 1e-3 }",
        "lr = 1e-3, momentum = 0.9 }",
        &[
            "bad.toml:17:41: train.optimizer.momentum:",
            "unknown key \"momentum\": expected one of lr, beta1, beta2, eps, weight_decay",
        ],
    );
}

#[test]
fn dropout_above_one_is_out_of_range() {
    rejected_file(
        "growth_rate = 4",
        "growth_rate = 4\ndropout = 1.5",
        &[
            "bad.toml:11:11: model.dropout:",
            "expected a number in [0, 1), found 1.5",
        ],
    );
}

#[test]
fn an_empty_block_list_is_refused() {
    rejected_file(
        "blocks = [2, 2]",
        "blocks = []",
        &[
            "bad.toml:11:10: model.blocks:",
            "expected a non-empty array of layer counts, found []",
        ],
    );
}

#[test]
fn a_batch_size_of_zero_is_refused() {
    rejected_file(
        "batch_size = 50",
        "batch_size = 0",
        &[
            "bad.toml:16:14: train.batch_size:",
            "expected an integer >= 1, found 0",
        ],
    );
}

#[test]
fn a_negative_learning_rate_is_refused() {
    rejected_file(
        "lr = 1e-3",
        "lr = -1",
        &[
            "bad.toml:17:35: train.optimizer.lr:",
            "expected a finite number > 0, found -1",
        ],
    );
}

#[test]
fn an_architecture_too_deep_for_28x28_names_the_block_that_gets_nothing() {
    rejected_file(
        "blocks = [2, 2]",
        "blocks = [2, 2, 2, 2]",
        &[
            "bad.toml:11:20: model.blocks[3]:",
            "block 4 of 4 would see a 0x0 feature map",
            "28x28",
        ],
    );
}

#[test]
fn a_block_of_more_layers_than_any_densenet_is_refused_not_overflowed() {
    // Counting this block's parameters, or its compressed channels, overflowed (a panic).
    rejected_file(
        "blocks = [2, 2]",
        "blocks = [9223372036854775807, 2]\ntransition = \"compression\"",
        &[
            "bad.toml:11:11: model.blocks[0]:",
            "expected an integer in [1, 1000] (layers in the block), found 9223372036854775807",
        ],
    );
}

#[test]
fn epochs_beyond_a_million_are_refused_before_the_store_is_touched() {
    // `run` overflowed counting the steps, after creating the store.
    rejected_file(
        "epochs = 1",
        "epochs = 9223372036854775807",
        &[
            "bad.toml:15:10: train.epochs:",
            "expected an integer in [1, 1000000], found 9223372036854775807",
        ],
    );
}

#[test]
fn a_nan_in_a_file_whose_sweep_has_no_axes_is_reported_not_a_panic() {
    let dir = TempDir::new().unwrap();
    let text = TINY
        .replace("growth_rate = 4", "growth_rate = 4\ndropout = nan")
        .replace("[sweep.axes]\n\"model.dropout\" = [0.0, 0.2]\n", "");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, text).unwrap();
    for command in ["check", "run"] {
        let stderr = bad_input(
            lab(dir.path()).arg(command).arg(&file),
            &["bad.toml:11:11: model.dropout: expected a number in [0, 1), found NaN"],
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert_nothing_written(dir.path());
}

#[test]
fn an_unknown_dataset_lists_the_known_ones() {
    rejected_file(
        "\"mnist-mini\"",
        "\"svhn\"",
        &[
            "bad.toml:5:11: data.dataset:",
            "expected one of \"mnist\", \"mnist-mini\", \"fashion-mnist\", \"cifar10\", \
             found \"svhn\"",
        ],
    );
}

#[test]
fn a_sweep_axis_that_is_not_a_config_key_is_named() {
    rejected_file(
        "\"model.dropout\" = [",
        "\"model.dropout_rate\" = [",
        &[
            "bad.toml:23:1: sweep.axes.\"model.dropout_rate\":",
            "unknown axis key \"model.dropout_rate\"",
        ],
    );
}

#[test]
fn an_axis_key_holding_a_newline_is_reported_on_one_line() {
    let dir = TempDir::new().unwrap();
    let file = bad_file(
        dir.path(),
        "\"model.dropout\" = [",
        "\"\\nmodel.dropout\" = [",
    );
    let stderr = bad_input(
        lab(dir.path()).arg("check").arg(&file),
        &[
            "bad.toml:23:1: sweep.axes.\"\\nmodel.dropout\":",
            "unknown axis key \"\\nmodel.dropout\"",
        ],
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_missing_experiment_file_is_named() {
    let dir = TempDir::new().unwrap();
    for command in ["check", "run", "bench"] {
        bad_input(
            lab(dir.path()).args([command, "no-such-sweep.toml"]),
            &[
                "no-such-sweep.toml: cannot read the experiment file",
                "No such file",
            ],
        );
    }
    assert_nothing_written(dir.path());
}

// ------------------------------------------------------------------ data files

/// An IDX image file header for `count` 28x28 images, followed by `pixels`.
fn idx_images(count: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [2051, count, 28, 28] {
        out.extend(v.to_be_bytes());
    }
    out.extend(pixels);
    out
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(2049u32.to_be_bytes());
    out.extend((labels.len() as u32).to_be_bytes());
    out.extend(labels);
    out
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(raw).unwrap();
    enc.finish().unwrap()
}

/// `dir/mnist.toml`: TINY on the full MNIST from the data folder.
fn mnist_file(dir: &Path) -> PathBuf {
    let path = dir.join("mnist.toml");
    std::fs::write(&path, TINY.replace("\"mnist-mini\"", "\"mnist\"")).unwrap();
    path
}

/// `dir/data/mnist/<name>` with `bytes`; returns its path.
fn data_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let mnist = dir.join("data/mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    let path = mnist.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_missing_data_file_names_the_file_looked_for_and_the_option() {
    let dir = TempDir::new().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let file = mnist_file(dir.path());
    let wanted = empty.join("mnist/train-images-idx3-ubyte");
    bad_input(
        lab(dir.path())
            .arg("--data-dir")
            .arg(&empty)
            .args(["run", "-q"])
            .arg(&file),
        &[
            "mnist: file not found",
            &wanted.display().to_string(),
            &format!("{}.gz", wanted.display()),
            "--data-dir",
        ],
    );
    assert_nothing_written(dir.path());
}

#[test]
fn a_truncated_idx_file_names_the_file_and_the_byte_counts() {
    let dir = TempDir::new().unwrap();
    // The header promises 60,000 images; 10 bytes of pixels follow.
    let path = data_file(
        dir.path(),
        "train-images-idx3-ubyte.gz",
        &gzip(&idx_images(60_000, &[0; 10])),
    );
    let file = mnist_file(dir.path());
    bad_input(
        lab(dir.path()).args(["run", "-q"]).arg(&file),
        &[
            &format!("{}: truncated", path.display()),
            "expected 47040016 bytes (60000 records), found 26",
        ],
    );
    assert_nothing_written(dir.path());
}

#[test]
fn a_gzip_stream_cut_short_names_the_file() {
    let dir = TempDir::new().unwrap();
    let pixels: Vec<u8> = (0..5 * 784).map(|i| (i * 7 % 251) as u8).collect();
    let whole = gzip(&idx_images(5, &pixels));
    let path = data_file(
        dir.path(),
        "train-images-idx3-ubyte.gz",
        &whole[..whole.len() / 2],
    );
    let file = mnist_file(dir.path());
    bad_input(
        lab(dir.path()).args(["run", "-q"]).arg(&file),
        &[&format!("{}: corrupt gzip data", path.display())],
    );
    assert_nothing_written(dir.path());
}

#[test]
fn a_label_of_11_names_the_file_the_record_and_the_range() {
    let dir = TempDir::new().unwrap();
    data_file(
        dir.path(),
        "train-images-idx3-ubyte",
        &idx_images(3, &[128; 3 * 784]),
    );
    let labels = data_file(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx_labels(&[1, 11, 2]),
    );
    let file = mnist_file(dir.path());
    bad_input(
        lab(dir.path()).args(["run", "-q"]).arg(&file),
        &[&format!(
            "{}: label 11 of record 1 is out of range (expected 0..10)",
            labels.display()
        )],
    );
    assert_nothing_written(dir.path());
}

// ------------------------------------------------------------------ the store

/// `dir/tiny.toml` holding TINY.
fn tiny_file(dir: &Path) -> PathBuf {
    let path = dir.join("tiny.toml");
    std::fs::write(&path, TINY).unwrap();
    path
}

/// A valid store at `dir/lab.db` holding experiment `tiny` with its 2 runs queued (nothing
/// trained: registering is all the tests below need).
fn store_with_tiny(dir: &Path) {
    let experiment = densenet_lab::spec::parse_experiment(TINY, Path::new("tiny.toml")).unwrap();
    let runs = densenet_lab::runner::new_runs(&experiment.trials()).unwrap();
    let mut store = Store::open(&db(dir)).unwrap();
    let registered = store
        .register_sweep("tiny", "", "tiny.toml", TINY, &runs)
        .unwrap();
    assert_eq!(registered.len(), 2);
}

/// Everything a command could change in the store: every table's rows and the schema.
fn store_contents(path: &Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut out = Vec::new();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    out.push(format!("user_version {version}"));
    let mut objects = conn
        .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name")
        .unwrap();
    let rows = objects
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    for (kind, name, sql) in rows {
        out.push(format!("{kind} {name}: {sql:?}"));
        if kind == "table" {
            let mut select = conn.prepare(&format!("SELECT * FROM \"{name}\"")).unwrap();
            let columns = select.column_count();
            let mut rows = select.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                let values: Vec<String> = (0..columns)
                    .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                    .collect();
                out.push(format!("{name}: {}", values.join(" | ")));
            }
        }
    }
    out
}

#[test]
fn a_text_file_as_database_is_refused_and_left_as_it_was() {
    let dir = TempDir::new().unwrap();
    let text = "my notes, not a database\n".repeat(200);
    std::fs::write(db(dir.path()), &text).unwrap();
    let file = tiny_file(dir.path());
    let path = db(dir.path()).display().to_string();
    for args in [vec!["run", "-q", "tiny.toml"], vec!["runs"]] {
        bad_input(
            lab(dir.path()).args(&args),
            &[&format!("{path}: not a SQLite database")],
        );
    }
    assert_eq!(std::fs::read_to_string(db(dir.path())).unwrap(), text);
    assert!(!dir.path().join("runs").exists());
    assert!(file.exists());
}

#[test]
fn a_sqlite_database_of_another_program_is_refused_and_left_as_it_was() {
    let dir = TempDir::new().unwrap();
    {
        let conn = rusqlite::Connection::open(db(dir.path())).unwrap();
        conn.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
             INSERT INTO notes (body) VALUES ('keep me');",
        )
        .unwrap();
    }
    let before = std::fs::read(db(dir.path())).unwrap();
    tiny_file(dir.path());
    let path = db(dir.path()).display().to_string();
    for args in [
        vec!["run", "-q", "tiny.toml"],
        vec!["runs"],
        vec!["query", "SELECT body FROM notes"],
        vec!["stop", "1"],
    ] {
        bad_input(
            lab(dir.path()).args(&args),
            &[&format!(
                "{path}: SQLite database that is not a densenet-lab store"
            )],
        );
    }
    assert_eq!(std::fs::read(db(dir.path())).unwrap(), before);
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn run_with_the_database_in_a_folder_that_does_not_exist_names_the_path() {
    let dir = TempDir::new().unwrap();
    let file = tiny_file(dir.path());
    let missing = dir.path().join("no-such-folder/lab.db");
    bad_input(
        lab(dir.path())
            .arg("--db")
            .arg(&missing)
            .args(["run", "-q"])
            .arg(&file),
        &[
            &format!("cannot write the results database {}", missing.display()),
            "does not exist",
        ],
    );
    assert!(!dir.path().join("no-such-folder").exists());
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn run_on_a_read_only_database_file_names_the_path_and_changes_nothing() {
    let dir = TempDir::new().unwrap();
    store_with_tiny(dir.path());
    let before = store_contents(&db(dir.path()));
    std::fs::set_permissions(db(dir.path()), std::fs::Permissions::from_mode(0o444)).unwrap();
    // A renamed experiment: it has to be written to the store, which cannot be done.
    let file = dir.path().join("other.toml");
    std::fs::write(&file, TINY.replace("name = \"tiny\"", "name = \"other\"")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();

    let mut binary = assert_cmd::cargo::cargo_bin("densenet-lab");
    // SAFETY: geteuid has no preconditions.
    let as_root = unsafe { libc::geteuid() } == 0;
    if as_root {
        // Root ignores permission bits: run as `nobody`, in a folder it may create files in
        // (SQLite puts the WAL index next to the store), from a copy of the binary that
        // `nobody` can reach wherever the checkout lives.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let copy = dir.path().join("densenet-lab");
        std::fs::copy(&binary, &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        binary = copy;
        let runs_as_nobody = std::process::Command::new(&binary)
            .arg("--version")
            .uid(65534)
            .gid(65534)
            .output()
            .is_ok_and(|o| o.status.success());
        if !runs_as_nobody {
            densenet_lab::preconditions::missing(
                "run_on_a_read_only_database_file_names_the_path_and_changes_nothing",
                "nobody",
                "running as root, and this process cannot run a program as uid 65534",
            );
            return;
        }
    }
    let mut std_cmd = std::process::Command::new(&binary);
    if as_root {
        std_cmd.uid(65534).gid(65534);
    }
    let mut cmd = Command::from_std(std_cmd);
    lab_env(&mut cmd, dir.path());
    bad_input(
        cmd.args(["run", "-q"]).arg(&file),
        &[
            &format!(
                "cannot write the results database {}",
                db(dir.path()).display()
            ),
            "read-only",
        ],
    );
    assert_eq!(store_contents(&db(dir.path())), before);
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn show_and_stop_of_an_unknown_run_id_say_so() {
    let dir = TempDir::new().unwrap();
    store_with_tiny(dir.path());
    let before = store_contents(&db(dir.path()));
    for command in ["show", "stop"] {
        bad_input(
            lab(dir.path()).args([command, "99"]),
            &["no run with id 99", "densenet-lab runs"],
        );
    }
    assert_eq!(store_contents(&db(dir.path())), before);
}

#[test]
fn stop_without_a_database_does_not_create_one() {
    let dir = TempDir::new().unwrap();
    bad_input(
        lab(dir.path()).args(["stop", "1"]),
        &[&format!(
            "no results database at {}",
            db(dir.path()).display()
        )],
    );
    assert_nothing_written(dir.path());
}

#[test]
fn sql_that_would_write_or_attach_is_refused_and_changes_nothing() {
    let dir = TempDir::new().unwrap();
    store_with_tiny(dir.path());
    let before = store_contents(&db(dir.path()));
    for (sql, why) in [
        (
            "DELETE FROM runs",
            "statements starting \"DELETE FROM runs\"",
        ),
        ("DROP TABLE runs", "statements starting \"DROP TABLE runs\""),
        ("ATTACH 'x' AS y", "statements starting \"ATTACH 'x' AS y\""),
    ] {
        bad_input(
            lab(dir.path()).args(["query", sql]),
            &["query is read-only", why],
        );
    }
    assert_eq!(store_contents(&db(dir.path())), before);
    assert!(!dir.path().join("x").exists(), "ATTACH created a file");
}

// ------------------------------------------------------------------ options and names

#[test]
fn an_unknown_device_is_named_before_anything_is_written() {
    let dir = TempDir::new().unwrap();
    let file = tiny_file(dir.path());
    bad_input(
        lab(dir.path())
            .args(["run", "-q", "--device", "tpu"])
            .arg(&file),
        &["--device: invalid device `tpu`: expected `cpu`, `cuda:N` or `wgpu:N`"],
    );
    assert_nothing_written(dir.path());
}

#[test]
fn tf32_is_refused_with_the_reason_it_is_not_a_mode_of_its_own() {
    rejected_file(
        "log_every = 2",
        "log_every = 2\nprecision = \"tf32\"",
        &[
            "bad.toml:19:13: train.precision:",
            "\"tf32\" is not a separate mode with burn 0.21",
            "use \"f32\"",
        ],
    );
}

#[test]
fn export_of_an_unknown_metric_lists_the_valid_ones_and_writes_no_chart() {
    let dir = TempDir::new().unwrap();
    store_with_tiny(dir.path());
    bad_input(
        lab(dir.path()).args([
            "export",
            "--experiment",
            "tiny",
            "--metric",
            "accuracy",
            "--out",
            "chart.png",
        ]),
        &["unknown metric \"accuracy\"", "test_accuracy"],
    );
    assert!(!dir.path().join("chart.png").exists());
}

#[test]
fn export_to_an_unknown_image_extension_names_the_file_and_writes_nothing() {
    let dir = TempDir::new().unwrap();
    store_with_tiny(dir.path());
    bad_input(
        lab(dir.path()).args(["export", "--experiment", "tiny", "--out", "chart.bmp"]),
        &["chart.bmp: unsupported image format", ".png or .svg"],
    );
    assert!(!dir.path().join("chart.bmp").exists());
}

#[test]
fn compare_of_an_unknown_experiment_lists_the_known_ones() {
    let dir = TempDir::new().unwrap();
    store_with_tiny(dir.path());
    bad_input(
        lab(dir.path()).args(["compare", "tiny2"]),
        &["no experiment named \"tiny2\" in the store (known: tiny)"],
    );
}

// ------------------------------------------------------------------ issue 22, item 10

/// `merge` reads a store that `run` made, as `runs` and `show` do: a mistyped `--db` is
/// refused with exit 2 and no empty store is created under the wrong name.
#[test]
fn merge_with_a_database_that_does_not_exist_is_refused_and_creates_nothing() {
    let dir = TempDir::new().unwrap();
    let typo = dir.path().join("typo.db");
    bad_input(
        lab(dir.path()).arg("merge").arg("--db").arg(&typo),
        &[&format!("no results database at {}", typo.display())],
    );
    assert!(!typo.exists(), "merge created {}", typo.display());
}

/// An ASHA reduction larger than the sweep's trials would pause every trial at its first
/// rung and prune them all: refused at the value, before anything is written.
#[test]
fn an_asha_reduction_beyond_the_sweeps_trials_is_refused_at_its_value() {
    rejected_file(
        "\"model.dropout\" = [0.0, 0.2]\n",
        "\"model.dropout\" = [0.0, 0.2]\n[sweep.early_stop]\nrule = \"asha\"\n\
         metric = \"train.loss\"\nreduction = 1000000000\n",
        &[
            "bad.toml:27:13:",
            "sweep.early_stop.reduction",
            "expected at most 2",
            "found 1000000000",
        ],
    );
}

/// A tpe `startup` above `samples` draws every point at random: refused at the value.
#[test]
fn a_tpe_startup_above_its_samples_is_refused_at_its_value() {
    rejected_file(
        "strategy = \"grid\"\n",
        "strategy = \"tpe\"\nsamples = 2\nstartup = 5\nmetric = \"train.loss\"\n",
        &[
            "bad.toml:23:11:",
            "sweep.startup",
            "expected at most samples (2)",
            "found startup = 5",
        ],
    );
}

// ------------------------------------------------------------------ issue 22, item 6

/// A split that holds out no training image, or all of them, is refused by `check` (and so by
/// `run`, before it registers anything) at the value, not when the trial loads its data.
#[test]
fn a_validation_split_that_holds_out_nothing_or_everything_is_refused_at_its_value() {
    rejected_file(
        "dataset = \"mnist-mini\"\n",
        "dataset = \"mnist-mini\"\nvalidation_split = 0.99999\n",
        &[
            "bad.toml:6:20:",
            "data.validation_split",
            "of the 300 training images",
            "found 0.99999, which holds out 300",
        ],
    );
}

/// A tpe draw of `{ uniform = [0.0, 0.0004] }` can land just above 0 and hold out none of
/// mnist-mini's 2,000 training images, though both ends pass: `check` refuses the space at
/// its low end instead of `run` registering a point it cannot train.
#[test]
fn a_drawn_validation_split_that_can_hold_out_nothing_is_refused_by_check() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("bad.toml");
    let text = TINY.replacen("train_samples = 300\n", "", 1).replacen(
        "strategy = \"grid\"\n[sweep.axes]\n\"model.dropout\" = [0.0, 0.2]\n",
        "strategy = \"tpe\"\nsamples = 2\nmetric = \"train.loss\"\n[sweep.axes]\n\
         \"data.validation_split\" = { uniform = [0.0, 0.0004] }\n",
        1,
    );
    std::fs::write(&file, text).unwrap();
    for command in ["check", "run"] {
        bad_input(
            lab(dir.path()).arg(command).arg(&file),
            &[
                "bad.toml:24:40:",
                "drawn just above the low end 0.0",
                "of the 2000 training images",
                "holds out 0",
            ],
        );
    }
    assert_nothing_written(dir.path());
}

// ------------------------------------------------------------------ issue 22, item 7

/// A name too long for the file names it makes (the Slurm script and logs add a timestamp
/// and job ids to it) is refused by `check`, not by the Slurm step after registering.
#[test]
fn an_experiment_name_too_long_for_a_file_name_is_refused_at_its_value() {
    rejected_file(
        "name = \"tiny\"",
        &format!("name = \"{}\"", "a".repeat(201)),
        &[
            "bad.toml:1:8:",
            "at most 200 characters",
            "found one of 201",
        ],
    );
}

// ------------------------------------------------------------------ issue 22, item 3

/// A grid axis of 200,000 values (1.5 MB, under the editor's limit) is checked in one pass:
/// a value repeated far down the array is named with both its indexes at its own line and
/// column, beside the refusal of a sweep over the trial limit. (How fast is measured, not
/// tested: the note of issue 22 gives the numbers; the limit below only keeps a hang out.)
#[test]
fn a_repeated_value_far_down_a_200000_value_axis_is_named_at_its_place() {
    let values: Vec<String> = (0..200_000)
        .map(|i| if i == 150_000 { 7 } else { 4 + i }.to_string())
        .collect();
    let prefix = "\"train.seed\" = [";
    let line = format!("{prefix}{}]", values.join(", "));
    let column = prefix.len() + values[..150_000].join(", ").len() + ", ".len() + 1;
    let text = TINY.replacen("\"model.dropout\" = [0.0, 0.2]", &line, 1);
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, text).unwrap();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("densenet-lab"));
    cmd.current_dir(dir.path())
        .env("DENSENET_LAB_DB", db(dir.path()))
        .arg("check")
        .arg(&file)
        .stdin(std::process::Stdio::null());
    let out = wait_for(cmd, std::time::Duration::from_secs(600));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(
        stderr.contains(&format!(
            "bad.toml:23:{column}: sweep.axes.\"train.seed\"[150000]: expected distinct values, \
             found 7 again (as at [3])"
        )),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert_nothing_written(dir.path());
}

/// `cmd`'s output; kills it and fails the test after `limit` (a hang is a failure).
fn wait_for(mut cmd: std::process::Command, limit: std::time::Duration) -> std::process::Output {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).map(|_| buf)
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("check still running after {limit:?}: killed");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: reader.join().unwrap().unwrap_or_default(),
    }
}
