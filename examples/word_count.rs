//! The demo job: a keyed word count over a generated stream of words, printing progress while it
//! runs and the most frequent words at the end.
//!
//! `cargo run --release --example word_count -- [records]` (default 20 million).

use std::time::{Duration, Instant};
use weir::{
    BoxError, KeyedContext, KeyedProcessFunction, RuntimeContext, StreamEnvironment, ValueState,
};

const WORDS: &[&str] = &[
    "stream",
    "actor",
    "barrier",
    "checkpoint",
    "state",
    "key",
    "group",
    "credit",
    "batch",
    "sink",
    "source",
    "window",
    "restart",
    "region",
    "savepoint",
    "weir",
    "flink",
    "rust",
    "record",
    "epoch",
];

/// Counts words per key in keyed state and emits each word's running count.
#[derive(Clone, Default)]
struct CountWords {
    count: ValueState<u64>,
}

impl KeyedProcessFunction<String, String, (String, u64)> for CountWords {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, String>) -> Result<(), BoxError> {
        self.count = ctx.value_state("count")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        word: String,
        ctx: &mut KeyedContext<'_, String>,
        out: &mut Vec<(String, u64)>,
    ) -> Result<(), BoxError> {
        let n = *self.count.modify(ctx, || 0, |c| *c += 1);
        out.push((word, n));
        Ok(())
    }
}

fn main() -> Result<(), weir::Error> {
    // weir logs job start, checkpoints, restores and restarts at `info` through `tracing`.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .init();
    let records: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000_000);
    let mut env = StreamEnvironment::new();
    env.set_job_name("word count").set_parallelism(2);
    let counts = env
        .generate_sequence(1, records)
        .uid("numbers")
        .map(|i| {
            WORDS[(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 59) as usize % WORDS.len()].to_string()
        })
        .uid("to-words")
        .key_by(|w: &String| w.clone())
        .process(CountWords::default())
        .uid("count")
        // Keep the last count of each word: a small result from a large stream.
        .key_by(|(w, _): &(String, u64)| w.clone())
        .reduce(|a, b| if b.1 > a.1 { b } else { a })
        .uid("latest")
        .filter(move |(_, n)| n % 100_000 == 0)
        .collect()
        .uid("collect");

    println!("weir word count: {records} generated words, parallelism 2");
    let started = Instant::now();
    let client = env.spawn()?;
    let mut status = client.subscribe_status();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| weir::Error::Job(weir::JobError::Startup(e.to_string())))?;
    while !status.borrow().is_terminal() {
        rt.block_on(async {
            let _ = tokio::time::timeout(Duration::from_millis(500), status.changed()).await;
        });
        let counted = client
            .operator_counts()
            .into_iter()
            .find(|o| o.uid == "count")
            .map_or(0, |o| o.records_in);
        let secs = started.elapsed().as_secs_f64();
        println!(
            "  {:>5.1} s  {:>11} words counted  {:>6.1} M words/s",
            secs,
            counted,
            counted as f64 / secs / 1e6
        );
    }
    let result = client.wait_blocking()?;
    let mut last: std::collections::BTreeMap<String, u64> = Default::default();
    for (w, n) in counts.records() {
        let e = last.entry(w).or_default();
        *e = (*e).max(n);
    }
    let mut top: Vec<_> = last.into_iter().collect();
    top.sort_by_key(|w| std::cmp::Reverse(w.1));
    println!(
        "done in {:.2} s; most frequent words (to the last 100 000):",
        result.duration.as_secs_f64()
    );
    for (w, n) in top.iter().take(5) {
        println!("  {w:<12} {n}");
    }
    for op in &result.operators {
        println!(
            "  operator {:<28} in {:>11}  out {:>11}",
            op.uid, op.records_in, op.records_out
        );
    }
    Ok(())
}
