use super::*;
use crate::task::operator::OperatorInfo;
use crate::task::stream_task::ChainSnapshot;
use std::sync::Arc;
use weir_actors::graph::task::SubtaskInfo;
use weir_actors::metrics::MetricsRegistry;

mod identity;

const UID: &str = "op";

fn info(index: u32, parallelism: u32, vertex: &[Option<Arc<Vec<u8>>>]) -> OperatorInfo {
    OperatorInfo {
        name: "Process".to_string(),
        uid: UID.to_string(),
        subtask: SubtaskInfo {
            job_id: "job".to_string(),
            first_checkpoint_id: 1,
            task_name: "Process".to_string(),
            index,
            parallelism,
            max_parallelism: 128,
            attempt: 0,
            output_channels: Vec::new(),
            metrics: Arc::new(MetricsRegistry::default()),
            job_start: tokio::time::Instant::now(),
            restored: None,
            deterministic: false,
            execution: 0,
            waker: Default::default(),
        },
        backend: Default::default(),
        restored: vertex.to_vec(),
    }
}

fn open(index: u32, parallelism: u32, vertex: &[Option<Arc<Vec<u8>>>]) -> OperatorStateStore {
    OperatorStateStore::open(&info(index, parallelism, vertex)).expect("store opens")
}

/// The task state a subtask would checkpoint with `store` as operator [`UID`]'s state, behind
/// another operator's state (so the lookup by uid is exercised).
fn task_state(store: &OperatorStateStore) -> Option<Arc<Vec<u8>>> {
    let bytes = (store.snapshot())().expect("snapshot writes");
    let chain = ChainSnapshot {
        source: Some(vec![1, 2, 3]),
        operators: vec![("other".to_string(), vec![9; 5]), (UID.to_string(), bytes)],
    };
    Some(Arc::new(postcard::to_allocvec(&chain).expect("encodes")))
}

#[test]
fn a_store_opened_without_a_checkpoint_is_not_restored_and_its_states_are_empty() {
    let mut store = open(0, 1, &[]);
    assert!(!store.is_restored());
    let list = store
        .context()
        .list_state::<u64>("buffer")
        .expect("declared");
    assert!(list.is_empty());
}

#[test]
fn list_state_restored_at_the_same_parallelism_gives_each_subtask_its_own_list() {
    let vertex: Vec<_> = (0..3u64)
        .map(|i| {
            let mut store = open(i as u32, 3, &[]);
            let list = store
                .context()
                .list_state::<u64>("buffer")
                .expect("declared");
            list.add_all((0..=i).map(|x| x + 10 * i));
            task_state(&store)
        })
        .collect();
    for i in 0..3u64 {
        let mut store = open(i as u32, 3, &vertex);
        assert!(store.is_restored());
        let list = store
            .context()
            .list_state::<u64>("buffer")
            .expect("declared");
        assert_eq!(
            list.get(),
            (0..=i).map(|x| x + 10 * i).collect::<Vec<_>>(),
            "subtask {i}"
        );
    }
}

#[test]
fn union_list_state_restores_every_subtasks_elements_on_every_subtask() {
    let vertex: Vec<_> = (0..3u32)
        .map(|i| {
            let mut store = open(i, 3, &[]);
            let union = store
                .context()
                .union_list_state::<u32>("owned")
                .expect("declared");
            union.add(i);
            task_state(&store)
        })
        .collect();
    for i in 0..3 {
        let mut store = open(i, 3, &vertex);
        let union = store
            .context()
            .union_list_state::<u32>("owned")
            .expect("declared");
        assert_eq!(union.get(), vec![0, 1, 2], "subtask {i}");
    }
}

#[test]
fn broadcast_state_restores_a_full_copy_on_every_subtask() {
    const RULES: BroadcastStateDescriptor<String, u64> = BroadcastStateDescriptor::new("rules");
    let vertex: Vec<_> = (0..2)
        .map(|i| {
            let mut store = open(i, 2, &[]);
            let rules = store.context().broadcast_state(&RULES).expect("declared");
            rules.put("mult".to_string(), 3);
            rules.put("add".to_string(), 1);
            task_state(&store)
        })
        .collect();
    for i in 0..2 {
        let mut store = open(i, 2, &vertex);
        let rules = store.context().broadcast_state(&RULES).expect("declared");
        assert_eq!(
            rules.entries(),
            vec![("add".to_string(), 1), ("mult".to_string(), 3)]
        );
    }
}

