// The keyed state suite, included once per backend by `src/state/tests.rs`, whose module
// provides `backend(key groups)`.

#[test]
fn every_kind_round_trips_through_a_snapshot() {
    let mut before = backend(0..=127);
    let s = declare_all(&mut before).expect("declared");
    fill(&mut before, &s, 300);
    let bytes = snapshot(&mut before);

    let mut after = backend(0..=127);
    after.restore(&bytes).expect("restores");
    let r = declare_all(&mut after).expect("declared after restore");
    for key in 0..310 {
        assert_eq!(
            view(&mut before, &s, key),
            view(&mut after, &r, key),
            "key {key}"
        );
    }
    assert_eq!(view(&mut after, &r, 4).list, vec![4, 5, 6, 7]);
    assert_eq!(view(&mut after, &r, 3).sum, Some(3 + 4 + 5 + 6));
}

#[test]
fn states_declared_before_the_restore_are_filled_by_it() {
    let mut before = backend(0..=127);
    let s = declare_all(&mut before).expect("declared");
    fill(&mut before, &s, 100);
    let bytes = snapshot(&mut before);

    // As a keyed operator does: open (declare), then restore.
    let mut after = backend(0..=127);
    let r = declare_all(&mut after).expect("declared");
    after.restore(&bytes).expect("restores");
    for key in 0..100 {
        assert_eq!(
            view(&mut before, &s, key),
            view(&mut after, &r, key),
            "key {key}"
        );
    }
}

#[test]
fn a_restore_keeps_only_the_key_groups_the_subtask_owns() {
    let mut before = backend(0..=127);
    let s = declare_all(&mut before).expect("declared");
    fill(&mut before, &s, 400);
    let bytes = snapshot(&mut before);

    let mut low = backend(0..=63);
    let mut high = backend(64..=127);
    low.restore(&bytes).expect("restores");
    high.restore(&bytes).expect("restores");
    let l = declare_all(&mut low).expect("declared");
    let h = declare_all(&mut high).expect("declared");
    for key in 0..400 {
        let expected = view(&mut before, &s, key);
        let (owner, other) = if assign_to_key_group(&key, MAX_PARALLELISM) <= 63 {
            ((&mut low, &l), (&mut high, &h))
        } else {
            ((&mut high, &h), (&mut low, &l))
        };
        assert_eq!(view(owner.0, owner.1, key), expected, "key {key}");
        let empty = view(other.0, other.1, key);
        assert!(
            empty.value.is_none() && empty.list.is_empty() && empty.map.is_empty(),
            "key {key} restored outside its key group"
        );
        assert!(empty.sum.is_none() && empty.average.is_none());
    }
}

