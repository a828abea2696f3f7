//! Tools for harnesses that exercise failure: fault injection.

pub mod fault_injection;
