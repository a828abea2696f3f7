//! What the MariaDB tests share: a connection that fails with how to start the server, a table
//! of its own per test run, the keyed job, `XA RECOVER`, and a sink wrapper that fails chosen
//! steps of the protocol at random.
#![allow(dead_code)]

use mysql::prelude::Queryable;
use mysql::Conn;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::sink::two_phase_commit::{TransactionId, TwoPhaseCommitConfig, TwoPhaseCommitSink};
use weir::{BoxError, RestartStrategyConfig, StreamEnvironment};
use weir_connectors::mysql::{InsertStatement, MySqlXaSink, XaTransaction};

/// A connection to the test server; panics with how to start it when it is down.
pub fn connect() -> Conn {
    let url = weir_connectors::env::mysql_url();
    Conn::new(url.as_str()).unwrap_or_else(|e| {
        panic!(
            "MariaDB is not reachable at {url} (WEIR_MYSQL_URL): {e}. Start it (as root) with \
             `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`"
        )
    })
}

/// A table of this test run: `(id AUTO_INCREMENT, k, v)`, `k` unique when `keyed`; dropped
/// when the guard goes.
pub struct Table {
    /// The table's name.
    pub name: String,
}

impl Table {
    /// A new table named after `tag`, the process and a counter.
    pub fn new(tag: &str, keyed: bool) -> Table {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "weir_{tag}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let key = if keyed { "UNIQUE" } else { "" };
        connect()
            .query_drop(format!(
                "CREATE TABLE {name} (id BIGINT AUTO_INCREMENT PRIMARY KEY, \
                 k BIGINT NOT NULL {key}, v BIGINT NOT NULL) ENGINE=InnoDB"
            ))
            .expect("create table");
        Table { name }
    }

    /// Every `v`, sorted.
    pub fn values(&self) -> Vec<u64> {
        let mut v: Vec<u64> = connect()
            .query(format!("SELECT v FROM {} ORDER BY v", self.name))
            .expect("select");
        v.sort_unstable();
        v
    }

    /// Every `(k, v)`, by `k`.
    pub fn by_key(&self) -> BTreeMap<u64, u64> {
        let rows: Vec<(u64, u64)> = connect()
            .query(format!("SELECT k, v FROM {}", self.name))
            .expect("select");
        rows.into_iter().collect()
    }

    /// The XA sink's insert into this table: `(k, v)` of a record `v` with key `v % 1_000_000`.
    pub fn insert(&self) -> InsertStatement<u64> {
        InsertStatement::new(
            format!("INSERT INTO {} (k, v) VALUES (?, ?)", self.name),
            |v: &u64| vec![(v % 1_000_000).into(), (*v).into()],
        )
    }

    /// The upsert sink's statement into this table (keyed): `v` by key `v % 1_000_000`.
    pub fn upsert(&self) -> InsertStatement<u64> {
        InsertStatement::new(
            format!(
                "INSERT INTO {} (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)",
                self.name
            ),
            |v: &u64| vec![(v % 1_000_000).into(), (*v).into()],
        )
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if let Ok(mut c) = Conn::new(weir_connectors::env::mysql_url().as_str()) {
            let _ = c.query_drop(format!("DROP TABLE IF EXISTS {}", self.name));
        }
    }
}

/// The gtrids `XA RECOVER` lists that belong to sink "sink" of `job` (subtasks 0..4).
pub fn prepared_of(job: &str) -> Vec<String> {
    let prefixes: Vec<String> = (0..4)
        .map(|s| TransactionId::subtask_prefix(job, "sink", s))
        .collect();
    let rows: Vec<(i64, i64, i64, Vec<u8>)> = connect().query("XA RECOVER").expect("XA RECOVER");
    rows.into_iter()
        .filter_map(|(_, g, _, data)| String::from_utf8(data.get(..g as usize)?.to_vec()).ok())
        .filter(|n| prefixes.iter().any(|p| n.starts_with(p)))
        .collect()
}

/// A real-time environment of parallelism 2, checkpoints every `interval`, restarting at
/// once up to 1000 times, job id `job`.
pub fn env(job: &str, interval: Duration) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_batch_size(32)
        .enable_checkpointing(interval)
        .set_restart_strategy(RestartStrategyConfig::FixedDelay {
            attempts: 1_000,
            delay: Duration::from_millis(10),
        });
    env.set_job_id(job);
    env
}

/// Commits retried twice, 5 ms apart.
pub fn config() -> TwoPhaseCommitConfig {
    TwoPhaseCommitConfig::default()
        .with_commit_attempts(2)
        .with_retry_backoff(Duration::from_millis(5))
}

/// sequence 0..records → key by `x % 13` → running count per key, as
/// `count * 1_000_000 + key` (key = `v % 1_000_000`); the counting operator has uid "count".
pub fn counts(env: &StreamEnvironment, records: u64) -> weir::DataStream<u64> {
    env.generate_sequence(0, records - 1)
        .uid("numbers")
        .key_by(|x| x % 13)
        .map(|x| x % 13)
        .uid("key")
        .key_by(|k| *k)
        .reduce(|a, _| a + 1_000_000)
        .uid("count")
}

