//! `query` never holds the terminal hostage: Ctrl-C (SIGINT to the real process) stops an
//! endless query with exit 130, and `--timeout SECONDS` stops it with exit 124.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use densenet_lab::store::Store;

const ENDLESS: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

fn lab(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_densenet-lab"));
    cmd.current_dir(dir)
        .env("DENSENET_LAB_DB", dir.join("lab.db"))
        .env("DENSENET_LAB_DATA", dir.join("no-data"));
    cmd
}

fn store_in(dir: &Path) {
    drop(Store::open(&dir.join("lab.db")).unwrap());
}

/// Whether the process has a handler for SIGINT installed (`SigCgt` in /proc).
fn catches_sigint(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (libc::SIGINT - 1)) != 0)
}

#[test]
fn sigint_stops_an_endless_query_with_exit_130() {
    let dir = tempfile::tempdir().unwrap();
    store_in(dir.path());
    let mut child = lab(dir.path())
        .args(["query", ENDLESS])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !catches_sigint(pid) {
        assert!(child.try_wait().unwrap().is_none(), "query ended by itself");
        assert!(
            Instant::now() < deadline,
            "query never installed its handler"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Let it get well into the query; it must still be running then.
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "the query cannot end");
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("SIGINT did not stop the query");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(130), "{status:?}: {stderr}");
    assert!(stderr.contains("query interrupted (Ctrl-C)"), "{stderr}");
    assert!(out.stdout.is_empty(), "no partial table on stdout");
}

#[test]
fn timeout_stops_an_endless_query_with_exit_124() {
    let dir = tempfile::tempdir().unwrap();
    store_in(dir.path());
    let out = lab(dir.path())
        .args(["query", "--timeout", "0.5", ENDLESS])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(124), "{stderr}");
    assert!(
        stderr.contains("timed out after 500ms (--timeout)"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_query_within_its_timeout_prints_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    store_in(dir.path());
    let out = lab(dir.path())
        .args(["query", "--timeout", "60", "--format", "csv"])
        .arg("SELECT count(*) AS n FROM runs")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n0\n");
}

#[test]
fn a_timeout_that_is_not_a_positive_number_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    store_in(dir.path());
    for bad in ["0", "-1", "soon", "inf"] {
        let out = lab(dir.path())
            .args(["query", &format!("--timeout={bad}"), "SELECT 1"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--timeout {bad}: {stderr}");
        assert!(stderr.contains("--timeout"), "{stderr}");
    }
}

#[test]
fn query_help_names_both_exit_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_densenet-lab"))
        .args(["query", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--timeout <SECONDS>"), "{help}");
    assert!(help.contains("124") && help.contains("130"), "{help}");
}
