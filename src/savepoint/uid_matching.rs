//! Matching a snapshot's state to a job's operators by uid, whatever the chaining: what a
//! restore would do, decided before anything runs ([`plan`]), and the rule a restore enforces
//! ([`RestorePlan::check`]).
//!
//! # The rules (Flink's)
//! - State recorded under uid `u` goes to the job's operator with uid `u`, wherever it is in
//!   the graph now: reordered, chained differently, at another parallelism.
//! - An operator of the job whose uid the snapshot holds no state of starts empty.
//! - State whose uid no operator of the job has is an error naming the uid, unless the job
//!   allows non-restored state (`execution.state-recovery.ignore-unclaimed-state`), when it is
//!   dropped.
//! - An operator without an explicit `.uid(…)` gets one generated from its place in the graph,
//!   which a change of the graph changes (FLINK-34352: state then attaches to the wrong
//!   operator, or to none): the plan lists such operators, and a checkpointing job warns.

use crate::checkpoint::restore::RestoreError;
use crate::graph::uid::is_generated;
use crate::task::stream_task::ChainSnapshotRef;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use weir_actors::graph::job_spec::RestoredCheckpoint;
use weir_actors::CheckpointId;

/// The state a snapshot holds of one operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SnapshotOperator {
    /// The operator's uid.
    pub uid: String,
    /// The uid of the chain (vertex) it was part of.
    pub chain_uid: String,
    /// The chain's parallelism when the snapshot was taken.
    pub parallelism: u32,
    /// Whether it is a source (its state is its read position).
    pub is_source: bool,
    /// How many of its subtasks hold state.
    pub subtasks_with_state: u32,
    /// Bytes of its state over all subtasks.
    pub state_bytes: u64,
}

/// One operator of the job a snapshot is matched against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct JobOperator {
    /// Its uid, explicit or generated.
    pub uid: String,
    /// Its name.
    pub name: String,
    /// Its parallelism in the job.
    pub parallelism: u32,
    /// Whether weir generated its uid (no `.uid(…)` was given).
    pub generated_uid: bool,
}

impl JobOperator {
    /// The operator `name` with uid `uid` at `parallelism`.
    pub fn new(uid: &str, name: &str, parallelism: u32) -> Self {
        JobOperator {
            uid: uid.to_string(),
            name: name.to_string(),
            parallelism,
            generated_uid: is_generated(uid),
        }
    }
}

/// Snapshot state that goes to an operator of the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OperatorMatch {
    /// The state as the snapshot holds it.
    pub state: SnapshotOperator,
    /// The operator it goes to.
    pub operator: JobOperator,
}

impl OperatorMatch {
    /// Whether the operator's parallelism differs from the snapshot's (its state is
    /// redistributed: keyed state by key groups, list state split, union and broadcast state
    /// copied, source splits spread).
    pub fn is_rescaled(&self) -> bool {
        self.state.parallelism != self.operator.parallelism
    }
}

/// What a restore from a snapshot would do with a job: the dry run of
/// [`StreamEnvironment::plan_restore`](crate::StreamEnvironment::plan_restore).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RestorePlan {
    /// The snapshot's checkpoint id.
    pub checkpoint_id: CheckpointId,
    /// The snapshot's max parallelism and the job's, which must be equal.
    pub max_parallelism: (u32, u32),
    /// State that goes to an operator of the job, in the job's operator order.
    pub restored: Vec<OperatorMatch>,
    /// Operators of the job the snapshot holds no state of: they start empty (if they keep
    /// state at all).
    pub starts_empty: Vec<JobOperator>,
    /// State whose uid no operator of the job has: the restore fails naming it, or drops it
    /// with `allow_non_restored_state`.
    pub unclaimed: Vec<SnapshotOperator>,
}

impl RestorePlan {
    /// Operators of the job whose uid weir generated: if any of them keeps state, a change of
    /// the graph can attach it to another operator or to none; give each a `.uid(…)`.
    pub fn generated_uids(&self) -> Vec<&JobOperator> {
        let restored = self.restored.iter().map(|m| &m.operator);
        restored
            .chain(&self.starts_empty)
            .filter(|o| o.generated_uid)
            .collect()
    }

