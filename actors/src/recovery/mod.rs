//! What happens after a failure: why ([`failure_cause`]), what to do about it (a pure decision
//! the supervisor carries out), with Flink's restart strategies and failover regions, and the restart
//! history.

pub(crate) mod failover_decision;
pub mod failover_region;
pub mod failure_cause;
pub mod restart_history;
pub mod restart_strategy;
