//! [`FetchQueue`]: how a network source reads off the subtask's thread. A client runs on a
//! thread (or async runtime) of its own and sends what it fetched into a bounded queue; each
//! send wakes the subtask, which takes what is there at its next poll and otherwise reports
//! [`SourceStatus::Pending`](weir_actors::graph::task::SourceStatus::Pending) — no polling loop,
//! no thread of the job's held while the server is quiet. When the queue is full the client
//! waits, so memory stays bounded under backpressure.

use tokio::sync::mpsc;
use weir_actors::graph::task_waker::TaskWaker;

/// The receiving end, held by the split reader.
#[derive(Debug)]
pub struct FetchQueue<E> {
    receiver: mpsc::Receiver<E>,
}

/// The sending end, held by the client's thread or task. Cloning it gives another sender.
#[derive(Debug)]
pub struct FetchSender<E> {
    sender: mpsc::Sender<E>,
    waker: TaskWaker,
}

impl<E> Clone for FetchSender<E> {
    fn clone(&self) -> Self {
        FetchSender {
            sender: self.sender.clone(),
            waker: self.waker.clone(),
        }
    }
}

/// The reader went away (its subtask stopped): the client should stop too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the source's reader is gone")]
pub struct QueueClosed;

impl<E> FetchQueue<E> {
    /// A queue holding at most `capacity` entries (at least 1), whose sends wake through
    /// `waker` (a [`SplitReaderContext`](crate::source::SplitReaderContext)'s).
    pub fn bounded(capacity: usize, waker: TaskWaker) -> (FetchSender<E>, FetchQueue<E>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        (FetchSender { sender, waker }, FetchQueue { receiver })
    }

    /// The next entry, if one is there now.
    pub fn try_next(&mut self) -> Option<E> {
        self.receiver.try_recv().ok()
    }

    /// Whether every sender is gone and nothing is left.
    pub fn is_closed(&self) -> bool {
        self.receiver.is_closed() && self.receiver.is_empty()
    }
}

impl<E> FetchSender<E> {
    /// Sends `entry` from async code, waiting while the queue is full, and wakes the subtask.
    pub async fn send(&self, entry: E) -> Result<(), QueueClosed> {
        self.sender.send(entry).await.map_err(|_| QueueClosed)?;
        self.waker.wake();
        Ok(())
    }

    /// Sends `entry` from a plain thread (never from async code), blocking while the queue is
    /// full, and wakes the subtask.
    pub fn send_blocking(&self, entry: E) -> Result<(), QueueClosed> {
        self.sender.blocking_send(entry).map_err(|_| QueueClosed)?;
        self.waker.wake();
        Ok(())
    }

    /// Whether the reader went away.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn each_send_wakes_and_a_full_queue_holds_the_sender_until_the_reader_takes_one() {
        let wakes = Arc::new(AtomicUsize::new(0));
        let counted = wakes.clone();
        let waker = TaskWaker::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let (tx, mut rx) = FetchQueue::bounded(1, waker);
        tx.send_blocking(1).unwrap();
        let sender = std::thread::spawn(move || tx.send_blocking(2));
        assert_eq!(rx.try_next(), Some(1));
        assert_eq!(sender.join().unwrap(), Ok(()));
        assert_eq!(rx.try_next(), Some(2));
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
        assert!(rx.is_closed());
    }
}
