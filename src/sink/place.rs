//! Where output files go — a local path or an `s3://` URL — and files that appear under their
//! final names only when committed: a local file is written under a hidden temporary name and
//! renamed (`AtomicFile`); an object is uploaded and its upload completed
//! ([`crate::sink::s3`]). Datasets and numbered bulk files reach both through [`Place`], so they
//! say once what a commit is; single-file outputs go through [`crate::sink::Target`].

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use object_store::PutMode;

use crate::error::Error;
use crate::sink::AtomicFile;
use crate::sink::s3::{Lease, Ready, S3Place, Upload};

/// Bytes buffered in front of a local file.
const BUFFER_BYTES: usize = 1 << 20;

/// A local path or an S3 key (or key prefix).
#[derive(Debug, Clone)]
pub enum Place {
    /// A local file or directory.
    Local(PathBuf),
    /// An object or a prefix of objects.
    S3(S3Place),
}

/// Whether `target` names an S3 object or prefix.
pub fn is_s3(target: &str) -> bool {
    target.starts_with("s3://")
}

impl Place {
    /// The place `target` names: an `s3://` URL (reached through `endpoint`, `--endpoint-url`,
    /// or AWS's own), else a local path.
    pub fn parse(target: &str, endpoint: Option<&str>) -> Result<Place, Error> {
        if is_s3(target) {
            Ok(Place::S3(S3Place::parse(target, endpoint)?))
        } else {
            Ok(Place::Local(PathBuf::from(target)))
        }
    }

    /// The place in messages: the path or the URL.
    pub fn name(&self) -> String {
        match self {
            Place::Local(p) => p.display().to_string(),
            Place::S3(s) => s.url(),
        }
    }

    /// The file or object `rel` (`/`-separated) below this directory or prefix.
    pub fn join(&self, rel: &str) -> Place {
        match self {
            Place::Local(p) => Place::Local(p.join(rel)),
            Place::S3(s) => Place::S3(s.join(rel)),
        }
    }

    /// The directory or prefix this file or object is in, and its own name.
    pub fn split_name(&self) -> (Place, String) {
        match self {
            Place::Local(p) => (
                Place::Local(p.parent().map(Path::to_path_buf).unwrap_or_default()),
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            Place::S3(s) => {
                let (dir, name) = s.split_name();
                (Place::S3(dir), name)
            }
        }
    }

    fn io_err(&self, e: io::Error) -> Error {
        Error::Write {
            path: self.name(),
            reason: e.to_string(),
        }
    }

    fn read_err(&self, e: io::Error) -> Error {
        Error::Input {
            input: self.name(),
            reason: e.to_string(),
        }
    }

    /// Makes a local directory (and its parents); nothing for S3, which has none.
    pub(crate) fn make_dir(&self) -> Result<(), Error> {
        match self {
            Place::Local(p) => std::fs::create_dir_all(p).map_err(|e| self.io_err(e)),
            Place::S3(_) => Ok(()),
        }
    }

    /// Every file below this directory or prefix, relative to it (`/`-separated).
    pub(crate) fn list_files(&self) -> Result<Vec<String>, Error> {
        match self {
            Place::Local(dir) => {
                let mut out = Vec::new();
                walk_files(dir, Path::new(""), &mut out).map_err(|e| self.read_err(e))?;
                Ok(out
                    .into_iter()
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .collect())
            }
            Place::S3(s) => s.list(),
        }
    }

    /// Removes this file or object.
    pub(crate) fn remove(&self) -> Result<(), Error> {
        match self {
            Place::Local(p) => match std::fs::remove_file(p) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(self.io_err(e)),
                _ => Ok(()),
            },
            Place::S3(s) => s.remove(),
        }
    }

