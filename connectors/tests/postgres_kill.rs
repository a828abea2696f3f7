//! The PostgreSQL two-phase-commit sink in a process that is SIGKILLed at random moments: this
//! test binary runs itself again as the job (`WEIR_PG_KILL_CHILD` set), kills it
//! `WEIR_PG_KILLS` times (default 10), each time restarting it from its latest checkpoint, and
//! then lets it finish; the table must hold every row exactly once, and several kills must have
//! landed while a transaction was prepared and not yet committed.

#[path = "common/pg.rs"]
mod pg;

use std::process::{Child, Command};
use std::time::{Duration, Instant};
use weir::sink::two_phase_commit::{TransactionId, TwoPhaseCommitSink};
use weir::{BoxError, StreamEnvironment};
use weir_connectors::postgres::{PostgresTransaction, PostgresTwoPhaseCommitSink};

const RECORDS: u64 = 1_000_000;
const TEST: &str = "a_job_killed_at_random_moments_commits_every_row_exactly_once";

/// The sink with a slow commit (a busy database), so that kills often find transactions
/// prepared and not yet committed.
struct SlowCommit(PostgresTwoPhaseCommitSink<u64>);

impl TwoPhaseCommitSink<u64> for SlowCommit {
    type Transaction = PostgresTransaction;
    fn begin_transaction(&mut self, id: TransactionId) -> Result<PostgresTransaction, BoxError> {
        self.0.begin_transaction(id)
    }
    fn invoke(&mut self, t: &mut PostgresTransaction, r: u64) -> Result<(), BoxError> {
        self.0.invoke(t, r)
    }
    fn invoke_batch(&mut self, t: &mut PostgresTransaction, r: Vec<u64>) -> Result<(), BoxError> {
        self.0.invoke_batch(t, r)
    }
    fn pre_commit(&mut self, t: &mut PostgresTransaction) -> Result<(), BoxError> {
        self.0.pre_commit(t)
    }
    fn commit(&mut self, t: &PostgresTransaction) -> Result<(), BoxError> {
        std::thread::sleep(Duration::from_millis(60));
        self.0.commit(t)
    }
    fn recover_and_commit(&mut self, t: &PostgresTransaction) -> Result<(), BoxError> {
        self.0.recover_and_commit(t)
    }
    fn abort(&mut self, t: &PostgresTransaction) -> Result<(), BoxError> {
        self.0.abort(t)
    }
    fn prepared_transactions(&mut self, prefix: &str) -> Result<Vec<String>, BoxError> {
        self.0.prepared_transactions(prefix)
    }
    fn abort_prepared(&mut self, name: &str) -> Result<(), BoxError> {
        self.0.abort_prepared(name)
    }
}

/// The child: the job into `table`, checkpoints under `dir`, restored from the latest one.
fn child(table: &str, dir: &str, job: &str) {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_batch_size(64)
        .enable_checkpointing(Duration::from_millis(100))
        .set_checkpoint_dir(dir);
    env.set_job_id(job);
    match env.restore_from_latest(dir) {
        Ok(report) => eprintln!("child: restored {report:?}"),
        Err(e) => eprintln!("child: starting afresh ({e})"),
    }
    let sql = format!("INSERT INTO {table} (k, v) VALUES ($1, $2)");
    let builder = weir_connectors::postgres::PostgresSinkBuilder::new(table, &sql, |r: &u64| {
        let p: weir_connectors::postgres::Params =
            vec![Box::new((r % 1_000_000) as i64), Box::new(*r as i64)];
        p
    })
    .expect("valid statement")
    .batch_size(500);
    env.generate_sequence(0, RECORDS - 1)
        .uid("numbers")
        .key_by(|x| x % pg::KEYS)
        .map(|x| {
            // A paced source: the job runs for seconds, long enough to be killed often.
            if x % 50 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            x % pg::KEYS
        })
        .uid("key")
        .key_by(|k| *k)
        .reduce(|a, _| a + 1_000_000)
        .uid("count")
        .sink_to_two_phase_commit(pg::config(), move |_| {
            Ok(SlowCommit(builder.build_two_phase_commit()))
        })
        .uid("sink");
    env.execute().expect("the child's job");
}

fn spawn(table: &str, dir: &std::path::Path, job: &str) -> Child {
    let exe = std::env::current_exe().expect("the test binary");
    Command::new(exe)
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(
            "WEIR_PG_KILL_CHILD",
            format!("{table}|{}|{job}", dir.display()),
        )
        .spawn()
        .expect("spawn the child")
}

fn kills() -> u32 {
    std::env::var("WEIR_PG_KILLS")
        .map_or(10, |v| v.trim().parse().expect("WEIR_PG_KILLS: a number"))
}

#[test]
fn a_job_killed_at_random_moments_commits_every_row_exactly_once() {
    if let Ok(spec) = std::env::var("WEIR_PG_KILL_CHILD") {
        let parts: Vec<&str> = spec.split('|').collect();
        child(parts[0], parts[1], parts[2]);
        return;
    }
    let _ = pg::client();
    let table = pg::Table::create("kill", false);
    let dir = std::env::temp_dir().join(format!("weir-pg-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let job = format!("pg-kill-{}", std::process::id());
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64 ^ u64::from(std::process::id());
    let (mut killed, mut while_prepared) = (0, 0);
    while killed < kills() {
        let mut child = spawn(&table.name, &dir, &job);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // A random moment of the run to kill it at.
        std::thread::sleep(Duration::from_millis(300 + rng % 900));
        if child.try_wait().expect("child status").is_some() {
            panic!("the child finished before kill {killed}: make the job longer");
        }
        if !pg::prepared_of(&job).is_empty() {
            while_prepared += 1;
        }
        child.kill().expect("SIGKILL the child");
        child.wait().expect("reap the child");
        killed += 1;
    }
    let mut child = spawn(&table.name, &dir, &job);
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().expect("child status") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the last run did not finish in 300 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "the last run failed: {status}");
    assert_eq!(
        table.rows(),
        pg::expected_rows_of(RECORDS),
        "exactly once after {killed} kills"
    );
    assert!(
        pg::prepared_of(&job).is_empty(),
        "left prepared: {:?}",
        pg::prepared_of(&job)
    );
    eprintln!("{killed} kills, {while_prepared} of them while a transaction was prepared");
    assert!(
        while_prepared >= 2,
        "only {while_prepared} of {killed} kills found a prepared transaction"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
