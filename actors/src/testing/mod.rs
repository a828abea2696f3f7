//! Tools for harnesses that exercise failure: a plan of faults ([`fault_injection`]), carried out
//! by decorating what the runtime drives — a task wrapper that fails, panics or stops where the
//! plan says, and a forwarder that holds back acknowledgements — never by branches in the
//! runtime's own path.

pub(crate) mod acknowledgement_delay;
pub(crate) mod fault_injecting_task;
pub mod fault_injection;
