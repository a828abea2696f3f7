use super::*;
use proptest::prelude::*;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sample {
    id: u64,
    name: String,
    bytes: Vec<u8>,
    flag: Option<bool>,
}

fn sample() -> impl Strategy<Value = Sample> {
    (
        any::<u64>(),
        ".{0,20}",
        proptest::collection::vec(any::<u8>(), 0..200),
        any::<Option<bool>>(),
    )
        .prop_map(|(id, name, bytes, flag)| Sample {
            id,
            name,
            bytes,
            flag,
        })
}

fn identity() -> impl Strategy<Value = FileIdentity> {
    prop_oneof![
        any::<u64>().prop_map(|checkpoint_id| FileIdentity::Metadata { checkpoint_id }),
        (any::<u64>(), ".{0,12}", 0u32..40_000).prop_map(|(checkpoint_id, vertex_uid, subtask)| {
            FileIdentity::State {
                checkpoint_id,
                vertex_uid,
                subtask,
            }
        }),
    ]
}

fn here() -> &'static Path {
    Path::new("dir/_metadata")
}

fn metadata(checkpoint_id: u64) -> FileIdentity {
    FileIdentity::Metadata { checkpoint_id }
}

fn state(checkpoint_id: u64, vertex_uid: &str, subtask: u32) -> FileIdentity {
    FileIdentity::State {
        checkpoint_id,
        vertex_uid: vertex_uid.to_owned(),
        subtask,
    }
}

fn encoded(value: &Sample) -> Vec<u8> {
    encode(&metadata(3), value).unwrap()
}

fn small() -> Sample {
    Sample {
        id: 1,
        name: "x".into(),
        bytes: vec![],
        flag: None,
    }
}

#[test]
fn a_file_shorter_than_its_header_is_truncated_if_it_starts_like_one() {
    let full = encoded(&small());
    for len in [0, 1, 7, 8, 9, 10, 19, 27, 28, 35] {
        let err = decode::<Sample>(here(), FileKind::Metadata, &full[..len]).unwrap_err();
        assert!(
            matches!(err, StorageError::Truncated { actual, .. } if actual == len as u64),
            "{len}: {err}"
        );
    }
}

#[test]
fn a_file_not_starting_with_the_magic_number_is_foreign() {
    for bytes in [
        &b"hello"[..],
        b"X",
        b"WEIRCKPX and some more bytes after it",
    ] {
        let err = decode::<Sample>(here(), FileKind::Metadata, bytes).unwrap_err();
        assert_eq!(
            err,
            StorageError::Foreign {
                path: here().into()
            }
        );
    }
}

#[test]
fn a_future_version_is_unsupported_even_if_its_header_is_shorter() {
    let mut bytes = encoded(&small());
    bytes[8..10].copy_from_slice(&7u16.to_le_bytes());
    for len in [10, 15, bytes.len()] {
        let err = decode::<Sample>(here(), FileKind::Metadata, &bytes[..len]).unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::UnsupportedVersion {
                    version: 7,
                    supported: FORMAT_VERSION,
                    ..
                }
            ),
            "{err}"
        );
    }
}

