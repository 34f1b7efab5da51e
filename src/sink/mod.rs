//! Outputs: consumers of the decoder's record batches.

pub mod dataset;
pub mod ecs;
pub mod gather;
pub mod ndjson;
pub mod parquet;
pub mod results;
pub mod sort;
pub mod table;
pub mod template;

use std::path::{Path, PathBuf};

/// The usage error for an option (`--partition-by`, `--cluster-by`) naming a column the inputs
/// don't have, listing the ones they do.
pub fn no_such_column(option: &str, name: &str, schema: &arrow::datatypes::Schema) -> crate::Error {
    crate::Error::Usage(format!(
        "{option} {name}: no such column in these inputs (columns: {})",
        schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// A file written under a temporary name next to its destination and renamed into place only
/// when complete, so a failed or killed run never leaves a file that looks finished.
pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl AtomicFile {
    /// Creates the temporary file for `dest`.
    pub fn create(dest: &Path) -> std::io::Result<(AtomicFile, std::fs::File)> {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let tmp = dest.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let file = std::fs::File::create(&tmp)?;
        Ok((
            AtomicFile {
                tmp,
                dest: dest.to_path_buf(),
                done: false,
            },
            file,
        ))
    }

    /// Where the file goes when committed.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Moves the finished file into place.
    pub fn commit(mut self) -> std::io::Result<()> {
        std::fs::rename(&self.tmp, &self.dest)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
