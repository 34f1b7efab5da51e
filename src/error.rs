//! The library's error type: every variant carries the context a user needs (which input, which
//! line or offset, why).

use std::path::{Path, PathBuf};

/// Errors from reading inputs, planning layouts and writing outputs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// An input whose header line can't be used.
    #[error("{input}: line {line}: header: {reason}")]
    Header {
        /// The input.
        input: String,
        /// 1-based line number of the header.
        line: u64,
        /// What is wrong with it.
        reason: LayoutError,
    },
    /// An input that could not be read completely.
    #[error("{input}: read failed after {offset} bytes: {source}")]
    Read {
        /// The input.
        input: String,
        /// Bytes (decompressed) read before the failure.
        offset: u64,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A bad `--fields` value.
    #[error("--fields: {0}")]
    Fields(LayoutError),
    /// Writing the output failed.
    #[error("writing {path}: {reason}")]
    Write {
        /// The output.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// More lines were refused than `--max-rejects` allows: the input is probably not flow logs.
    #[error(
        "stopped after {rejected} of {records} records were refused (limit {limit}); the input does not look like flow logs in the expected layout (last refused: {input}:{line}: {reason})"
    )]
    TooManyRejects {
        /// Refused so far.
        rejected: u64,
        /// Records seen so far.
        records: u64,
        /// The limit, as given.
        limit: String,
        /// Where the last refused line was.
        input: String,
        /// Its line number.
        line: u64,
        /// Why it was refused.
        reason: String,
    },
    /// A Parquet input that can't be read as flow logs (a column of the wrong type, …).
    #[error("{input}: {reason}")]
    Parquet {
        /// The input.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// An input that can't be used, for a reason that is not an I/O error on a local file
    /// (an object store's answer, …).
    #[error("{input}: {reason}")]
    Input {
        /// The input.
        input: String,
        /// What went wrong.
        reason: String,
    },
    /// A problem with how the tool was asked to run.
    #[error("{0}")]
    Usage(String),
    /// Something that should not happen (a thread that panicked, an internal invariant).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the error is about how the tool was asked to run (options, arguments, names
    /// that match nothing) rather than about the data or the system: the binary's exit status 2.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Usage(_) | Error::Fields(_))
    }

    /// An I/O error on `path`.
    #[cold]
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Errors in a header line or a `--fields` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// Two tokens name the same column.
    #[error("field '{0}' appears twice")]
    Duplicate(String),
    /// A token isn't a field name at all.
    #[error("'{0}' is not a field name (expected names like 'srcaddr' or '${{srcaddr}}')")]
    BadName(String),
    /// No fields.
    #[error("no fields given")]
    Empty,
    /// More fields (first) than a record may have (second).
    #[error("{0} fields; at most {1} are supported")]
    TooMany(usize, usize),
}
