//! [`JobClock`]: processing time as a job sees it (timers, state time-to-live), in milliseconds,
//! continuous across restarts and restores.
//!
//! # Guarantees
//! - **Wall clock**: normally processing time is the wall clock, in milliseconds since the Unix
//!   epoch (Flink's `System.currentTimeMillis()`). It is read once per run and advanced by
//!   tokio's monotonic clock from then on, so it never goes back within a run.
//! - **Virtual in deterministic mode**: the wall clock is never read; processing time is 0 when
//!   the job first starts and advances with tokio's paused, auto-advancing clock, so a run
//!   replays identically.
//! - **Continuous across restores**: every keyed snapshot records the processing time it was
//!   taken at, and a restore moves the clock forward to it if it is behind (never back). So a
//!   timer registered for time `t` fires at `t` after a restore, and a time-to-live stamp keeps
//!   its age, whether the restore is a restart within the run (the clock is already past the
//!   checkpoint) or a new run from a retained checkpoint (the clock continues from it: in
//!   deterministic mode, from the checkpoint's virtual time; with the wall clock, from the later
//!   of the checkpoint's time and now).
//! - One clock per run: every subtask of a run and every restart shares it, so the subtasks of
//!   a job agree on processing time.
//!
//! # Not guaranteed
//! A keyed subtask that reads the clock before another subtask of the same new run has
//! restored its state can see the clock jump forward to the checkpoint's time then; processing
//! time never goes back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// `origin_ms` before the clock is first read.
const UNSET: u64 = u64::MAX;

/// What one run of a job shares of its processing time: where it starts.
#[derive(Debug)]
pub(crate) struct ClockBase {
    /// Deterministic mode: start at 0, never read the wall clock.
    virtual_time: bool,
    /// Processing time at the run's start (its tokio instant), or [`UNSET`].
    origin_ms: AtomicU64,
}

impl ClockBase {
    /// A run's clock on the wall clock.
    pub(crate) fn wall() -> Arc<ClockBase> {
        Arc::new(ClockBase {
            virtual_time: false,
            origin_ms: AtomicU64::new(UNSET),
        })
    }

    /// A run's clock in deterministic mode: virtual time, from 0.
    pub(crate) fn virtual_time() -> Arc<ClockBase> {
        Arc::new(ClockBase {
            virtual_time: true,
            origin_ms: AtomicU64::new(0),
        })
    }

    /// Processing time at `start`, fixing it at the first call.
    #[inline]
    fn origin(&self, start: Instant) -> u64 {
        match self.origin_ms.load(Ordering::Acquire) {
            UNSET => self.fix_origin(start),
            origin => origin,
        }
    }

    #[cold]
    fn fix_origin(&self, start: Instant) -> u64 {
        let origin = if self.virtual_time {
            0
        } else {
            wall_ms().saturating_sub(elapsed_ms(start, Instant::now()))
        };
        let origin = origin.min(UNSET - 1);
        match self
            .origin_ms
            .compare_exchange(UNSET, origin, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => origin,
            Err(current) => current,
        }
    }
}

impl Default for ClockBase {
    fn default() -> Self {
        ClockBase {
            virtual_time: false,
            origin_ms: AtomicU64::new(UNSET),
        }
    }
}

/// Milliseconds since the Unix epoch now (0 if the system clock is before it).
fn wall_ms() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// Whole milliseconds from `start` to `at` (0 if `at` is earlier).
#[inline]
fn elapsed_ms(start: Instant, at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(start).as_millis()).unwrap_or(u64::MAX)
}

/// A job's processing-time clock, in milliseconds (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct JobClock {
    /// The run's start, on tokio's clock (virtual in deterministic mode).
    start: Instant,
    base: Arc<ClockBase>,
}

impl JobClock {
    /// The clock of a run that started at `start` and shares `base`.
    pub(crate) fn new(start: Instant, base: Arc<ClockBase>) -> JobClock {
        JobClock { start, base }
    }

    /// A virtual clock that reads 0 at `start` (for state used outside a job, and tests).
    pub fn starting_at(start: Instant) -> JobClock {
        JobClock::new(start, ClockBase::virtual_time())
    }

    /// Processing time now, in milliseconds.
    #[inline]
    pub fn now_ms(&self) -> u64 {
        self.ms_at(Instant::now())
    }

    /// Processing time at tokio instant `at` (the run's start time if `at` is earlier).
    #[inline]
    pub fn ms_at(&self, at: Instant) -> u64 {
        self.base
            .origin(self.start)
            .saturating_add(elapsed_ms(self.start, at))
    }

    /// The tokio instant at which processing time reads `ms` (the run's start for a time
    /// before it).
    pub fn instant_at(&self, ms: u64) -> Instant {
        let after = ms.saturating_sub(self.base.origin(self.start));
        self.start
            .checked_add(Duration::from_millis(after))
            .unwrap_or_else(|| self.start + Duration::from_secs(86_400 * 365 * 100))
    }

    /// Moves the clock forward so that it reads at least `position_ms` now (a restored
    /// snapshot's processing time); a clock already past it is left as it is.
    pub(crate) fn advance_to(&self, position_ms: u64) {
        let elapsed = elapsed_ms(self.start, Instant::now());
        let wanted = position_ms.saturating_sub(elapsed).min(UNSET - 1);
        self.base.origin(self.start);
        self.base.origin_ms.fetch_max(wanted, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paused<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn virtual_time_starts_at_zero_and_follows_tokio_time() {
        paused(async {
            let clock = JobClock::new(Instant::now(), ClockBase::virtual_time());
            assert_eq!(clock.now_ms(), 0);
            tokio::time::advance(Duration::from_millis(1500)).await;
            assert_eq!(clock.now_ms(), 1500);
            assert_eq!(
                clock.instant_at(2000) - Instant::now(),
                Duration::from_millis(500)
            );
        });
    }

    #[test]
    fn a_restore_moves_the_clock_forward_to_the_snapshot_never_back() {
        paused(async {
            let clock = JobClock::new(Instant::now(), ClockBase::virtual_time());
            tokio::time::advance(Duration::from_millis(10)).await;
            clock.advance_to(5_000);
            assert_eq!(
                clock.now_ms(),
                5_000,
                "a new run continues from the checkpoint"
            );
            tokio::time::advance(Duration::from_millis(250)).await;
            assert_eq!(clock.now_ms(), 5_250);
            let at = clock.instant_at(6_000);
            assert_eq!(at - Instant::now(), Duration::from_millis(750));
            clock.advance_to(100);
            assert_eq!(
                clock.now_ms(),
                5_250,
                "a restart's older checkpoint changes nothing"
            );
        });
    }

    #[test]
    fn every_clock_of_a_run_shares_the_restored_position() {
        paused(async {
            let base = ClockBase::virtual_time();
            let start = Instant::now();
            let (a, b) = (
                JobClock::new(start, base.clone()),
                JobClock::new(start, base),
            );
            a.advance_to(9_000);
            assert_eq!(b.now_ms(), 9_000);
        });
    }

    #[test]
    fn wall_clock_time_is_milliseconds_since_the_epoch() {
        let before = wall_ms();
        let clock = JobClock::new(Instant::now(), ClockBase::wall());
        let now = clock.now_ms();
        let after = wall_ms();
        assert!(before <= now && now <= after + 1, "{before} {now} {after}");
        assert!(now > 1_600_000_000_000, "epoch milliseconds: {now}");
    }
}
