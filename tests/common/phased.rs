//! A scripted test source whose input the test thread releases phase by phase ([`Phases`]), so
//! a checkpoint taken after a phase was processed holds exactly the phases released so far,
//! whatever the machine's speed. Until the test ends the script, the source stays idle (each
//! poll 1 ms of job time), so the job runs on and can be checkpointed, stopped or cancelled.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use weir::runtime::graph::task::SourceStatus;
use weir::source::SourceReader;
use weir::{BoxError, DataStream, Record, StreamEnvironment};

/// The input of a [`phased`] source: phases of records, released by the test, and the end.
pub struct Phases<T> {
    phases: Vec<Vec<T>>,
    released: AtomicUsize,
    ended: AtomicBool,
    /// Idle polls between reading the last phase of an ended script and finishing.
    linger: u64,
}

impl<T> Phases<T> {
    /// `phases`, none released yet, not ended.
    pub fn new(phases: Vec<Vec<T>>) -> Arc<Phases<T>> {
        Arc::new(Phases {
            phases,
            released: AtomicUsize::new(0),
            ended: AtomicBool::new(false),
            linger: 0,
        })
    }

    /// `phases`, all released; the source finishes once it read them.
    pub fn all(phases: Vec<Vec<T>>) -> Arc<Phases<T>> {
        Self::lingering(phases, 0)
    }

    /// `phases`, all released and ended; the source finishes `polls` idle polls (about as many
    /// milliseconds of job time) after it read them.
    pub fn lingering(phases: Vec<Vec<T>>, polls: u64) -> Arc<Phases<T>> {
        let released = phases.len();
        Arc::new(Phases {
            phases,
            released: AtomicUsize::new(released),
            ended: AtomicBool::new(true),
            linger: polls,
        })
    }

    /// `phases`, all released, never ended: the source idles after them until the job stops.
    pub fn endless(phases: Vec<Vec<T>>) -> Arc<Phases<T>> {
        let script = Self::new(phases);
        script.release_all();
        script
    }

    /// Releases the next phase; returns how many records the phases released so far hold.
    pub fn release_next(&self) -> usize {
        let n = (self.released.load(Ordering::Acquire) + 1).min(self.phases.len());
        self.released.store(n, Ordering::Release);
        self.phases[..n].iter().map(Vec::len).sum()
    }

    /// Releases every phase.
    pub fn release_all(&self) {
        self.released.store(self.phases.len(), Ordering::Release);
    }

    /// Ends the script: after every phase is released and read, the source finishes.
    pub fn end(&self) {
        self.ended.store(true, Ordering::Release);
    }
}

/// One subtask's reader of a [`Phases`] script: of every phase, the records whose index in the
/// phase is the subtask's index modulo the parallelism. Its position is checkpointed.
struct PhasedReader<T> {
    script: Arc<Phases<T>>,
    index: usize,
    parallelism: usize,
    phase: usize,
    /// The next index in `phase` (this subtask's records are `index`, `index + parallelism`…).
    next: usize,
    lingered: u64,
}

impl<T: Record + Sync> SourceReader<T> for PhasedReader<T> {
    fn read(&mut self, max: usize, out: &mut Vec<T>) -> Result<SourceStatus, BoxError> {
        let released = self.script.released.load(Ordering::Acquire);
        while self.phase < released && out.len() < max.max(1) {
            let records = &self.script.phases[self.phase];
            match records.get(self.next) {
                Some(record) => {
                    out.push(record.clone());
                    self.next += self.parallelism;
                }
                None => {
                    self.phase += 1;
                    self.next = self.index;
                }
            }
        }
        if self.phase < released {
            return Ok(SourceStatus::More);
        }
        let done = self.phase == self.script.phases.len();
        if !done || !self.script.ended.load(Ordering::Acquire) {
            return Ok(SourceStatus::Idle);
        }
        if self.lingered < self.script.linger {
            self.lingered += 1;
            return Ok(SourceStatus::Idle);
        }
        Ok(SourceStatus::Finished)
    }

    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        let position = (self.phase as u64, self.next as u64, self.lingered);
        Ok(postcard::to_allocvec(&position)?)
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        let (phase, next, lingered): (u64, u64, u64) = postcard::from_bytes(position)?;
        self.phase = usize::try_from(phase)?;
        self.next = usize::try_from(next)?;
        self.lingered = lingered;
        Ok(())
    }
}

/// A source with uid `uid` reading `script`, split over its subtasks.
pub fn phased<T: Record + Sync>(
    env: &StreamEnvironment,
    uid: &str,
    script: &Arc<Phases<T>>,
) -> DataStream<T> {
    let script = script.clone();
    env.add_source_reader("Phased", move |info| {
        let s = &info.subtask;
        Ok(PhasedReader {
            script: script.clone(),
            index: s.index as usize,
            parallelism: s.parallelism as usize,
            phase: 0,
            next: s.index as usize,
            lingered: 0,
        })
    })
    .uid(uid)
}
