//! What a test needs from its machine (a tool, the real datasets, a second user), and what
//! happens when it is not there: a test never shows `ok` for work it did not do.
//!
//! When a precondition is missing, a test either fails, if the environment promised it
//! (`DENSENET_LAB_REQUIRE`, a comma-separated list such as `tmux,data`, or `all`; `.ci/run`
//! sets it for what it installs, and setting `DENSENET_LAB_DATA` promises the datasets), or
//! prints a `SKIPPED` line that `cargo test` shows even while it captures the test's output.
//! For tests only: `#[doc(hidden)]` in the library so unit and integration tests share it.

use std::io::Write;
use std::path::PathBuf;

/// `DENSENET_LAB_REQUIRE` names `what` (or says `all`).
pub fn promised(what: &str) -> bool {
    list_names(std::env::var("DENSENET_LAB_REQUIRE").ok().as_deref(), what)
}

fn list_names(list: Option<&str>, what: &str) -> bool {
    list.is_some_and(|list| {
        list.split(',')
            .map(str::trim)
            .any(|item| item == what || item == "all")
    })
}

/// Handles a missing precondition `what` of `test`: panics if it was promised, otherwise
/// prints the skip where `cargo test` shows it (libtest captures `eprintln!`, not writes to
/// the stderr handle). The caller returns from the test afterwards.
pub fn missing(test: &str, what: &str, why: &str) {
    if promised(what) {
        panic!("{test}: {why}, but DENSENET_LAB_REQUIRE promises `{what}`");
    }
    let line =
        format!("SKIPPED {test}: {why} (set DENSENET_LAB_REQUIRE={what} to make this a failure)\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The real datasets' folder, `DENSENET_LAB_DATA`, with `sub` (e.g. `mnist`) in it. Unset: a
/// visible skip, or a failure if `data` is promised. Set but without `sub`: a failure, since
/// setting the variable promises the data.
pub fn real_data(test: &str, sub: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("DENSENET_LAB_DATA").map(PathBuf::from) else {
        missing(test, "data", "DENSENET_LAB_DATA is not set");
        return None;
    };
    assert!(
        dir.join(sub).is_dir(),
        "{test}: DENSENET_LAB_DATA={} has no {sub}/ folder; unset the variable to skip the real-data tests",
        dir.display()
    );
    Some(dir)
}

/// The data folder to hand the program so that it finds the real Fashion-MNIST
/// (`DENSENET_LAB_DATA`, whose `fashion-mnist/` wins, or an empty one, so that it reads where
/// Debian's `dataset-fashion-mnist` installs the files), or `None` after a visible skip;
/// missing, it fails the test when `fashion` is promised (`.ci/run` installs the package).
pub fn real_fashion(test: &str) -> Option<PathBuf> {
    use crate::data::{DEBIAN_FASHION_MNIST_DIR, dataset_dir};
    let data = std::env::var_os("DENSENET_LAB_DATA").map_or_else(
        || std::env::temp_dir().join("densenet-lab-no-data"),
        PathBuf::from,
    );
    let dir = dataset_dir(&data, crate::spec::Dataset::FashionMnist);
    let name = "train-images-idx3-ubyte";
    if dir.join(format!("{name}.gz")).exists() || dir.join(name).exists() {
        return Some(data);
    }
    let why = format!(
        "no Fashion-MNIST in {} nor {DEBIAN_FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)",
        data.join("fashion-mnist").display()
    );
    missing(test, "fashion", &why);
    None
}

/// Whether `program` runs here (`program -V` or `--version` exits 0).
pub fn tool_runs(program: &str, version_flag: &str) -> bool {
    std::process::Command::new(program)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the names in the list (or `all`) count as promised.
    #[test]
    fn the_require_list_names_what_is_promised() {
        assert!(list_names(Some("tmux, data"), "tmux"));
        assert!(list_names(Some("tmux, data"), "data"));
        assert!(!list_names(Some("tmux, data"), "slurm"));
        assert!(!list_names(Some("tmuxx"), "tmux"));
        assert!(list_names(Some("all"), "slurm"));
        assert!(!list_names(None, "tmux"));
    }
}
