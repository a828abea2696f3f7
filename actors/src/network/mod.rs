//! What travels between subtasks: batches of records and barriers, over input and output
//! channels under credit-based flow control.

pub mod channel;
pub mod event;
