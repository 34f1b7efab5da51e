//! Outputs: every consumer of the pipeline's record batches implements
//! [`crate::pipeline::Sink`] — a Parquet file ([`parquet`], ordered by [`sort`]), a dataset
//! directory ([`dataset`]), NDJSON ([`ndjson`]), ECS documents and bulk files ([`ecs`], with the
//! index `template`); `output` opens the one asked for; [`place`] says where files go (a local
//! path or `s3://`, through [`s3`]) and what committing one is; `AtomicFile` puts a finished
//! local file in place; [`clobber`] refuses outputs that would overwrite inputs.

pub mod clobber;
pub mod dataset;
pub mod ecs;
pub mod gather;
pub mod ndjson;
pub mod output;
pub mod parquet;
pub mod place;
pub mod s3;
pub mod sort;
pub mod template;

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::cleanup::{Access, TempPath};

pub use output::{Output, OutputFormat, SinkOptions, Target, open};

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
///
/// The temporary name is hidden, random and created exclusively (`.NAME.XXXXXX.tmp`, see
/// [`crate::cleanup`]); [`AtomicFile::commit`] syncs the file before the rename and the
/// directory after it, so a file that has its final name also has its data after a power loss.
pub(crate) struct AtomicFile {
    tmp: TempPath,
    /// A second handle on the temporary file, to sync it whoever holds the writer.
    file: File,
    dest: PathBuf,
}

impl AtomicFile {
    /// Creates the temporary file for `dest`.
    pub fn create(dest: &Path) -> std::io::Result<(AtomicFile, File)> {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let (tmp, file) = TempPath::file_in(
            parent_dir(dest),
            &format!(".{name}."),
            ".tmp",
            Access::Umask,
        )?;
        let sync = file.try_clone()?;
        Ok((
            AtomicFile {
                tmp,
                file: sync,
                dest: dest.to_path_buf(),
            },
            file,
        ))
    }

    /// Where the file goes when committed.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Moves the finished file into place: syncs it, renames it, syncs the directory. Whatever
    /// wrote to the file must have flushed its buffers first.
    pub fn commit(self) -> std::io::Result<()> {
        let dir = parent_dir(&self.dest).to_path_buf();
        self.persist()?;
        sync_dir(&dir)
    }

    /// Syncs the file and renames it into place, leaving the directory's sync to the caller
    /// (which may rename several files into one directory).
    pub fn persist(self) -> std::io::Result<()> {
        self.file.sync_all()?;
        self.tmp.persist(&self.dest).map_err(|(_, e)| e)
    }
}

/// The directory `path` is in (`.` for a bare name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Syncs a directory, so that the names just created or renamed in it survive a power loss
/// (the files' own data is synced separately, before they are renamed).
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn commit_renames_a_complete_file_with_the_usual_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.parquet");
        let (a, mut f) = AtomicFile::create(&dest).unwrap();
        f.write_all(b"rows").unwrap();
        let tmp = a.tmp.path().to_path_buf();
        let name = tmp.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".out.parquet.") && name.ends_with(".tmp"),
            "{name}"
        );
        assert!(
            !dest.exists(),
            "nothing at the destination before the commit"
        );
        a.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"rows");
        assert!(!tmp.exists());
        // The mode any new file gets here (the umask's), not the temporary file's 0600.
        let plain = dir.path().join("plain");
        File::create(&plain).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dest), mode(&plain));
    }

    #[test]
    fn an_uncommitted_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.ndjson");
        let (a, mut f) = AtomicFile::create(&dest).unwrap();
        f.write_all(b"{}").unwrap();
        drop(a);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// Regression (issue 13): the temporary name was `.NAME.PID.tmp`, opened with
    /// `File::create`, which followed a symbolic link planted at that name and wrote through it.
    #[test]
    fn a_link_planted_at_the_old_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let dest = dir.path().join("out.parquet");
        let planted = dir
            .path()
            .join(format!(".out.parquet.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        for _ in 0..20 {
            let (a, mut f) = AtomicFile::create(&dest).unwrap();
            f.write_all(b"output").unwrap();
            assert_ne!(a.tmp.path(), planted);
            a.commit().unwrap();
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read_link(&planted).unwrap(), victim);
        assert_eq!(std::fs::read(&dest).unwrap(), b"output");
    }
}
