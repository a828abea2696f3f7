//! Processing time as a job sees it: the job clock and keyed timers.

pub mod job_clock;
pub mod timer_service;
