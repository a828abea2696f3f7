//! [`diff`]: what differs between two snapshots, operator by operator uid.

use super::report::{BackendOrigin, OperatorReport, SnapshotReport, StateReport};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A value in snapshot `a` and in snapshot `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueChange<T> {
    /// In `a`.
    pub a: T,
    /// In `b`.
    pub b: T,
}

impl<T: PartialEq> ValueChange<T> {
    /// Whether the two differ.
    pub fn changed(&self) -> bool {
        self.a != self.b
    }
}

/// What a state is, as a restore matches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateIdentity {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Its recorded type.
    pub type_name: String,
}

/// A state of the same name with another kind or type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// Its name.
    pub name: String,
    /// Its kind in `a` and in `b`.
    pub kind: ValueChange<String>,
    /// Its recorded type in `a` and in `b`.
    pub type_name: ValueChange<String>,
}

/// An operator uid both snapshots have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OperatorDiff {
    /// The uid.
    pub uid: String,
    /// Its parallelism in each.
    pub parallelism: ValueChange<u32>,
    /// The vertex it runs in, in each (a change of chaining).
    pub vertex_uid: ValueChange<String>,
    /// The backend that wrote its keyed state, in each.
    pub backend: ValueChange<Option<BackendOrigin>>,
    /// States only `b` has.
    pub states_added: Vec<StateIdentity>,
    /// States only `a` has.
    pub states_removed: Vec<StateIdentity>,
    /// States of both with another kind or type.
    pub states_changed: Vec<StateChange>,
    /// Bytes of its state in each.
    pub state_bytes: ValueChange<u64>,
    /// Whether anything above differs (bytes aside).
    pub changed: bool,
}

/// What differs between snapshots `a` and `b`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnapshotDiff {
    /// `a`'s `chk-<n>` directory.
    pub a: PathBuf,
    /// `b`'s `chk-<n>` directory.
    pub b: PathBuf,
    /// The job ids.
    pub job_id: ValueChange<String>,
    /// The max parallelism of each (a restore cannot change it).
    pub max_parallelism: ValueChange<u32>,
    /// Operator uids only `a` has.
    pub only_in_a: Vec<String>,
    /// Operator uids only `b` has.
    pub only_in_b: Vec<String>,
    /// Operator uids both have, by uid.
    pub in_both: Vec<OperatorDiff>,
    /// Bytes of each snapshot's state.
    pub state_bytes: ValueChange<u64>,
}

/// Compares two inspected snapshots by operator uid.
pub fn diff(a: &SnapshotReport, b: &SnapshotReport) -> SnapshotDiff {
    let by_uid = |r: &SnapshotReport| -> BTreeMap<String, OperatorReport> {
        r.operators
            .iter()
            .map(|o| (o.uid.clone(), o.clone()))
            .collect()
    };
    let (ops_a, ops_b) = (by_uid(a), by_uid(b));
    let only = |x: &BTreeMap<String, OperatorReport>, y: &BTreeMap<String, OperatorReport>| {
        x.keys().filter(|k| !y.contains_key(*k)).cloned().collect()
    };
    let in_both = ops_a
        .iter()
        .filter_map(|(uid, op_a)| ops_b.get(uid).map(|op_b| operator_diff(op_a, op_b)))
        .collect();
    SnapshotDiff {
        a: a.path.clone(),
        b: b.path.clone(),
        job_id: change(a.job_id.clone(), b.job_id.clone()),
        max_parallelism: change(a.max_parallelism, b.max_parallelism),
        only_in_a: only(&ops_a, &ops_b),
        only_in_b: only(&ops_b, &ops_a),
        in_both,
        state_bytes: change(a.state_bytes, b.state_bytes),
    }
}

fn change<T>(a: T, b: T) -> ValueChange<T> {
    ValueChange { a, b }
}

fn identity(s: &StateReport) -> StateIdentity {
    StateIdentity {
        name: s.name.clone(),
        kind: s.kind.clone(),
        type_name: s.type_name.clone(),
    }
}

fn operator_diff(a: &OperatorReport, b: &OperatorReport) -> OperatorDiff {
    let states = |o: &OperatorReport| -> BTreeMap<String, StateIdentity> {
        o.states
            .iter()
            .map(|s| (s.name.clone(), identity(s)))
            .collect()
    };
    let (states_a, states_b) = (states(a), states(b));
    let missing = |x: &BTreeMap<String, StateIdentity>, y: &BTreeMap<String, StateIdentity>| {
        x.iter()
            .filter(|(name, _)| !y.contains_key(*name))
            .map(|(_, s)| s.clone())
            .collect::<Vec<_>>()
    };
    let states_changed: Vec<StateChange> = states_a
        .iter()
        .filter_map(|(name, sa)| {
            let sb = states_b.get(name)?;
            (sa != sb).then(|| StateChange {
                name: name.clone(),
                kind: change(sa.kind.clone(), sb.kind.clone()),
                type_name: change(sa.type_name.clone(), sb.type_name.clone()),
            })
        })
        .collect();
    let mut diff = OperatorDiff {
        uid: a.uid.clone(),
        parallelism: change(a.parallelism, b.parallelism),
        vertex_uid: change(a.vertex_uid.clone(), b.vertex_uid.clone()),
        backend: change(a.backend, b.backend),
        states_added: missing(&states_b, &states_a),
        states_removed: missing(&states_a, &states_b),
        states_changed,
        state_bytes: change(a.state_bytes, b.state_bytes),
        changed: false,
    };
    diff.changed = diff.parallelism.changed()
        || diff.vertex_uid.changed()
        || diff.backend.changed()
        || !diff.states_added.is_empty()
        || !diff.states_removed.is_empty()
        || !diff.states_changed.is_empty();
    diff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::inspect::report::{SnapshotKind, StateReport};

    fn state(name: &str, type_name: &str) -> StateReport {
        StateReport {
            name: name.into(),
            kind: type_name.split('<').next().unwrap_or_default().into(),
            type_name: type_name.into(),
            storage: "heap".into(),
            bytes: Some(10),
            subtasks: vec![0],
        }
    }

    fn op(uid: &str, parallelism: u32, states: Vec<StateReport>) -> OperatorReport {
        OperatorReport {
            uid: uid.into(),
            vertex_uid: uid.into(),
            parallelism,
            backend: None,
            subtasks_with_state: vec![0],
            state_bytes: 10 * states.len() as u64,
            subtasks: Vec::new(),
            states,
            source_position: false,
        }
    }

    fn snapshot(operators: Vec<OperatorReport>) -> SnapshotReport {
        SnapshotReport {
            path: PathBuf::from("chk-1"),
            kind: SnapshotKind::Savepoint,
            job_id: "job".into(),
            checkpoint_id: 1,
            timestamp_ms: 0,
            max_parallelism: 128,
            state_bytes: operators.iter().map(|o| o.state_bytes).sum(),
            full_state_bytes: 0,
            vertices: Vec::new(),
            operators,
        }
    }

    #[test]
    fn operators_and_states_are_compared_by_uid_and_name() {
        let a = snapshot(vec![
            op("gone", 2, vec![]),
            op("same", 2, vec![state("s", "ValueState<u64>")]),
            op(
                "changed",
                2,
                vec![
                    state("kept", "ValueState<u64>"),
                    state("retyped", "ValueState<u64>"),
                    state("dropped", "ListState<u8>"),
                ],
            ),
        ]);
        let mut rocks = op(
            "changed",
            3,
            vec![
                state("kept", "ValueState<u64>"),
                state("retyped", "MapState<u64, u8>"),
                state("new", "ReducingState<u64>"),
            ],
        );
        rocks.backend = Some(BackendOrigin::RocksdbFull);
        let b = snapshot(vec![
            op("same", 2, vec![state("s", "ValueState<u64>")]),
            rocks,
            op("added", 1, vec![]),
        ]);
        let d = diff(&a, &b);
        assert_eq!(d.only_in_a, ["gone"]);
        assert_eq!(d.only_in_b, ["added"]);
        let uids: Vec<&str> = d.in_both.iter().map(|o| o.uid.as_str()).collect();
        assert_eq!(uids, ["changed", "same"]);
        let (changed, same) = (&d.in_both[0], &d.in_both[1]);
        assert!(!same.changed);
        assert!(changed.changed);
        assert_eq!(changed.parallelism, ValueChange { a: 2, b: 3 });
        assert_eq!(changed.backend.b, Some(BackendOrigin::RocksdbFull));
        let names = |s: &[StateIdentity]| s.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&changed.states_added), ["new"]);
        assert_eq!(names(&changed.states_removed), ["dropped"]);
        assert_eq!(changed.states_changed.len(), 1);
        assert_eq!(changed.states_changed[0].name, "retyped");
        assert_eq!(changed.states_changed[0].kind.b, "MapState");
        assert_eq!(d.state_bytes, ValueChange { a: 40, b: 40 });
    }
}
