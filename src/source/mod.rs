//! Sources: where records enter a job.
//!
//! A [`SplitSource`] (Flink's FLIP-27 source) is a set of splits, each with a position; every
//! subtask reads the splits it owns, checkpoints them with their positions, and gets them back on
//! restore, also at another parallelism. A [`SourceReader`] is the simpler form: one reader per
//! subtask with an opaque position.
//!
//! | file | what |
//! | --- | --- |
//! | `split_source` | [`SplitSource`], [`SplitReader`], [`SourceSplit`]: the split API |
//! | `split_assignment` | which subtask reads which split (pure) |
//! | `split_driver` | a split source run as a subtask's source: restore, discovery, snapshots |
//! | `fetch_queue` | [`FetchQueue`]: a bounded queue from a client's thread that wakes the subtask |
//! | `number_sequence` | [`NumberSequenceSource`]: a range of numbers (`generate_sequence`) |
//! | `file_source` | [`FileSource`]: the lines of a file or a directory (`read_text_file`) |
//! | `reader` | [`SourceReader`], the one-reader-per-subtask trait, and its type erasure |
//! | `vec_reader` | [`VecReader`]: a shared vector (`from_vec`) |
//! | `iter_reader` | [`IterReader`]: an iterator, read once (`from_iter`) |

mod fetch_queue;
mod file_source;
mod iter_reader;
mod number_sequence;
mod reader;
mod split_assignment;
pub(crate) mod split_driver;
mod split_source;
mod vec_reader;

pub use fetch_queue::{FetchQueue, FetchSender, QueueClosed};
pub use file_source::{FileSource, FileSourceError, FileSourceReader, FileSplit};
pub use iter_reader::{IterReader, SharedIter};
pub use number_sequence::{NumberSequenceReader, NumberSequenceSource, NumberSequenceSplit};
pub use reader::{erase_reader, split_range, ErasedSource, SourceFactory, SourceReader};
pub use split_source::{
    Boundedness, DiscoveryContext, SourceSplit, SplitReader, SplitReaderContext, SplitSource,
};
pub use vec_reader::VecReader;