    /// This file's or object's bytes, or None if there is none.
    pub(crate) fn read(&self) -> Result<Option<Vec<u8>>, Error> {
        match self {
            Place::Local(p) => match std::fs::read(p) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(self.read_err(e)),
            },
            Place::S3(s) => Ok(s.read()?.map(|(b, _)| b)),
        }
    }

    /// The last `n` bytes of this file or object (all of it if shorter).
    pub(crate) fn read_tail(&self, n: u64) -> Result<Vec<u8>, Error> {
        match self {
            Place::Local(p) => {
                use std::io::{Read, Seek, SeekFrom};
                let mut f = File::open(p).map_err(|e| self.read_err(e))?;
                let size = f.metadata().map_err(|e| self.read_err(e))?.len();
                let mut out = Vec::new();
                f.seek(SeekFrom::Start(size.saturating_sub(n)))
                    .and_then(|_| f.read_to_end(&mut out))
                    .map_err(|e| self.read_err(e))?;
                Ok(out)
            }
            Place::S3(s) => s.read_tail(n),
        }
    }

    /// Replaces this file or object with `bytes`, all or nothing: a durable renamed file, or
    /// one PUT.
    pub(crate) fn replace(&self, bytes: &[u8]) -> Result<(), Error> {
        match self {
            Place::Local(_) => {
                let mut f = self.create()?;
                f.write_all(bytes).map_err(|e| self.io_err(e))?;
                f.finish()?.commit(true).map_err(|e| self.io_err(e))
            }
            Place::S3(s) => s
                .put(bytes.to_vec(), PutMode::Overwrite)
                .map(|_| ())
                .map_err(Error::from),
        }
    }

    /// Adds `line` at the end of this file; an object, which can't be appended to, is
    /// replaced with `whole` (its text with the line added).
    pub(crate) fn append(&self, line: &[u8], whole: impl FnOnce() -> Vec<u8>) -> Result<(), Error> {
        match self {
            Place::Local(p) => {
                let mut f = OpenOptions::new()
                    .append(true)
                    .open(p)
                    .map_err(|e| self.io_err(e))?;
                f.write_all(line)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| self.io_err(e))
            }
            Place::S3(_) => self.replace(&whole()),
        }
    }

    /// Moves this file or object to `dest` (on the same side: both local or both S3): a rename
    /// (its directory made first, synced after), or a server-side copy and a removal.
    pub(crate) fn move_to(&self, dest: &Place) -> Result<(), Error> {
        match (self, dest) {
            (Place::Local(from), Place::Local(to)) => {
                let dir = crate::sink::parent_dir(to);
                std::fs::create_dir_all(dir)
                    .and_then(|()| std::fs::rename(from, to))
                    .and_then(|()| crate::sink::sync_dir(dir))
                    .map_err(|e| dest.io_err(e))
            }
            (Place::S3(from), Place::S3(to)) => {
                from.copy_to(to)?;
                from.remove()
            }
            _ => Err(Error::Internal(format!(
                "moving {self} to {dest}: not the same kind of place"
            ))),
        }
    }

    /// Removes everything below this directory or prefix.
    pub(crate) fn remove_all(&self) -> Result<(), Error> {
        match self {
            Place::Local(p) => match std::fs::remove_dir_all(p) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(self.io_err(e)),
                _ => Ok(()),
            },
            Place::S3(_) => {
                for rel in self.list_files()? {
                    self.join(&rel).remove()?;
                }
                Ok(())
            }
        }
    }

    /// A new file or object here, invisible until committed.
    pub(crate) fn create(&self) -> Result<Pending, Error> {
        Ok(match self {
            Place::Local(p) => {
                let (atomic, file) = AtomicFile::create(p).map_err(|e| Error::Write {
                    path: self.name(),
                    reason: format!("creating it: {e}"),
                })?;
                Pending::Local(atomic, BufWriter::with_capacity(BUFFER_BYTES, file))
            }
            Place::S3(s) => Pending::S3(s.upload()),
        })
    }

    /// Holds this dataset directory or prefix for this run: a locked file, or a lease renewed
    /// every third of `lease_seconds`.
    pub(crate) fn lock(&self, lease_seconds: u64) -> Result<DatasetLock, Error> {
        match self {
            Place::Local(dir) => lock_dir(dir).map(DatasetLock::File),
            Place::S3(s) => Lease::acquire(s, lease_seconds).map(DatasetLock::Lease),
        }
    }

    /// Removes the directories below a local directory that hold no file (nothing for S3).
    pub(crate) fn remove_empty_dirs(&self) {
        if let Place::Local(dir) = self {
            remove_empty_dirs(dir);
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// A file being written, not visible under its name yet.
pub(crate) enum Pending {
    /// Under a temporary name beside its destination.
    Local(AtomicFile, BufWriter<File>),
    /// An upload not completed.
    S3(Upload),
}

impl Pending {
    /// The name it will have.
    pub fn name(&self) -> String {
        match self {
            Pending::Local(a, _) => a.dest().display().to_string(),
            Pending::S3(u) => u.url(),
        }
    }

    /// Writes out what is buffered (and syncs a local file): ready to commit.
    pub fn finish(self) -> Result<Finished, Error> {
        let name = self.name();
        let failed = |e: io::Error| Error::Write {
            path: name.clone(),
            reason: e.to_string(),
        };
        match self {
            Pending::Local(atomic, w) => {
                let file = w.into_inner().map_err(|e| failed(e.into_error()))?;
                file.sync_all().map_err(failed)?;
                Ok(Finished::Local(atomic))
            }
            Pending::S3(u) => Ok(Finished::S3(u.finish().map_err(failed)?)),
        }
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Pending::Local(_, w) => w.write(buf),
            Pending::S3(u) => u.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Pending::Local(_, w) => w.write_all(buf),
            Pending::S3(u) => u.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Pending::Local(_, w) => w.flush(),
            Pending::S3(u) => u.flush(),
        }
    }
}

/// A file with all its bytes written, waiting to appear under its name. Dropped uncommitted,
/// it never does.
pub(crate) enum Finished {
    /// Synced, under its temporary name.
    Local(AtomicFile),
    /// Uploaded, not completed.
    S3(Ready),
}

impl Finished {
    /// The name it will have.
    pub fn name(&self) -> String {
        match self {
            Finished::Local(a) => a.dest().display().to_string(),
            Finished::S3(r) => r.url(),
        }
    }

    /// Puts it in place: renames a local file (and, with `sync_dir`, syncs its directory) or
    /// completes the upload.
    pub fn commit(self, sync_dir: bool) -> io::Result<()> {
        match self {
            Finished::Local(a) if sync_dir => a.commit(),
            Finished::Local(a) => a.persist(),
            Finished::S3(r) => r.complete(),
        }
    }
}

/// What keeps other runs off a dataset while this one writes it.
pub enum DatasetLock {
    /// The directory's lock file, locked.
    File(File),
    /// The prefix's lease.
    Lease(Lease),
}

impl DatasetLock {
    /// Fails if the dataset is no longer this run's to write (a lease taken over).
    pub(crate) fn check(&self) -> Result<(), Error> {
        match self {
            DatasetLock::File(_) => Ok(()),
            DatasetLock::Lease(l) => l.check(),
        }
    }
}

impl std::fmt::Debug for DatasetLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DatasetLock::File(_) => "DatasetLock::File",
            DatasetLock::Lease(_) => "DatasetLock::Lease",
        })
    }
}

