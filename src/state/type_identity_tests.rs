//! Normalization of type names: fixed shapes, and properties over generated types.

use super::type_identity::{normalize_type_name, TypeIdentity};
use proptest::prelude::*;

#[test]
fn every_path_before_the_last_segment_is_removed_at_every_level() {
    let cases = [
        ("alloc::vec::Vec<alloc::string::String>", "Vec<String>"),
        ("(u64, my_app::model::Click)", "(u64, Click)"),
        ("core::option::Option<[u8; 4]>", "Option<[u8; 4]>"),
        ("&str", "&str"),
        ("u64", "u64"),
        ("&'static str", "&'static str"),
        ("&mut [alloc::string::String]", "&mut [String]"),
        ("()", "()"),
        ("(u8,)", "(u8,)"),
        (
            "std::collections::hash::map::HashMap<alloc::string::String, alloc::vec::Vec<(u64, core::option::Option<i32>)>>",
            "HashMap<String, Vec<(u64, Option<i32>)>>",
        ),
        (
            "alloc::boxed::Box<dyn core::ops::function::Fn(alloc::string::String) -> u64 + core::marker::Send>",
            "Box<dyn Fn(String) -> u64 + Send>",
        ),
        ("fn(my::A, [b::B; 3]) -> c::C", "fn(A, [B; 3]) -> C"),
        ("*const core::ffi::c_void", "*const c_void"),
        ("::std::string::String", "String"),
        ("my_app::main::{{closure}}", "{{closure}}"),
        ("<my::T as my::Trait>::Assoc", "Assoc"),
        ("my::Wrapper<u8>::Inner", "Inner"),
        ("ValueState<alloc::string::String> with TTL", "ValueState<String> with TTL"),
        (
            "AggregatingState<accumulator = (u64, alloc::string::String)>",
            "AggregatingState<accumulator = (u64, String)>",
        ),
        ("ValueState<click/v2>", "ValueState<click/v2>"),
    ];
    for (name, expected) in cases {
        assert_eq!(normalize_type_name(name), expected, "normalizing {name}");
    }
}

#[test]
fn malformed_names_do_not_panic_and_lose_every_double_colon() {
    for name in [
        "::",
        ":::",
        "a:::b",
        ":a:::",
        ">::x",
        "<::>",
        "a<b>>::c",
        "é::ü<ß::λ>",
        "->::x",
        "<<<",
        "fn() ->::X",
        "",
    ] {
        let once = normalize_type_name(name);
        assert!(!once.contains("::"), "{name:?} gave {once:?}");
        assert_eq!(normalize_type_name(&once), once, "{name:?}");
    }
}

#[test]
fn the_identity_of_a_type_is_its_normalized_name() {
    assert_eq!(TypeIdentity::of::<String>().as_str(), "String");
    assert_eq!(
        TypeIdentity::of::<Vec<Option<String>>>().as_str(),
        "Vec<Option<String>>"
    );
    assert_eq!(
        TypeIdentity::of::<(u64, [u8; 4])>().as_str(),
        "(u64, [u8; 4])"
    );
    assert_eq!(TypeIdentity::of::<str>().as_str(), "str");
    assert_eq!(TypeIdentity::named("click/v2").to_string(), "click/v2");
    assert_eq!(TypeIdentity::from("x"), TypeIdentity::named("x"));
}

#[test]
fn a_recorded_full_type_name_matches_its_normalized_form_and_nothing_else() {
    let old = format!("ValueState<{}>", std::any::type_name::<Vec<String>>());
    assert!(TypeIdentity::matches(&old, "ValueState<Vec<String>>"));
    assert!(TypeIdentity::matches(
        "MapState<std::string::String, u64>",
        "MapState<alloc::string::String, u64>"
    ));
    assert!(!TypeIdentity::matches(&old, "ValueState<Vec<u64>>"));
    assert!(!TypeIdentity::matches(
        "ValueState<u64>",
        "ValueState<String>"
    ));
    assert!(!TypeIdentity::matches(
        "ValueState<click/v2>",
        "ValueState<click/v3>"
    ));
}

