//! Which subtasks a checkpoint involves, as a pure struct (Flink's `CheckpointPlanCalculator`
//! and its `CheckpointPlan`).
//!
//! # Rules
//! - Every deployed subtask must acknowledge.
//! - Sources are triggered and inject the barrier. Subtasks whose input ended, or that finished,
//!   are triggered directly: no barrier reaches them any more, their state is final, and the
//!   checkpoint must hold it, or a restore would run them again from the start.
//! - A checkpoint needs a running source, unless every subtask's input ended (the final
//!   checkpoint of a bounded job); otherwise it is refused with
//!   [`CheckpointFailureReason::NoRunningSources`].

use crate::checkpoint::failure_reason::CheckpointFailureReason;
use crate::graph::subtask_key::SubtaskKey;
use std::collections::HashSet;

/// The subtasks of one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckpointPlan {
    /// Subtasks sent a trigger.
    pub(crate) to_trigger: Vec<SubtaskKey>,
    /// Subtasks whose acknowledgement completes it.
    pub(crate) to_wait_for: Vec<SubtaskKey>,
}

/// The job's deployed subtasks as checkpoints see them.
#[derive(Debug)]
pub(crate) struct CheckpointPlanCalculator {
    is_source: Vec<bool>,
    deployed: Vec<SubtaskKey>,
    finished: HashSet<SubtaskKey>,
    input_ended: HashSet<SubtaskKey>,
}

impl CheckpointPlanCalculator {
    /// A calculator for a job whose vertex `v` is a source when `is_source[v]`.
    pub(crate) fn new(is_source: Vec<bool>) -> CheckpointPlanCalculator {
        CheckpointPlanCalculator {
            is_source,
            deployed: Vec::new(),
            finished: HashSet::new(),
            input_ended: HashSet::new(),
        }
    }

    /// `deployed` is every subtask now (after a start or a restart).
    pub(crate) fn deployed(&mut self, deployed: Vec<SubtaskKey>) {
        self.deployed = deployed;
    }

    /// The subtasks of `vertices` restart: their end of input and finishing are forgotten.
    pub(crate) fn region_failed(&mut self, vertices: &[usize]) {
        self.finished.retain(|k| !vertices.contains(&k.vertex));
        self.input_ended.retain(|k| !vertices.contains(&k.vertex));
    }

    /// Every input of `key` ended.
    pub(crate) fn input_ended(&mut self, key: SubtaskKey) {
        self.input_ended.insert(key);
    }

    /// `key` finished.
    pub(crate) fn finished(&mut self, key: SubtaskKey) {
        self.finished.insert(key);
    }

    /// The deployed source subtasks.
    pub(crate) fn sources(&self) -> Vec<SubtaskKey> {
        self.deployed
            .iter()
            .filter(|k| self.source(k))
            .copied()
            .collect()
    }

    /// Every deployed subtask.
    pub(crate) fn subtasks(&self) -> &[SubtaskKey] {
        &self.deployed
    }

    /// Whether every deployed subtask's input ended (or it finished).
    pub(crate) fn all_input_ended(&self) -> bool {
        self.deployed.iter().all(|k| self.has_ended(k))
    }

    /// Whether some deployed subtask has not finished.
    pub(crate) fn any_unfinished(&self) -> bool {
        self.deployed.iter().any(|k| !self.finished.contains(k))
    }

    /// The plan of a checkpoint triggered now.
    pub(crate) fn plan(&self) -> Result<CheckpointPlan, CheckpointFailureReason> {
        let live_source = self
            .deployed
            .iter()
            .any(|k| self.source(k) && !self.finished.contains(k));
        if !live_source && !self.all_input_ended() {
            return Err(CheckpointFailureReason::NoRunningSources);
        }
        let to_trigger = self
            .deployed
            .iter()
            .filter(|k| self.source(k) || self.has_ended(k))
            .copied()
            .collect();
        Ok(CheckpointPlan {
            to_trigger,
            to_wait_for: self.deployed.clone(),
        })
    }

    fn source(&self, key: &SubtaskKey) -> bool {
        self.is_source.get(key.vertex).copied().unwrap_or(false)
    }

    fn has_ended(&self, key: &SubtaskKey) -> bool {
        self.finished.contains(key) || self.input_ended.contains(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(vertex: usize, index: u32) -> SubtaskKey {
        SubtaskKey {
            vertex,
            index,
            attempt: 0,
        }
    }

    /// A source vertex (two subtasks) feeding a sink vertex (one subtask).
    fn calculator() -> CheckpointPlanCalculator {
        let mut c = CheckpointPlanCalculator::new(vec![true, false]);
        c.deployed(vec![key(0, 0), key(0, 1), key(1, 0)]);
        c
    }

    #[test]
    fn sources_are_triggered_and_every_subtask_is_waited_for() {
        let plan = calculator().plan().unwrap();
        assert_eq!(plan.to_trigger, [key(0, 0), key(0, 1)]);
        assert_eq!(plan.to_wait_for, [key(0, 0), key(0, 1), key(1, 0)]);
    }

    #[test]
    fn a_subtask_whose_input_ended_is_triggered_directly() {
        let mut c = calculator();
        c.input_ended(key(1, 0));
        assert_eq!(
            c.plan().unwrap().to_trigger,
            [key(0, 0), key(0, 1), key(1, 0)]
        );
    }

    #[test]
    fn without_a_running_source_a_checkpoint_is_refused_until_every_input_ended() {
        let mut c = calculator();
        c.finished(key(0, 0));
        c.finished(key(0, 1));
        assert_eq!(c.plan(), Err(CheckpointFailureReason::NoRunningSources));
        c.input_ended(key(1, 0));
        assert!(c.all_input_ended());
        assert_eq!(c.plan().unwrap().to_trigger.len(), 3);
    }

    #[test]
    fn a_failed_region_forgets_its_ended_and_finished_subtasks() {
        let mut c = calculator();
        c.finished(key(0, 0));
        c.input_ended(key(1, 0));
        c.region_failed(&[1]);
        assert_eq!(c.plan().unwrap().to_trigger, [key(0, 0), key(0, 1)]);
        assert!(c.any_unfinished());
    }
}