/// A file as weir's format version 1 wrote it: no identity in the header.
fn version_1_file(kind: FileKind, body: &[u8]) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&kind.code().to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(body);
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn a_file_of_format_version_1_is_refused_as_unsupported_not_misread() {
    let body = postcard::to_stdvec(&small()).unwrap();
    let old = version_1_file(FileKind::Metadata, &body);
    let err = decode::<Sample>(here(), FileKind::Metadata, &old).unwrap_err();
    assert_eq!(
        err,
        StorageError::UnsupportedVersion {
            path: here().into(),
            version: 1,
            supported: 2
        }
    );
    let old_state = version_1_file(FileKind::State, b"state bytes");
    let err = decode_bytes(here(), FileKind::State, &old_state).unwrap_err();
    assert!(
        matches!(err, StorageError::UnsupportedVersion { version: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("version 1"), "{err}");
}

#[test]
fn a_state_file_is_not_read_as_metadata() {
    let bytes = encode_bytes(&state(1, "op", 0), &[1, 2, 3]);
    let err = decode::<Vec<u8>>(here(), FileKind::Metadata, &bytes).unwrap_err();
    assert!(
        matches!(err, StorageError::Corrupt { ref reason, .. } if reason.contains("state")),
        "{err}"
    );
}

#[test]
fn the_header_records_whose_file_it_is() {
    let bytes = encode_bytes(&state(9, "sum/by key", 4), b"abc");
    let (identity, body) = decode_bytes(here(), FileKind::State, &bytes).unwrap();
    assert_eq!(identity, state(9, "sum/by key", 4));
    assert_eq!(body, b"abc");
    assert_eq!(
        check_identity(here(), &state(9, "sum/by key", 4), identity.clone()),
        Ok(())
    );
    for expected in [
        state(8, "sum/by key", 4),
        state(9, "sum", 4),
        state(9, "sum/by key", 3),
    ] {
        let err = check_identity(here(), &expected, identity.clone()).unwrap_err();
        assert_eq!(
            err,
            StorageError::IdentityMismatch {
                path: here().into(),
                expected: Box::new(expected),
                found: Box::new(identity.clone())
            }
        );
    }
}

#[test]
fn a_huge_body_length_is_truncated_not_an_overflow() {
    let mut bytes = encoded(&small());
    bytes[28..36].copy_from_slice(&u64::MAX.to_le_bytes());
    let err = decode::<Sample>(here(), FileKind::Metadata, &bytes).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Truncated {
                expected: u64::MAX,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_huge_uid_length_is_truncated_not_an_overflow() {
    let mut bytes = encode_bytes(&state(1, "op", 0), b"x");
    bytes[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = decode_bytes(here(), FileKind::State, &bytes).unwrap_err();
    assert!(matches!(err, StorageError::Truncated { .. }), "{err}");
}

#[test]
fn read_of_a_missing_file_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing.state");
    let err = read::<Vec<u8>>(&path, FileKind::State).unwrap_err();
    assert_eq!(err, StorageError::NotFound { path });
}

proptest! {
    #[test]
    fn a_valid_file_round_trips(value in sample(), identity in identity()) {
        let bytes = encode(&identity, &value).unwrap();
        let kind = FileKind::of(&identity);
        prop_assert_eq!(decode::<Sample>(here(), kind, &bytes).unwrap(), (identity, value));
    }

    #[test]
    fn random_bytes_never_panic_and_never_decode(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        with_magic in any::<bool>(),
    ) {
        let mut bytes = bytes;
        if with_magic {
            let mut prefixed = MAGIC.to_vec();
            prefixed.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
            prefixed.extend_from_slice(&bytes);
            bytes = prefixed;
        }
        prop_assert!(decode::<Sample>(here(), FileKind::Metadata, &bytes).is_err());
        prop_assert!(decode_bytes(here(), FileKind::State, &bytes).is_err());
    }

    #[test]
    fn every_truncation_is_detected(
        value in sample(),
        identity in identity(),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = encode(&identity, &value).unwrap();
        let len = cut.index(bytes.len());
        prop_assert!(decode::<Sample>(here(), FileKind::of(&identity), &bytes[..len]).is_err());
    }

    #[test]
    fn every_changed_byte_is_detected(
        value in sample(),
        identity in identity(),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut bytes = encode(&identity, &value).unwrap();
        let at = at.index(bytes.len());
        bytes[at] ^= flip;
        prop_assert!(decode::<Sample>(here(), FileKind::of(&identity), &bytes).is_err());
    }

    #[test]
    fn appended_bytes_are_detected(
        value in sample(),
        extra in proptest::collection::vec(any::<u8>(), 1..20),
    ) {
        let mut bytes = encoded(&value);
        bytes.extend_from_slice(&extra);
        prop_assert!(decode::<Sample>(here(), FileKind::Metadata, &bytes).is_err());
    }
}