/// What the failure-free run writes: every running count of every key.
pub fn expected_counts(records: u64) -> Vec<u64> {
    let mut per_key = [0u64; 13];
    let mut v: Vec<u64> = (0..records)
        .map(|x| {
            let k = (x % 13) as usize;
            let v = per_key[k] * 1_000_000 + k as u64;
            per_key[k] += 1;
            v
        })
        .collect();
    v.sort_unstable();
    v
}

/// The steps [`Flaky`] can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Before writing a record.
    Invoke,
    /// Before preparing.
    PreCommit,
    /// After the commit went through (the answer "lost").
    CommitAfter,
    /// Before committing on restore.
    RecoverCommit,
    /// Building the sink of a restarted subtask.
    Open,
    /// Before an upsert batch.
    UpsertBefore,
    /// After an upsert batch committed.
    UpsertAfter,
}

/// Whether building the sink of a restarted subtask fails (1 in 8 restarts, by seed, subtask
/// and attempt), counted in `fired`.
pub fn fails_open(
    seed: u64,
    info: &weir::OperatorInfo,
    fired: &Mutex<BTreeMap<Step, u64>>,
) -> bool {
    let s = &info.subtask;
    let mut x = (seed << 24) ^ ((s.attempt as u64) << 4) ^ s.index as u64;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let fails = s.attempt > 0 && (x >> 40) % 8 == 0;
    if fails {
        *fired.lock().expect("fired").entry(Step::Open).or_insert(0) += 1;
    }
    fails
}

/// Wraps an XA sink and fails each of `steps` with `per_mille` chance, counting what fired.
pub struct Flaky {
    /// The sink.
    pub inner: MySqlXaSink<u64>,
    /// The generator's state.
    pub rng: u64,
    /// The chance per step, in thousandths.
    pub per_mille: u64,
    /// The steps that may fail.
    pub steps: Vec<Step>,
    /// What fired, shared by the sweep.
    pub fired: Arc<Mutex<BTreeMap<Step, u64>>>,
}

impl Flaky {
    fn roll(&mut self, step: Step) -> Result<(), BoxError> {
        if !self.steps.contains(&step) {
            return Ok(());
        }
        self.rng = self
            .rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        if (self.rng >> 33) % 1000 < self.per_mille {
            *self.fired.lock().expect("fired").entry(step).or_insert(0) += 1;
            return Err(format!("injected failure at {step:?}").into());
        }
        Ok(())
    }
}

impl TwoPhaseCommitSink<u64> for Flaky {
    type Transaction = XaTransaction;

    fn begin_transaction(&mut self, id: TransactionId) -> Result<XaTransaction, BoxError> {
        self.inner.begin_transaction(id)
    }

    fn invoke(&mut self, t: &mut XaTransaction, record: u64) -> Result<(), BoxError> {
        self.roll(Step::Invoke)?;
        self.inner.invoke(t, record)
    }

    fn pre_commit(&mut self, t: &mut XaTransaction) -> Result<(), BoxError> {
        self.roll(Step::PreCommit)?;
        self.inner.pre_commit(t)
    }

    fn commit(&mut self, t: &XaTransaction) -> Result<(), BoxError> {
        self.inner.commit(t)?;
        self.roll(Step::CommitAfter)
    }

    fn abort(&mut self, t: &XaTransaction) -> Result<(), BoxError> {
        self.inner.abort(t)
    }

    fn recover_and_commit(&mut self, t: &XaTransaction) -> Result<(), BoxError> {
        self.roll(Step::RecoverCommit)?;
        self.inner.recover_and_commit(t)
    }

    fn recover_and_abort(&mut self, t: &XaTransaction) -> Result<(), BoxError> {
        self.inner.recover_and_abort(t)
    }

    fn prepared_transactions(&mut self, prefix: &str) -> Result<Vec<String>, BoxError> {
        self.inner.prepared_transactions(prefix)
    }

    fn abort_prepared(&mut self, name: &str) -> Result<(), BoxError> {
        self.inner.abort_prepared(name)
    }
}

/// Fails unless `actual` and `expected` (both sorted) hold the same values as often, naming
/// how many are missing and doubled and the first few of each (not all of them).
pub fn assert_same_rows(actual: &[u64], expected: &[u64], what: &str) {
    if actual == expected {
        return;
    }
    let mut counts: BTreeMap<u64, i64> = BTreeMap::new();
    for v in expected {
        *counts.entry(*v).or_insert(0) += 1;
    }
    for v in actual {
        *counts.entry(*v).or_insert(0) -= 1;
    }
    let missing: Vec<u64> = (counts.iter())
        .filter(|(_, n)| **n > 0)
        .map(|(v, _)| *v)
        .collect();
    let extra: Vec<u64> = (counts.iter())
        .filter(|(_, n)| **n < 0)
        .map(|(v, _)| *v)
        .collect();
    panic!(
        "{what}: {} rows, {} expected; {} missing (first {:?}), {} doubled or foreign (first {:?})",
        actual.len(),
        expected.len(),
        missing.len(),
        &missing[..missing.len().min(8)],
        extra.len(),
        &extra[..extra.len().min(8)],
    );
}
