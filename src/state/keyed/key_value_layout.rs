//! The canonical layout of one keyed state's entries: by key group, each entry as its key's
//! and its value's bytes, both length-prefixed — readable without knowing their types, and the
//! same whichever state backend wrote it.
//!
//! ```text
//! [group count]  { [key group] [entry count]  { [key length] [key] [value length] [value] }* }*
//! ```
//! Every number is an unsigned LEB128 varint (seven bits a byte, as postcard writes lengths);
//! key groups ascend; the order of the entries within a key group is the writing backend's
//! (RocksDB: by key bytes), so readers must not depend on it. A key is `postcard(K)` and a value `postcard(S)`, the whole per-key
//! state: exactly a RocksDB row of the state without its key-group prefix.

use crate::error::BoxError;

/// Builds one state's entries in the canonical layout; entries are pushed in ascending key
/// group order.
#[derive(Default)]
pub(crate) struct KeyValueWriter {
    /// Finished groups: key group, entry count, entries.
    groups: Vec<(u32, u64, Vec<u8>)>,
}

impl KeyValueWriter {
    /// An empty writer.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds the entry `key` → `value` of key group `group` (not below the last one's).
    pub(crate) fn push(&mut self, group: u32, key: &[u8], value: &[u8]) {
        match self.groups.last_mut() {
            Some((last, _, _)) if *last == group => {}
            _ => self.groups.push((group, 0, Vec::new())),
        }
        if let Some((_, count, bytes)) = self.groups.last_mut() {
            *count += 1;
            push_varint(bytes, key.len() as u64);
            bytes.extend_from_slice(key);
            push_varint(bytes, value.len() as u64);
            bytes.extend_from_slice(value);
        }
    }

    /// Adds a whole key group from its entries' already laid-out bytes (`count` entries).
    pub(crate) fn push_group(&mut self, group: u32, count: u64, entries: Vec<u8>) {
        if count > 0 {
            self.groups.push((group, count, entries));
        }
    }

    /// The entries' bytes.
    pub(crate) fn finish(self) -> Vec<u8> {
        let len: usize = self.groups.iter().map(|(_, _, b)| b.len() + 12).sum();
        let mut out = Vec::with_capacity(len + 5);
        push_varint(&mut out, self.groups.len() as u64);
        for (group, count, bytes) in self.groups {
            push_varint(&mut out, u64::from(group));
            push_varint(&mut out, count);
            out.extend_from_slice(&bytes);
        }
        out
    }
}

/// Appends one entry of a group being laid out by hand (see [`KeyValueWriter::push_group`]).
#[cfg(test)]
pub(crate) fn push_entry(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    push_varint(out, key.len() as u64);
    out.extend_from_slice(key);
    push_varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// Calls `visit(key group, key, value)` for every entry of `bytes`, in order; an entry cut
/// short, a group out of order or bytes left over are an error.
pub(crate) fn for_each_entry(
    bytes: &[u8],
    mut visit: impl FnMut(u32, &[u8], &[u8]) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    let mut input = Reader { bytes, at: 0 };
    let groups = input.varint("the group count")?;
    let mut previous: Option<u32> = None;
    for _ in 0..groups {
        let group = u32::try_from(input.varint("a key group")?)
            .map_err(|_| input.error("a key group beyond u32"))?;
        if previous.is_some_and(|p| p >= group) {
            return Err(input
                .error(&format!("key group {group} out of order"))
                .into());
        }
        previous = Some(group);
        let count = input.varint("an entry count")?;
        for _ in 0..count {
            let key = input.bytes("a key")?;
            let value = input.bytes("a value")?;
            visit(group, key, value)?;
        }
    }
    if input.at != bytes.len() {
        return Err(input.error("bytes after the last group").into());
    }
    Ok(())
}

/// The number of entries of `bytes` (checking the layout as [`for_each_entry`] does).
#[cfg(test)]
pub(crate) fn count_entries(bytes: &[u8]) -> Result<u64, BoxError> {
    let mut count = 0;
    for_each_entry(bytes, |_, _, _| {
        count += 1;
        Ok(())
    })?;
    Ok(count)
}

/// Appends `n` as an unsigned LEB128 varint.
pub(crate) fn push_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, what: &str) -> String {
        format!("keyed state entries: {what} at byte {}", self.at)
    }

    fn varint(&mut self, what: &str) -> Result<u64, String> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err(self.error(&format!("{what} cut short")));
            };
            self.at += 1;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(self.error(&format!("{what} longer than ten bytes")))
    }

    fn bytes(&mut self, what: &str) -> Result<&'a [u8], String> {
        let len = self.varint(what)?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.at.checked_add(len))
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.error(&format!("{what} of {len} bytes cut short")))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(bytes: &[u8]) -> Vec<(u32, Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for_each_entry(bytes, |g, k, v| {
            out.push((g, k.to_vec(), v.to_vec()));
            Ok(())
        })
        .expect("the layout reads back");
        out
    }

    #[test]
    fn entries_read_back_in_order_with_their_groups() {
        let mut w = KeyValueWriter::new();
        w.push(3, b"a", b"1");
        w.push(3, b"", b"");
        w.push(200, &[7; 300], &[9; 2]);
        let bytes = w.finish();
        let read = entries(&bytes);
        assert_eq!(read.len(), 3);
        assert_eq!(read[0], (3, b"a".to_vec(), b"1".to_vec()));
        assert_eq!(read[1], (3, Vec::new(), Vec::new()));
        assert_eq!(read[2], (200, vec![7; 300], vec![9; 2]));
        assert_eq!(count_entries(&bytes).expect("reads"), 3);
        assert_eq!(
            count_entries(&KeyValueWriter::new().finish()).expect("reads"),
            0
        );
    }

    #[test]
    fn varints_are_postcards() {
        for n in [
            0u64,
            1,
            127,
            128,
            300,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut ours = Vec::new();
            push_varint(&mut ours, n);
            assert_eq!(ours, postcard::to_allocvec(&n).expect("encodes"), "{n}");
        }
    }

    #[test]
    fn damaged_bytes_are_errors_not_panics() {
        let mut w = KeyValueWriter::new();
        w.push(1, b"key", b"value");
        w.push(2, b"k2", b"v2");
        let bytes = w.finish();
        for cut in 0..bytes.len() {
            assert!(count_entries(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(count_entries(&longer).is_err());
        // Groups out of order.
        let mut w = KeyValueWriter::new();
        w.push_group(5, 1, {
            let mut b = Vec::new();
            push_entry(&mut b, b"k", b"v");
            b
        });
        w.push_group(5, 1, {
            let mut b = Vec::new();
            push_entry(&mut b, b"k", b"v");
            b
        });
        assert!(count_entries(&w.finish()).is_err());
    }
}
