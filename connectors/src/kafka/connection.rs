//! How the Kafka source and sink reach the brokers: the bootstrap servers, the retry policy
//! for an unreachable broker, and a way to run the async client from plain code.

use rskafka::client::{Client, ClientBuilder};
use rskafka::BackoffConfig;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long a source or sink keeps trying when the brokers cannot be reached (or a request
/// keeps failing in a way a retry may cure): at most `attempts` tries, waiting `initial_backoff`
/// then twice as long each time up to `max_backoff`, and never longer than `max_duration` in
/// all. Each failed try is logged at `warn`; when they are used up the operation fails with a
/// typed `Unreachable` error (the job then fails over as its restart strategy says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many tries at most (at least 1).
    pub attempts: u32,
    /// The wait after the first failed try.
    pub initial_backoff: Duration,
    /// The longest wait between two tries.
    pub max_backoff: Duration,
    /// The longest time all tries of one operation may take.
    pub max_duration: Duration,
}

impl Default for RetryPolicy {
    /// 10 tries from 100 ms up to 5 s apart, 30 s in all.
    fn default() -> Self {
        RetryPolicy {
            attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_duration: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed try number `attempt` (counting from 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// The client's own retries inside one try: bounded by the time left, so a try never
    /// outlives the policy.
    fn client_backoff(&self) -> BackoffConfig {
        BackoffConfig {
            init_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
            base: 2.0,
            deadline: Some(self.max_duration),
        }
    }
}

/// The last failure of an operation retried by [`Connection::retry`] once its tries or time
/// were used up.
#[derive(Debug, Clone)]
pub(crate) struct Exhausted {
    pub(crate) attempts: u32,
    pub(crate) waited: Duration,
    pub(crate) message: String,
}

/// What a failed try says about retrying.
pub(crate) enum TryError<E> {
    /// Worth another try (the broker unreachable, a leader moving).
    Retry(String),
    /// Not worth one: give up with this.
    Fatal(E),
}

/// How a retried operation failed.
pub(crate) enum RetryError<E> {
    /// Every try failed in a way worth retrying.
    Exhausted(Exhausted),
    /// A try failed for good.
    Fatal(E),
}

/// The bootstrap servers and the retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Connection {
    pub(crate) bootstrap: Vec<String>,
    pub(crate) retry: RetryPolicy,
}

impl Connection {
    /// `servers`: comma-separated `host:port`s.
    pub(crate) fn new(servers: &str) -> Connection {
        Connection {
            bootstrap: servers
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            retry: RetryPolicy::default(),
        }
    }

    /// The servers, comma-separated, for messages.
    pub(crate) fn brokers(&self) -> String {
        self.bootstrap.join(",")
    }

    /// A client connected to the cluster, retried as the policy says.
    pub(crate) async fn client(&self, client_id: &str) -> Result<Client, Exhausted> {
        let connected = self
            .retry("connect", || async {
                ClientBuilder::new(self.bootstrap.clone())
                    .client_id(client_id.to_string())
                    .backoff_config(self.retry.client_backoff())
                    .build()
                    .await
                    .map_err(|e| TryError::<std::convert::Infallible>::Retry(e.to_string()))
            })
            .await;
        match connected {
            Ok(client) => Ok(client),
            Err(RetryError::Exhausted(e)) => Err(e),
            Err(RetryError::Fatal(never)) => match never {},
        }
    }

    /// Runs `op` until it succeeds, fails fatally, or the policy's tries or time are used up;
    /// each retried failure is logged at `warn` naming `what`.
    pub(crate) async fn retry<T, E, F, Fut>(&self, what: &str, op: F) -> Result<T, RetryError<E>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, TryError<E>>>,
    {
        let started = Instant::now();
        let attempts = self.retry.attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let left = self.retry.max_duration.saturating_sub(started.elapsed());
            let limit = left.max(Duration::from_millis(1));
            let message = match tokio::time::timeout(limit, op()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(TryError::Fatal(e))) => return Err(RetryError::Fatal(e)),
                Ok(Err(TryError::Retry(message))) => message,
                Err(_) => format!("no answer within {limit:?}"),
            };
            let wait = self.retry.backoff(attempt);
            let waited = started.elapsed();
            if attempt >= attempts || waited + wait > self.retry.max_duration {
                return Err(RetryError::Exhausted(Exhausted {
                    attempts: attempt,
                    waited,
                    message,
                }));
            }
            tracing::warn!(
                brokers = %self.brokers(),
                "Kafka: {what} failed (try {attempt} of {attempts}), trying again in {wait:?}: {message}"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// Runs `future` to completion on a fresh single-threaded runtime on a thread of its own, so
/// that it works whether or not the caller is inside an async runtime (a subtask is).
pub(crate) fn run_blocking<T, F>(name: &str, future: F) -> Result<T, String>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let thread = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot build a runtime: {e}"))?;
            Ok(runtime.block_on(future))
        })
        .map_err(|e| format!("cannot start thread {name}: {e}"))?;
    thread
        .join()
        .map_err(|_| format!("thread {name} panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let p = RetryPolicy {
            attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            max_duration: Duration::from_secs(1),
        };
        let waits: Vec<_> = (1..=4).map(|a| p.backoff(a).as_millis()).collect();
        assert_eq!(waits, [100, 200, 350, 350]);
    }

    #[test]
    fn servers_are_split_at_commas() {
        let c = Connection::new(" a:1, b:2 ,");
        assert_eq!(c.bootstrap, ["a:1", "b:2"]);
        assert_eq!(c.brokers(), "a:1,b:2");
    }

    #[test]
    fn retries_stop_after_the_attempts_and_report_them() {
        let mut c = Connection::new("127.0.0.1:1");
        c.retry = RetryPolicy {
            attempts: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
            max_duration: Duration::from_secs(5),
        };
        let tries = std::sync::atomic::AtomicU32::new(0);
        let out = run_blocking("test-retry", async move {
            let r: Result<(), RetryError<()>> = c
                .retry("test", || async {
                    tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Err(TryError::Retry("down".into()))
                })
                .await;
            let e = match r {
                Err(RetryError::Exhausted(e)) => Some(e),
                _ => None,
            };
            (e, tries.into_inner())
        })
        .expect("runs");
        let (e, n) = out;
        let e = e.expect("fails");
        assert_eq!((e.attempts, e.message.as_str(), n), (3, "down", 3));
    }
}
