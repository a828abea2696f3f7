//! Serves weir's metrics to Prometheus while a checkpointed job runs, through the
//! `metrics-exporter-prometheus` crate with only its HTTP listener.
//!
//! `cargo run --release --example prometheus -- [address]` (default `127.0.0.1:9184`), then
//! `curl http://127.0.0.1:9184/metrics`; Ctrl-C cancels the job. In a project of your own:
//!
//! ```toml
//! metrics-exporter-prometheus = { version = "0.18", default-features = false, features = ["http-listener"] }
//! ```
//!
//! The metric names and labels are listed in the README and in `weir::runtime::metrics`.

use metrics_exporter_prometheus::PrometheusBuilder;
use std::net::SocketAddr;
use std::time::Duration;
use weir::prelude::*;

fn main() -> Result<(), BoxError> {
    let address: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9184".to_string())
        .parse()?;
    serve_metrics(address)?;
    println!("serving metrics at http://{address}/metrics; Ctrl-C cancels the job");
    let client = job(u64::MAX - 1).spawn()?;
    client.cancel_on_ctrl_c()?;
    match client.wait_blocking() {
        Ok(_) | Err(JobError::Cancelled) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Installs the Prometheus recorder, serving `/metrics` at `address` from a thread of its own.
/// Call it before the job starts: weir's counters are registered when its subtasks start.
pub fn serve_metrics(address: SocketAddr) -> Result<(), BoxError> {
    PrometheusBuilder::new()
        .with_http_listener(address)
        .install()?;
    Ok(())
}

/// A keyed running sum over `count` numbers, checkpointed every second.
pub fn job(count: u64) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_job_name("prometheus example")
        .set_parallelism(2)
        .enable_checkpointing(Duration::from_secs(1));
    env.generate_sequence(0, count - 1)
        .uid("numbers")
        .key_by(|x| x % 1_000)
        .reduce(|a, b| a + b)
        .uid("sums")
        .discard()
        .uid("sink");
    env
}
