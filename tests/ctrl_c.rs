//! Ctrl-C: `examples/checkpointed_count.rs`, run as a child process, is cancelled by SIGINT and
//! exits cleanly with its cancelled message, keeping its checkpoints; run again, it resumes.
//!
//! The child is this test binary itself, running the example's code (included below) when
//! `CHILD_DIR` is set; the parent waits on the child's output, never on a timer.

#[path = "../examples/checkpointed_count.rs"]
#[allow(dead_code)]
mod example;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Set in the child: the checkpoint directory it runs the example with.
const CHILD_DIR: &str = "WEIR_TEST_CTRL_C_DIR";
/// What the example prints once its job runs and its handler is installed (the child's first
/// line of output follows the test harness's `test … ` on the same line).
const RUNNING: &str = "job running: press Ctrl-C to cancel it";
/// Guards the parent against a child that never ends.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Starts the example as a child process with checkpoint directory `dir`.
fn spawn_example(dir: &std::path::Path) -> Child {
    let exe = std::env::current_exe().expect("test binary");
    Command::new(exe)
        .args([
            "--exact",
            "sigint_cancels_the_example_job_which_exits_cleanly_and_resumes_next_time",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("child starts")
}

/// Reads the child's output until a line for which `when` holds, sends SIGINT, and returns its
/// whole output and whether it exited successfully. A child that hangs is killed after
/// [`HANG_GUARD`].
fn interrupt(mut child: Child, when: impl Fn(&str) -> bool) -> (Vec<String>, bool) {
    let pid = child.id() as libc::pid_t;
    let (done, hang) = mpsc::channel::<()>();
    let guard = std::thread::spawn(move || {
        if hang.recv_timeout(HANG_GUARD).is_err() {
            // SAFETY: kill(2) on our own child's pid has no memory effects.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = Vec::new();
    let mut sent = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        if !sent && when(&line) {
            sent = true;
            // SAFETY: as above.
            assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0, "SIGINT sent");
        }
        lines.push(line);
    }
    let status = child.wait().expect("child ends");
    let _ = done.send(());
    guard.join().expect("guard thread");
    (lines, status.success())
}

#[test]
fn sigint_cancels_the_example_job_which_exits_cleanly_and_resumes_next_time() {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        // The child: the example itself, until it is interrupted.
        let dir = dir.to_str().expect("utf-8 dir").to_string();
        example::run(&dir, None).expect("the example ends without error");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");

    // Run 1: interrupted once its first checkpoint completed.
    let (first, ok) = interrupt(spawn_example(dir.path()), |l| l.starts_with("checkpoint "));
    assert!(ok, "the first run exits successfully: {first:#?}");
    assert!(
        first.iter().any(|l| l.contains("no checkpoint in")),
        "{first:#?}"
    );
    assert!(first.iter().any(|l| l.contains(RUNNING)), "{first:#?}");
    assert!(
        first
            .iter()
            .any(|l| l.contains("cancelled: the checkpoints in")),
        "the cancelled message is printed: {first:#?}"
    );

    // Run 2: resumes from the kept checkpoint; interrupted as soon as it runs.
    let (second, ok) = interrupt(spawn_example(dir.path()), |l| l.contains(RUNNING));
    assert!(ok, "the second run exits successfully: {second:#?}");
    assert!(
        second
            .iter()
            .any(|l| l.contains("resuming from checkpoint")),
        "{second:#?}"
    );
    assert!(
        second
            .iter()
            .any(|l| l.contains("cancelled: the checkpoints in")),
        "{second:#?}"
    );
}
