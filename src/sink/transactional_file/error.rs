//! [`FileSinkError`]: every failure of the transactional file sink, naming the file or
//! directory and the operation.

use std::path::PathBuf;

/// A failure of the transactional file sink.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileSinkError {
    /// A file-system operation on a part file or the target directory failed.
    #[error("cannot {operation} {path}: {source}")]
    Io {
        /// What was being done: "create the directory", "write the in-progress file",
        /// "rename the pending file to its final name"…
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The part prefix would make hidden or misplaced files: it is empty, starts with `.` or
    /// holds a path separator.
    #[error(
        "the part prefix {prefix:?} of the file sink into {dir} is not a plain visible file name"
    )]
    InvalidPartPrefix {
        /// The prefix.
        prefix: String,
        /// The target directory.
        dir: PathBuf,
    },
    /// Committing found neither the pending file of a part nor its final file: something else
    /// removed a prepared part, and its records are lost.
    #[error(
        "part {part} of transaction {transaction} is lost: neither its pending file {pending} \
         nor its final file {finished} exists"
    )]
    PartLost {
        /// The transaction's name.
        transaction: String,
        /// The part's number within the transaction.
        part: u32,
        /// Where its pending file should be.
        pending: PathBuf,
        /// Where its final file should be.
        finished: PathBuf,
    },
}

/// An [`FileSinkError::Io`] for `operation` on `path`.
pub(super) fn io(
    operation: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> FileSinkError {
    let path = path.into();
    move |source| FileSinkError::Io {
        operation,
        path,
        source,
    }
}
