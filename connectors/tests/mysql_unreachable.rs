//! The server unreachable at commit: the commit is retried, then the subtask fails over, and
//! the restore commits the transaction once the server is back; nothing lost or doubled.
#![cfg(feature = "mysql")]

#[path = "common/mysql.rs"]
mod mysql_common;
#[path = "common/mysql_proxy.rs"]
mod mysql_proxy;

use mysql_common::Table;
use mysql_proxy::Proxy;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::sink::two_phase_commit::{TransactionId, TwoPhaseCommitSink};
use weir::BoxError;
use weir_connectors::mysql::{MySqlXaSink, XaTransaction};

/// Cuts the proxy at the first commit of a transaction with rows; counts the commits tried
/// while it is down.
struct CutAtCommit {
    inner: MySqlXaSink<u64>,
    proxy: Arc<Proxy>,
    cut: Arc<AtomicBool>,
    tried_down: Arc<AtomicU64>,
}

impl TwoPhaseCommitSink<u64> for CutAtCommit {
    type Transaction = XaTransaction;

    fn begin_transaction(&mut self, id: TransactionId) -> Result<XaTransaction, BoxError> {
        self.inner.begin_transaction(id)
    }

    fn invoke(&mut self, t: &mut XaTransaction, record: u64) -> Result<(), BoxError> {
        self.inner.invoke(t, record)
    }

    fn pre_commit(&mut self, t: &mut XaTransaction) -> Result<(), BoxError> {
        self.inner.pre_commit(t)
    }

    fn commit(&mut self, t: &XaTransaction) -> Result<(), BoxError> {
        if t.rows > 0 && !self.cut.swap(true, Ordering::SeqCst) {
            self.proxy.cut();
        }
        if self.proxy.is_down() {
            self.tried_down.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.commit(t)
    }

    fn abort(&mut self, t: &XaTransaction) -> Result<(), BoxError> {
        self.inner.abort(t)
    }

    fn recover_and_commit(&mut self, t: &XaTransaction) -> Result<(), BoxError> {
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

#[test]
fn the_server_unreachable_at_commit_is_retried_then_failed_over_and_nothing_is_lost() {
    const RECORDS: u64 = 20_000;
    mysql_common::connect();
    let url = weir_connectors::env::mysql_url();
    let opts = mysql::Opts::from_url(&url).expect("a MariaDB URL");
    let upstream = format!("{}:{}", opts.get_ip_or_hostname(), opts.get_tcp_port());
    let proxy = Arc::new(Proxy::start(upstream));
    let table = Table::new("xa_unreachable", false);
    let job = format!("xa-unreachable-{}", std::process::id());
    let mut env = mysql_common::env(&job, Duration::from_millis(50));
    // One subtask: no other subtask's write fails over the job before the commit's retries ran.
    env.set_parallelism(1);
    let builder = MySqlXaSink::builder(&table.name, table.insert())
        .url(proxy.url(&url))
        .batch_size(64);
    let cut = Arc::new(AtomicBool::new(false));
    let tried_down = Arc::new(AtomicU64::new(0));
    let (p, c, t) = (proxy.clone(), cut.clone(), tried_down.clone());
    let config = mysql_common::config().with_commit_attempts(3);
    mysql_common::counts(&env, RECORDS)
        .sink_to_two_phase_commit(config, move |info| {
            if info.subtask.attempt > 0 {
                // The server is back for the restarted subtasks.
                p.restore();
            }
            Ok(CutAtCommit {
                inner: builder.build()?,
                proxy: p.clone(),
                cut: c.clone(),
                tried_down: t.clone(),
            })
        })
        .uid("sink");
    let result = env.execute().expect("the job recovers");
    eprintln!(
        "tried while down: {}, down: {}, restarts: {:?}, rows {}",
        tried_down.load(Ordering::SeqCst),
        proxy.is_down(),
        result
            .restarts
            .iter()
            .map(|r| r.cause.to_string())
            .collect::<Vec<_>>(),
        table.values().len()
    );
    assert!(cut.load(Ordering::SeqCst), "the proxy was never cut");
    assert!(
        tried_down.load(Ordering::SeqCst) >= 3,
        "the commit was not retried: {} attempts while down",
        tried_down.load(Ordering::SeqCst)
    );
    assert!(!result.restarts.is_empty(), "no failover");
    mysql_common::assert_same_rows(
        &table.values(),
        &mysql_common::expected_counts(RECORDS),
        "after the failover",
    );
    assert!(mysql_common::prepared_of(&job).is_empty(), "prepared left");
}
