//! Credit-based flow control: a slow sink stops its source, and no channel ever holds more batches
//! than its credits, however large the input.

use weir::task::operator::Operator;
use weir::{BoxError, StreamEnvironment};

/// A sink that burns time per record: far slower than the source feeding it.
struct SlowSink;

impl Operator<u64, ()> for SlowSink {
    fn process_batch(&mut self, input: Vec<u64>, _: &mut Vec<()>) -> Result<(), BoxError> {
        let mut acc = 0u64;
        for x in input {
            for i in 0..200u64 {
                acc = acc.wrapping_mul(31).wrapping_add(x ^ i);
            }
        }
        std::hint::black_box(acc);
        Ok(())
    }
}

#[test]
fn queued_batches_never_exceed_credits_while_a_large_input_flows() {
    const CREDITS: u32 = 2;
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_batch_size(128)
        .set_credits_per_channel(CREDITS);
    env.generate_sequence(0, 1_000_000)
        .key_by(|x| x % 1000)
        .add_sink("Slow", |_| Ok(SlowSink))
        .uid("slow-sink");
    let client = env.spawn().expect("job starts");
    let mut status = client.subscribe_status();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(status.wait_for(|s| s.is_terminal()))
        .expect("status channel open until the job ends");
    // The figures are high-water marks kept by the runtime for the whole run.
    let subtasks = client.subtask_metrics();
    let sink_batches: u64 = subtasks
        .iter()
        .filter(|m| m.task.contains("Slow"))
        .map(|m| m.batches_in)
        .sum();
    assert!(
        sink_batches > 1000,
        "a large input flowed ({sink_batches} batches)"
    );
    for m in &subtasks {
        assert!(m.max_queued_batches <= u64::from(CREDITS), "{m:?}");
    }
    let source_backpressured: u64 = subtasks
        .iter()
        .filter(|m| m.task.contains("Sequence"))
        .map(|m| m.backpressured_ns)
        .sum();
    assert!(
        source_backpressured > 0,
        "the slow sink held the source back"
    );
    for m in &subtasks {
        assert!(
            m.max_backlog_batches <= 1,
            "sender backlog stays at one batch: {m:?}"
        );
    }
    let result = client.wait_blocking().expect("job finishes");
    assert_eq!(
        result
            .operator("slow-sink")
            .expect("sink counted")
            .records_in,
        1_000_001
    );
}
