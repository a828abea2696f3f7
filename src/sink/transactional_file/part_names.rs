//! The names of part files: one module builds and parses every one, so the sink, its restore
//! and its tests agree on them.
//!
//! A part is identified by its transaction's name ([`TransactionId::name`], which holds no
//! `.`) and its number within the transaction. While it is written and until it is committed
//! it is hidden (its name starts with `.`); commit renames it to its final, visible name.
//!
//! | state | name |
//! | --- | --- |
//! | in progress | `.<transaction>.<part>.inprogress` |
//! | pending (pre-committed) | `.<transaction>.<part>.pending` |
//! | finished (committed) | `<part prefix>-<subtask>-<transaction>-<part><part suffix>` |
//!
//! [`TransactionId::name`]: crate::sink::two_phase_commit::TransactionId::name

/// The suffix of an in-progress part file.
pub(super) const IN_PROGRESS: &str = "inprogress";
/// The suffix of a pending part file.
pub(super) const PENDING: &str = "pending";

/// The hidden name of part `part` of `transaction` in state `state` ([`IN_PROGRESS`] or
/// [`PENDING`]).
pub(super) fn hidden(transaction: &str, part: u32, state: &str) -> String {
    format!(".{transaction}.{part}.{state}")
}

/// The visible name of a committed part.
pub(super) fn finished(stem: &str, part: u32, suffix: &str) -> String {
    format!("{stem}-{part}{suffix}")
}

/// The start of every visible name of `transaction`'s parts, written by subtask `subtask`.
pub(super) fn finished_stem(part_prefix: &str, subtask: u32, transaction: &str) -> String {
    format!("{part_prefix}-{subtask}-{transaction}")
}

/// A hidden part file's transaction, part number and state, if `file_name` is one.
pub(super) fn parse_hidden(file_name: &str) -> Option<(&str, u32, &str)> {
    let rest = file_name.strip_prefix('.')?;
    let mut fields = rest.rsplitn(3, '.');
    let state = fields.next()?;
    let part = fields.next()?.parse().ok()?;
    let transaction = fields.next()?;
    let known = state == IN_PROGRESS || state == PENDING;
    (known && !transaction.is_empty() && !transaction.contains('.')).then_some((
        transaction,
        part,
        state,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hidden_name_parses_back_to_its_transaction_part_and_state() {
        let name = hidden("weir-0123456789ab-3-1-0-7", 12, PENDING);
        assert_eq!(name, ".weir-0123456789ab-3-1-0-7.12.pending");
        assert_eq!(
            parse_hidden(&name),
            Some(("weir-0123456789ab-3-1-0-7", 12, PENDING))
        );
        let name = hidden("t", 0, IN_PROGRESS);
        assert_eq!(parse_hidden(&name), Some(("t", 0, IN_PROGRESS)));
    }

    #[test]
    fn other_files_are_not_hidden_parts() {
        for name in [
            "part-0-t-0",
            ".t.0.tmp",
            ".t.x.pending",
            "..0.pending",
            ".a.b.0.pending",
            "t.0.pending",
        ] {
            assert_eq!(parse_hidden(name), None, "{name}");
        }
    }

    #[test]
    fn final_names_are_visible_and_differ_by_transaction_and_part() {
        let a = finished(&finished_stem("part", 1, "weir-x-1-1-0-0"), 0, ".txt");
        assert_eq!(a, "part-1-weir-x-1-1-0-0-0.txt");
        assert!(!a.starts_with('.'));
        assert_ne!(
            a,
            finished(&finished_stem("part", 1, "weir-x-1-1-0-0"), 1, ".txt")
        );
        assert_ne!(
            a,
            finished(&finished_stem("part", 1, "weir-x-1-1-0-1"), 0, ".txt")
        );
    }
}
