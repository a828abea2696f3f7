//! Whether a job can start from a checkpoint: its max parallelism must be the checkpoint's, and
//! every operator state the checkpoint holds must find the job's operator of the same uid,
//! whatever the chaining (see [`crate::savepoint::uid_matching`]); each operator's parallelism
//! may change.

use super::RestoreError;
use crate::savepoint::uid_matching::{plan, snapshot_operators, JobOperator};
use weir_actors::graph::job_spec::{JobSpec, RestoredCheckpoint};

/// Checks that `spec` can start from `restored`: same max parallelism, and no operator state
/// left without an operator of its uid unless `allow_non_restored_state`. The parallelism of an
/// operator may change (a rescale), and so may the chains operators are part of.
pub fn check_compatible(
    spec: &JobSpec,
    restored: &RestoredCheckpoint,
    allow_non_restored_state: bool,
) -> Result<(), RestoreError> {
    // An aligned checkpoint holds no channel state, so any parallelism restores from it:
    // keyed state moves by key groups, operator state and splits are redistributed.
    let operators: Vec<JobOperator> = spec
        .vertices
        .iter()
        .flat_map(|v| (v.operator_uids.iter()).map(|uid| JobOperator::new(uid, uid, v.parallelism)))
        .collect();
    let meta = &restored.metadata;
    let state = snapshot_operators(restored)?;
    let max_parallelism = (meta.max_parallelism, spec.max_parallelism);
    plan(meta.checkpoint_id, max_parallelism, state, &operators).check(allow_non_restored_state)
}
