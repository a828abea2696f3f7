//! The metrics weir exports through the `metrics` crate: every documented name, with the
//! documented labels, and the same figures the job's client reports.

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::prelude::*;
use weir::runtime::metrics as names;
use weir::{Fault, FaultInjector, Target};

/// A metric's name and its labels, sorted.
type Id = (String, Vec<(String, String)>);

/// Keeps every counter's and gauge's current value (a gauge's as its f64 bits).
#[derive(Default)]
struct Recording {
    values: Mutex<BTreeMap<Id, Arc<AtomicU64>>>,
}

struct Cell(Arc<AtomicU64>);

impl metrics::CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

impl metrics::GaugeFn for Cell {
    fn increment(&self, value: f64) {
        self.set(f64::from_bits(self.0.load(Ordering::Relaxed)) + value);
    }
    fn decrement(&self, value: f64) {
        self.increment(-value);
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

impl Recording {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let mut labels: Vec<(String, String)> = key
            .labels()
            .map(|l| (l.key().to_string(), l.value().to_string()))
            .collect();
        labels.sort();
        let id = (key.name().to_string(), labels);
        let mut values = self.values.lock().expect("lock");
        Arc::new(Cell(values.entry(id).or_default().clone()))
    }

    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.sort();
        let values = self.values.lock().expect("lock");
        let value = values.get(&(name.to_string(), labels))?;
        Some(value.load(Ordering::Relaxed))
    }

    fn ids(&self) -> Vec<Id> {
        self.values.lock().expect("lock").keys().cloned().collect()
    }
}

impl Recorder for Recording {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// A job with two chains, a failed checkpoint and the restart it causes, then a completed one.
fn job() -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_secs(3600))
        .set_restart_strategy(RestartStrategyConfig::FixedDelay {
            attempts: 1,
            delay: Duration::ZERO,
        })
        // The job's first checkpoint (taken when its sources are exhausted) fails, which
        // fails the job over (no tolerable checkpoint failures by default).
        .set_fault_injector(FaultInjector::new().with(Fault::FailInSnapshot {
            target: Target::first_attempt("plus-one", 0),
            checkpoint: 1,
        }));
    env.generate_sequence(1, 1_000)
        .uid("numbers")
        .map(|x| x * 2)
        .uid("double")
        .key_by(|x| x % 10)
        .map(|x| x + 1)
        .uid("plus-one")
        .discard()
        .uid("sink");
    env
}

#[test]
fn every_metric_has_its_documented_name_and_labels_and_the_clients_figures() {
    let recording = Arc::new(Recording::default());
    metrics::set_global_recorder(Arc::clone(&recording))
        .unwrap_or_else(|_| panic!("no other recorder in this test binary"));

    let client = job().spawn().expect("job starts");
    let mut status = client.subscribe_status();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(120),
            status.wait_for(|s| s.is_terminal()),
        )
        .await
        .expect("the job hangs")
        .map(|_| ())
    })
    .expect("status");
    let operators = client.operator_metrics();
    let subtasks = client.subtask_metrics();
    let result = client
        .wait_blocking()
        .expect("the job finishes after its restart");
    assert_eq!(result.restarts.len(), 1);

    // Operator level: `operator`, `uid`, `subtask`; the client's counts.
    assert_eq!(
        operators.len(),
        8,
        "4 operators × 2 subtasks: {operators:?}"
    );
    for o in &operators {
        let subtask = o.subtask.to_string();
        let labels = [
            ("operator", o.name.as_str()),
            ("uid", o.uid.as_str()),
            ("subtask", subtask.as_str()),
        ];
        assert_eq!(
            recording.get(names::RECORDS_IN, &labels),
            Some(o.records_in)
        );
        assert_eq!(
            recording.get(names::RECORDS_OUT, &labels),
            Some(o.records_out)
        );
    }
    // Task level: `task` (the chain's name) and `subtask`.
    assert_eq!(subtasks.len(), 4, "2 chains × 2 subtasks: {subtasks:?}");
    for t in &subtasks {
        let subtask = t.subtask.to_string();
        let labels = [("task", t.task.as_str()), ("subtask", subtask.as_str())];
        assert_eq!(
            recording.get(names::BATCHES_IN, &labels),
            Some(t.batches_in)
        );
        assert_eq!(
            recording.get(names::BATCHES_OUT, &labels),
            Some(t.batches_out)
        );
        assert_eq!(
            recording.get(names::BACKPRESSURED_MS, &labels),
            Some(t.backpressured_ns / 1_000_000)
        );
    }
    let uids = |name: &str| -> Vec<String> {
        let ids = recording.ids();
        let mut uids: Vec<String> = ids
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, labels)| labels.iter().filter(|(k, _)| k == "uid"))
            .map(|(_, v)| v.clone())
            .collect();
        uids.sort();
        uids.dedup();
        uids
    };
    assert_eq!(
        uids(names::RECORDS_IN),
        ["double", "numbers", "plus-one", "sink"]
    );
    assert!(
        uids(names::BATCHES_IN).is_empty(),
        "no uid label at task level"
    );

    // Job level: no labels.
    let count = |name: &str| recording.get(name, &[]);
    assert_eq!(count(names::CHECKPOINTS_FAILED), Some(1));
    assert!(count(names::CHECKPOINTS_COMPLETED) >= Some(1));
    assert_eq!(count(names::RESTARTS), Some(1));
    for gauge in [
        names::LAST_CHECKPOINT_DURATION_MS,
        names::LAST_CHECKPOINT_SIZE_BYTES,
        names::LAST_CHECKPOINT_ALIGNMENT_MS,
        names::DOWNTIME_MS,
    ] {
        assert!(count(gauge).is_some(), "{gauge} is exported");
    }

    // Nothing else, and every documented name was seen (but the two-phase-commit sinks',
    // which this job has none of; tests/two_phase_commit.rs counts their figures).
    let mut seen: Vec<String> = recording.ids().into_iter().map(|(n, _)| n).collect();
    seen.sort();
    seen.dedup();
    let mut documented: Vec<String> = (names::ALL.iter())
        .filter(|n| !n.starts_with("weir_sink_"))
        .map(|n| n.to_string())
        .collect();
    documented.sort();
    assert_eq!(seen, documented);
}
