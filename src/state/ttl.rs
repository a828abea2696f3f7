//! Time-to-live of keyed state (Flink's `StateTtlConfig`): a state declared with a TTL forgets
//! a key's entry once it has not been written (or, optionally, read) for the TTL.
//!
//! Declare with [`RuntimeContext::with_ttl`](crate::RuntimeContext::with_ttl):
//! ```
//! # use weir::{RuntimeContext, StateTtlConfig, TtlUpdateType, ValueState, BoxError};
//! # use std::time::Duration;
//! # fn open(ctx: &mut RuntimeContext<'_, u64>) -> Result<ValueState<u64>, BoxError> {
//! let ttl = StateTtlConfig::new(Duration::from_secs(60)).update_type(TtlUpdateType::OnReadAndWrite);
//! ctx.with_ttl(ttl).value_state("last-seen")
//! # }
//! ```
//!
//! # Semantics
//! - Time is processing time ([`JobClock`](crate::JobClock): wall-clock milliseconds, virtual
//!   in deterministic mode, continuous across restores); an entry stamped at `t` is expired
//!   from `t + ttl` on.
//! - The TTL applies per key to the key's whole entry: a value, a reducing or aggregating
//!   state's accumulator, a whole list, a whole map. (Flink expires list elements and map
//!   entries one by one; weir stamps the key's entry, refreshed by any write to it.)
//! - [`TtlUpdateType`]: the stamp is renewed on create and write (default), or also on read.
//! - [`StateVisibility`]: an expired entry is never returned (default; reading it removes it),
//!   or returned until it is cleaned up.
//! - Cleanup: an expired entry is removed when its key is next touched; until then it stays in
//!   the backend and in checkpoints, with its stamp, so it still expires after a restore.
//! - Enabling or disabling the TTL of a state changes its recorded type: a restore across that
//!   change is an error naming the state, as in Flink.

use std::time::Duration;

/// The suffix of the name under which a state with a time-to-live keeps its stamps (a RocksDB
/// column family `<name>#ttl`; a snapshot's entries keep them beside the state's).
pub(crate) const TTL_STAMPS_SUFFIX: &str = "#ttl";

/// When the time-to-live of an entry starts again (Flink's `StateTtlConfig.UpdateType`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TtlUpdateType {
    /// On creation and on every write (Flink's default).
    #[default]
    OnCreateAndWrite,
    /// On creation, every write and every read.
    OnReadAndWrite,
}

/// Whether an expired entry that was not cleaned up yet can be read (Flink's
/// `StateTtlConfig.StateVisibility`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StateVisibility {
    /// Never (Flink's default): an expired entry reads as absent and is removed.
    #[default]
    NeverReturnExpired,
    /// Until it is cleaned up.
    ReturnExpiredIfNotCleanedUp,
}

/// The time-to-live of a keyed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateTtlConfig {
    /// How long an entry lives after its last stamp.
    pub ttl: Duration,
    /// What renews the stamp.
    pub update_type: TtlUpdateType,
    /// Whether expired entries can still be read.
    pub visibility: StateVisibility,
}

impl StateTtlConfig {
    /// A TTL of `ttl`, renewed on create and write, expired entries never returned.
    pub fn new(ttl: Duration) -> Self {
        StateTtlConfig {
            ttl,
            update_type: TtlUpdateType::default(),
            visibility: StateVisibility::default(),
        }
    }

    /// Sets what renews the stamp.
    pub fn update_type(mut self, update_type: TtlUpdateType) -> Self {
        self.update_type = update_type;
        self
    }

    /// Sets whether expired entries can still be read.
    pub fn visibility(mut self, visibility: StateVisibility) -> Self {
        self.visibility = visibility;
        self
    }

    /// The TTL in milliseconds of processing time.
    pub(crate) fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }
}
