//! [`TypeIdentity`]: the identity of the type a state stores, as checkpoints and savepoints record
//! it and a restore checks it.
//!
//! `std::any::type_name` is not stable: the compiler may print `alloc::string::String` or
//! `std::string::String`, follow a re-export or not, and a crate rename or a type moved to
//! another module changes every path. So weir records neither the path nor the compiler's
//! spelling of it: the identity of a type is its `type_name` with every path shortened to its
//! last segment, at every nesting level ([`normalize_type_name`]):
//!
//! | `std::any::type_name` | identity |
//! | --- | --- |
//! | `alloc::vec::Vec<alloc::string::String>` | `Vec<String>` |
//! | `(u64, my_app::model::Click)` | `(u64, Click)` |
//! | `core::option::Option<[u8; 4]>` | `Option<[u8; 4]>` |
//! | `&str`, `u64` | unchanged |
//!
//! A user who wants the identity independent of the Rust type's name altogether gives one at
//! declaration (`ctx.with_type_id("click/v2").value_state::<Click>("clicks")`): then renaming
//! the type keeps restores working, and changing the id on purpose is refused on restore.
//!
//! # Guarantees
//! - Two identities are compared after normalizing both, so a state recorded by an earlier weir
//!   (the full `type_name`) restores into the same type declared now.
//! - A change of the shape of the stored type (`u64` → `String`, `Vec<u64>` → `Vec<u32>`) or of
//!   an explicit id is a mismatch.
//!
//! # Not guaranteed
//! Two types of the same name in different modules (`a::Count` and `b::Count`) have the same
//! identity; the check cannot tell them apart, and their encodings decide whether the restored
//! bytes decode. Path prefixes inside an explicit id (`app::Click`) are shortened the same way.

use std::fmt;

/// The identity of the type a state stores: the normalized `std::any::type_name` of the type
/// ([`TypeIdentity::of`]) or an id the user chose ([`TypeIdentity::named`]).
///
/// It promises: the same type has the same identity whatever the module path it is reached by
/// or the compiler that printed its name; [`TypeIdentity::matches`] is true for a recorded
/// identity (of this or an earlier weir) exactly when the normalized forms are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypeIdentity(String);

impl TypeIdentity {
    /// The identity of `T`: its `std::any::type_name` with every path shortened to its last
    /// segment.
    pub fn of<T: ?Sized>() -> Self {
        TypeIdentity(normalize_type_name(std::any::type_name::<T>()))
    }

    /// An identity the user chose (`"click/v2"`), recorded as given.
    pub fn named(id: impl Into<String>) -> Self {
        TypeIdentity(id.into())
    }

    /// The identity as recorded.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the recorded description `recorded` (from a snapshot, possibly holding full
    /// `type_name` paths) and `declared` describe the same type: equal once both are normalized.
    pub fn matches(recorded: &str, declared: &str) -> bool {
        recorded == declared || normalize_type_name(recorded) == normalize_type_name(declared)
    }
}

impl fmt::Display for TypeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for TypeIdentity {
    fn from(id: &str) -> Self {
        TypeIdentity::named(id)
    }
}

impl From<String> for TypeIdentity {
    fn from(id: String) -> Self {
        TypeIdentity::named(id)
    }
}

/// `name` (a `std::any::type_name`, or a description containing some) with every path
/// shortened to its last segment at every nesting level: `a::b::C<d::E, [f::G; 2]>` becomes
/// `C<E, [G; 2]>`. A qualified path (`<T as m::Trait>::Assoc`) keeps its last segment
/// (`Assoc`). Any string is accepted; the result never contains `::`, so normalizing twice
/// gives what normalizing once gives.
pub fn normalize_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        out.push(c);
        if out.ends_with("::") {
            out.truncate(out.len() - 2);
            let start = segment_start(&out);
            out.truncate(start);
        }
    }
    out
}

/// Whether `c` belongs to a path segment: identifier characters, and the braces of
/// `{{closure}}`-like segments.
fn is_segment_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '{' | '}' | '#')
}

/// Where the path segment `text` ends with starts (a byte index): an identifier, preceded by a
/// balanced `<…>` group if it ends with one (`Vec<u8>` in `Vec<u8>::Iter`, `<T as Trait>`).
fn segment_start(text: &str) -> usize {
    let mut end = text.len();
    if text.ends_with('>') && !text.ends_with("->") {
        match matching_open(text) {
            Some(open) => end = open,
            None => return text.len(),
        }
    }
    let ident = text[..end]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_segment_char(*c))
        .last();
    match ident {
        Some((i, _)) => i,
        None => end,
    }
}

/// The byte index of the `<` matching the `>` `text` ends with (an arrow's `>` is not a
/// bracket), if there is one.
fn matching_open(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut chars = text.char_indices().rev().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '>' if chars.peek().map(|(_, p)| *p) != Some('-') => depth += 1,
            '<' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}
