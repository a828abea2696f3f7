//! A failed job leaves no thread behind (its own test binary, so no other test's job is running).

use weir::StreamEnvironment;

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

#[test]
fn failed_and_finished_jobs_leave_no_thread_running() {
    let before = thread_count();
    for round in 0..3 {
        let mut env = StreamEnvironment::new();
        env.set_parallelism(2).set_arbiters(2);
        env.generate_sequence(0, 50_000)
            .map(move |x| {
                if round == 1 && x == 30_000 {
                    panic!("round {round}")
                } else {
                    x
                }
            })
            .key_by(|x| x % 7)
            .reduce(|a, b| a + b)
            .discard();
        let _ = env.execute();
        assert_eq!(
            thread_count(),
            before,
            "round {round}: every job thread ended"
        );
    }
}
