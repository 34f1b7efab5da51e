//! Naming inputs: command-line arguments (`-`, files, directories walked, globs, `s3://`
//! URLs) become the list of [`Input`]s a run reads, in a fixed order.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::input::select::{Select, glob, is_glob};

/// One input as named on the command line (after directories are walked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file.
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// An S3 object (`s3://bucket/key`).
    S3(crate::input::s3::S3Object),
}

impl Input {
    /// The name used in messages and statistics.
    pub fn display(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Stdin => "<stdin>".to_string(),
            Input::S3(o) => o.url.clone(),
        }
    }
}

/// Expands command-line inputs: `-` is standard input, a directory is walked recursively (files in
/// name order; hidden files, our own temporary files and `_…` bookkeeping files skipped), a glob (`logs/2026/*/*.log.gz`,
/// `AWSLogs/**/*.gz`) is matched below its literal leading directories, anything else is a file.
///
/// Walking follows symbolic links. What a walk can't use — a link back to a directory it is
/// inside (a loop), a dangling link, an unreadable subdirectory — is added to `warnings` and
/// the rest is walked; a file named on the command line that doesn't exist stays an error. A
/// file reached more than once in one walk through links is an input once (the file reached
/// without links is preferred).
///
/// ```
/// use vpcflow::input::{Input, expand};
///
/// let mut warnings = Vec::new();
/// let inputs = expand(&["testdata/query/logs".into(), "-".into()], &mut warnings)?;
/// assert!(matches!(&inputs[0], Input::Path(p) if p.ends_with("hot.log")));
/// assert_eq!(inputs.last(), Some(&Input::Stdin));
/// # Ok::<(), vpcflow::Error>(())
/// ```
pub fn expand(args: &[String], warnings: &mut Vec<String>) -> Result<Vec<Input>, Error> {
    expand_selected(args, &Select::default(), warnings)
}

/// [`expand`], keeping only the walked and globbed files `select` keeps.
pub fn expand_selected(
    args: &[String],
    select: &Select,
    warnings: &mut Vec<String>,
) -> Result<Vec<Input>, Error> {
    let mut out = Vec::new();
    for a in args {
        if a == "-" {
            out.push(Input::Stdin);
            continue;
        }
        if a.starts_with("s3://") {
            out.extend(
                crate::input::s3::expand(a, select, select.endpoint_url.as_deref())?
                    .into_iter()
                    .map(Input::S3),
            );
            continue;
        }
        let p = PathBuf::from(a);
        if is_glob(a) && !p.exists() {
            // The literal leading directories, then the pattern for the rest.
            let mut base = PathBuf::new();
            let mut rest = Vec::new();
            for c in p.components() {
                let s = c.as_os_str().to_string_lossy();
                if rest.is_empty() && !is_glob(&s) {
                    base.push(c);
                } else {
                    rest.push(s.into_owned());
                }
            }
            let pattern = glob(&rest.join("/"))?;
            let root = if base.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                base.clone()
            };
            let found = match std::fs::metadata(&root) {
                Ok(m) if m.is_dir() => walk(&root, &m, &Select::default(), warnings)?,
                _ => Vec::new(),
            };
            let before = out.len();
            for f in found {
                if let Ok(rel) = f.strip_prefix(&root)
                    && pattern.is_match(rel)
                    && select.keeps(rel)
                {
                    let f = if base.as_os_str().is_empty() {
                        rel.to_path_buf()
                    } else {
                        f.clone()
                    };
                    out.push(Input::Path(f));
                }
            }
            if out.len() == before {
                return Err(Error::Usage(format!("no files match {a}")));
            }
            continue;
        }
        let meta = std::fs::metadata(&p).map_err(|e| Error::io(&p, e))?;
        if meta.is_dir() {
            out.extend(
                walk(&p, &meta, select, warnings)?
                    .into_iter()
                    .map(Input::Path),
            );
        } else {
            out.push(Input::Path(p));
        }
    }
    Ok(out)
}

/// A file or directory's identity: (device, inode).
type FileId = (u64, u64);

