//! Sources: where records enter a job. Each source subtask reads its own split and emits batches.
//!
//! | file | what |
//! | --- | --- |
//! | `reader` | [`SourceReader`], the trait every source implements, and its type erasure |
//! | `sequence` | [`SequenceReader`]: a range of numbers (`generate_sequence`) |
//! | `vec_reader` | [`VecReader`]: a shared vector (`from_vec`) |
//! | `iter_reader` | [`IterReader`]: an iterator, read once (`from_iter`) |
//! | `line_file` | [`LineFileReader`]: the lines of a text file (`read_text_file`) |

mod iter_reader;
mod line_file;
mod reader;
mod sequence;
mod vec_reader;

pub use iter_reader::{IterReader, SharedIter};
pub use line_file::LineFileReader;
pub use reader::{erase_reader, split_range, ErasedSource, SourceFactory, SourceReader};
pub use sequence::SequenceReader;
pub use vec_reader::VecReader;
