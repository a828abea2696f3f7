// The type identity suite, included once per backend by `src/state/keyed/tests.rs`, next to
// `suite.rs`: what a snapshot records for a state's type, and which restores it allows.

/// Two modules each with a counter of the same shape: the same type moved or renamed.
mod moved {
    pub mod v1 {
        /// A count, as the first version of a job keeps it.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct Count(pub u64);
    }
    pub mod v2 {
        /// The same count after the type moved to another module.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct Count(pub u64);
        /// The same count under another name.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct Tally(pub u64);
    }
}

/// Each state's recorded type string in snapshot `bytes`, by name (in memory and RocksDB).
fn recorded_types(bytes: &[u8]) -> BTreeMap<String, String> {
    let snapshot =
        crate::state::keyed::snapshot::KeyedSnapshot::decode(bytes, OPERATOR).expect("decodes");
    let mut types: BTreeMap<String, String> = (snapshot.states.into_iter())
        .map(|s| (s.name, s.state_type))
        .collect();
    types.extend(snapshot.rocks.into_iter().flat_map(|(names, _)| names));
    types
}

/// Snapshot `bytes` with each state's recorded type string replaced by `f(name, recorded)`.
fn rewrite_types(bytes: &[u8], f: impl Fn(&str, &str) -> String) -> Vec<u8> {
    let mut snapshot =
        crate::state::keyed::snapshot::KeyedSnapshot::decode(bytes, OPERATOR).expect("decodes");
    for s in &mut snapshot.states {
        s.state_type = f(&s.name, &s.state_type);
    }
    if let Some((names, _)) = &mut snapshot.rocks {
        for (name, state_type) in names {
            *state_type = f(name, state_type);
        }
    }
    snapshot.encode().expect("encodes")
}

/// The `TypeChanged` error in `error`, as (operator, state, checkpointed, declared).
fn type_changed(error: &BoxError) -> (String, String, String, String) {
    match error.downcast_ref::<crate::state::KeyedStateError>() {
        Some(crate::state::KeyedStateError::TypeChanged {
            operator,
            state,
            checkpointed,
            declared,
        }) => (
            operator.clone(),
            state.clone(),
            checkpointed.clone(),
            declared.clone(),
        ),
        other => panic!("not a TypeChanged error: {other:?} ({error})"),
    }
}

#[test]
fn a_snapshot_records_each_kind_with_the_identity_of_its_types() {
    let types = recorded_types(&snapshot_of_all());
    let expected: BTreeMap<String, String> = [
        ("value", "ValueState<u64>"),
        ("list", "ListState<u64>"),
        ("map", "MapState<String, u64>"),
        ("sum", "ReducingState<u64>"),
        ("average", "AggregatingState<accumulator = (u64, u64)>"),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_string(), t.to_string()))
    .collect();
    assert_eq!(types, expected);
}

#[test]
fn a_state_recorded_with_full_type_names_by_an_earlier_weir_restores() {
    let bytes = snapshot_of_all();
    // What the previous weir wrote: `std::any::type_name` of every type, paths and all.
    let old = rewrite_types(&bytes, |name, recorded| match name {
        "map" => format!(
            "MapState<{}, {}>",
            std::any::type_name::<String>(),
            std::any::type_name::<u64>()
        ),
        _ => recorded.to_string(),
    });
    assert!(recorded_types(&old)["map"].contains("::string::String"));

    let mut before = backend(0..=127);
    let s = declare_all(&mut before).expect("declared");
    fill(&mut before, &s, 50);
    let mut after = backend(0..=127);
    after.restore(&old).expect("restores");
    let r = declare_all(&mut after).expect("the same types restore");
    for key in 0..60 {
        assert_eq!(
            view(&mut before, &s, key),
            view(&mut after, &r, key),
            "key {key}"
        );
    }
    // The next snapshot records the normalized identity.
    let again = snapshot(&mut after);
    assert_eq!(recorded_types(&again)["map"], "MapState<String, u64>");
}

#[test]
fn a_restored_full_type_name_of_another_type_is_still_refused() {
    let bytes = snapshot_of_all();
    let old = rewrite_types(&bytes, |name, recorded| match name {
        "map" => format!("MapState<{}, u64>", std::any::type_name::<String>()),
        _ => recorded.to_string(),
    });
    let mut after = backend(0..=127);
    after.restore(&old).expect("decodes");
    let e = declare(&mut after, |ctx| ctx.map_state::<String, u32>("map")).map(|_| ());
    let (operator, state, checkpointed, declared) = type_changed(&e.expect_err("u64 -> u32"));
    assert_eq!((operator.as_str(), state.as_str()), (OPERATOR, "map"));
    assert_eq!(
        checkpointed,
        format!("MapState<{}, u64>", std::any::type_name::<String>())
    );
    assert_eq!(declared, "MapState<String, u32>");
}

/// A snapshot of value state "count" of `moved::v1::Count` for keys `0..40`, recorded with the
/// explicit identity `id` if there is one.
fn snapshot_of_counts(id: Option<&str>) -> Vec<u8> {
    let mut before = backend(0..=127);
    let count = declare(&mut before, |ctx| match id {
        Some(id) => ctx
            .with_type_id(id)
            .value_state::<moved::v1::Count>("count"),
        None => ctx.value_state::<moved::v1::Count>("count"),
    })
    .expect("declared");
    for key in 0..40 {
        with_key(&mut before, key, |ctx| {
            count.update(ctx, moved::v1::Count(key * 3))
        });
    }
    snapshot(&mut before)
}

