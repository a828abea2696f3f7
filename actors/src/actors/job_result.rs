//! [`JobResult`]: what a finished job reports, with its per-operator counts.

use crate::metrics::OperatorMetrics;
use crate::recovery::restart_history::RestartRecord;
use std::time::Duration;

/// Records counted for one operator, summed over its subtasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorCount {
    /// Operator name.
    pub name: String,
    /// Operator uid.
    pub uid: String,
    /// Records it read.
    pub records_in: u64,
    /// Records it emitted.
    pub records_out: u64,
}

/// What a finished job reports.
#[derive(Debug, Clone, PartialEq)]
pub struct JobResult {
    /// The job's name.
    pub job_name: String,
    /// Per-operator counts, in the order operators were first registered.
    pub operators: Vec<OperatorCount>,
    /// Wall time from start to finish.
    pub duration: Duration,
    /// Every restart the job went through.
    pub restarts: Vec<RestartRecord>,
}

impl JobResult {
    /// The counts of the operator with `uid`.
    pub fn operator(&self, uid: &str) -> Option<&OperatorCount> {
        self.operators.iter().find(|o| o.uid == uid)
    }
}

pub(crate) fn sum_by_operator(per_subtask: &[OperatorMetrics]) -> Vec<OperatorCount> {
    let mut out: Vec<OperatorCount> = Vec::new();
    for m in per_subtask {
        match out.iter_mut().find(|o| o.uid == m.uid) {
            Some(o) => {
                o.records_in += m.records_in;
                o.records_out += m.records_out;
            }
            None => out.push(OperatorCount {
                name: m.name.clone(),
                uid: m.uid.clone(),
                records_in: m.records_in,
                records_out: m.records_out,
            }),
        }
    }
    out
}
