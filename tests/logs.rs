//! The log lines a user sees through any `tracing` subscriber: one `info` line each for a job's
//! start, a restore, a restart and a completed checkpoint. A subscriber of this file's own
//! captures what every thread logs (this binary installs it as the global one).

mod common;

use common::supervised::run_with_fault;
use std::sync::{Arc, Mutex, OnceLock};
use weir::{Fault, Target};

/// Every event at `info` or above, as `LEVEL message field=value…`, from every thread.
struct Capture(Mutex<Vec<String>>);

struct Line(String);

impl tracing::field::Visit for Line {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.0.push_str(&format!(" {value:?}")),
            name => self.0.push_str(&format!(" {name}={value:?}")),
        }
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::INFO
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = Line(event.metadata().level().to_string());
        event.record(&mut line);
        self.0.lock().expect("lock").push(line.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The lines logged so far that mention job `name`.
fn logged(name: &str) -> Vec<String> {
    static CAPTURE: OnceLock<Arc<Capture>> = OnceLock::new();
    let capture = CAPTURE.get_or_init(|| {
        let capture = Arc::new(Capture(Mutex::new(Vec::new())));
        let dispatch = tracing::Dispatch::from(capture.clone());
        tracing::dispatcher::set_global_default(dispatch).expect("the only subscriber");
        capture
    });
    let lines = capture.0.lock().expect("lock");
    lines.iter().filter(|l| l.contains(name)).cloned().collect()
}

#[test]
fn job_start_restore_and_restart_are_one_info_line_each() {
    let _ = logged("");
    let fault = Fault::FailAtRecord {
        target: Target::first_attempt("max", 1),
        record: 20_000,
    };
    let (result, _) = run_with_fault(16, 60_000, 3, fault, |env| {
        env.set_job_name("logged-restart");
    });
    let result = result.expect("finishes after one restart");
    let restored = result.restarts[0].restored_from.expect("a checkpoint");
    let lines = logged("logged-restart");
    let with = |words: &[&str]| -> Vec<&String> {
        (lines.iter())
            .filter(|l| l.starts_with("INFO") && words.iter().all(|w| l.contains(w)))
            .collect()
    };
    assert_eq!(
        with(&["job logged-restart starts", "from the beginning"]).len(),
        1,
        "{lines:#?}"
    );
    let restart = with(&["restart 1 of", "record 20000", "1s"]);
    assert_eq!(restart.len(), 1, "{lines:#?}");
    let completed = format!("checkpoint {restored} complete:");
    let completed = logged(&completed);
    assert_eq!(completed.len(), 1, "{completed:#?}");
    assert!(completed[0].starts_with("INFO"), "{}", completed[0]);
    let restore = with(&["restore:", &format!("from checkpoint {restored}")]);
    assert_eq!(restore.len(), 1, "{lines:#?}");
    assert!(
        restore[0].contains("still running: []"),
        "full restart of one region: {}",
        restore[0]
    );
}
