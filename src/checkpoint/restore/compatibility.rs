//! Whether a job can start from a checkpoint: its max parallelism, each operator's parallelism
//! and the operators that hold state must fit.

use super::RestoreError;
use weir_actors::graph::job_spec::{JobSpec, RestoredCheckpoint};

/// Checks that `spec` can start from `restored`: same max parallelism, same parallelism per
/// operator, and no state left without an operator unless `allow_non_restored_state`.
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
        match spec.vertices.iter().find(|v| v.uid == vertex.uid) {
            Some(v) if v.parallelism != vertex.parallelism && has_state => {
                return Err(RestoreError::ParallelismChanged {
                    uid: vertex.uid.clone(),
                    checkpoint: vertex.parallelism,
                    job: v.parallelism,
                })
            }
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