/// A type, as `type_name` would print it, with the module path of each named type.
#[derive(Debug, Clone)]
enum Ty {
    Prim(&'static str),
    Named {
        path: Vec<String>,
        name: String,
        args: Vec<Ty>,
    },
    Ref(bool, Box<Ty>),
    Slice(Box<Ty>),
    Array(Box<Ty>, u8),
    Tuple(Vec<Ty>),
    Dyn(Vec<(Vec<String>, String)>),
    Fn(Vec<Ty>, Box<Ty>),
}

/// `ty` printed, with its paths (`full`) or without.
fn render(ty: &Ty, full: bool) -> String {
    let list = |items: &[Ty]| {
        let parts: Vec<String> = items.iter().map(|t| render(t, full)).collect();
        parts.join(", ")
    };
    let named = |path: &[String], name: &str| match full && !path.is_empty() {
        true => format!("{}::{name}", path.join("::")),
        false => name.to_string(),
    };
    match ty {
        Ty::Prim(p) => p.to_string(),
        Ty::Named { path, name, args } if args.is_empty() => named(path, name),
        Ty::Named { path, name, args } => format!("{}<{}>", named(path, name), list(args)),
        Ty::Ref(true, t) => format!("&mut {}", render(t, full)),
        Ty::Ref(false, t) => format!("&{}", render(t, full)),
        Ty::Slice(t) => format!("[{}]", render(t, full)),
        Ty::Array(t, n) => format!("[{}; {n}]", render(t, full)),
        Ty::Tuple(items) if items.len() == 1 => format!("({},)", list(items)),
        Ty::Tuple(items) => format!("({})", list(items)),
        Ty::Dyn(traits) => {
            let parts: Vec<String> = traits.iter().map(|(p, n)| named(p, n)).collect();
            format!("dyn {}", parts.join(" + "))
        }
        Ty::Fn(args, ret) => format!("fn({}) -> {}", list(args), render(ret, full)),
    }
}

fn module_path() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z_][a-z0-9_]{0,6}", 0..4)
}

fn type_tree() -> impl Strategy<Value = Ty> {
    let leaf = prop_oneof![
        prop::sample::select(vec!["u8", "u64", "i32", "bool", "str", "f64", "()"])
            .prop_map(Ty::Prim),
        (module_path(), "[A-Z][A-Za-z0-9]{0,6}").prop_map(|(path, name)| Ty::Named {
            path,
            name,
            args: Vec::new()
        }),
        prop::collection::vec((module_path(), "[A-Z][a-z]{0,5}"), 1..3).prop_map(Ty::Dyn),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            (
                module_path(),
                "[A-Z][A-Za-z]{0,6}",
                prop::collection::vec(inner.clone(), 1..4)
            )
                .prop_map(|(path, name, args)| Ty::Named { path, name, args }),
            (any::<bool>(), inner.clone()).prop_map(|(m, t)| Ty::Ref(m, Box::new(t))),
            inner.clone().prop_map(|t| Ty::Slice(Box::new(t))),
            (inner.clone(), any::<u8>()).prop_map(|(t, n)| Ty::Array(Box::new(t), n)),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Ty::Tuple),
            (prop::collection::vec(inner.clone(), 0..3), inner)
                .prop_map(|(args, ret)| Ty::Fn(args, Box::new(ret))),
        ]
    })
}

proptest! {
    #[test]
    fn module_paths_anywhere_do_not_change_the_identity(ty in type_tree()) {
        let bare = render(&ty, false);
        prop_assert_eq!(normalize_type_name(&render(&ty, true)), bare.clone());
        prop_assert_eq!(normalize_type_name(&bare), bare);
    }

    #[test]
    fn normalizing_twice_equals_normalizing_once(name in any::<String>()) {
        let once = normalize_type_name(&name);
        prop_assert!(!once.contains("::"));
        prop_assert_eq!(normalize_type_name(&once), once);
    }

    #[test]
    fn normalizing_type_like_text_twice_equals_once(name in "[a-z:<>,;&\\[\\]() -]{0,40}") {
        let once = normalize_type_name(&name);
        prop_assert_eq!(normalize_type_name(&once), once);
    }
}
