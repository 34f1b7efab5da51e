//! Temporary files and directories, and removing them however the process ends.
//!
//! This module owns every temporary path vpcflow makes: sort runs and their directory, S3
//! Parquet downloads, the report's scratch Parquet, and the hidden file an output is written
//! under before it is renamed into place (`crate::sink::AtomicFile`, a dataset's part files
//! among them; those a killed run leaves, the next run on the dataset removes).
//!
//! - Each path is created exclusively (`O_EXCL`, so a file or symbolic link planted at the name
//!   is never opened or followed) under a random name, by the `tempfile` crate.
//! - `TempPath` is the one guard type: dropping it removes the path; `TempPath::persist`
//!   renames a finished file into place instead.
//! - While a path exists it is listed in a process-wide registry. [`remove_on_signals`],
//!   called once by the binary, makes SIGINT (Ctrl-C) and SIGTERM remove every listed path and
//!   exit with status 130 or 143, as a shell reports a process killed by those signals.
//!
//! Creating, persisting and removing a path all take the registry's lock, and the signal
//! thread keeps it until the process exits: no temporary path can appear (or be renamed into
//! place) after the clean-up has begun.

use std::collections::BTreeMap;
use std::fs::{File, Permissions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What a registered path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

/// Every temporary path that currently exists.
static LIVE: Mutex<BTreeMap<PathBuf, Kind>> = Mutex::new(BTreeMap::new());

fn live() -> MutexGuard<'static, BTreeMap<PathBuf, Kind>> {
    // A thread that panicked while holding the lock left the map consistent (every change is a
    // single insert or remove).
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn remove(path: &Path, kind: Kind) -> io::Result<()> {
    let r = match kind {
        Kind::File => std::fs::remove_file(path),
        Kind::Dir => std::fs::remove_dir_all(path),
    };
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// A temporary file or directory, removed when dropped (see the module documentation).
#[derive(Debug)]
pub struct TempPath {
    path: PathBuf,
    kind: Kind,
    /// Renamed into place: no longer ours to remove.
    persisted: bool,
}

/// Who may read a temporary file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// The owner only (mode 0600): scratch files in a shared directory.
    Private,
    /// As any file this process creates (mode 0666 less the umask): a file that becomes an
    /// output when renamed into place.
    Umask,
}

impl TempPath {
    /// Creates a new file named `PREFIX…SUFFIX` (random characters between) in `dir`,
    /// exclusively, and opens it for writing.
    pub(crate) fn file_in(
        dir: &Path,
        prefix: &str,
        suffix: &str,
        access: Access,
    ) -> io::Result<(TempPath, File)> {
        let mut b = tempfile::Builder::new();
        b.prefix(prefix).suffix(suffix);
        if access == Access::Umask {
            use std::os::unix::fs::PermissionsExt;
            b.permissions(Permissions::from_mode(0o666));
        }
        let mut live = live();
        let (file, path) = b.tempfile_in(dir)?.keep().map_err(|e| e.error)?;
        live.insert(path.clone(), Kind::File);
        Ok((
            TempPath {
                path,
                kind: Kind::File,
                persisted: false,
            },
            file,
        ))
    }

    /// Creates a new directory named `PREFIX…` (random characters after) in `dir`,
    /// exclusively, readable by the owner only. Dropping the guard removes it and all it holds.
    pub(crate) fn dir_in(dir: &Path, prefix: &str) -> io::Result<TempPath> {
        use std::os::unix::fs::PermissionsExt;
        let mut live = live();
        let path = tempfile::Builder::new()
            .prefix(prefix)
            .permissions(Permissions::from_mode(0o700))
            .tempdir_in(dir)?
            .keep();
        live.insert(path.clone(), Kind::Dir);
        Ok(TempPath {
            path,
            kind: Kind::Dir,
            persisted: false,
        })
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `dest` (replacing what is there): it is no longer temporary. On
    /// failure the guard is handed back with the error, still responsible for the file.
    pub(crate) fn persist(mut self, dest: &Path) -> Result<(), (TempPath, io::Error)> {
        let mut live = live();
        match std::fs::rename(&self.path, dest) {
            Ok(()) => {
                live.remove(&self.path);
                self.persisted = true;
                drop(live); // before `self` is dropped: its `drop` takes the lock too
                Ok(())
            }
            Err(e) => {
                drop(live);
                Err((self, e))
            }
        }
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.persisted {
            return;
        }
        let mut live = live();
        let _ = remove(&self.path, self.kind);
        live.remove(&self.path);
    }
}

/// The exit status of a process ended by `signal`, as shells report it.
fn status_for(signal: i32) -> i32 {
    128 + signal
}

/// Makes SIGINT and SIGTERM remove every temporary path and exit with status 130 or 143
/// instead of dying at once. A thread waits for the signals (the signal handler itself only
/// wakes it), so the removal runs as ordinary code. Call it once, early, from the binary.
pub fn remove_on_signals() -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("vpcflow-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // Kept until exit: nothing new is created, persisted or removed meanwhile.
                let live = live();
                for (path, kind) in live.iter().rev() {
                    // Reverse order: a directory's registered files before the directory.
                    if let Err(e) = remove(path, *kind) {
                        eprintln!("vpcflow: removing {}: {e}", path.display());
                    }
                }
                std::process::exit(status_for(signal));
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn registered(p: &Path) -> bool {
        live().contains_key(p)
    }

    #[test]
    fn files_are_registered_while_they_exist_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let (a, mut f) = TempPath::file_in(dir.path(), ".x.", ".tmp", Access::Private).unwrap();
        let (b, _) = TempPath::file_in(dir.path(), ".x.", ".tmp", Access::Private).unwrap();
        assert_ne!(a.path(), b.path(), "names are random");
        let name = a.path().file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(".x.") && name.ends_with(".tmp"), "{name}");
        f.write_all(b"data").unwrap();
        assert!(registered(a.path()) && registered(b.path()));
        let (pa, pb) = (a.path().to_path_buf(), b.path().to_path_buf());
        drop(a);
        assert!(!pa.exists() && !registered(&pa));
        let dest = dir.path().join("done");
        b.persist(&dest).unwrap();
        assert!(dest.exists() && !pb.exists() && !registered(&pb));
    }

    #[test]
    fn a_directory_is_removed_with_its_contents() {
        let base = tempfile::tempdir().unwrap();
        let d = TempPath::dir_in(base.path(), "vpcflow-test-").unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "private directory, mode {mode:o}");
        let (run, _) = TempPath::file_in(d.path(), "run-", ".parquet", Access::Private).unwrap();
        std::fs::write(d.path().join("stray"), "x").unwrap();
        let p = d.path().to_path_buf();
        drop(d);
        assert!(!p.exists());
        drop(run); // its file is gone already: no error
    }

    #[test]
    fn a_failed_persist_hands_the_file_back() {
        let dir = tempfile::tempdir().unwrap();
        let (t, _) = TempPath::file_in(dir.path(), ".x.", ".tmp", Access::Private).unwrap();
        let (t, e) = t.persist(&dir.path().join("no/such/dir/out")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(t.path().exists() && registered(t.path()));
    }

    #[test]
    fn statuses_are_the_shells() {
        assert_eq!(status_for(signal_hook::consts::SIGINT), 130);
        assert_eq!(status_for(signal_hook::consts::SIGTERM), 143);
    }
}