/// The file (or, on S3, the lease object) that keeps two runs from writing one dataset at once.
/// A local one is kept afterwards: removing it could let two later runs lock two files.
pub(crate) const LOCK: &str = "_vpcflow.lock";

/// Takes the dataset directory's lock, or says that another run holds it.
fn lock_dir(dir: &Path) -> Result<File, Error> {
    let path = dir.join(LOCK);
    let io_err = |e: io::Error| Error::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Write {
            path: dir.display().to_string(),
            reason: "another vpcflow run is writing this dataset now; wait for it to finish (or choose another directory)".to_string(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(e)),
    }
}

/// Every file below `dir` (relative paths), skipping nothing.
fn walk_files(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for e in std::fs::read_dir(dir.join(rel))? {
        let e = e?;
        let r = rel.join(e.file_name());
        if e.file_type()?.is_dir() {
            walk_files(dir, &r, out)?;
        } else {
            out.push(r);
        }
    }
    Ok(())
}

fn remove_empty_dirs(dir: &Path) {
    fn go(d: &Path) -> bool {
        let Ok(entries) = std::fs::read_dir(d) else {
            return false;
        };
        let mut empty = true;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if go(&p) {
                    let _ = std::fs::remove_dir(&p);
                } else {
                    empty = false;
                }
            } else {
                empty = false;
            }
        }
        empty
    }
    go(dir);
}
