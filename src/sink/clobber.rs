//! Refusing outputs that would overwrite what a run reads: an output file that is one of the
//! inputs (by another name, through `..`, a symbolic link or a hard link), a dataset directory
//! holding inputs, numbered bulk files that are inputs, and outputs given as URLs we can't write.
//!
//! Files are compared by identity (device and inode), not by name, so every spelling of the same
//! file is caught. The checks run before anything is created or truncated.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::input::Input;

/// A file's identity: its device and inode (on Unix), else its canonical path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileId {
    #[cfg(unix)]
    dev_ino: (u64, u64),
    #[cfg(not(unix))]
    path: PathBuf,
}

impl FileId {
    /// The identity of the file at `path` (links followed), if it exists.
    fn of(path: &Path) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(path).ok()?;
            Some(FileId {
                dev_ino: (m.dev(), m.ino()),
            })
        }
        #[cfg(not(unix))]
        {
            Some(FileId {
                path: std::fs::canonicalize(path).ok()?,
            })
        }
    }
}

/// The local files among `inputs`, with their identities.
fn local_inputs(inputs: &[Input]) -> Vec<(&Path, FileId)> {
    inputs
        .iter()
        .filter_map(|i| match i {
            Input::Path(p) => FileId::of(p).map(|id| (p.as_path(), id)),
            _ => None,
        })
        .collect()
}

