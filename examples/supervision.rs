//! A job that fails again and again: the supervisor restarts it as its exponential-delay strategy
//! decides, this program prints each decision as it happens, and the job fails for good when the
//! strategy gives up.
//!
//! `cargo run --release --example supervision`

use std::time::Duration;
use weir::{
    Fault, FaultInjector, JobError, JobStatus, RestartStrategyConfig, StreamEnvironment, Target,
};

fn main() -> Result<(), weir::Error> {
    let mut env = StreamEnvironment::new();
    env.set_job_name("always failing")
        .set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(100));
    env.set_restart_strategy(RestartStrategyConfig::ExponentialDelay {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        backoff_multiplier: 2.0,
        reset_backoff_threshold: Duration::from_secs(60),
        jitter_factor: 0.1,
        attempts_before_reset_backoff: 6,
    });
    // Subtask 0 of the parser fails at its 5 000th record, in every attempt.
    env.set_fault_injector(FaultInjector::new().with(Fault::FailAtRecord {
        target: Target {
            uid: "parse".into(),
            subtask: 0,
            attempt: None,
        },
        record: 5_000,
    }));
    env.generate_sequence(0, u64::MAX - 1)
        .uid("numbers")
        .key_by(|x| x % 1_000)
        .map(|x| x.wrapping_mul(3))
        .uid("parse")
        .name("Parse")
        .discard();

    println!("strategy: exponential-delay 100 ms × 2 up to 1 s, jitter 10 %, 6 attempts");
    let client = env.spawn()?;
    let mut status = client.subscribe_status();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| weir::Error::Job(JobError::Startup(e.to_string())))?;
    let mut printed = 0;
    loop {
        let now = *status.borrow_and_update();
        for r in client.restart_history().iter().skip(printed) {
            println!(
                "restart #{:<2} at {:>7.3} s: restarting {:?} in {:>4} ms after: {}",
                r.attempt,
                r.at.as_secs_f64(),
                r.restarted_tasks,
                r.delay.as_millis(),
                r.cause
            );
            printed += 1;
        }
        if now == JobStatus::Running && printed > 0 {
            println!("  ...running again");
        }
        if now.is_terminal() || rt.block_on(status.changed()).is_err() {
            break;
        }
    }
    match client.wait_blocking() {
        Err(JobError::RestartsExhausted {
            strategy, history, ..
        }) => {
            println!(
                "gave up after {} restarts: recovery is suppressed by {strategy}",
                history.len()
            );
            Ok(())
        }
        other => {
            println!("unexpected end: {other:?}");
            Ok(())
        }
    }
}
