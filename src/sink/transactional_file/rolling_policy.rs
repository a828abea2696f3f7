//! [`RollingPolicy`]: when the transactional file sink closes a part file and starts the next
//! one within a transaction (every checkpoint closes the open part anyway).

/// When a part file is closed and the next one begun (Flink's `DefaultRollingPolicy`, by size).
///
/// A part is always closed at a checkpoint barrier: each checkpoint's records are in parts of
/// their own. Within a checkpoint, a part is closed as soon as it holds at least
/// [`max_part_size`](Self::max_part_size) bytes (a record is never split across two parts, so a
/// part may exceed the size by one record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollingPolicy {
    max_part_size: u64,
}

impl Default for RollingPolicy {
    /// Parts of at most 128 MiB (plus one record), as Flink's default rolling policy.
    fn default() -> Self {
        RollingPolicy::by_size(128 * 1024 * 1024)
    }
}

impl RollingPolicy {
    /// Closes a part once it holds at least `bytes` bytes (at least 1).
    pub fn by_size(bytes: u64) -> Self {
        RollingPolicy {
            max_part_size: bytes.max(1),
        }
    }

    /// Only at checkpoints: one part per checkpoint and subtask, whatever its size.
    pub fn on_checkpoint_only() -> Self {
        RollingPolicy {
            max_part_size: u64::MAX,
        }
    }

    /// The size at which a part is closed.
    pub fn max_part_size(&self) -> u64 {
        self.max_part_size
    }

    /// Whether a part holding `bytes` bytes is closed now.
    pub(super) fn should_roll(&self, bytes: u64) -> bool {
        bytes >= self.max_part_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_rolls_once_it_reaches_the_size() {
        let policy = RollingPolicy::by_size(10);
        assert!(!policy.should_roll(9));
        assert!(policy.should_roll(10));
        assert!(policy.should_roll(11));
        assert!(!RollingPolicy::on_checkpoint_only().should_roll(u64::MAX - 1));
        assert_eq!(RollingPolicy::by_size(0).max_part_size(), 1);
    }
}