/// Refuses an output named by a URL (`s3://…`, `https://…`): only local paths and `-` are
/// written. `option` names the flag in the message.
pub fn refuse_url(option: &str, target: &str) -> Result<(), Error> {
    let scheme = target.split_once("://").map(|(s, _)| s).filter(|s| {
        !s.is_empty()
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    match scheme {
        Some(s) => Err(Error::Usage(format!(
            "{option} {target}: writing to {s}:// URLs is not supported here; name a local path (convert's -o takes s3:// URLs)"
        ))),
        None => Ok(()),
    }
}

/// Refuses writing `output` (for `option`) when it is one of the inputs.
pub fn refuse_input_file(inputs: &[Input], option: &str, output: &Path) -> Result<(), Error> {
    let Some(out) = FileId::of(output) else {
        return Ok(());
    };
    match local_inputs(inputs).into_iter().find(|(_, id)| *id == out) {
        Some((input, _)) => Err(overwrite(option, output, input)),
        None => Ok(()),
    }
}

/// Refuses two outputs that are the same file (`--stats` and `--rejects`, or either and `-o`).
pub fn refuse_same_output(a: (&str, &Path), b: (&str, &Path)) -> Result<(), Error> {
    let same =
        a.1 == b.1 || matches!((FileId::of(a.1), FileId::of(b.1)), (Some(x), Some(y)) if x == y);
    if same {
        return Err(Error::Usage(format!(
            "{} {} and {} {} name the same file: each output needs its own",
            a.0,
            a.1.display(),
            b.0,
            b.1.display()
        )));
    }
    Ok(())
}

/// Refuses a dataset directory `dir` that holds (at any depth) one of the inputs, or that is
/// one of them.
pub fn refuse_inputs_inside(inputs: &[Input], dir: &Path) -> Result<(), Error> {
    let Ok(dir_real) = std::fs::canonicalize(dir) else {
        // Not there yet: it holds nothing.
        return Ok(());
    };
    for (input, _) in local_inputs(inputs) {
        if let Ok(real) = std::fs::canonicalize(input)
            && real.starts_with(&dir_real)
        {
            return Err(Error::Usage(format!(
                "-o {}: the dataset directory holds the input {} (as {}); write the dataset elsewhere",
                dir.display(),
                input.display(),
                real.display()
            )));
        }
    }
    Ok(())
}

/// Refuses numbered output files (`bulk-000001.ndjson`, … for `-o bulk.ndjson`) when an input
/// is one of them, or could become one: `numbered(n)` names the n-th file, numbering from 1.
pub fn refuse_numbered_inputs(
    inputs: &[Input],
    output: &Path,
    numbered: impl Fn(u64) -> PathBuf,
) -> Result<(), Error> {
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(dir_real) = std::fs::canonicalize(dir) else {
        return Ok(());
    };
    // The numbered name's shape: what stands before and after the number of file 1.
    let first = numbered(1);
    let first_name = first
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for (input, _) in local_inputs(inputs) {
        let Ok(real) = std::fs::canonicalize(input) else {
            continue;
        };
        let name = real
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if numbered_like(&first_name, &name) && real.parent() == Some(dir_real.as_path()) {
            return Err(overwrite("-o", &real, input));
        }
    }
    Ok(())
}

/// Whether `name` has the shape of the numbered file name `first` (file 1's, with `000001`):
/// the same text around six or more digits.
fn numbered_like(first: &str, name: &str) -> bool {
    let Some(at) = first.find("000001") else {
        return false;
    };
    let (before, after) = (&first[..at], &first[at + 6..]);
    name.len() >= before.len() + 6 + after.len()
        && name.starts_with(before)
        && name.ends_with(after)
        && name[before.len()..name.len() - after.len()]
            .bytes()
            .all(|b| b.is_ascii_digit())
}

/// How an S3 output is written, for [`refuse_s3_inputs`].
pub enum S3Output<'a> {
    /// One object.
    Object,
    /// Objects below a prefix (a dataset).
    Prefix,
    /// Numbered objects beside the URL; the name of number 1 (`bulk-000001.ndjson`).
    Numbered(&'a str),
}

/// Refuses an S3 output (`-o URL`) that would overwrite an S3 input: the same object, a dataset
/// prefix holding inputs, or numbered objects that are inputs. Objects are compared by URL.
pub fn refuse_s3_inputs(inputs: &[Input], url: &str, kind: S3Output<'_>) -> Result<(), Error> {
    let prefix = format!("{}/", url.trim_end_matches('/'));
    let dir = url.rsplit_once('/').map_or(url, |(d, _)| d);
    for input in inputs {
        let Input::S3(o) = input else { continue };
        let clash = match kind {
            S3Output::Object => o.url == url,
            S3Output::Prefix => o.url.starts_with(&prefix),
            S3Output::Numbered(first) => o
                .url
                .rsplit_once('/')
                .is_some_and(|(d, name)| d == dir && numbered_like(first, name)),
        };
        if clash {
            return Err(Error::Usage(format!(
                "-o {url}: {} the input {}; refusing to overwrite what is being read (choose another output)",
                if matches!(kind, S3Output::Prefix) {
                    "the dataset prefix holds"
                } else {
                    "that is"
                },
                o.url
            )));
        }
    }
    Ok(())
}

#[cold]
fn overwrite(option: &str, output: &Path, input: &Path) -> Error {
    Error::Usage(format!(
        "{option} {}: that is the input {}; refusing to overwrite what is being read (choose another output)",
        output.display(),
        input.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_refused_paths_are_not() {
        for url in [
            "s3://b/k",
            "S3://b/",
            "https://x/y",
            "gs+x://b",
            "file:///tmp/x",
        ] {
            assert!(refuse_url("-o", url).is_err(), "{url}");
        }
        for path in ["out.parquet", "-", "dir/", "a:b", "./s3:/x", "//x", "-://y"] {
            assert!(refuse_url("-o", path).is_ok(), "{path}");
        }
    }

    #[test]
    fn every_spelling_of_an_input_is_caught() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("flows.log");
        std::fs::write(&input, "x\n").unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::hard_link(&input, d.path().join("hard.log")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&input, d.path().join("soft.log")).unwrap();
        let inputs = vec![Input::Path(input.clone())];
        for name in ["flows.log", "sub/../flows.log", "hard.log", "./flows.log"] {
            let err = refuse_input_file(&inputs, "-o", &d.path().join(name)).unwrap_err();
            assert!(err.to_string().contains("refusing to overwrite"), "{err}");
        }
        #[cfg(unix)]
        assert!(refuse_input_file(&inputs, "-o", &d.path().join("soft.log")).is_err());
        assert!(refuse_input_file(&inputs, "-o", &d.path().join("new.parquet")).is_ok());
        // A dataset directory around the input.
        assert!(refuse_inputs_inside(&inputs, d.path()).is_err());
        assert!(refuse_inputs_inside(&inputs, &d.path().join("sub")).is_ok());
        assert!(refuse_inputs_inside(&inputs, &d.path().join("nothing-yet")).is_ok());
    }

    #[test]
    fn numbered_files_that_are_inputs_are_caught() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("bulk-000002.ndjson");
        std::fs::write(&input, "x\n").unwrap();
        let other = d.path().join("bulk-notes.ndjson");
        std::fs::write(&other, "x\n").unwrap();
        let out = d.path().join("bulk.ndjson");
        let name = |n: u64| crate::sink::ecs::NumberedFiles::path(&out, n);
        assert!(refuse_numbered_inputs(&[Input::Path(input)], &out, name).is_err());
        assert!(refuse_numbered_inputs(&[Input::Path(other)], &out, name).is_ok());
    }
}
