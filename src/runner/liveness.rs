//! Is the process a claim names still the one that claimed? A pid that exists is not proof:
//! a killed process stays a zombie until its parent (or init) reaps it, and a pid is reused,
//! by a later process or after a reboot. So a claim records its process's start time (Linux:
//! the boot id and `/proc/PID/stat` field 22, starttime), and a claim on this host counts as
//! alive only while that pid exists, is not a zombie, and started then.

use crate::store::{Claim, Holder};

/// This machine's name as runs record it (to tell a local process from a remote one).
pub fn this_host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into the buffer we own.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if ok {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "unknown".into()
    }
}

/// What `/proc/PID/stat` says of a process: its state letter and its start time, as a claim
/// records it (`<boot id>:<starttime in clock ticks since boot>`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProcStat {
    state: char,
    started: String,
}

#[cfg(target_os = "linux")]
fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2, the command name, is in parentheses and may itself hold spaces and ')'.
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); starttime is field 22.
    let state = fields.first()?.chars().next()?;
    let ticks: u64 = fields.get(22 - 3)?.parse().ok()?;
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    Some(ProcStat {
        state,
        started: format!("{}:{ticks}", boot.trim()),
    })
}

#[cfg(not(target_os = "linux"))]
fn proc_stat(_pid: u32) -> Option<ProcStat> {
    None
}

/// Whether `pid` exists and may be signalled (a zombie counts: only /proc tells it apart).
fn pid_exists(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let exists = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    exists || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Process `pid` on this host, as a claim names it (its start time read now, whatever its
/// state: the scheduler reads its child's before waiting on it).
pub fn holder(pid: u32) -> Holder {
    Holder {
        pid,
        started: proc_stat(pid).map(|s| s.started),
        host: this_host(),
    }
}

/// This process, as a claim names it.
pub fn this_process() -> Holder {
    holder(std::process::id())
}

/// The process that started this one (the scheduler, for a trial process).
pub fn parent_process() -> Holder {
    // SAFETY: getppid has no preconditions.
    holder(unsafe { libc::getppid() } as u32)
}

/// Whether the process that holds `claim` is still alive.
///
/// - no pid or host recorded: dead (nobody could be training it);
/// - another host: alive while its heartbeat is fresh (nothing else can be checked from here);
/// - this host with a start time: alive while that pid exists, is not a zombie, and started
///   then; the heartbeat is not consulted (a stopped or busy process is still alive);
/// - this host without one (claimed by an older build, or no /proc): alive while the pid
///   exists and the heartbeat is fresh.
pub fn claim_alive(claim: &Claim) -> bool {
    let (Some(pid), Some(host)) = (claim.pid, claim.host.as_deref()) else {
        return false;
    };
    if host != this_host() {
        return !claim.stale;
    }
    let stat = proc_stat(pid);
    match (&claim.started, stat) {
        (Some(started), Some(now)) => {
            now.state != 'Z' && now.state != 'X' && now.started == *started
        }
        (Some(_), None) => false,
        (None, Some(now)) => now.state != 'Z' && now.state != 'X' && !claim.stale,
        (None, None) => pid_exists(pid) && !claim.stale,
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::process::Command;
    use std::time::{Duration, Instant};

    use super::*;

    fn claim_of(h: &Holder) -> Claim {
        Claim {
            run_id: 1,
            pid: Some(h.pid),
            started: h.started.clone(),
            host: Some(h.host.clone()),
            stale: false,
        }
    }

    #[test]
    fn this_process_is_alive_under_its_own_start_time() {
        let me = this_process();
        assert!(me.started.is_some(), "/proc gave no start time");
        assert!(claim_alive(&claim_of(&me)));
    }

    #[test]
    fn a_live_pid_with_another_start_time_is_dead() {
        // This process is alive, but it is not the one that claimed: its pid was reused.
        let mut claim = claim_of(&this_process());
        let started = claim.started.clone().unwrap();
        let (boot, ticks) = started.rsplit_once(':').unwrap();
        let earlier: u64 = ticks.parse::<u64>().unwrap().saturating_sub(1);
        claim.started = Some(format!("{boot}:{earlier}"));
        assert!(!claim_alive(&claim));
        // The same start time after another boot is another process too.
        claim.started = Some(format!("another-boot:{ticks}"));
        assert!(!claim_alive(&claim));
    }

    #[test]
    fn a_zombie_with_the_right_start_time_is_dead() {
        // A child that exited and that nobody has waited on yet: its pid still exists.
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        let claimed = holder(pid);
        assert!(claimed.started.is_some());
        let start = Instant::now();
        while proc_stat(pid).map(|s| s.state) != Some('Z') {
            assert!(start.elapsed() < Duration::from_secs(10), "no zombie");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(pid_exists(pid), "a zombie's pid exists");
        assert_eq!(
            proc_stat(pid).unwrap().started,
            *claimed.started.as_ref().unwrap()
        );
        assert!(!claim_alive(&claim_of(&claimed)));
        child.wait().unwrap();
        // Reaped: gone altogether.
        assert!(!claim_alive(&claim_of(&claimed)));
    }

    #[test]
    fn a_claim_of_another_host_is_alive_while_its_heartbeat_is_fresh() {
        let mut claim = claim_of(&this_process());
        claim.host = Some("another-host".into());
        claim.pid = Some(4_000_000);
        assert!(claim_alive(&claim));
        claim.stale = true;
        assert!(!claim_alive(&claim));
    }

    #[test]
    fn a_claim_without_a_start_time_is_judged_by_pid_and_heartbeat() {
        let mut claim = claim_of(&this_process());
        claim.started = None;
        assert!(claim_alive(&claim));
        claim.stale = true;
        assert!(!claim_alive(&claim));
        claim.pid = None;
        claim.stale = false;
        assert!(!claim_alive(&claim));
    }
}
