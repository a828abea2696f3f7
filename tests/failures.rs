//! A failing operator fails the job with a typed error naming the operator, its uid and the
//! subtask; nothing of the job keeps running, and the next job in the same process runs fine.

use weir::task::operator::Operator;
use weir::{BoxError, Error, JobError, JobStatus, StreamEnvironment, TaskErrorKind};

#[test]
fn panicking_map_fails_the_job_with_a_typed_error_and_the_next_job_runs() {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2);
    env.generate_sequence(0, 100_000)
        .map(|x| {
            if x == 77_777 {
                panic!("bad record {x}");
            }
            x
        })
        .name("Parse")
        .uid("parse")
        .discard();
    let err = env.execute().expect_err("the job fails");
    let Error::Job(JobError::TaskFailed(failure)) = err else {
        panic!("expected a task failure, got {err:?}");
    };
    assert_eq!(failure.error.kind, TaskErrorKind::Panic);
    assert_eq!(failure.error.message, "bad record 77777");
    assert_eq!(failure.error.operator.as_deref(), Some("Parse [parse]"));
    assert_eq!(
        failure.subtask.index, 1,
        "77 777 is in the second half of the sequence"
    );
    assert_eq!(failure.subtask.parallelism, 2);
    let text = failure.to_string();
    assert!(
        text.contains("Parse") && text.contains("parse") && text.contains("2/2"),
        "{text}"
    );

    let env = StreamEnvironment::new();
    let out = env.generate_sequence(1, 10).map(|x| x * 2).collect();
    env.execute().expect("a second job runs fine");
    let mut got = out.records();
    got.sort();
    assert_eq!(got, (1..=10).map(|x| x * 2).collect::<Vec<u64>>());
}

struct FailsAt(u64);

impl Operator<u64, u64> for FailsAt {
    fn process_batch(&mut self, input: Vec<u64>, out: &mut Vec<u64>) -> Result<(), BoxError> {
        for x in input {
            if x == self.0 {
                return Err(format!("cannot handle {x}").into());
            }
            out.push(x);
        }
        Ok(())
    }
}

#[test]
fn an_error_returned_by_user_code_fails_the_job_naming_the_operator() {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(1);
    env.generate_sequence(0, 1000)
        .transform("Validate", |_| Ok(FailsAt(500)))
        .uid("validate")
        .discard();
    let client = env.spawn().expect("job starts");
    let err = client.wait_blocking().expect_err("the job fails");
    match err {
        JobError::TaskFailed(f) => {
            assert_eq!(f.error.kind, TaskErrorKind::User);
            assert_eq!(f.error.message, "cannot handle 500");
            assert_eq!(f.subtask.uid, "Validate [validate]");
        }
        other => panic!("expected a task failure, got {other:?}"),
    }
}

#[test]
fn a_failed_job_reports_failed_status() {
    let env = StreamEnvironment::new();
    env.generate_sequence(0, 10)
        .map(|x| if x == 5 { panic!("five") } else { x })
        .discard();
    let client = env.spawn().expect("job starts");
    let status = client.subscribe_status();
    let result = client.wait_blocking();
    assert!(
        matches!(&result, Err(JobError::TaskFailed(f)) if f.error.message == "five"),
        "{result:?}"
    );
    assert_eq!(*status.borrow(), JobStatus::Failed);
}

#[test]
fn a_panicking_source_fails_the_job() {
    let env = StreamEnvironment::new();
    env.from_iter((0..100u32).map(|x| if x == 50 { panic!("source broke") } else { x }))
        .uid("numbers")
        .discard();
    let Err(Error::Job(JobError::TaskFailed(f))) = env.execute() else {
        panic!("the job must fail");
    };
    assert_eq!(f.error.message, "source broke");
    assert!(f.subtask.uid.contains("numbers"));
}
