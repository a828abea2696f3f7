//! Operator state type identities: what a snapshot records, and which restores it allows.

use super::*;
use crate::state::operator::snapshot::{
    OperatorStateSnapshot, OperatorStateSnapshotRef, StateEntryRef, FORMAT_VERSION,
};

/// Two element types of the same shape under different names.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Offset(u64);

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Position(u64);

/// One subtask's task state holding operator [`UID`]'s `bytes` (an operator state snapshot).
fn vertex_of(bytes: Vec<u8>) -> Vec<Option<Arc<Vec<u8>>>> {
    let chain = ChainSnapshot {
        source: None,
        operators: vec![(UID.to_string(), bytes)],
    };
    vec![Some(Arc::new(
        postcard::to_allocvec(&chain).expect("encodes"),
    ))]
}

/// The snapshot an earlier weir wrote for list state `name` of `String`s: the element type
/// recorded as its full `std::any::type_name`.
fn old_snapshot_of_strings(name: &str, items: &[&str]) -> Vec<u8> {
    let elements: Vec<Vec<u8>> = (items.iter())
        .map(|s| postcard::to_allocvec(&s.to_string()).expect("encodes"))
        .collect();
    let snapshot = OperatorStateSnapshotRef {
        version: FORMAT_VERSION,
        states: vec![StateEntryRef {
            name,
            kind: StateKind::List,
            type_name: std::any::type_name::<String>(),
            elements: &elements,
        }],
    };
    postcard::to_allocvec(&snapshot).expect("encodes")
}

/// Each state's recorded (kind, type identity) in `store`'s next snapshot.
fn recorded(store: &OperatorStateStore) -> Vec<(String, StateKind, String)> {
    let bytes = (store.snapshot())().expect("snapshot writes");
    let snapshot: OperatorStateSnapshot = postcard::from_bytes(&bytes).expect("decodes");
    (snapshot.states.into_iter())
        .map(|s| (s.name, s.kind, s.type_name))
        .collect()
}

#[test]
fn a_snapshot_records_the_identity_of_each_element_type() {
    const RULES: BroadcastStateDescriptor<String, Vec<u64>> =
        BroadcastStateDescriptor::new("rules");
    let mut store = open(0, 1, &[]);
    let mut ctx = store.context();
    ctx.list_state::<Option<String>>("names").expect("declared");
    ctx.union_list_state::<(u64, Offset)>("pairs")
        .expect("declared");
    ctx.broadcast_state(&RULES).expect("declared");
    let expected = vec![
        (
            "names".to_string(),
            StateKind::List,
            "Option<String>".to_string(),
        ),
        (
            "pairs".to_string(),
            StateKind::UnionList,
            "(u64, Offset)".to_string(),
        ),
        (
            "rules".to_string(),
            StateKind::Broadcast,
            "(String, Vec<u64>)".to_string(),
        ),
    ];
    assert_eq!(recorded(&store), expected);
}

#[test]
fn a_list_recorded_with_a_full_type_name_by_an_earlier_weir_restores() {
    let vertex = vertex_of(old_snapshot_of_strings("names", &["a", "b"]));
    let mut store = open(0, 1, &vertex);
    let names = store
        .context()
        .list_state::<String>("names")
        .expect("the same type restores");
    assert_eq!(names.get(), vec!["a".to_string(), "b".to_string()]);
    assert_eq!(recorded(&store)[0].2, "String");
}

#[test]
fn a_list_recorded_with_a_full_type_name_of_another_type_is_refused() {
    let vertex = vertex_of(old_snapshot_of_strings("names", &["a"]));
    let mut store = open(0, 1, &vertex);
    let err = store
        .context()
        .list_state::<u64>("names")
        .expect_err("String -> u64");
    assert_eq!(
        err,
        OperatorStateError::TypeChanged {
            uid: UID.to_string(),
            state: "names".to_string(),
            existing: std::any::type_name::<String>().to_string(),
            declared: "u64".to_string(),
        }
    );
}

/// A checkpoint of list state "offsets" holding `Offset(1)` and `Offset(2)`, declared with the
/// explicit identity `id`.
fn offsets_with_id(id: &str) -> Vec<Option<Arc<Vec<u8>>>> {
    let mut store = open(0, 1, &[]);
    let offsets = store
        .context()
        .with_type_id(id)
        .list_state::<Offset>("offsets")
        .expect("declared");
    offsets.add_all([Offset(1), Offset(2)]);
    assert_eq!(recorded(&store)[0].2, id);
    vec![task_state(&store)]
}

#[test]
fn an_explicit_type_id_survives_a_renamed_element_type() {
    let vertex = offsets_with_id("offset/v1");
    let mut store = open(0, 1, &vertex);
    let positions = store
        .context()
        .with_type_id("offset/v1")
        .list_state::<Position>("offsets")
        .expect("the same id restores");
    assert_eq!(positions.get(), vec![Position(1), Position(2)]);
}

#[test]
fn a_changed_explicit_type_id_is_refused_naming_the_uid_and_the_state() {
    let vertex = offsets_with_id("offset/v1");
    let mut store = open(0, 1, &vertex);
    let err = store
        .context()
        .with_type_id("offset/v2")
        .list_state::<Offset>("offsets")
        .expect_err("another id");
    assert_eq!(
        err,
        OperatorStateError::TypeChanged {
            uid: UID.to_string(),
            state: "offsets".to_string(),
            existing: "offset/v1".to_string(),
            declared: "offset/v2".to_string(),
        }
    );
    let err = store
        .context()
        .list_state::<Offset>("offsets")
        .expect_err("no id");
    assert!(err.to_string().contains("offset/v1") && err.to_string().contains("Offset"));
}

#[test]
fn broadcast_state_takes_the_contexts_id_over_the_descriptors() {
    const RULES: BroadcastStateDescriptor<String, u64> =
        BroadcastStateDescriptor::new("rules").with_type_id("rules/v1");
    let mut store = open(0, 1, &[]);
    store
        .context()
        .broadcast_state(&RULES)
        .expect("declared")
        .put("x".to_string(), 1);
    assert_eq!(recorded(&store)[0].2, "rules/v1");
    let vertex = vec![task_state(&store)];

    // The descriptor's id restores; the context's overrides it, and another id is refused.
    let mut again = open(0, 1, &vertex);
    let rules = again.context().broadcast_state(&RULES).expect("same id");
    assert_eq!(rules.entries(), vec![("x".to_string(), 1)]);
    let mut other = open(0, 1, &vertex);
    let declared = other
        .context()
        .with_type_id("rules/v2")
        .broadcast_state(&RULES);
    assert!(
        matches!(declared, Err(OperatorStateError::TypeChanged { ref existing, ref declared, .. })
        if existing == "rules/v1" && declared == "rules/v2"),
        "the context's id differs"
    );
}

#[test]
fn declaring_a_name_again_with_another_type_or_id_is_refused_in_the_same_subtask() {
    let mut store = open(0, 1, &[]);
    let mut ctx = store.context();
    ctx.with_type_id("o")
        .list_state::<Offset>("o")
        .expect("declared");
    let err = ctx
        .with_type_id("o")
        .list_state::<Position>("o")
        .expect_err("another type");
    assert!(
        matches!(err, OperatorStateError::TypeChanged { .. }),
        "{err}"
    );
    let err = ctx
        .with_type_id("p")
        .list_state::<Offset>("o")
        .expect_err("another id");
    assert!(
        matches!(err, OperatorStateError::TypeChanged { .. }),
        "{err}"
    );
    ctx.with_type_id("o")
        .list_state::<Offset>("o")
        .expect("the same declaration");
}
