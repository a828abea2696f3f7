//! The NATS client as weir's JetStream connectors use it: a small current-thread tokio runtime
//! on a thread of its own (the subtask's thread already runs actix's runtime, which must not be
//! blocked on from inside), a connection retried with backoff for a bounded time, and the
//! backoff itself.

use async_nats::jetstream;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// How long one JetStream API request (stream info, consumer creation, a pull) may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// The first delay between two attempts; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// The longest delay between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A current-thread runtime with time and I/O.
pub(crate) fn runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Runs `work` on a runtime on a new thread and waits for it: how a blocking call (split
/// discovery) talks to the server from any thread, an actix arbiter's included.
pub(crate) fn block_on_own_thread<R, F>(work: F) -> Result<R, String>
where
    R: Send,
    F: std::future::Future<Output = R> + Send,
{
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("weir-jetstream-call".into())
            .spawn_scoped(scope, move || runtime().map(|rt| rt.block_on(work)))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        match handle.join() {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(format!("cannot build a tokio runtime: {e}")),
            Err(_) => Err("the thread panicked".into()),
        }
    })
}

/// Exponential backoff from 50 ms to 2 s.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    /// A backoff at its first delay.
    pub(crate) fn new() -> Backoff {
        Backoff {
            next: FIRST_BACKOFF,
        }
    }

    /// The delay to wait now; the next one is twice as long (at most 2 s).
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(MAX_BACKOFF);
        delay
    }

    /// Back to the first delay (after a success).
    pub(crate) fn reset(&mut self) {
        self.next = FIRST_BACKOFF;
    }
}

/// Connects to `url`, retrying with backoff for up to `give_up_after`; the last error when it
/// gives up. The client then reconnects by itself after a broken connection.
pub(crate) async fn connect(
    url: &str,
    give_up_after: Duration,
) -> Result<async_nats::Client, String> {
    let started = Instant::now();
    let mut backoff = Backoff::new();
    loop {
        let attempt = async_nats::ConnectOptions::new()
            .connection_timeout(REQUEST_TIMEOUT)
            .ignore_discovered_servers()
            .connect(url)
            .await;
        match attempt {
            Ok(client) => return Ok(client),
            Err(e) if started.elapsed() >= give_up_after => return Err(e.to_string()),
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(
                    url,
                    "cannot connect to NATS, trying again in {delay:?}: {e}"
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// The JetStream context of `client`, whose API requests time out after [`REQUEST_TIMEOUT`].
pub(crate) fn jetstream(client: async_nats::Client) -> jetstream::Context {
    let mut context = jetstream::new(client);
    context.set_timeout(REQUEST_TIMEOUT);
    context
}

/// Whether `error` (a JetStream API error) says the stream does not exist.
pub(crate) fn is_stream_not_found(error: &jetstream::context::GetStreamError) -> bool {
    matches!(
        error.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(e)
            if e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}