fn file_id(m: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

/// The files below directory `root` (whose metadata is `meta`) that `select` keeps, in walk
/// order (each directory's entries by name, depth first).
///
/// Symbolic links are followed, with these rules:
/// - a link to a directory the walk is inside (`a/loop -> ..`, `a/self -> .`, a link to the
///   root) is a loop: it is not followed, and a warning names it and where it leads;
/// - a directory reached through a link that was walked already (through another link, or as
///   itself) is not walked again;
/// - a file reached through a link is an input once, and not at all if the walk also reaches it
///   without a link (the file's own path is preferred). Files reached without links are always
///   inputs (two hard links to one file stay two inputs, as they always were);
/// - a dangling link, or an entry or subdirectory that can't be read, is a warning naming it,
///   and the walk goes on. Only an unreadable `root` is an error.
fn walk(
    root: &Path,
    meta: &std::fs::Metadata,
    select: &Select,
    warnings: &mut Vec<String>,
) -> Result<Vec<PathBuf>, Error> {
    let mut w = Walk {
        root,
        select,
        inside: vec![(file_id(meta), root.to_path_buf())],
        walked: HashSet::from([file_id(meta)]),
        found: Vec::new(),
        warnings,
    };
    w.dir(root, false)?;
    // Files reached without a link are kept; one reached through links, once and only if not
    // reached without.
    let mut taken: HashSet<FileId> = w.found.iter().filter(|f| !f.2).map(|f| f.1).collect();
    Ok(w.found
        .into_iter()
        .filter(|(_, id, linked)| !linked || taken.insert(*id))
        .map(|(p, _, _)| p)
        .collect())
}

/// One directory walk's state: see [`walk`].
struct Walk<'a> {
    root: &'a Path,
    select: &'a Select,
    /// The directories from the root down to the one being read.
    inside: Vec<(FileId, PathBuf)>,
    /// Every directory walked so far.
    walked: HashSet<FileId>,
    /// Files kept: path, identity, whether reached through a link.
    found: Vec<(PathBuf, FileId, bool)>,
    warnings: &'a mut Vec<String>,
}

impl Walk<'_> {
    /// Walks `dir`, reached through a symbolic link if `linked`.
    fn dir(&mut self, dir: &Path, linked: bool) -> Result<(), Error> {
        let read = match std::fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) if dir == self.root => return Err(Error::io(dir, e)),
            Err(e) => {
                self.warnings
                    .push(format!("{}: directory not read: {e}", dir.display()));
                return Ok(());
            }
        };
        let mut entries = Vec::new();
        for e in read {
            match e.and_then(|e| Ok((e.path(), e.file_type()?))) {
                Ok(pt) => entries.push(pt),
                Err(e) => self.warnings.push(format!(
                    "{}: an entry could not be read: {e}",
                    dir.display()
                )),
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (p, ty) in entries {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') {
                continue;
            }
            let is_link = ty.is_symlink();
            let meta = match std::fs::metadata(&p) {
                Ok(m) => m,
                Err(e) if is_link => {
                    let to = std::fs::read_link(&p)
                        .map(|t| t.display().to_string())
                        .unwrap_or_else(|_| "?".into());
                    self.warnings.push(format!(
                        "{}: symbolic link to {to} not followed: {e}",
                        p.display()
                    ));
                    continue;
                }
                Err(e) => {
                    self.warnings.push(format!("{}: skipped: {e}", p.display()));
                    continue;
                }
            };
            let id = file_id(&meta);
            let linked = linked || is_link;
            if meta.is_dir() {
                if let Some((_, up)) = self.inside.iter().find(|(i, _)| *i == id) {
                    self.warnings.push(format!(
                        "{}: symbolic link loop (leads back to {}), not followed",
                        p.display(),
                        up.display()
                    ));
                    continue;
                }
                if !self.walked.insert(id) && linked {
                    continue; // walked already, by another way
                }
                self.inside.push((id, p.clone()));
                let r = self.dir(&p, linked);
                self.inside.pop();
                r?;
            } else if meta.is_file()
                // Files named `_…` are a dataset's bookkeeping (our `_vpcflow_manifest.jsonl`,
                // Spark's `_SUCCESS`, `_common_metadata`), skipped as Hive and Athena skip them.
                && !name.starts_with('_')
                && self.select.keeps(p.strip_prefix(self.root).unwrap_or(&p))
            {
                self.found.push((p, id, linked));
            }
        }
        Ok(())
    }
}
