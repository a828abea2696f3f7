//! Operators built on the task's operator trait: keyed processing with state and timers.

pub mod keyed_process;
