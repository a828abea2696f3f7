//! Why a configuration cannot be read or a setting is not valid: [`ConfigError`] and, for a
//! malformed line of a file, [`SyntaxErrorKind`]. Both are re-exported from
//! [`configuration`](crate::config::configuration).

use std::path::{Path, PathBuf};

use crate::config::checkpoint_config::CheckpointConfigError;
use crate::config::keys::keys;
use crate::recovery::restart_strategy::RestartStrategyError;

/// Why a line of a configuration file is not a flat `key: value` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyntaxErrorKind {
    /// No `: ` separates a key from a value.
    #[error("expected `key: value`")]
    MissingSeparator,
    /// Nothing before the `:`.
    #[error("empty key")]
    EmptyKey,
    /// A key with no value.
    #[error("missing value")]
    MissingValue,
    /// A key opening a nested YAML block, or an indented line.
    #[error("nested YAML blocks are not supported; write flat keys such as `execution.checkpointing.interval: 10 s`")]
    NestedBlock,
    /// A quoted value without its closing quote, or with text after it.
    #[error("badly quoted value")]
    BadQuote,
}

/// A configuration that cannot be read, or a setting that is not valid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The key is not one weir knows.
    #[error("unknown configuration key `{key}`{}", did_you_mean(.suggestion))]
    UnknownKey {
        /// The key as given.
        key: String,
        /// The known key it most likely means (a typo, a missing prefix, another case).
        suggestion: Option<&'static str>,
    },
    /// The key names a feature weir does not have yet, and the value is not its default, so it
    /// would have no effect.
    #[error("`{key}: {value}` is not supported: {reason}; remove the setting or set its default")]
    Unsupported {
        /// The key as given (a deprecated name stays as written).
        key: String,
        /// The value as given.
        value: String,
        /// What weir lacks.
        reason: &'static str,
    },
    /// The value does not parse, or is out of range, for its key.
    #[error("invalid value `{value}` for `{key}`: {reason}")]
    InvalidValue {
        /// The key as given (a deprecated name stays as written).
        key: String,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting needs another key that is not set.
    #[error("`{key}` must be set when `{required_by}` is `{value}`")]
    MissingKey {
        /// The key that is missing.
        key: &'static str,
        /// The key whose value needs it.
        required_by: &'static str,
        /// That key's value.
        value: String,
    },
    /// The checkpoint settings are inconsistent or out of range.
    #[error("invalid checkpoint configuration: {0}")]
    Checkpoint(#[from] CheckpointConfigError),
    /// The restart strategy's parameters are out of range.
    #[error("invalid restart strategy `{strategy}`: {source}")]
    RestartStrategy {
        /// The strategy, as Flink names it (`fixed-delay`, ...).
        strategy: &'static str,
        /// The rule broken, naming its key.
        #[source]
        source: RestartStrategyError,
    },
    /// A line of a file is not a flat `key: value` line.
    #[error("{kind}: `{text}`")]
    Syntax {
        /// The line's text.
        text: String,
        /// What is wrong with it.
        kind: SyntaxErrorKind,
    },
    /// An error at a line of a configuration file or string.
    #[error("{}: {source}", location(.file, .line))]
    AtLine {
        /// The file, when read with
        /// [`Configuration::from_file`](crate::config::configuration::Configuration::from_file).
        file: Option<PathBuf>,
        /// The line, counted from 1.
        line: usize,
        /// The error itself.
        #[source]
        source: Box<ConfigError>,
    },
    /// The file cannot be read.
    #[error("cannot read configuration file {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn did_you_mean(suggestion: &Option<&'static str>) -> String {
    suggestion.map_or_else(String::new, |key| format!("; did you mean `{key}`?"))
}

fn location(file: &Option<PathBuf>, line: &usize) -> String {
    match file {
        Some(path) => format!("{}:{line}", path.display()),
        None => format!("line {line}"),
    }
}

impl ConfigError {
    /// The configuration key the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::UnknownKey { key, .. }
            | Self::InvalidValue { key, .. }
            | Self::Unsupported { key, .. } => Some(key),
            Self::MissingKey { key, .. } => Some(key),
            Self::Checkpoint(error) => Some(error.key()),
            Self::RestartStrategy { .. } => Some(keys::RESTART_STRATEGY),
            Self::AtLine { source, .. } => source.key(),
            Self::Syntax { .. } | Self::Io { .. } => None,
        }
    }

    /// The line of the file or string the error is at, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::AtLine { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The file the error is in, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Self::AtLine { file, .. } => file.as_deref(),
            Self::Io { path, .. } => Some(path),
            _ => None,
        }
    }
}
