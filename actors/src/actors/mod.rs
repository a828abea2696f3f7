//! The edge of the runtime: the actors that move messages, run timers and do I/O, and the job client.
//!
//! Decisions are made by the pure types of [`crate::checkpoint`] and [`crate::recovery`]; the
//! actors only carry them out.

pub(crate) mod client;
pub(crate) mod coordinator;
pub(crate) mod deployment;
pub(crate) mod job_result;
pub(crate) mod job_shared;
pub(crate) mod job_status;
pub(crate) mod messages;
pub(crate) mod subtask;
pub(crate) mod supervisor;
pub(crate) mod wiring;