#[test]
fn a_type_moved_to_another_module_restores() {
    let bytes = snapshot_of_counts(None);
    assert_eq!(recorded_types(&bytes)["count"], "ValueState<Count>");
    let mut after = backend(0..=127);
    after.restore(&bytes).expect("restores");
    let count = declare(&mut after, |ctx| {
        ctx.value_state::<moved::v2::Count>("count")
    })
    .expect("the moved type has the same identity");
    for key in 0..40 {
        let value = with_key(&mut after, key, |ctx| count.value(ctx));
        assert_eq!(value, Some(moved::v2::Count(key * 3)), "key {key}");
    }
}

#[test]
fn an_explicit_type_id_survives_a_renamed_type() {
    let bytes = snapshot_of_counts(Some("count/v1"));
    assert_eq!(recorded_types(&bytes)["count"], "ValueState<count/v1>");
    let mut after = backend(0..=127);
    after.restore(&bytes).expect("restores");
    let tally = declare(&mut after, |ctx| {
        ctx.with_type_id("count/v1")
            .value_state::<moved::v2::Tally>("count")
    })
    .expect("the same explicit id");
    for key in 0..40 {
        let value = with_key(&mut after, key, |ctx| tally.value(ctx));
        assert_eq!(value, Some(moved::v2::Tally(key * 3)), "key {key}");
    }
}

#[test]
fn a_changed_explicit_type_id_is_refused_naming_operator_and_state() {
    let bytes = snapshot_of_counts(Some("count/v1"));
    let mut after = backend(0..=127);
    after.restore(&bytes).expect("decodes");
    let e = declare(&mut after, |ctx| {
        ctx.with_type_id("count/v2")
            .value_state::<moved::v1::Count>("count")
    })
    .map(|_| ());
    let changed = type_changed(&e.expect_err("another id"));
    let expected = (
        OPERATOR,
        "count",
        "ValueState<count/v1>",
        "ValueState<count/v2>",
    );
    assert_eq!(
        (
            changed.0.as_str(),
            changed.1.as_str(),
            changed.2.as_str(),
            changed.3.as_str()
        ),
        expected
    );
    // Dropping the id is a change too: the type's own identity is not the id.
    let e = declare(&mut after, |ctx| {
        ctx.value_state::<moved::v1::Count>("count")
    })
    .map(|_| ());
    let changed = type_changed(&e.expect_err("no id"));
    assert_eq!(
        (changed.2.as_str(), changed.3.as_str()),
        ("ValueState<count/v1>", "ValueState<Count>")
    );
}

#[test]
fn a_real_type_change_is_refused_naming_operator_and_state() {
    let bytes = snapshot_of_all();
    let mut after = backend(0..=127);
    after.restore(&bytes).expect("decodes");
    let e = declare(&mut after, |ctx| ctx.value_state::<String>("value")).map(|_| ());
    let changed = type_changed(&e.expect_err("u64 -> String"));
    assert_eq!(changed.0, OPERATOR);
    assert_eq!(changed.1, "value");
    assert_eq!(
        (changed.2.as_str(), changed.3.as_str()),
        ("ValueState<u64>", "ValueState<String>")
    );
}

#[test]
fn an_explicit_id_composes_with_ttl_in_either_order() {
    let ttl = crate::state::StateTtlConfig::new(std::time::Duration::from_secs(60));
    let mut before = backend(0..=127);
    let seen = declare(&mut before, |ctx| {
        ctx.with_ttl(ttl)
            .with_type_id("seen/v1")
            .map_state::<String, u64>("seen")
    })
    .expect("declared");
    with_key(&mut before, 5, |ctx| seen.put(ctx, "a".to_string(), 1));
    let bytes = snapshot(&mut before);
    assert_eq!(recorded_types(&bytes)["seen"], "MapState<seen/v1> with TTL");

    let mut after = backend(0..=127);
    after.restore(&bytes).expect("restores");
    let seen = declare(&mut after, |ctx| {
        ctx.with_type_id("seen/v1")
            .with_ttl(ttl)
            .map_state::<String, u64>("seen")
    })
    .expect("same id, same TTL");
    assert_eq!(with_key(&mut after, 5, |ctx| seen.get(ctx, "a")), Some(1));
}

#[test]
fn an_aggregating_state_with_an_explicit_id_records_the_id_for_its_accumulator() {
    let mut before = backend(0..=127);
    declare(&mut before, |ctx| {
        ctx.with_type_id("mean/v1")
            .aggregating_state("mean", Average)
    })
    .expect("declared");
    assert_eq!(
        recorded_types(&snapshot(&mut before))["mean"],
        "AggregatingState<mean/v1>"
    );
}

#[test]
fn declaring_a_name_again_with_another_type_or_id_is_refused_in_the_same_subtask() {
    let mut b = backend(0..=127);
    declare(&mut b, |ctx| {
        ctx.with_type_id("c").value_state::<moved::v1::Count>("c")
    })
    .expect("declared");
    // Same id, another Rust type: the table's type differs.
    let e = declare(&mut b, |ctx| {
        ctx.with_type_id("c").value_state::<moved::v2::Count>("c")
    });
    assert!(matches!(
        e.map(|_| ()).expect_err("another type").downcast_ref(),
        Some(crate::state::KeyedStateError::Redeclared { .. })
    ));
    // Same Rust type, another id.
    let e = declare(&mut b, |ctx| {
        ctx.with_type_id("d").value_state::<moved::v1::Count>("c")
    });
    let e = e.map(|_| ()).expect_err("another id").to_string();
    assert!(e.contains("as c") && e.contains("as d"), "{e}");
    // Same type and id: the same state.
    declare(&mut b, |ctx| {
        ctx.with_type_id("c").value_state::<moved::v1::Count>("c")
    })
    .expect("the same declaration again");
}
