//! The task a chain of operators runs as: the operator trait and its type erasure, the stream task
//! that drives a chain, and the partitioner that routes its output.

pub mod operator;
pub mod partitioner;
pub mod stream_task;
