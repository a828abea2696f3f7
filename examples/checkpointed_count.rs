//! A keyed count with checkpoints every second into a directory. Stop it with Ctrl-C and run it
//! again: it resumes from the latest complete checkpoint, with its counts and its source position.
//!
//! `cargo run --release --example checkpointed_count -- [dir] [seconds]`
//! (default dir `./weir-checkpoints`; with `seconds`, it cancels itself after that long, keeping
//! its checkpoints, which is what Ctrl-C does too).

use std::time::{Duration, Instant};
use weir::{
    BoxError, ExternalizedCheckpointRetention, KeyedContext, KeyedProcessFunction, RuntimeContext,
    StreamEnvironment, ValueState,
};

#[derive(Clone, Default)]
struct Count {
    count: ValueState<u64>,
}

impl KeyedProcessFunction<u64, u64, (u64, u64)> for Count {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.count = ctx.value_state("count")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        _value: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<(u64, u64)>,
    ) -> Result<(), BoxError> {
        let n = *self.count.modify(ctx, || 0, |c| *c += 1);
        out.push((*ctx.current_key(), n));
        Ok(())
    }
}

fn main() -> Result<(), weir::Error> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .unwrap_or_else(|| "weir-checkpoints".to_string());
    let seconds: Option<u64> = args.next().and_then(|s| s.parse().ok());

    let mut env = StreamEnvironment::new();
    env.set_job_name("checkpointed count")
        .set_parallelism(2)
        .enable_checkpointing(Duration::from_secs(1))
        .set_checkpoint_dir(&dir);
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    match env.restore_from_latest(&dir) {
        Ok(report) => {
            println!(
                "resuming from checkpoint {} in {}",
                report.checkpoint_id, report.location
            );
            for skipped in &report.skipped {
                println!("  skipped an incomplete checkpoint: {skipped}");
            }
        }
        Err(weir::Error::Restore(weir::RestoreError::JobDirectoryNotFound { .. })) => {
            println!("no checkpoint in {dir} yet: starting from the beginning");
        }
        Err(weir::Error::Restore(weir::RestoreError::NoCompleteCheckpoint { skipped, .. }))
            if skipped.is_empty() =>
        {
            println!("no complete checkpoint in {dir} yet: starting from the beginning");
        }
        Err(e) => return Err(e),
    }
    env.generate_sequence(0, u64::MAX - 1)
        .uid("numbers")
        .key_by(|x| x % 100_000)
        .process(Count::default())
        .uid("count")
        .discard()
        .uid("discard");

    let client = env.spawn()?;
    let mut completed = client.subscribe_checkpoints();
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| weir::Error::Job(weir::JobError::Startup(e.to_string())))?;
    loop {
        let changed = rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(250), completed.changed()).await
        });
        if let Ok(Ok(())) = changed {
            if let Some(stats) = completed.borrow_and_update().clone() {
                println!(
                    "checkpoint {:>4}  {:>8.1} ms  {:>10} bytes",
                    stats.id,
                    stats.duration.as_secs_f64() * 1000.0,
                    stats.state_size
                );
            }
        }
        if client.status().is_terminal() {
            break;
        }
        if seconds.is_some_and(|s| started.elapsed() >= Duration::from_secs(s)) {
            println!(
                "stopping after {} s (checkpoints are kept)",
                started.elapsed().as_secs()
            );
            client.cancel();
            break;
        }
    }
    match client.wait_blocking() {
        Ok(_) | Err(weir::JobError::Cancelled) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
