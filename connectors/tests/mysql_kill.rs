//! The seed's reference job under SIGKILL: sequence → key_by → running count → MariaDB through
//! the XA sink, with checkpoints in a directory, run as a child process (this test binary
//! again, with `WEIR_MYSQL_KILL_CHILD` set), killed `WEIR_MYSQL_KILLS` times (default 10) and
//! restarted with `restore_from_latest` each time. The table ends exactly once, and several
//! kills landed while an XA transaction of the job was prepared and not committed.
#![cfg(feature = "mysql")]

#[path = "common/mysql.rs"]
mod mysql_common;

use mysql_common::Table;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use weir_connectors::mysql::MySqlXaSink;

/// Records per kill: enough that the job outlives every kill.
const RECORDS_PER_KILL: u64 = 60_000;
const CHILD: &str = "WEIR_MYSQL_KILL_CHILD";

fn kills() -> u64 {
    match std::env::var("WEIR_MYSQL_KILLS") {
        Ok(v) => v.trim().parse().expect("WEIR_MYSQL_KILLS: a number"),
        Err(_) => 10,
    }
}

/// The child's side: runs the job (restored from the latest checkpoint when there is one)
/// to its end. Does nothing unless the parent test started this process.
#[test]
fn child_job() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let mut parts = spec.splitn(4, '|');
    let (Some(records), Some(table), Some(job), Some(dir)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("{CHILD}={spec:?}: want records|table|job|dir");
    };
    let records: u64 = records.parse().expect("records");
    let mut env = mysql_common::env(job, Duration::from_millis(100));
    env.set_checkpoint_dir(dir);
    if Path::new(dir).join(job).exists() {
        if let Err(e) = env.restore_from_latest(dir) {
            eprintln!("no checkpoint to restore yet: {e}");
        }
    }
    let insert = weir_connectors::mysql::InsertStatement::new(
        format!("INSERT INTO {table} (k, v) VALUES (?, ?)"),
        |v: &u64| vec![(v % 1_000_000).into(), (*v).into()],
    );
    let builder = MySqlXaSink::builder(table, insert).batch_size(128);
    mysql_common::counts(&env, records)
        .sink_to_two_phase_commit(mysql_common::config(), move |_| Ok(builder.build()?))
        .uid("sink");
    env.execute().expect("the child's job");
}

fn spawn(records: u64, table: &str, job: &str, dir: &Path) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child_job", "--nocapture", "--test-threads=1"])
        .env(CHILD, format!("{records}|{table}|{job}|{}", dir.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child")
}

/// Polls `condition` every 2 ms until it holds or `within` passed.
fn poll(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::yield_now();
        std::thread::sleep(Duration::from_millis(2));
    }
    condition()
}

#[test]
fn exactly_once_under_sigkill() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let records = RECORDS_PER_KILL * kills().max(1);
    let table = Table::new("xa_kill", false);
    let job = format!("xa-kill-{}", std::process::id());
    let dir: PathBuf = std::env::temp_dir().join(format!("weir-mysql-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut rng: u64 = std::process::id() as u64 | 1;
    let mut landed_prepared = 0;
    let mut killed = 0;
    while killed < kills() {
        let mut child = spawn(records, &table.name, &job, &dir);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let exited_early = if killed % 2 == 0 {
            // At the moment a transaction of the job is prepared.
            !poll(Duration::from_secs(60), || {
                !mysql_common::prepared_of(&job).is_empty()
                    || child.try_wait().ok().flatten().is_some()
            }) || child.try_wait().ok().flatten().is_some()
        } else {
            // At a random moment 0.2 – 1.5 s after the start.
            let at = Duration::from_millis(200 + rng % 1300);
            let start = Instant::now();
            poll(at + Duration::from_secs(1), || {
                child.try_wait().ok().flatten().is_some() || start.elapsed() >= at
            });
            child.try_wait().ok().flatten().is_some()
        };
        if exited_early {
            let status = child.wait().expect("reaped");
            panic!("the child ended ({status}) before kill {killed}: make the job longer");
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        killed += 1;
        if !mysql_common::prepared_of(&job).is_empty() {
            landed_prepared += 1;
        }
    }
    let mut child = spawn(records, &table.name, &job, &dir);
    let finished = poll(Duration::from_secs(300), || {
        child.try_wait().ok().flatten().is_some()
    });
    assert!(finished, "the last run did not finish in 300 s");
    let status = child.wait().expect("reaped");
    assert!(status.success(), "the last run failed: {status}");
    let _ = std::fs::remove_dir_all(&dir);
    let values = table.values();
    mysql_common::assert_same_rows(
        &values,
        &mysql_common::expected_counts(records),
        "after the kills",
    );
    assert!(mysql_common::prepared_of(&job).is_empty(), "prepared left");
    eprintln!("{killed} kills, {landed_prepared} while a transaction was prepared");
    assert!(
        landed_prepared >= 3,
        "only {landed_prepared} of {killed} kills landed while a transaction was prepared"
    );
}