fn one_subtask_with_u64_buffer() -> Vec<Option<Arc<Vec<u8>>>> {
    let mut store = open(0, 1, &[]);
    store
        .context()
        .list_state::<u64>("buffer")
        .expect("declared")
        .add(7);
    vec![task_state(&store)]
}

#[test]
fn a_state_restored_with_another_type_is_an_error_naming_the_uid_and_the_state() {
    let vertex = one_subtask_with_u64_buffer();
    let mut store = open(0, 1, &vertex);
    let err = store
        .context()
        .list_state::<String>("buffer")
        .expect_err("type changed");
    assert_eq!(
        err,
        OperatorStateError::TypeChanged {
            uid: UID.to_string(),
            state: "buffer".to_string(),
            existing: "u64".to_string(),
            declared: "String".to_string(),
        }
    );
    assert!(err.to_string().contains("\"op\"") && err.to_string().contains("\"buffer\""));
}

#[test]
fn a_state_restored_as_another_kind_is_an_error_naming_the_uid_and_the_state() {
    let vertex = one_subtask_with_u64_buffer();
    let mut store = open(0, 1, &vertex);
    let err = store
        .context()
        .union_list_state::<u64>("buffer")
        .expect_err("kind changed");
    assert_eq!(
        err,
        OperatorStateError::KindChanged {
            uid: UID.to_string(),
            state: "buffer".to_string(),
            existing: StateKind::List,
            declared: StateKind::UnionList,
        }
    );
}

#[test]
fn declaring_a_state_twice_shares_it_and_another_type_is_refused() {
    let mut store = open(0, 1, &[]);
    let mut ctx = store.context();
    let a = ctx.list_state::<u64>("buffer").expect("declared");
    let b = ctx.list_state::<u64>("buffer").expect("declared again");
    a.add(1);
    assert_eq!(b.get(), vec![1]);
    assert!(matches!(
        ctx.list_state::<i32>("buffer"),
        Err(OperatorStateError::TypeChanged { .. })
    ));
}

#[test]
fn writes_after_a_snapshot_do_not_reach_it() {
    let mut store = open(0, 1, &[]);
    let list = store
        .context()
        .list_state::<u64>("buffer")
        .expect("declared");
    list.add_all([1, 2]);
    let writer = store.snapshot();
    list.add(3);
    list.clear();
    let bytes = writer().expect("writes");
    let chain = ChainSnapshot {
        source: None,
        operators: vec![(UID.to_string(), bytes)],
    };
    let vertex = vec![Some(Arc::new(
        postcard::to_allocvec(&chain).expect("encodes"),
    ))];
    let mut restored = open(0, 1, &vertex);
    let list = restored
        .context()
        .list_state::<u64>("buffer")
        .expect("declared");
    assert_eq!(list.get(), vec![1, 2]);
}

#[test]
fn a_restored_state_nobody_declares_is_carried_into_later_snapshots() {
    let vertex = one_subtask_with_u64_buffer();
    let store = open(0, 1, &vertex);
    let again = vec![task_state(&store)];
    let mut store = open(0, 1, &again);
    let list = store
        .context()
        .list_state::<u64>("buffer")
        .expect("declared");
    assert_eq!(list.get(), vec![7]);
}

#[test]
fn undecodable_operator_state_is_an_error_naming_the_uid_and_the_subtask() {
    let chain = ChainSnapshot {
        source: None,
        operators: vec![(UID.to_string(), vec![0xff; 3])],
    };
    let vertex = vec![
        task_state(&open(0, 2, &[])),
        Some(Arc::new(postcard::to_allocvec(&chain).expect("encodes"))),
    ];
    let err = OperatorStateStore::open(&info(0, 2, &vertex)).expect_err("corrupt");
    assert!(
        matches!(&err, OperatorStateError::CorruptSnapshot { uid, subtask: 1, .. } if uid == UID),
        "{err:?}"
    );
}

#[test]
fn an_operator_absent_from_the_checkpoint_starts_empty_and_not_restored() {
    let chain = ChainSnapshot {
        source: None,
        operators: vec![("other".to_string(), vec![1])],
    };
    let vertex = vec![Some(Arc::new(
        postcard::to_allocvec(&chain).expect("encodes"),
    ))];
    let store = open(0, 1, &vertex);
    assert!(!store.is_restored());
}
