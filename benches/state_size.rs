//! Checkpoint duration and size against state size, for both state backends, in one run.
//!
//! `cargo bench --bench state_size` (key counts: `WEIR_BENCH_STATE_SIZES`, comma-separated,
//! default `10000,100000,1000000,10000000`).
//!
//! For each backend and key count N: a keyed count (parallelism 2) reads N distinct keys once,
//! then one checkpoint is triggered into a directory and timed. The hashmap backend writes a
//! full snapshot; RocksDB writes an incremental one, which as the job's first checkpoint holds
//! every file. It prints a table (total duration, longest synchronous part, bytes) and writes
//! the plot `benches/results/state_size.svg`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};
use weir::runtime::graph::task::SourceStatus;
use weir::source::{split_range, SourceReader};
use weir::{BoxError, StateBackend, StreamEnvironment};

#[path = "common/count.rs"]
mod count;
use count::Count;

/// Reads its share of `0..n` once, then stays idle (the job keeps running until cancelled).
struct KeysOnce {
    next: u64,
    end: u64,
}

impl SourceReader<u64> for KeysOnce {
    fn read(&mut self, max: usize, out: &mut Vec<u64>) -> Result<SourceStatus, BoxError> {
        if self.next >= self.end {
            return Ok(SourceStatus::Idle);
        }
        let to = self.end.min(self.next + max as u64);
        out.extend(self.next..to);
        self.next = to;
        Ok(SourceStatus::More)
    }

    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        Ok(self.next.to_le_bytes().to_vec())
    }
}

struct Point {
    backend: &'static str,
    keys: u64,
    duration_ms: f64,
    sync_ms: f64,
    bytes: u64,
}

fn measure(backend: StateBackend, keys: u64) -> Point {
    let dir = std::env::temp_dir().join(format!("weir-bench-state-size-{}", std::process::id()));
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_arbiters(2)
        .set_state_backend(backend.clone())
        // Only the triggered checkpoint runs.
        .enable_checkpointing(Duration::from_secs(24 * 3600))
        .set_checkpoint_dir(&dir);
    env.checkpoint_config_mut().incremental = true;
    env.add_source_reader("keys", move |info| {
        let (next, end) = split_range(keys, info.subtask.index, info.subtask.parallelism);
        Ok(KeysOnce { next, end })
    })
    .key_by(|x| *x)
    .process(Count::default())
    .uid("count")
    .discard();
    let client = env.spawn().expect("job starts");
    let counted = |c: &weir::JobClient| {
        c.operator_counts()
            .iter()
            .find(|o| o.uid == "count")
            .map_or(0, |o| o.records_in)
    };
    let started = Instant::now();
    while counted(&client) < keys {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the keys never arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = block_on(client.trigger_checkpoint()).expect("checkpoint completes");
    client.cancel();
    let _ = client.wait_blocking();
    let _ = std::fs::remove_dir_all(&dir);
    Point {
        backend: backend.name(),
        keys,
        duration_ms: stats.duration.as_secs_f64() * 1e3,
        sync_ms: stats
            .subtasks
            .iter()
            .map(|s| s.sync_duration.as_secs_f64() * 1e3)
            .fold(0.0, f64::max),
        bytes: stats.state_size,
    }
}

/// Runs a future to completion on a fresh current-thread runtime.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn main() {
    let sizes: Vec<u64> = std::env::var("WEIR_BENCH_STATE_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000, 10_000_000]);
    println!("one checkpoint after N keys, keyed count, parallelism 2");
    println!(
        "| backend | keys | checkpoint duration | longest synchronous part | checkpoint size |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    let mut points = Vec::new();
    for backend in [StateBackend::HashMap, StateBackend::rocksdb()] {
        for &keys in &sizes {
            let p = measure(backend.clone(), keys);
            println!(
                "| {} | {} | {:.1} ms | {:.1} ms | {:.2} MB |",
                p.backend,
                p.keys,
                p.duration_ms,
                p.sync_ms,
                p.bytes as f64 / 1e6
            );
            points.push(p);
        }
    }
    let svg = plot(&points);
    let out =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results/state_size.svg");
    match std::fs::write(&out, svg) {
        Ok(()) => println!("plot: {}", out.display()),
        Err(e) => eprintln!("cannot write {}: {e}", out.display()),
    }
}

/// A panel's title and the value it plots.
type Panel = (&'static str, fn(&Point) -> f64);

/// Two log-log panels: checkpoint duration and size against keys, one line per backend.
fn plot(points: &[Point]) -> String {
    let panels: [Panel; 2] = [
        ("checkpoint duration (ms)", |p| p.duration_ms.max(0.01)),
        ("checkpoint size (MB)", |p| {
            (p.bytes as f64 / 1e6).max(0.001)
        }),
    ];
    let (w, h, pad) = (420.0, 300.0, 55.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">"#,
        w * 2.0,
        h + 30.0
    );
    let colors = [("hashmap", "#1f77b4"), ("rocksdb", "#d62728")];
    for (i, (title, value)) in panels.iter().enumerate() {
        let x0 = i as f64 * w;
        let xs: Vec<f64> = points.iter().map(|p| (p.keys as f64).log10()).collect();
        let ys: Vec<f64> = points.iter().map(|p| value(p).log10()).collect();
        let (xmin, xmax) = bounds(&xs);
        let (ymin, ymax) = bounds(&ys);
        let sx = |x: f64| x0 + pad + (x - xmin) / (xmax - xmin) * (w - 2.0 * pad);
        let sy = |y: f64| h - pad + 20.0 - (y - ymin) / (ymax - ymin) * (h - 2.0 * pad);
        let _ = write!(
            svg,
            r#"<text x="{}" y="16" text-anchor="middle" font-size="13">{title} vs keys (log-log)</text>"#,
            x0 + w / 2.0
        );
        let _ = write!(
            svg,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="gray"/>"#,
            x0 + pad,
            pad,
            w - 2.0 * pad,
            h - 2.0 * pad
        );
        for e in xmin.ceil() as i32..=xmax.floor() as i32 {
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="middle">1e{e}</text>"#,
                sx(e as f64),
                h - pad + 35.0
            );
        }
        for e in ymin.ceil() as i32..=ymax.floor() as i32 {
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
                x0 + pad - 4.0,
                sy(e as f64) + 4.0,
                10f64.powi(e)
            );
        }
        for (c, (name, color)) in colors.iter().enumerate() {
            let line: Vec<String> = points
                .iter()
                .filter(|p| p.backend == *name)
                .map(|p| {
                    format!(
                        "{:.1},{:.1}",
                        sx((p.keys as f64).log10()),
                        sy(value(p).log10())
                    )
                })
                .collect();
            let _ = write!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                line.join(" ")
            );
            for pt in &line {
                let (x, y) = pt.split_once(',').unwrap_or(("0", "0"));
                let _ = write!(svg, r#"<circle cx="{x}" cy="{y}" r="3" fill="{color}"/>"#);
            }
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" fill="{color}">{name}</text>"#,
                x0 + pad + 8.0,
                pad + 14.0 + 14.0 * c as f64
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// The range of `values`, widened to whole decades.
fn bounds(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (min, max) = (min.floor(), max.ceil());
    if max > min {
        (min, max)
    } else {
        (min - 1.0, max + 1.0)
    }
}
