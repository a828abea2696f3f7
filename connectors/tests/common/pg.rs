//! Helpers of the PostgreSQL sink tests: a connection that fails with how to start the server,
//! tables named uniquely per run and dropped at the end, the keyed job every test runs, and
//! sink wrappers that fail on purpose from a seed.

#![allow(dead_code)]

use postgres::{Client, NoTls};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::sink::two_phase_commit::{TransactionId, TwoPhaseCommitConfig};
use weir::{RestartStrategyConfig, StreamEnvironment};
use weir_connectors::postgres::{Params, PostgresSinkBuilder};

/// Records of the keyed job.
pub const RECORDS: u64 = 6_000;
/// Keys of the keyed job.
pub const KEYS: u64 = 13;

/// A connection to `WEIR_PG_URL`; panics, saying how to start the server, when it is down.
pub fn client() -> Client {
    let url = weir_connectors::env::postgres_url();
    Client::connect(&url, NoTls).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL at {url} (WEIR_PG_URL) is down: {e}. Start it with \
             `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
             (or .ci/services), and make sure max_prepared_transactions > 0 (.ci/services raises it)"
        )
    })
}

/// The number of seeds of a sweep: `WEIR_PG_SEEDS`, else `default`.
pub fn seeds(default: u64) -> u64 {
    match std::env::var("WEIR_PG_SEEDS") {
        Err(_) => default,
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => panic!("WEIR_PG_SEEDS={v:?}: a sweep needs a positive number of seeds"),
        },
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A table `(k bigint, v bigint)` (with `k` its primary key if `keyed`) named uniquely per
/// process and call, dropped (with its marker table) when this is dropped.
pub struct Table {
    /// Its name.
    pub name: String,
    /// A marker table name of its own, for the write-ahead sink.
    pub markers: String,
}

impl Table {
    /// Creates it.
    pub fn create(kind: &str, keyed: bool) -> Table {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("weir_{kind}_{}_{n}", std::process::id());
        let key = if keyed { " PRIMARY KEY" } else { "" };
        client()
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {name}; CREATE TABLE {name} (k bigint{key}, v bigint NOT NULL)"
            ))
            .expect("create the test table");
        Table {
            markers: format!("{name}_markers"),
            name,
        }
    }

    /// Its rows, sorted.
    pub fn rows(&self) -> Vec<(i64, i64)> {
        let mut c = client();
        let rows = c
            .query(
                &format!("SELECT k, v FROM {} ORDER BY k, v", self.name),
                &[],
            )
            .expect("read the test table");
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    }

    /// Empties it.
    pub fn truncate(&self) {
        client()
            .batch_execute(&format!("TRUNCATE {}", self.name))
            .expect("truncate");
    }

    /// A builder of sinks into it, writing `(k, v)` from a record `v` of the keyed job.
    pub fn builder(&self, upsert: bool) -> PostgresSinkBuilder<u64> {
        let suffix = if upsert {
            " ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
        } else {
            ""
        };
        let sql = format!("INSERT INTO {} (k, v) VALUES ($1, $2){suffix}", self.name);
        PostgresSinkBuilder::new(&self.name, &sql, |r: &u64| -> Params {
            vec![Box::new((r % 1_000_000) as i64), Box::new(*r as i64)]
        })
        .expect("a valid statement")
        .batch_size(100)
        .marker_table(&self.markers)
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&weir_connectors::env::postgres_url(), NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {}",
                self.name, self.markers
            ));
        }
    }
}

/// The names in `pg_prepared_xacts` that start with a prefix of sink "sink" of job `job`
/// (subtasks 0..4).
pub fn prepared_of(job: &str) -> Vec<String> {
    let prefixes: Vec<String> = (0..4)
        .map(|s| TransactionId::subtask_prefix(job, "sink", s))
        .collect();
    let rows = client()
        .query("SELECT gid FROM pg_prepared_xacts", &[])
        .expect("read pg_prepared_xacts");
    rows.iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|g| prefixes.iter().any(|p| g.starts_with(p)))
        .collect()
}

/// An environment of job `job` on real time (a real database's latency must not let a virtual
/// clock expire checkpoints): parallelism 2, batches of 32, checkpoints every 50 ms, fixed-delay
/// restarts. `_seed` names the run; the faults are seeded by the caller.
pub fn env(job: &str, _seed: u64) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_batch_size(32)
        .enable_checkpointing(Duration::from_millis(50))
        .set_restart_strategy(RestartStrategyConfig::FixedDelay {
            attempts: 1_000,
            delay: Duration::from_millis(10),
        });
    env.set_job_id(job);
    env
}

/// Commits tried twice, 1 ms apart.
pub fn config() -> TwoPhaseCommitConfig {
    TwoPhaseCommitConfig::default()
        .with_commit_attempts(2)
        .with_retry_backoff(Duration::from_millis(1))
}

/// The keyed job's rows: key `k` gets `k + j * 1_000_000` for `j` in `0..count(k)` (a running
/// count per key).
pub fn expected_rows() -> Vec<(i64, i64)> {
    expected_rows_of(RECORDS)
}

/// [`expected_rows`] of a job over `records` records.
pub fn expected_rows_of(records: u64) -> Vec<(i64, i64)> {
    let mut rows = Vec::new();
    for k in 0..KEYS {
        let count = (records - k).div_ceil(KEYS);
        rows.extend((0..count).map(|j| (k as i64, (k + j * 1_000_000) as i64)));
    }
    rows.sort_unstable();
    rows
}

/// The upsert job's table: each key's last running count.
pub fn expected_by_key() -> Vec<(i64, i64)> {
    let mut last = BTreeMap::new();
    for (k, v) in expected_rows() {
        last.insert(k, v);
    }
    last.into_iter().collect()
}

/// Where a wrapper fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Before writing records.
    Invoke,
    /// Before preparing at a barrier.
    PreCommit,
    /// Before committing (the target is untouched).
    Commit,
    /// After committing (the answer is "lost").
    AfterCommit,
    /// Before a restore's commit.
    RecoverCommit,
}

/// A seeded chance of failure, counting what fired.
#[derive(Clone)]
pub struct Chance {
    /// The generator's state.
    pub rng: u64,
    /// The chance per call in 1/1000.
    pub per_mille: u64,
    /// Failures fired, by step (shared by every wrapper of a run).
    pub fired: Arc<Mutex<BTreeMap<Step, u64>>>,
}

impl Chance {
    /// A chance drawn from `seed` and the subtask's index and attempt.
    pub fn new(
        seed: u64,
        info: &weir::OperatorInfo,
        per_mille: u64,
        fired: &Arc<Mutex<BTreeMap<Step, u64>>>,
    ) -> Chance {
        let s = &info.subtask;
        Chance {
            rng: (seed << 20) ^ ((s.attempt as u64) << 8) ^ (s.index as u64 + 1) | 1,
            per_mille,
            fired: fired.clone(),
        }
    }

    /// Fails at `step` if the draw says so.
    pub fn fails(&mut self, step: Step) -> Result<(), weir::BoxError> {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        if self.rng % 1000 < self.per_mille {
            *self.fired.lock().expect("fired").entry(step).or_default() += 1;
            return Err(format!("injected failure at {step:?}").into());
        }
        Ok(())
    }
}
