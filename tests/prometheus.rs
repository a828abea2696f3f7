//! `examples/prometheus.rs`: its exporter serves weir's metrics over HTTP; one scrape after a
//! checkpointed job finds the checkpoint counter and the record counters with their labels.

#[path = "../examples/prometheus.rs"]
#[allow(dead_code)]
mod example;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

/// A port nobody listens on right now.
fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// One `GET /metrics`, returning the response's body.
fn scrape(address: SocketAddr) -> String {
    let mut stream = TcpStream::connect(address).expect("the exporter listens");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

#[test]
fn the_example_serves_the_checkpoint_and_record_counters_to_prometheus() {
    let address = free_address();
    example::serve_metrics(address).expect("the exporter starts");
    let result = example::job(10_000).execute().expect("the job runs");
    assert_eq!(result.operator("sums").map(|o| o.records_in), Some(10_000));

    let body = scrape(address);
    // A bounded job ends with a final checkpoint.
    let completed = body
        .lines()
        .find_map(|l| l.strip_prefix("weir_checkpoints_completed_total "))
        .unwrap_or_else(|| panic!("no checkpoint counter in:\n{body}"));
    assert!(
        completed.trim().parse::<u64>().expect("a count") >= 1,
        "{completed}"
    );
    let records_in = |uid: &str| -> u64 {
        body.lines()
            .filter(|l| l.starts_with("weir_records_in_total{"))
            .filter(|l| l.contains(&format!("uid=\"{uid}\"")))
            .map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<u64>().ok()))
            .map(|v| v.expect("a count"))
            .sum()
    };
    assert_eq!(records_in("sums"), 10_000, "{body}");
    assert!(body.contains("weir_batches_in_total{task=\""), "{body}");
}
