//! [`KafkaRecord`]: one record as the source's deserializer sees it, and the deserializers
//! that take only its value.

use std::collections::BTreeMap;
use std::sync::Arc;
use weir::BoxError;

/// One record of a partition, borrowed from the fetched batch for the deserializer.
#[derive(Debug, Clone, Copy)]
pub struct KafkaRecord<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// The record's offset in its partition.
    pub offset: i64,
    /// The record's timestamp, in milliseconds since the Unix epoch (as the producer or the
    /// broker set it).
    pub timestamp: i64,
    /// The key, if the record has one.
    pub key: Option<&'a [u8]>,
    /// The value, if the record has one (a tombstone has none).
    pub value: Option<&'a [u8]>,
    /// The headers, by name.
    pub headers: &'a BTreeMap<String, Vec<u8>>,
}

/// Turns a [`KafkaRecord`] into the stream's record type; an error fails the reading subtask
/// with [`KafkaSourceError::Deserialize`](super::KafkaSourceError::Deserialize) naming the
/// record's topic, partition and offset.
pub type Deserializer<T> = Arc<dyn Fn(KafkaRecord<'_>) -> Result<T, BoxError> + Send + Sync>;

/// A deserializer of the value alone through `f`; a record without a value is given as `&[]`.
pub fn value_only<T, F>(
    f: F,
) -> impl Fn(KafkaRecord<'_>) -> Result<T, BoxError> + Send + Sync + 'static
where
    F: Fn(&[u8]) -> Result<T, BoxError> + Send + Sync + 'static,
{
    move |r: KafkaRecord<'_>| f(r.value.unwrap_or_default())
}

/// A deserializer of the value as UTF-8 text; a value that is not UTF-8 is an error.
pub fn value_string() -> impl Fn(KafkaRecord<'_>) -> Result<String, BoxError> + Send + Sync + 'static
{
    value_only(|v| Ok(std::str::from_utf8(v)?.to_string()))
}

/// A deserializer of the value's bytes as they are.
pub fn value_bytes() -> impl Fn(KafkaRecord<'_>) -> Result<Vec<u8>, BoxError> + Send + Sync + 'static
{
    value_only(|v| Ok(v.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(
        value: Option<&'a [u8]>,
        headers: &'a BTreeMap<String, Vec<u8>>,
    ) -> KafkaRecord<'a> {
        KafkaRecord {
            topic: "t",
            partition: 1,
            offset: 7,
            timestamp: 0,
            key: None,
            value,
            headers,
        }
    }

    #[test]
    fn value_helpers_read_the_value_and_refuse_bad_text() {
        let h = BTreeMap::new();
        assert_eq!(value_string()(record(Some(b"hi"), &h)).unwrap(), "hi");
        assert_eq!(value_bytes()(record(None, &h)).unwrap(), Vec::<u8>::new());
        assert!(value_string()(record(Some(&[0xff]), &h)).is_err());
    }
}
