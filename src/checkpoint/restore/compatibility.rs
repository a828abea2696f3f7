//! Whether a job can start from a checkpoint: its max parallelism and the operators that hold
//! state must fit; each operator's parallelism may change.

use super::RestoreError;
use weir_actors::graph::job_spec::{JobSpec, RestoredCheckpoint};

/// Checks that `spec` can start from `restored`: same max parallelism, and no state left
/// without an operator unless `allow_non_restored_state`. The parallelism of an operator may
/// change (a rescale).
pub fn check_compatible(
    spec: &JobSpec,
    restored: &RestoredCheckpoint,
    allow_non_restored_state: bool,
) -> Result<(), RestoreError> {
    let meta = &restored.metadata;
    if meta.max_parallelism != spec.max_parallelism {
        return Err(RestoreError::MaxParallelismChanged {
            checkpoint: meta.max_parallelism,
            job: spec.max_parallelism,
        });
    }
    for vertex in &meta.vertices {
        let has_state = meta.states.iter().any(|s| s.vertex_uid == vertex.uid);
        // An aligned checkpoint holds no channel state, so any parallelism restores from it:
        // keyed state moves by key groups, operator state and splits are redistributed. A
        // checkpoint with channel state (unaligned) would be refused here at another
        // parallelism, as weir cannot redistribute channel state.
        match spec.vertices.iter().find(|v| v.uid == vertex.uid) {
            None if has_state && !allow_non_restored_state => {
                return Err(RestoreError::UnknownOperatorState {
                    uid: vertex.uid.clone(),
                })
            }
            _ => {}
        }
    }
    Ok(())
}
