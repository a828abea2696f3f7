//! A failed access to one key's entry, recorded where it happens and reported after the call.
//!
//! State handles hand out references (`&V`, `&mut V`) and return no `Result`, so a state map
//! that meets a failure mid-call (a key of a group the subtask does not own, a RocksDB read or
//! write error, an entry that does not decode) records it in the backend's [`ErrorSlot`] and
//! carries on with a harmless answer; the operator takes the first error after the call and
//! fails the subtask with it, naming the operator, the state and the key group, before anything
//! the call emitted is sent.

use crate::state::keyed::error::{KeyedStateError, StateAccessCause, StateOperation};
use parking_lot::Mutex;
use std::ops::RangeInclusive;
use std::sync::Arc;

/// The first failed access since the operator last looked, shared by a backend's state maps.
pub(crate) type ErrorSlot = Arc<Mutex<Option<FailedAccess>>>;

/// A failed access to an entry of state `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FailedAccess {
    /// The state's name.
    pub state: String,
    /// What went wrong.
    pub failure: AccessFailure,
}

/// What went wrong accessing an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AccessFailure {
    /// The key's group is not one the subtask owns.
    OutOfRange {
        key_group: u32,
        range: RangeInclusive<u32>,
    },
    /// A read or write failed.
    Access {
        key_group: Option<u32>,
        operation: StateOperation,
        cause: StateAccessCause,
    },
}

impl FailedAccess {
    /// Records `self` in `slot` unless an earlier failure is there (the first one is reported).
    #[cold]
    pub(crate) fn record(self, slot: &ErrorSlot) {
        slot.lock().get_or_insert(self);
    }

    /// The error the operator `operator` fails with.
    pub(crate) fn into_error(self, operator: &str) -> KeyedStateError {
        let operator = operator.to_string();
        let state = self.state;
        match self.failure {
            AccessFailure::OutOfRange { key_group, range } => KeyedStateError::KeyGroupOutOfRange {
                operator,
                state,
                key_group,
                range,
            },
            AccessFailure::Access {
                key_group,
                operation,
                cause,
            } => KeyedStateError::StateAccess {
                operator,
                state,
                key_group,
                operation,
                cause,
            },
        }
    }
}
