//! The job's `shared/` area of a filesystem checkpoint storage: discarding a checkpoint deletes
//! exactly the shared files no complete checkpoint needs, a refused late write removes what it
//! uploaded, and a new run deletes what an earlier one left behind.

use std::fs;
use std::path::PathBuf;
use weir::checkpoint::storage::FileSystemCheckpointStorage;
use weir::runtime::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, SharedFile, StateHandle, VertexMetadata,
};
use weir::runtime::CheckpointId;

const JOB: &str = "job-1";

fn fs_storage() -> (tempfile::TempDir, FileSystemCheckpointStorage) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let storage = FileSystemCheckpointStorage::new(tmp.path().join("checkpoints"), JOB);
    (tmp, storage)
}

/// Checkpoint `id` of one subtask referring to `shared` (file names in `shared/`), which it
/// creates if they are new; written complete unless `complete` is false.
fn checkpoint_with_shared(
    storage: &FileSystemCheckpointStorage,
    id: CheckpointId,
    shared: &[&str],
    complete: bool,
) {
    fs::create_dir_all(storage.shared_dir()).unwrap();
    let files = shared
        .iter()
        .map(|name| {
            let path = storage.shared_dir().join(name);
            if !path.exists() {
                fs::write(&path, name.as_bytes()).unwrap();
            }
            SharedFile {
                path: PathBuf::from("shared").join(name),
                size: name.len() as u64,
                uploaded: name.contains(&format!("-{id}-")),
            }
        })
        .collect();
    let location = storage.write_state(id, "counter", 0, b"handle").unwrap();
    if !complete {
        return;
    }
    storage
        .write_metadata(&CheckpointMetadata {
            job_id: JOB.to_owned(),
            checkpoint_id: id,
            timestamp_ms: 0,
            max_parallelism: 128,
            vertices: vec![VertexMetadata {
                uid: "counter".to_owned(),
                parallelism: 1,
            }],
            states: vec![StateHandle {
                vertex_uid: "counter".to_owned(),
                subtask: 0,
                operator_uids: vec!["counter".to_owned()],
                location,
                size: 6,
                shared: files,
            }],
        })
        .unwrap();
}

fn shared_names(storage: &FileSystemCheckpointStorage) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(storage.shared_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn discarding_checkpoints_deletes_exactly_the_shared_files_no_complete_checkpoint_needs() {
    let (_dir, storage) = fs_storage();
    checkpoint_with_shared(
        &storage,
        1,
        &["counter-0-1-000001.sst", "counter-0-1-000002.sst"],
        true,
    );
    checkpoint_with_shared(
        &storage,
        2,
        &["counter-0-1-000002.sst", "counter-0-2-000003.sst"],
        true,
    );
    // Checkpoint 3 uploaded a file but never completed (aborted).
    checkpoint_with_shared(
        &storage,
        3,
        &["counter-0-2-000003.sst", "counter-0-3-000004.sst"],
        false,
    );

    storage.discard(1).unwrap();
    assert_eq!(
        shared_names(&storage),
        [
            "counter-0-1-000002.sst",
            "counter-0-2-000003.sst",
            "counter-0-3-000004.sst"
        ],
        "only checkpoint 1's own file goes; what checkpoint 2 needs stays"
    );
    storage.discard(3).unwrap();
    assert_eq!(
        shared_names(&storage),
        ["counter-0-1-000002.sst", "counter-0-2-000003.sst"],
        "the aborted checkpoint's upload goes, the file it shared with checkpoint 2 stays"
    );
    storage.discard(2).unwrap();
    assert!(shared_names(&storage).is_empty());
}

#[test]
fn shared_files_of_a_state_write_refused_after_a_discard_are_removed_unless_needed() {
    let (_dir, storage) = fs_storage();
    checkpoint_with_shared(&storage, 1, &["counter-0-1-000001.sst"], true);
    storage.discard(2).unwrap();
    fs::write(storage.shared_dir().join("counter-0-2-000002.sst"), b"late").unwrap();
    assert!(storage.write_state(2, "counter", 0, b"late").is_err());
    storage
        .discard_shared(
            2,
            &[
                PathBuf::from("shared/counter-0-2-000002.sst"),
                PathBuf::from("shared/counter-0-1-000001.sst"),
            ],
        )
        .unwrap();
    assert_eq!(shared_names(&storage), ["counter-0-1-000001.sst"]);
}

#[test]
fn a_new_run_deletes_incomplete_checkpoints_and_orphan_shared_files_and_numbers_after_them() {
    let (_dir, storage) = fs_storage();
    checkpoint_with_shared(&storage, 1, &["counter-0-1-a.000001.sst"], true);
    checkpoint_with_shared(
        &storage,
        2,
        &["counter-0-1-a.000001.sst", "counter-0-2-a.000002.sst"],
        false,
    );
    fs::write(
        storage.shared_dir().join("counter-1-9-b.000003.sst"),
        b"orphan",
    )
    .unwrap();
    assert_eq!(storage.highest_used_id().unwrap(), Some(9));
    storage.delete_leftovers().unwrap();
    assert_eq!(storage.list().unwrap(), vec![1]);
    assert_eq!(shared_names(&storage), ["counter-0-1-a.000001.sst"]);
}
