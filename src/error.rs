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
        reason: crate::layout::LayoutError,
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
    Fields(crate::layout::LayoutError),
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
    /// A problem with how the tool was asked to run.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// An I/O error on `path`.
    #[cold]
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
