//! The job as the runtime sees it: the job spec (vertices, edges, settings), the task trait a
//! dataflow implements, and key groups.

pub mod job_spec;
pub mod key_group;
pub mod restored_checkpoint;
pub mod subtask_key;
pub mod task;
pub mod task_waker;
