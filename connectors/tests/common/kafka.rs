//! What the Kafka tests share: the broker (a test fails with how to start it when it is down),
//! a topic of its own per test run (deleted afterwards), producing and reading records with
//! plain rskafka, a broker of the test's own behind a proxy it can cut, and polling with a
//! deadline.
#![allow(dead_code)]

#[path = "tcp_proxy.rs"]
mod tcp_proxy;

use rskafka::client::partition::{Compression, OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
pub use tcp_proxy::TcpProxy as Proxy;
use weir::{RestartStrategyConfig, StreamEnvironment};

/// A record to produce: its key and value.
pub type KeyValue = (Option<Vec<u8>>, Vec<u8>);

/// How to start the shared broker, for failure messages.
pub const START: &str = "start it with `.ci/services` (or `~/.cache/weir/tools/bin/nisshi \
     --listener-url tcp://127.0.0.1:9092 --advertised-listener-url \
     tcp://127.0.0.1:9092 --storage-engine memory://nisshi/`)";

/// Runs `f` on a runtime of a thread of its own (works inside or outside a runtime).
pub fn block_on<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    })
    .join()
    .expect("the runtime's thread")
}

/// The shared broker's bootstrap servers (`WEIR_KAFKA_URL`); panics with how to start it when
/// nothing listens there.
pub fn broker() -> String {
    let url = weir_connectors::env::kafka_url();
    let first = url.split(',').next().unwrap_or_default().to_string();
    if let Err(e) = TcpStream::connect(&first) {
        panic!("no Kafka broker at {url} (WEIR_KAFKA_URL): {e}; {START}");
    }
    url
}

/// A client of the brokers at `url`.
pub async fn client(url: String) -> Client {
    ClientBuilder::new(url.split(',').map(String::from).collect())
        .build()
        .await
        .unwrap_or_else(|e| panic!("no Kafka broker at {url}: {e}; {START}"))
}

/// A number of tests: the env var `var`, else `default`.
pub fn seed_count(var: &str, default: u64) -> u64 {
    match std::env::var(var) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{var}: a number")),
        Err(_) => default,
    }
}

/// A name unique to this process and call: `weir-{tag}-{pid}-{n}-{nanos}`.
pub fn unique(tag: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "weir-{tag}-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A topic of this test run, deleted when the guard goes.
pub struct Topic {
    /// Its name.
    pub name: String,
    /// The brokers it is on.
    pub url: String,
}

impl Topic {
    /// A new topic named after `tag` with `partitions` partitions on the shared broker.
    pub fn new(tag: &str, partitions: i32) -> Topic {
        Topic::on(&broker(), tag, partitions)
    }

    /// A new topic on the brokers at `url`.
    pub fn on(url: &str, tag: &str, partitions: i32) -> Topic {
        let topic = Topic {
            name: unique(tag),
            url: url.to_string(),
        };
        topic.create(partitions);
        topic
    }

    /// Creates the topic (again, after [`Topic::delete`]).
    pub fn create(&self, partitions: i32) {
        let (url, name) = (self.url.clone(), self.name.clone());
        block_on(async move {
            let c = client(url).await;
            let controller = c.controller_client().expect("controller");
            controller
                .create_topic(name.as_str(), partitions, 1, 5_000)
                .await
                .unwrap_or_else(|e| panic!("create topic {name}: {e}"));
            // Poll until the metadata shows every partition.
            let start = Instant::now();
            loop {
                let listed = c.list_topics().await.is_ok_and(|t| {
                    t.iter()
                        .any(|t| t.name == name && t.partitions.len() == partitions as usize)
                });
                if listed {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "topic {name} not listed"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    }

    /// Deletes the topic.
    pub fn delete(&self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        block_on(async move {
            let c = client(url).await;
            let _ = c
                .controller_client()
                .expect("controller")
                .delete_topic(name, 5_000)
                .await;
        })
    }

    /// Produces `values` to `partition`, as records with key `key(i)` and value `values[i]`;
    /// returns their offsets.
    pub fn produce(&self, partition: i32, records: Vec<KeyValue>) -> Vec<i64> {
        self.produce_in_batches(partition, records, 500)
    }

    /// [`Topic::produce`] in batches of `batch` records (a fetch returns whole batches).
    pub fn produce_in_batches(
        &self,
        partition: i32,
        records: Vec<KeyValue>,
        batch: usize,
    ) -> Vec<i64> {
        let (url, name) = (self.url.clone(), self.name.clone());
        block_on(async move {
            let p = partition_client(&url, &name, partition).await;
            let mut offsets = Vec::new();
            for chunk in records.chunks(batch.max(1)) {
                let batch = chunk
                    .iter()
                    .map(|(k, v)| Record {
                        key: k.clone(),
                        value: Some(v.clone()),
                        headers: BTreeMap::new(),
                        timestamp: rskafka::chrono::DateTime::from_timestamp_millis(
                            1_700_000_000_000,
                        )
                        .expect("a time"),
                    })
                    .collect();
                offsets.extend(
                    p.produce(batch, Compression::NoCompression)
                        .await
                        .expect("produce"),
                );
            }
            offsets
        })
    }

    /// Every record of `partition` from `from` to its end, as `(offset, key, value)`.
    pub fn read(&self, partition: i32, from: i64) -> Vec<(i64, Option<Vec<u8>>, Vec<u8>)> {
        let (url, name) = (self.url.clone(), self.name.clone());
        block_on(async move {
            let p = partition_client(&url, &name, partition).await;
            let end = p.get_offset(OffsetAt::Latest).await.expect("latest offset");
            let mut out = Vec::new();
            let mut offset = from;
            while offset < end {
                let (records, _) = p
                    .fetch_records(offset, 1..1_000_000, 100)
                    .await
                    .expect("fetch");
                for r in records {
                    offset = r.offset + 1;
                    out.push((r.offset, r.record.key, r.record.value.unwrap_or_default()));
                }
            }
            out
        })
    }
}

impl Drop for Topic {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async move {
                    let built = ClientBuilder::new(vec![url]).build();
                    if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(5), built).await {
                        if let Ok(controller) = c.controller_client() {
                            let _ = controller.delete_topic(name, 5_000).await;
                        }
                    }
                });
            }
        })
        .join();
    }
}

