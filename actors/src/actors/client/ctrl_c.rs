//! Opt-in Ctrl-C handling for a job: [`JobClient::cancel_on_ctrl_c`].
//!
//! # What is and is not guaranteed
//! - The first SIGINT (Ctrl-C) or SIGTERM after the call cancels the job, as
//!   [`JobClient::cancel`] does: its subtasks stop, checkpoints kept as its retention says, and
//!   [`JobClient::wait`] returns [`JobError::Cancelled`](crate::JobError::Cancelled).
//! - A second signal before the job has ended exits the process at once, with status 128 plus
//!   the signal's number (130 for SIGINT), for a cancellation that does not finish.
//! - Once installed, the handler stays for the life of the process (tokio cannot uninstall
//!   it): after the job ended, SIGINT and SIGTERM no longer end the process by themselves. A
//!   program that runs on after its job should handle them itself.

use super::JobClient;
use crate::actors::messages::CancelJob;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// Why [`JobClient::cancel_on_ctrl_c`] could not install its handler.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtrlCError {
    /// The signal handler could not be registered.
    #[error("cannot listen for {signal}: {source}")]
    Listen {
        /// `SIGINT` or `SIGTERM`.
        signal: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The thread that waits for the signals could not start.
    #[error("cannot start the thread that waits for Ctrl-C: {0}")]
    Thread(#[source] std::io::Error),
}

impl JobClient {
    /// Cancels the job on the first SIGINT (Ctrl-C) or SIGTERM from now on; a second one exits
    /// the process at once (see the [module docs](self) for what stays installed).
    pub fn cancel_on_ctrl_c(&self) -> Result<(), CtrlCError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(CtrlCError::Thread)?;
        // Registered before returning, so no signal after this call is missed.
        let (interrupt, terminate) = {
            let _entered = runtime.enter();
            let listen = |kind, name| {
                signal(kind).map_err(|source| CtrlCError::Listen {
                    signal: name,
                    source,
                })
            };
            (
                listen(SignalKind::interrupt(), "SIGINT")?,
                listen(SignalKind::terminate(), "SIGTERM")?,
            )
        };
        let supervisor = self.supervisor.clone();
        let status = self.shared.status.subscribe();
        std::thread::Builder::new()
            .name("weir-ctrl-c".into())
            .spawn(move || {
                runtime.block_on(wait_for_signals(interrupt, terminate, status, move || {
                    supervisor.do_send(CancelJob)
                }))
            })
            .map_err(CtrlCError::Thread)?;
        Ok(())
    }
}

/// Calls `cancel` on the first signal and exits on the second; returns when the job has ended.
async fn wait_for_signals(
    mut interrupt: Signal,
    mut terminate: Signal,
    mut status: tokio::sync::watch::Receiver<crate::JobStatus>,
    cancel: impl Fn(),
) {
    let mut cancelled = false;
    loop {
        let number = tokio::select! {
            _ = interrupt.recv() => 2,
            _ = terminate.recv() => 15,
            _ = status.wait_for(|s| s.is_terminal()) => return,
        };
        if cancelled {
            tracing::warn!(
                signal = number,
                "second signal: exiting without waiting for the job"
            );
            std::process::exit(128 + number);
        }
        tracing::info!(signal = number, "signal received: cancelling the job");
        cancelled = true;
        cancel();
    }
}
