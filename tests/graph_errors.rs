//! Invalid job graphs are typed errors from `execute`, before anything runs.

use weir::{Error, GraphError, StreamEnvironment};

fn graph_error(env: &StreamEnvironment) -> GraphError {
    match env.execute() {
        Err(Error::Graph(e)) => e,
        other => panic!("expected a graph error, got {other:?}"),
    }
}

#[test]
fn a_job_without_a_sink_is_rejected() {
    let env = StreamEnvironment::new();
    let _ = env.generate_sequence(0, 10).map(|x| x + 1);
    assert_eq!(graph_error(&env), GraphError::NoSink);
}

#[test]
fn a_parallelism_of_zero_is_rejected() {
    let env = StreamEnvironment::new();
    env.generate_sequence(0, 10)
        .map(|x| x + 1)
        .name("Inc")
        .set_parallelism(0)
        .discard();
    assert_eq!(
        graph_error(&env),
        GraphError::ZeroParallelism {
            operator: "Inc".into()
        }
    );
}

#[test]
fn a_parallelism_above_max_parallelism_is_rejected() {
    let mut env = StreamEnvironment::new();
    env.set_max_parallelism(4);
    env.generate_sequence(0, 10)
        .discard()
        .name("Out")
        .set_parallelism(5);
    assert_eq!(
        graph_error(&env),
        GraphError::ParallelismAboveMax {
            operator: "Out".into(),
            parallelism: 5,
            max_parallelism: 4
        }
    );
}

#[test]
fn duplicate_uids_are_rejected() {
    let env = StreamEnvironment::new();
    env.generate_sequence(0, 10)
        .name("A")
        .uid("same")
        .map(|x| x)
        .name("B")
        .uid("same")
        .discard();
    assert_eq!(
        graph_error(&env),
        GraphError::DuplicateUid {
            uid: "same".into(),
            first: "A".into(),
            second: "B".into()
        }
    );
}

#[test]
fn a_stream_left_unconnected_is_rejected() {
    let env = StreamEnvironment::new();
    let numbers = env.generate_sequence(0, 10);
    numbers.discard();
    let _dangling = numbers.map(|x| x * 2).name("Doubler");
    assert_eq!(
        graph_error(&env),
        GraphError::UnconnectedStream {
            operator: "Doubler".into()
        }
    );
}

#[test]
fn an_iterator_source_cannot_be_parallel() {
    let env = StreamEnvironment::new();
    env.from_iter(0..10u32).set_parallelism(2).discard();
    assert!(matches!(
        graph_error(&env),
        GraphError::NonParallelSource { parallelism: 2, .. }
    ));
}

#[test]
fn max_parallelism_out_of_range_is_rejected() {
    let mut env = StreamEnvironment::new();
    env.set_max_parallelism(40_000);
    env.generate_sequence(0, 10).discard();
    assert_eq!(
        graph_error(&env),
        GraphError::MaxParallelismOutOfRange(40_000)
    );
}

#[test]
fn forward_between_unequal_parallelism_is_rejected() {
    let env = StreamEnvironment::new();
    env.generate_sequence(0, 10)
        .set_parallelism(2)
        .forward()
        .map(|x| x)
        .set_parallelism(3)
        .discard();
    assert!(matches!(
        graph_error(&env),
        GraphError::InvalidSetting { .. }
    ));
}

#[test]
fn a_default_parallelism_of_zero_blames_the_environment() {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(0);
    env.generate_sequence(0, 10)
        .map(|x| x + 1)
        .name("Inc")
        .discard();
    let error = graph_error(&env);
    assert_eq!(error, GraphError::ZeroDefaultParallelism);
    assert!(error.to_string().contains("set_parallelism"), "{error}");
}
