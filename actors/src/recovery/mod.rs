//! What happens after a failure: Flink's restart strategies, failover regions and the restart
//! history.

pub mod failover_region;
pub mod restart_history;
pub mod restart_strategy;