/// The error of declaring, after restoring `bytes`, what `declare_again` declares.
fn declare_after_restore<T>(
    bytes: &[u8],
    declare_again: impl FnOnce(&mut RuntimeContext<'_, u64>) -> Result<T, BoxError>,
) -> String {
    let mut after = backend(0..=127);
    after.restore(bytes).expect("decodes");
    match declare(&mut after, declare_again) {
        Ok(_) => panic!("declaring a changed state succeeded"),
        Err(e) => e.to_string(),
    }
}

/// The error of restoring `bytes` into a backend where `declare_first` was declared.
fn restore_after_declare<T>(
    bytes: &[u8],
    declare_first: impl FnOnce(&mut RuntimeContext<'_, u64>) -> Result<T, BoxError>,
) -> String {
    let mut after = backend(0..=127);
    declare(&mut after, declare_first).expect("declared");
    match after.restore(bytes) {
        Ok(()) => panic!("restoring a changed state succeeded"),
        Err(e) => e.to_string(),
    }
}

fn snapshot_of_all() -> Vec<u8> {
    let mut before = backend(0..=127);
    let s = declare_all(&mut before).expect("declared");
    fill(&mut before, &s, 50);
    snapshot(&mut before)
}

fn assert_names(error: &str, state: &str, was: &str, now: &str) {
    for part in [OPERATOR, &format!("{state:?}"), was, now] {
        assert!(error.contains(part), "{error:?} does not name {part:?}");
    }
}

#[test]
fn restoring_a_value_state_as_a_list_state_fails_naming_operator_and_state() {
    let bytes = snapshot_of_all();
    let e = declare_after_restore(&bytes, |ctx| ctx.list_state::<u64>("value"));
    assert_names(&e, "value", "ValueState<u64>", "ListState<u64>");
    let e = restore_after_declare(&bytes, |ctx| ctx.list_state::<u64>("value"));
    assert_names(&e, "value", "ValueState<u64>", "ListState<u64>");
}

#[test]
fn restoring_any_kind_as_another_kind_fails_naming_the_state() {
    let bytes = snapshot_of_all();
    let e = declare_after_restore(&bytes, |ctx| ctx.value_state::<u64>("sum"));
    assert_names(&e, "sum", "ReducingState<u64>", "ValueState<u64>");
    let e = declare_after_restore(&bytes, |ctx| ctx.reducing_state("list", |a: u64, _| a));
    assert_names(&e, "list", "ListState<u64>", "ReducingState<u64>");
    let e = declare_after_restore(&bytes, |ctx| ctx.map_state::<u64, u64>("average"));
    assert_names(
        &e,
        "average",
        "AggregatingState<accumulator = (u64, u64)>",
        "MapState<u64, u64>",
    );
    let e = restore_after_declare(&bytes, |ctx| ctx.aggregating_state("map", Average));
    assert_names(
        &e,
        "map",
        "MapState<String, u64>",
        "AggregatingState<accumulator = (u64, u64)>",
    );
}

#[test]
fn restoring_a_state_with_another_type_fails_naming_the_state() {
    let bytes = snapshot_of_all();
    let e = declare_after_restore(&bytes, |ctx| ctx.value_state::<i64>("value"));
    assert_names(&e, "value", "ValueState<u64>", "ValueState<i64>");
    let e = declare_after_restore(&bytes, |ctx| ctx.list_state::<String>("list"));
    assert_names(
        &e,
        "list",
        "ListState<u64>",
        "ListState<String>",
    );
    let e = restore_after_declare(&bytes, |ctx| ctx.map_state::<String, u32>("map"));
    assert_names(
        &e,
        "map",
        "MapState<String, u64>",
        "MapState<String, u32>",
    );
    let e = declare_after_restore(&bytes, |ctx| {
        ctx.reducing_state("sum", |a: u32, b: u32| a + b)
    });
    assert_names(&e, "sum", "ReducingState<u64>", "ReducingState<u32>");
}

/// The mean of `u64`s through a float accumulator.
struct FloatAverage;

impl AggregateFunction for FloatAverage {
    type Input = u64;
    type Accumulator = (f64, u64);
    type Output = f64;

    fn create_accumulator(&self) -> (f64, u64) {
        (0.0, 0)
    }
    fn add(&self, value: u64, acc: &mut (f64, u64)) {
        acc.0 += value as f64;
        acc.1 += 1;
    }
    fn get_result(&self, acc: &(f64, u64)) -> f64 {
        acc.0 / acc.1 as f64
    }
    fn merge(&self, a: (f64, u64), b: (f64, u64)) -> (f64, u64) {
        (a.0 + b.0, a.1 + b.1)
    }
}

#[test]
fn an_aggregating_state_is_checked_by_its_accumulator_type() {
    let bytes = snapshot_of_all();
    let e = declare_after_restore(&bytes, |ctx| ctx.aggregating_state("average", FloatAverage));
    assert_names(
        &e,
        "average",
        "AggregatingState<accumulator = (u64, u64)>",
        "AggregatingState<accumulator = (f64, u64)>",
    );

    // Only the output type changed: the stored accumulators still decode, so it restores.
    let mut after = backend(0..=127);
    after.restore(&bytes).expect("decodes");
    let totals = declare(&mut after, |ctx| {
        ctx.aggregating_state("average", TotalAndCount)
    })
    .expect("same accumulator type");
    // Key 7: 7 % 4 + 1 = 4 values, 0 * 7 + 1 * 7 + 2 * 7 + 3 * 7.
    assert_eq!(
        with_key(&mut after, 7, |ctx| totals.get(ctx)),
        Some((42, 4))
    );
}

#[test]
fn declaring_a_name_again_returns_the_same_state_or_an_error_for_another_kind() {
    let mut b = backend(0..=127);
    let (first, again) = declare(&mut b, |ctx| {
        Ok((ctx.list_state::<u64>("xs")?, ctx.list_state::<u64>("xs")?))
    })
    .expect("same kind and type");
    with_key(&mut b, 1, |ctx| first.add(ctx, 5));
    assert_eq!(with_key(&mut b, 1, |ctx| again.get(ctx).to_vec()), vec![5]);

    let e = declare(&mut b, |ctx| ctx.map_state::<u64, u64>("xs")).map(|_| ());
    let e = e.expect_err("another kind").to_string();
    assert_names(&e, "xs", "ListState<u64>", "MapState<u64, u64>");
    let e = declare(&mut b, |ctx| ctx.aggregating_state("avg", Average))
        .and_then(|_| declare(&mut b, |ctx| ctx.aggregating_state("avg", TotalAndCount)))
        .map(|_| ());
    let e = e.expect_err("another output type").to_string();
    assert_names(
        &e,
        "avg",
        "AggregatingState<u64, (u64, u64), f64>",
        "AggregatingState<u64, (u64, u64), (u64, u64)>",
    );
}

#[test]
fn a_restored_state_nobody_declares_is_carried_into_later_snapshots() {
    let bytes = snapshot_of_all();
    let mut middle = backend(0..=127);
    middle.restore(&bytes).expect("restores");
    // Only the list is declared; the other four stay unclaimed.
    declare(&mut middle, |ctx| ctx.list_state::<u64>("list")).expect("declared");
    let carried = snapshot(&mut middle);

    let mut last = backend(0..=127);
    last.restore(&carried).expect("restores");
    let s = declare_all(&mut last).expect("declared");
    let mut first = backend(0..=127);
    first.restore(&bytes).expect("restores");
    let f = declare_all(&mut first).expect("declared");
    for key in 0..60 {
        assert_eq!(
            view(&mut first, &f, key),
            view(&mut last, &s, key),
            "key {key}"
        );
    }
}

#[test]
fn clear_removes_only_the_current_keys_state() {
    let mut b = backend(0..=127);
    let s = declare_all(&mut b).expect("declared");
    fill(&mut b, &s, 10);
    let kept = view(&mut b, &s, 8);
    with_key(&mut b, 7, |ctx| {
        s.value.clear(ctx);
        s.list.clear(ctx);
        s.map.clear(ctx);
        s.sum.clear(ctx);
        s.average.clear(ctx);
    });
    let cleared = view(&mut b, &s, 7);
    assert_eq!(
        cleared,
        KeyView {
            value: None,
            list: Vec::new(),
            map: BTreeMap::new(),
            sum: None,
            average: None,
        }
    );
    assert_eq!(view(&mut b, &s, 8), kept);
}

#[test]
#[should_panic(expected = "before the operator's open() registered it")]
fn using_an_unregistered_handle_panics() {
    let mut b = backend(0..=127);
    let list = ListState::<u64>::default();
    with_key(&mut b, 1, |ctx| list.add(ctx, 1));
}

/// Runs `f` on a runtime whose clock is paused (time moves only by `advance`), with a backend
/// whose TTL clock starts there.
fn with_paused_clock(f: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
        .block_on(f);
}

fn ttl_value(
    b: &mut KeyedStateBackend<u64>,
    ttl: crate::state::StateTtlConfig,
) -> ValueState<u64> {
    declare(b, |ctx| ctx.with_ttl(ttl).value_state::<u64>("seen")).expect("declared")
}

#[test]
fn an_entry_expires_ttl_after_its_last_write_and_reads_do_not_renew_it_by_default() {
    with_paused_clock(async {
        let mut b = backend(0..=127);
        let ttl = crate::state::StateTtlConfig::new(std::time::Duration::from_secs(10));
        let seen = ttl_value(&mut b, ttl);
        with_key(&mut b, 1, |ctx| seen.update(ctx, 1));
        tokio::time::advance(std::time::Duration::from_secs(6)).await;
        assert_eq!(with_key(&mut b, 1, |ctx| seen.value(ctx)), Some(1));
        tokio::time::advance(std::time::Duration::from_secs(4)).await;
        assert_eq!(with_key(&mut b, 1, |ctx| seen.value(ctx)), None, "expired at 10 s");
        // A write starts a new life.
        with_key(&mut b, 1, |ctx| seen.update(ctx, 2));
        tokio::time::advance(std::time::Duration::from_secs(9)).await;
        assert_eq!(with_key(&mut b, 1, |ctx| seen.value(ctx)), Some(2));
    });
}

#[test]
fn on_read_and_write_a_read_renews_the_entry() {
    with_paused_clock(async {
        let mut b = backend(0..=127);
        let ttl = crate::state::StateTtlConfig::new(std::time::Duration::from_secs(10))
            .update_type(crate::state::TtlUpdateType::OnReadAndWrite);
        let seen = ttl_value(&mut b, ttl);
        with_key(&mut b, 1, |ctx| seen.update(ctx, 1));
        for _ in 0..5 {
            tokio::time::advance(std::time::Duration::from_secs(8)).await;
            assert_eq!(with_key(&mut b, 1, |ctx| seen.value(ctx)), Some(1));
        }
        tokio::time::advance(std::time::Duration::from_secs(10)).await;
        assert_eq!(with_key(&mut b, 1, |ctx| seen.value(ctx)), None);
    });
}

#[test]
fn return_expired_if_not_cleaned_up_still_reads_an_expired_entry() {
    with_paused_clock(async {
        let mut b = backend(0..=127);
        let ttl = crate::state::StateTtlConfig::new(std::time::Duration::from_secs(10))
            .visibility(crate::state::StateVisibility::ReturnExpiredIfNotCleanedUp);
        let seen = ttl_value(&mut b, ttl);
        with_key(&mut b, 1, |ctx| seen.update(ctx, 1));
        tokio::time::advance(std::time::Duration::from_secs(30)).await;
        assert_eq!(with_key(&mut b, 1, |ctx| seen.value(ctx)), Some(1));
    });
}

#[test]
fn stamps_survive_a_snapshot_so_entries_still_expire_after_a_restore() {
    with_paused_clock(async {
        let ttl = crate::state::StateTtlConfig::new(std::time::Duration::from_secs(10));
        // Both backends measure on one job clock, as a subtask and its restart do.
        let clock = crate::operators::keyed_process::JobClock::starting_at(tokio::time::Instant::now());
        let mut before = backend(0..=127);
        before.set_clock(clock.clone());
        let seen = ttl_value(&mut before, ttl);
        let list = declare(&mut before, |ctx| ctx.with_ttl(ttl).list_state::<u64>("recent"))
            .expect("declared");
        with_key(&mut before, 1, |ctx| {
            seen.update(ctx, 1);
            list.add(ctx, 1);
        });
        tokio::time::advance(std::time::Duration::from_secs(5)).await;
        with_key(&mut before, 2, |ctx| seen.update(ctx, 2));
        let bytes = snapshot(&mut before);

        let mut after = backend(0..=127);
        after.set_clock(clock.clone());
        let seen = ttl_value(&mut after, ttl);
        let list = declare(&mut after, |ctx| ctx.with_ttl(ttl).list_state::<u64>("recent"))
            .expect("declared");
        after.restore(&bytes).expect("restores");
        tokio::time::advance(std::time::Duration::from_secs(6)).await;
        assert_eq!(with_key(&mut after, 1, |ctx| seen.value(ctx)), None, "key 1 expired");
        assert!(with_key(&mut after, 1, |ctx| list.get(ctx).is_empty()));
        assert_eq!(with_key(&mut after, 2, |ctx| seen.value(ctx)), Some(2), "key 2 lives");
    });
}

#[test]
fn enabling_ttl_on_a_restored_state_fails_naming_the_state() {
    let bytes = snapshot_of_all();
    let ttl = crate::state::StateTtlConfig::new(std::time::Duration::from_secs(10));
    let e = declare_after_restore(&bytes, |ctx| ctx.with_ttl(ttl).value_state::<u64>("value"));
    assert_names(&e, "value", "ValueState<u64>", "ValueState<u64> with TTL");
}

#[test]
fn a_changed_state_type_is_a_typed_error_with_the_operator_and_the_state() {
    let bytes = snapshot_of_all();
    let mut after = backend(0..=127);
    after.restore(&bytes).expect("decodes");
    let error = declare(&mut after, |ctx| ctx.list_state::<u64>("value"))
        .expect_err("a value state cannot come back as a list state");
    match error.downcast_ref::<crate::state::KeyedStateError>() {
        Some(crate::state::KeyedStateError::TypeChanged {
            operator,
            state,
            checkpointed,
            declared,
        }) => {
            assert_eq!(operator, OPERATOR);
            assert_eq!(state, "value");
            assert_eq!(checkpointed, "ValueState<u64>");
            assert_eq!(declared, "ListState<u64>");
        }
        other => panic!("not a TypeChanged error: {other:?} ({error})"),
    }
}

#[test]
fn a_key_of_a_key_group_the_subtask_does_not_own_fails_naming_the_group_and_range() {
    let mut low = backend(0..=63);
    let s = declare_all(&mut low).expect("declared");
    let own = (0..).find(|k| assign_to_key_group(k, MAX_PARALLELISM) <= 63).expect("a key");
    let foreign = (0..).find(|k| assign_to_key_group(k, MAX_PARALLELISM) > 63).expect("a key");
    with_key(&mut low, own, |ctx| s.value.update(ctx, 1));
    assert_eq!(low.take_error(), None);
    with_key(&mut low, foreign, |ctx| s.value.update(ctx, 2));
    assert_eq!(
        low.take_error(),
        Some(crate::state::KeyedStateError::KeyGroupOutOfRange {
            operator: OPERATOR.to_string(),
            state: "value".to_string(),
            key_group: assign_to_key_group(&foreign, MAX_PARALLELISM),
            range: 0..=63,
        })
    );
    // The key was filed under no group: no snapshot holds it.
    let bytes = snapshot(&mut low);
    let mut all = backend(0..=127);
    all.restore(&bytes).expect("restores");
    let r = declare_all(&mut all).expect("declared");
    assert_eq!(with_key(&mut all, own, |ctx| r.value.value(ctx)), Some(1));
    assert_eq!(with_key(&mut all, foreign, |ctx| r.value.value(ctx)), None);
}

#[test]
fn a_restore_continues_processing_time_from_the_snapshot_so_ttl_keeps_its_age() {
    with_paused_clock(async {
        let ttl = crate::state::StateTtlConfig::new(std::time::Duration::from_secs(10));
        let mut before = backend(0..=127);
        before.set_clock(crate::time::job_clock::JobClock::starting_at(
            tokio::time::Instant::now(),
        ));
        let seen = ttl_value(&mut before, ttl);
        tokio::time::advance(std::time::Duration::from_secs(5)).await;
        with_key(&mut before, 1, |ctx| seen.update(ctx, 1));
        let bytes = snapshot(&mut before);

        // A new run: its clock starts at 0 and continues from the snapshot's 5 s.
        let mut after = backend(0..=127);
        after.set_clock(crate::time::job_clock::JobClock::starting_at(
            tokio::time::Instant::now(),
        ));
        let seen = ttl_value(&mut after, ttl);
        after.restore(&bytes).expect("restores");
        assert_eq!(after.clock().now_ms(), 5_000);
        tokio::time::advance(std::time::Duration::from_millis(9_999)).await;
        assert_eq!(with_key(&mut after, 1, |ctx| seen.value(ctx)), Some(1), "9.999 s old");
        tokio::time::advance(std::time::Duration::from_millis(1)).await;
        assert_eq!(with_key(&mut after, 1, |ctx| seen.value(ctx)), None, "10 s old");
    });
}
