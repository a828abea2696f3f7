//! The task a chain of operators runs as: an optional source at its head, operators in chain
//! order, and a router that spreads the last operator's output over the output edges.

use crate::operator::ErasedOperator;
use crate::partitioner::ErasedRouter;
use crate::source::ErasedSource;
use weir_actors::channel::Outputs;
use weir_actors::task::{SourceStatus, Task};
use weir_actors::{Batch, TaskError};

/// One subtask of a chain.
pub struct StreamTask {
    /// The source at the chain's head, if it is a source chain.
    pub source: Option<Box<dyn ErasedSource>>,
    /// The chained operators, in order.
    pub operators: Vec<Box<dyn ErasedOperator>>,
    /// Where the last operator's output goes.
    pub router: Box<dyn ErasedRouter>,
    /// Records a source reads per poll.
    pub batch_size: usize,
}

impl StreamTask {
    fn push(&mut self, mut batch: Batch, from: usize, out: &mut Outputs) -> Result<(), TaskError> {
        for op in &mut self.operators[from..] {
            if batch.is_empty() {
                return Ok(());
            }
            batch = op.process(batch)?;
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.router.route(batch, out)
    }
}

impl Task for StreamTask {
    fn is_source(&self) -> bool {
        self.source.is_some()
    }

    fn poll_source(&mut self, out: &mut Outputs) -> Result<SourceStatus, TaskError> {
        let Some(source) = self.source.as_mut() else {
            return Ok(SourceStatus::Finished);
        };
        let (batch, status) = source.poll(self.batch_size)?;
        self.push(batch, 0, out)?;
        Ok(status)
    }

    fn process(&mut self, _gate: usize, batch: Batch, out: &mut Outputs) -> Result<(), TaskError> {
        self.push(batch, 0, out)
    }

    fn end_of_input(&mut self, out: &mut Outputs) -> Result<(), TaskError> {
        for i in 0..self.operators.len() {
            let batch = self.operators[i].end_of_input()?;
            self.push(batch, i + 1, out)?;
        }
        Ok(())
    }
}
