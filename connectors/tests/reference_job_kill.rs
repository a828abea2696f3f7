//! The seed's reference job (`examples/exactly_once_db.rs`: Kafka → key_by → a running count
//! that fails at random → MariaDB XA) run as a child process, SIGKILLed at random moments
//! `WEIR_REFERENCE_KILLS` times (default 10) and started again each time from the latest
//! checkpoint; then run to its end. The table must hold every input record exactly once
//! (`duplicated 0, missing 0`, every key's running count exactly 1..n), and kills must have
//! landed while an XA transaction of the job was prepared.
#![cfg(all(feature = "kafka", feature = "mysql", feature = "postgres"))]

use mysql::prelude::Queryable;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use weir::sink::two_phase_commit::TransactionId;

/// Input records: enough that the job outlives every kill (each run makes progress only past
/// its first checkpoint).
const RECORDS: u64 = 1_000_000;

fn kills() -> u64 {
    match std::env::var("WEIR_REFERENCE_KILLS") {
        Ok(v) => v.trim().parse().expect("WEIR_REFERENCE_KILLS: a number"),
        Err(_) => 10,
    }
}

/// The example's binary, which `cargo test` builds beside this test's.
fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let path = (exe.parent().and_then(|deps| deps.parent()))
        .expect("target directory")
        .join("examples")
        .join("exactly_once_db");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --release -p weir-stream-connectors --all-features --example exactly_once_db` (cargo test --all-features builds it)",
        path.display()
    );
    path
}

fn command(phase: &str, name: &str, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(example());
    cmd.args([
        "--source", "kafka", "--sink", "mariadb", "--phase", phase, "--name", name,
    ])
    .args(["--records", &RECORDS.to_string(), "--fail-one-in", "40000"])
    .args(["--interval-ms", "200", "--checkpoints"])
    .arg(dir);
    cmd
}

fn run_to_end(phase: &str, name: &str, dir: &std::path::Path) -> Output {
    let out = command(phase, name, dir).output().expect("run the example");
    assert!(
        out.status.success(),
        "--phase {phase} failed ({}): {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// This job's XA transactions that are prepared and not committed.
fn prepared_of(job: &str) -> usize {
    let url = weir_connectors::env::mysql_url();
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(&url).expect("url")).expect("MariaDB");
    let prefixes: Vec<String> = (0..2)
        .map(|s| TransactionId::subtask_prefix(job, "database-sink", s))
        .collect();
    let rows: Vec<(i64, i64, i64, Vec<u8>)> = conn.query("XA RECOVER").expect("XA RECOVER");
    rows.into_iter()
        .filter_map(|(_, g, _, data)| String::from_utf8(data.get(..g as usize)?.to_vec()).ok())
        .filter(|n| prefixes.iter().any(|p| n.starts_with(p)))
        .count()
}

fn exited(child: &mut Child) -> bool {
    child.try_wait().ok().flatten().is_some()
}

#[test]
fn the_reference_job_is_exactly_once_under_sigkill() {
    let name = format!("weir_reference_{}", std::process::id());
    let dir = std::env::temp_dir().join(format!("weir-reference-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    run_to_end("produce", &name, &dir);
    let mut rng = u64::from(std::process::id()) | 1;
    let (mut killed, mut landed_prepared) = (0, 0);
    while killed < kills() {
        let mut child = command("run", &name, &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the job");
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Every other kill at a random moment 0.3 – 1.8 s after the start; the others as soon
        // as a transaction of the job is prepared (between a checkpoint's barrier and its
        // commit), within 10 s.
        let start = Instant::now();
        if killed % 2 == 0 {
            let at = Duration::from_millis(300 + rng % 1500);
            while start.elapsed() < at && !exited(&mut child) {
                std::thread::sleep(Duration::from_millis(5));
            }
        } else {
            while start.elapsed() < Duration::from_secs(10)
                && !exited(&mut child)
                && prepared_of(&name) == 0
            {
                std::thread::yield_now();
            }
        }
        assert!(
            !exited(&mut child),
            "the job ended before kill {killed}: make it longer"
        );
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        killed += 1;
        landed_prepared += usize::from(prepared_of(&name) > 0);
    }
    run_to_end("run", &name, &dir);
    let check = run_to_end("check", &name, &dir);
    let line = String::from_utf8_lossy(&check.stdout).to_string();
    eprintln!("{killed} kills, {landed_prepared} while a transaction was prepared; {line}");
    assert!(
        line.contains(&format!(
            "expected {RECORDS}, present {RECORDS}, duplicated 0, missing 0"
        )),
        "{line}"
    );
    assert_eq!(prepared_of(&name), 0, "prepared transactions left");
    assert!(
        landed_prepared >= 3,
        "only {landed_prepared} of {killed} kills landed while a transaction was prepared"
    );
    run_to_end("drop", &name, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}