    /// Whether the restore can go ahead: the same max parallelism, and no unclaimed state
    /// unless `allow_non_restored_state`.
    pub fn check(&self, allow_non_restored_state: bool) -> Result<(), RestoreError> {
        let (checkpoint, job) = self.max_parallelism;
        if checkpoint != job {
            return Err(RestoreError::MaxParallelismChanged { checkpoint, job });
        }
        match self.unclaimed.first() {
            Some(state) if !allow_non_restored_state => Err(RestoreError::UnknownOperatorState {
                uid: state.uid.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// Logs a warning naming the operators of a checkpointing job whose uid weir generated: their
/// state, if they keep any, is recorded under a uid that a change of the graph changes.
pub(crate) fn warn_generated_uids(operators: &[JobOperator]) {
    let generated: Vec<String> = operators
        .iter()
        .filter(|o| o.generated_uid)
        .map(|o| format!("{} [{}]", o.name, o.uid))
        .collect();
    if !generated.is_empty() {
        tracing::warn!(
            "operators without an explicit uid: {}; a stateful one's state is recorded under a \
             uid generated from the graph's shape, so a change of the graph attaches it to \
             another operator or to none: give stateful operators a stable `.uid(\"...\")`",
            generated.join(", ")
        );
    }
}

/// Every operator the snapshot holds state of, in the order of its chains and chain members.
pub fn snapshot_operators(
    restored: &RestoredCheckpoint,
) -> Result<Vec<SnapshotOperator>, RestoreError> {
    let meta = &restored.metadata;
    let mut found: BTreeMap<(usize, usize, String), SnapshotOperator> = BTreeMap::new();
    for handle in &meta.states {
        let Some(bytes) = restored
            .states
            .get(&(handle.vertex_uid.clone(), handle.subtask))
        else {
            continue;
        };
        let chain =
            ChainSnapshotRef::decode(bytes).map_err(|e| RestoreError::UndecodableState {
                chain_uid: handle.vertex_uid.clone(),
                subtask: handle.subtask,
                reason: e.message,
            })?;
        let vertex = meta
            .vertices
            .iter()
            .position(|v| v.uid == handle.vertex_uid);
        let parallelism = vertex.map_or(0, |v| meta.vertices[v].parallelism);
        let source = chain.source.map(|s| (handle.vertex_uid.as_str(), s, true));
        let operators = chain.operators.iter().map(|(uid, s)| (*uid, *s, false));
        for (uid, state, is_source) in source.into_iter().chain(operators) {
            let member = handle.operator_uids.iter().position(|u| u == uid);
            let order = (
                vertex.unwrap_or(usize::MAX),
                member.unwrap_or(usize::MAX),
                uid.to_string(),
            );
            let entry = found.entry(order).or_insert_with(|| SnapshotOperator {
                uid: uid.to_string(),
                chain_uid: handle.vertex_uid.clone(),
                parallelism,
                is_source,
                subtasks_with_state: 0,
                state_bytes: 0,
            });
            entry.subtasks_with_state += 1;
            entry.state_bytes += state.len() as u64;
        }
    }
    Ok(found.into_values().collect())
}

/// Matches the snapshot's `state` to the job's `operators` (in the job's order) by uid.
/// `max_parallelism` is the snapshot's and the job's.
pub fn plan(
    checkpoint_id: CheckpointId,
    max_parallelism: (u32, u32),
    state: Vec<SnapshotOperator>,
    operators: &[JobOperator],
) -> RestorePlan {
    let mut by_uid: BTreeMap<String, SnapshotOperator> =
        state.into_iter().map(|s| (s.uid.clone(), s)).collect();
    let mut restored = Vec::new();
    let mut starts_empty = Vec::new();
    for operator in operators {
        match by_uid.remove(&operator.uid) {
            Some(state) => restored.push(OperatorMatch {
                state,
                operator: operator.clone(),
            }),
            None => starts_empty.push(operator.clone()),
        }
    }
    RestorePlan {
        checkpoint_id,
        max_parallelism,
        restored,
        starts_empty,
        unclaimed: by_uid.into_values().collect(),
    }
}

impl fmt::Display for RestorePlan {
    /// A readable account: one line per operator.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (old, new) = self.max_parallelism;
        writeln!(f, "restore from checkpoint {}", self.checkpoint_id)?;
        if old != new {
            writeln!(f, "  max parallelism {old} -> {new}: cannot change")?;
        }
        for m in &self.restored {
            let (s, o) = (&m.state, &m.operator);
            write!(
                f,
                "  restored      {} [{}]: {} bytes",
                o.name, o.uid, s.state_bytes
            )?;
            if m.is_rescaled() {
                write!(f, ", parallelism {} -> {}", s.parallelism, o.parallelism)?;
            }
            writeln!(f)?;
        }
        for o in &self.starts_empty {
            writeln!(f, "  starts empty  {} [{}]", o.name, o.uid)?;
        }
        for s in &self.unclaimed {
            let what =
                "no operator has this uid: the restore fails unless non-restored state is allowed";
            writeln!(
                f,
                "  unclaimed     [{}]: {} bytes; {what}",
                s.uid, s.state_bytes
            )?;
        }
        for o in self.generated_uids() {
            writeln!(
                f,
                "  warning: {} [{}] has a generated uid; set one with .uid(…)",
                o.name, o.uid
            )?;
        }
        Ok(())
    }
}