/// The client of `topic`'s `partition` at `url`.
pub async fn partition_client(url: &str, topic: &str, partition: i32) -> PartitionClient {
    client(url.to_string())
        .await
        .partition_client(topic, partition, UnknownTopicHandling::Retry)
        .await
        .unwrap_or_else(|e| panic!("partition {topic}-{partition}: {e}"))
}

/// Polls `done` every 10 ms until it holds; panics naming `what` after `deadline`.
pub fn poll(deadline: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A free port of 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A broker of the test's own (the nisshi binary), listening on one port and advertising
/// another, where a [`Proxy`] stands: every connection a client makes, the bootstrap one and
/// those to the partition leader, then goes through the proxy. Killed when dropped.
pub struct OwnBroker {
    child: Child,
    /// Where the broker itself listens.
    pub port: u16,
    /// The proxy in front of it, on the advertised port.
    pub proxy: Proxy,
}

impl OwnBroker {
    /// Starts the broker and its proxy; panics with how to install nisshi when it is missing.
    pub fn start() -> OwnBroker {
        let tools = std::env::var("WEIR_TOOLS").unwrap_or_else(|_| {
            format!(
                "{}/.cache/weir/tools",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let binary = format!("{tools}/bin/nisshi");
        let port = free_port();
        let proxy = Proxy::start(format!("127.0.0.1:{port}"));
        let child = Command::new(&binary)
            .args(["--listener-url", &format!("tcp://127.0.0.1:{port}")])
            .args([
                "--advertised-listener-url",
                &format!("tcp://127.0.0.1:{}", proxy.port),
            ])
            .args(["--storage-engine", "memory://nisshi/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {binary}: {e}; install it with `cargo install nisshi@0.6.0 \
                     --locked --no-default-features --features dynostore --root {tools}` \
                     (.ci/services does)"
                )
            });
        let broker = OwnBroker { child, port, proxy };
        poll(
            Duration::from_secs(20),
            "the test's own broker to listen",
            || TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        broker
    }

    /// The bootstrap URL, through the proxy.
    pub fn url(&self) -> String {
        format!("127.0.0.1:{}", self.proxy.port)
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Some CPU work for a record (`rounds` of a few nanoseconds), so that a job spans several
/// checkpoints; returns something the compiler cannot drop.
pub fn work(seed: u64, rounds: u64) -> u64 {
    let mut h = seed;
    for i in 0..rounds {
        h = std::hint::black_box(h.rotate_left(7) ^ i);
    }
    h
}

/// A real-time environment of parallelism 2, batches of `batch_size`, job id `job`,
/// checkpoints every 10 ms, restarting 5 ms after a failure up to 1000 times.
pub fn env(job: &str, batch_size: usize) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_batch_size(batch_size)
        .set_job_id(job)
        .enable_checkpointing(Duration::from_millis(10))
        .set_restart_strategy(RestartStrategyConfig::FixedDelay {
            attempts: 1_000,
            delay: Duration::from_millis(5),
        });
    env
}
