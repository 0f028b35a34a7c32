//! Claims on real files: exclusive, conditional on the holder, and migrated into old stores.

use std::sync::{Arc, Barrier};

use rusqlite::Connection;

use super::tests::{count, sweep, temp_db};
use super::*;

fn holder(pid: u32, started: &str) -> Holder {
    Holder {
        pid,
        started: Some(started.into()),
        host: "here".into(),
    }
}

#[test]
fn of_many_connections_claiming_one_run_at_once_exactly_one_wins() {
    let (_d, path) = temp_db();
    let id = sweep(&mut Store::open(&path).unwrap(), 1)[0].id;
    let start = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8u32)
        .map(|i| {
            let (path, start) = (path.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                let mut store = Store::open(&path).unwrap();
                start.wait();
                retry_busy(|| store.claim_run(id, "cpu", &holder(100 + i, "b:1"))).unwrap()
            })
        })
        .collect();
    let outcomes: Vec<ClaimOutcome> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let winners = outcomes
        .iter()
        .filter(|o| **o == ClaimOutcome::Claimed)
        .count();
    assert_eq!(winners, 1, "{outcomes:?}");
    let held_by: i64 = count(&path, "SELECT pid FROM runs");
    for o in &outcomes {
        if let ClaimOutcome::Held(c) = o {
            assert_eq!(c.pid, Some(held_by as u32), "losers are told who holds it");
        }
    }
}

#[test]
fn only_queued_interrupted_stopped_and_failed_runs_can_be_claimed() {
    let (_d, path) = temp_db();
    let mut s = Store::open(&path).unwrap();
    let id = sweep(&mut s, 1)[0].id;
    let me = holder(1, "b:1");
    for status in RunStatus::ALL.iter().copied().filter(|s| s.is_terminal()) {
        s.finish_run(id, status, None).unwrap();
        let outcome = s.claim_run(id, "cpu", &me).unwrap();
        if CLAIMABLE.contains(&status) {
            assert_eq!(outcome, ClaimOutcome::Claimed, "{status}");
        } else {
            assert_eq!(outcome, ClaimOutcome::Settled(status));
        }
    }
    assert!(matches!(
        s.claim_run(999, "cpu", &me),
        Err(StoreError::NoSuchRun(999))
    ));
}

#[test]
fn a_claim_reaped_and_taken_by_another_process_leaves_the_first_holder_no_write() {
    let (_d, path) = temp_db();
    let mut s = Store::open(&path).unwrap();
    let id = sweep(&mut s, 1)[0].id;
    let (old, new) = (holder(10, "b:1"), holder(10, "b:2")); // same pid, another process
    assert_eq!(s.claim_run(id, "cpu", &old).unwrap(), ClaimOutcome::Claimed);
    s.request_stop(id).unwrap();
    assert_eq!(s.heartbeat(id, &old).unwrap(), Some(true));
    let ClaimOutcome::Held(seen) = s.claim_run(id, "cpu", &new).unwrap() else {
        panic!("the run is held")
    };
    assert_eq!(seen.started.as_deref(), Some("b:1"));
    assert!(s.mark_interrupted(&seen, "dead").unwrap());
    // A second reaper that judged the same claim dead does not undo the new claim.
    assert_eq!(s.claim_run(id, "cpu", &new).unwrap(), ClaimOutcome::Claimed);
    assert!(!s.mark_interrupted(&seen, "dead").unwrap());
    assert!(
        !s.stop_requested(id).unwrap(),
        "a new claim starts without a stop request"
    );

    // Everything the old holder tries now is refused.
    assert_eq!(s.heartbeat(id, &old).unwrap(), None);
    assert!(!s.finish_claimed(id, &old, RunStatus::Done, None).unwrap());
    assert!(matches!(
        s.rewind_to_epoch(id, 0, &old),
        Err(StoreError::ClaimLost(_))
    ));
    let mut writer = Store::open(&path).unwrap();
    writer.write_as(old.clone());
    let rows = [MetricRow::new(
        1,
        1,
        Scope::Step,
        Split::Train,
        MetricName::Loss,
        1.0,
    )];
    assert!(matches!(
        writer.log_metrics(id, &rows),
        Err(StoreError::ClaimLost(_))
    ));
    assert!(matches!(
        writer.finish_epoch(id, 1, &rows, Some("ckpt")),
        Err(StoreError::ClaimLost(_))
    ));
    assert_eq!(count(&path, "SELECT count(*) FROM metrics"), 0);

    // The new holder writes, hands over and finishes.
    writer.write_as(new.clone());
    writer.log_metrics(id, &rows).unwrap();
    let child = holder(11, "b:3");
    assert!(!s.hand_over(id, &old, &child).unwrap());
    assert!(s.hand_over(id, &new, &child).unwrap());
    assert!(matches!(
        writer.log_metrics(id, &rows),
        Err(StoreError::ClaimLost(_))
    ));
    assert!(s.finish_claimed(id, &child, RunStatus::Done, None).unwrap());
    assert_eq!(s.run(id).unwrap().unwrap().status, RunStatus::Done);
}

#[test]
fn a_running_run_cannot_be_reset_under_its_holder() {
    let (_d, path) = temp_db();
    let mut s = Store::open(&path).unwrap();
    let id = sweep(&mut s, 1)[0].id;
    s.claim_run(id, "cpu", &holder(1, "b:1")).unwrap();
    assert!(s.reset_run(id).is_err());
    assert_eq!(s.run(id).unwrap().unwrap().status, RunStatus::Running);
}

#[test]
fn a_version_2_store_is_migrated_and_its_running_claims_read_without_a_start_time() {
    let (_d, path) = temp_db();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
        conn.execute_batch(schema::MIGRATIONS[1]).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA application_id = {}; PRAGMA user_version = 2;
             INSERT INTO experiments (name, created_at, updated_at) VALUES ('old', 't', 't');
             INSERT INTO runs (experiment_id, trial_index, hash, status, config, overrides, seed,
                               epochs_total, created_at, pid, host, heartbeat_at)
                  VALUES (1, 0, 'h', 'running', '{{}}', '{{}}', 1, 3, 't', 42, 'here',
                          '2000-01-01T00:00:00.000Z');",
            APPLICATION_ID
        ))
        .unwrap();
    }
    let mut s = Store::open(&path).unwrap();
    assert_eq!(count(&path, "PRAGMA user_version"), SCHEMA_VERSION);
    let claims = s.running_claims().unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(
        (claims[0].pid, claims[0].started.as_deref(), claims[0].stale),
        (Some(42), None, true)
    );
    // The old claim is reaped by what was read, then claimed with a start time.
    assert!(s.mark_interrupted(&claims[0], "dead").unwrap());
    let me = holder(7, "b:9");
    assert_eq!(s.claim_run(1, "cpu", &me).unwrap(), ClaimOutcome::Claimed);
    assert_eq!(
        count(
            &path,
            "SELECT count(*) FROM runs WHERE pid = 7 AND pid_start = 'b:9'"
        ),
        1
    );
}
