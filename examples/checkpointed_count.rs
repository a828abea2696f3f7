//! A keyed count with checkpoints every second into a directory. Stop it with Ctrl-C and run it
//! again: it resumes from the latest complete checkpoint, with its counts and its source position.
//!
//! `cargo run --release --example checkpointed_count -- [dir] [seconds]`
//! (default dir `./weir-checkpoints`; with `seconds`, it cancels itself after that long, which
//! is what Ctrl-C does too: the job is cancelled and its checkpoints are kept).

use std::time::Duration;
use weir::prelude::*;

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

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .unwrap_or_else(|| "weir-checkpoints".to_string());
    let seconds: Option<u64> = args.next().and_then(|s| s.parse().ok());
    run(&dir, seconds.map(Duration::from_secs))
}

/// Runs the job until Ctrl-C (or `stop_after`), printing each completed checkpoint.
pub fn run(dir: &str, stop_after: Option<Duration>) -> Result<(), BoxError> {
    let mut env = StreamEnvironment::new();
    env.set_job_name("checkpointed count")
        .set_parallelism(2)
        .enable_checkpointing(Duration::from_secs(1))
        .set_checkpoint_dir(dir);
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    match env.restore_from_latest(dir) {
        Ok(report) => {
            println!(
                "resuming from checkpoint {} in {}",
                report.checkpoint_id, report.location
            );
            for skipped in &report.skipped {
                println!("  skipped an incomplete checkpoint: {skipped}");
            }
        }
        Err(Error::Restore(RestoreError::JobDirectoryNotFound { .. })) => {
            println!("no checkpoint in {dir} yet: starting from the beginning");
        }
        Err(Error::Restore(RestoreError::NoCompleteCheckpoint { skipped, .. }))
            if skipped.is_empty() =>
        {
            println!("no complete checkpoint in {dir} yet: starting from the beginning");
        }
        Err(e) => return Err(e.into()),
    }
    env.generate_sequence(0, u64::MAX - 1)
        .uid("numbers")
        .key_by(|x| x % 100_000)
        .process(Count::default())
        .uid("count")
        .discard()
        .uid("discard");

    let client = env.spawn()?;
    client.cancel_on_ctrl_c()?;
    println!("job running: press Ctrl-C to cancel it (its checkpoints are kept)");
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?
        .block_on(watch(&client, stop_after));
    match client.wait_blocking() {
        Ok(_) => Ok(()),
        Err(JobError::Cancelled) => {
            println!("cancelled: the checkpoints in {dir} are kept; run again to resume");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Prints each completed checkpoint until the job ends, or cancels it after `stop_after`.
async fn watch(client: &JobClient, stop_after: Option<Duration>) {
    let mut completed = client.subscribe_checkpoints();
    let mut status = client.subscribe_status();
    let stop = async {
        match stop_after {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            changed = completed.changed() => {
                if changed.is_err() {
                    return;
                }
                if let Some(stats) = completed.borrow_and_update().clone() {
                    println!(
                        "checkpoint {:>4}  {:>8.1} ms  {:>10} bytes",
                        stats.id,
                        stats.duration.as_secs_f64() * 1000.0,
                        stats.state_size
                    );
                }
            }
            _ = status.wait_for(|s| s.is_terminal()) => return,
            _ = &mut stop => {
                println!("stopping after {} s", stop_after.unwrap_or_default().as_secs());
                client.cancel();
                return;
            }
        }
    }
}
