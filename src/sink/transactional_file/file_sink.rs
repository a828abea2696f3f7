//! [`FileSink`]: what the transactional file sink writes, where, and how it names and rolls
//! its part files; [`DataStream::sink_to_files`](crate::DataStream::sink_to_files) applies it,
//! and [`TransactionalFileSink::open`](super::TransactionalFileSink::open) builds one subtask's sink
//! from it.

use super::rolling_policy::RollingPolicy;
use crate::sink::two_phase_commit::TwoPhaseCommitConfig;
use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Turns a record into the bytes of the file (a line with its `\n`, a CSV row, a JSON line…),
/// appended to the buffer it is given.
pub type Encoder<T> = Arc<dyn Fn(&T, &mut Vec<u8>) + Send + Sync>;

/// The settings of a transactional file sink (Flink's `FileSink.forRowFormat`): the target
/// directory, the record encoder, the rolling policy and the part names.
///
/// ```
/// use weir::sink::transactional_file::{FileSink, RollingPolicy};
/// let sink = FileSink::<u64>::for_lines("/tmp/weir-out")
///     .with_rolling(RollingPolicy::by_size(64 * 1024 * 1024))
///     .with_part_prefix("numbers")
///     .with_part_suffix(".txt");
/// assert_eq!(sink.part_prefix(), "numbers");
/// ```
pub struct FileSink<T> {
    dir: PathBuf,
    encoder: Encoder<T>,
    rolling: RollingPolicy,
    part_prefix: String,
    part_suffix: String,
    config: TwoPhaseCommitConfig,
}

impl<T> Clone for FileSink<T> {
    fn clone(&self) -> Self {
        FileSink {
            dir: self.dir.clone(),
            encoder: self.encoder.clone(),
            rolling: self.rolling,
            part_prefix: self.part_prefix.clone(),
            part_suffix: self.part_suffix.clone(),
            config: self.config.clone(),
        }
    }
}

impl<T: Display> FileSink<T> {
    /// Writes each record as one line (`{record}\n`) into part files under `dir`.
    pub fn for_lines(dir: impl Into<PathBuf>) -> Self {
        FileSink::with_encoder(dir, |record: &T, out: &mut Vec<u8>| {
            // Writing into a Vec cannot fail.
            let _ = writeln!(out, "{record}");
        })
    }
}

impl<T> FileSink<T> {
    /// Writes each record as `encoder` appends it to the buffer, into part files under `dir`.
    pub fn with_encoder<F>(dir: impl Into<PathBuf>, encoder: F) -> Self
    where
        F: Fn(&T, &mut Vec<u8>) + Send + Sync + 'static,
    {
        FileSink {
            dir: dir.into(),
            encoder: Arc::new(encoder),
            rolling: RollingPolicy::default(),
            part_prefix: "part".to_string(),
            part_suffix: String::new(),
            config: TwoPhaseCommitConfig::default(),
        }
    }

    /// When a part file is closed within a checkpoint (default [`RollingPolicy::default`]).
    pub fn with_rolling(mut self, rolling: RollingPolicy) -> Self {
        self.rolling = rolling;
        self
    }

    /// The start of every final part name (default `part`): a plain file name, not starting
    /// with `.`.
    pub fn with_part_prefix(mut self, prefix: &str) -> Self {
        self.part_prefix = prefix.to_string();
        self
    }

    /// The end of every final part name (default none), e.g. `.txt`.
    pub fn with_part_suffix(mut self, suffix: &str) -> Self {
        self.part_suffix = suffix.to_string();
        self
    }

    /// How commits are retried and counted (default [`TwoPhaseCommitConfig::default`]).
    pub fn with_config(mut self, config: TwoPhaseCommitConfig) -> Self {
        self.config = config;
        self
    }

    /// The target directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// See [`with_rolling`](Self::with_rolling).
    pub fn rolling(&self) -> RollingPolicy {
        self.rolling
    }

    /// See [`with_part_prefix`](Self::with_part_prefix).
    pub fn part_prefix(&self) -> &str {
        &self.part_prefix
    }

    /// See [`with_part_suffix`](Self::with_part_suffix).
    pub fn part_suffix(&self) -> &str {
        &self.part_suffix
    }

    /// See [`with_config`](Self::with_config).
    pub fn config(&self) -> &TwoPhaseCommitConfig {
        &self.config
    }

    pub(super) fn encoder(&self) -> &Encoder<T> {
        &self.encoder
    }
}
