//! The gate every write and delete of one storage passes: writes for a checkpoint run only
//! while it is not discarded, and a discard waits for the writes in flight, then shuts the gate
//! on its checkpoint for good.
//!
//! Writes share the gate (each holds it for one file), deletes hold it alone. A write holds it
//! for one file at a time, so a discard waits at most for one file per writer, never for a whole
//! upload. The gate is not re-entrant: nothing run inside it may enter it again.

use parking_lot::RwLock;
use std::collections::HashSet;
use weir_actors::CheckpointId;

/// Orders the writes and deletes of one storage.
#[derive(Debug, Default)]
pub(super) struct WriteGate {
    /// Checkpoints discarded: every later write for them is refused.
    discarded: RwLock<HashSet<CheckpointId>>,
}

impl WriteGate {
    /// Runs `write` for `checkpoint`, or returns `refused()` if it was discarded; a discard
    /// waits until `write` has returned.
    pub(super) fn write<T, E>(
        &self,
        checkpoint: CheckpointId,
        refused: impl FnOnce() -> E,
        write: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let discarded = self.discarded.read();
        if discarded.contains(&checkpoint) {
            return Err(refused());
        }
        write()
    }

    /// Shuts the gate on `checkpoint` and runs `delete` with no write in flight.
    pub(super) fn discard<T>(&self, checkpoint: CheckpointId, delete: impl FnOnce() -> T) -> T {
        let mut discarded = self.discarded.write();
        discarded.insert(checkpoint);
        delete()
    }

    /// Runs `delete` with no write in flight (deletes that concern no one checkpoint, such as
    /// shared files no complete checkpoint refers to).
    pub(super) fn exclusive<T>(&self, delete: impl FnOnce() -> T) -> T {
        let _discarded = self.discarded.write();
        delete()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_after_a_discard_is_refused_and_does_not_run() {
        let gate = WriteGate::default();
        assert_eq!(gate.write(1, || "refused", || Ok::<_, &str>(1)), Ok(1));
        gate.discard(1, || ());
        let mut ran = false;
        let result = gate.write(
            1,
            || "refused",
            || {
                ran = true;
                Ok(2)
            },
        );
        assert_eq!(result, Err("refused"));
        assert!(!ran);
        assert_eq!(gate.write(2, || "refused", || Ok::<_, &str>(3)), Ok(3));
    }

    #[test]
    fn a_discard_waits_for_the_write_in_flight() {
        let gate = std::sync::Arc::new(WriteGate::default());
        let (entered_tx, entered_rx) = std::sync::mpsc::channel();
        let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
        let order = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let writer = {
            let (gate, order) = (gate.clone(), order.clone());
            std::thread::spawn(move || {
                gate.write(
                    7,
                    || (),
                    || {
                        entered_tx.send(()).unwrap();
                        finish_rx.recv().unwrap();
                        order.lock().push("write");
                        Ok(())
                    },
                )
            })
        };
        entered_rx.recv().unwrap();
        let discarder = {
            let (gate, order) = (gate.clone(), order.clone());
            std::thread::spawn(move || gate.discard(7, || order.lock().push("discard")))
        };
        // The discarder is waiting once it holds the lock's writer bit: readers are then shut out.
        while gate.discarded.try_read().is_some() {
            std::thread::yield_now();
        }
        assert!(order.lock().is_empty(), "the discard ran during the write");
        finish_tx.send(()).unwrap();
        writer.join().unwrap().unwrap();
        discarder.join().unwrap();
        assert_eq!(*order.lock(), ["write", "discard"]);
    }
}
