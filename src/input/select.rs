//! Which files of walked directories, globs and S3 prefixes are inputs: `--include` and
//! `--exclude` globs, and the one test of whether an argument is a glob at all.

use std::path::Path;

use crate::error::Error;

/// Which files found by walking a directory or expanding a glob are inputs: `--include` and
/// `--exclude` globs. A pattern without `/` is matched against the file name, one with `/`
/// against the path below the directory walked (`*` stays within a path segment, `**` crosses
/// them). Files named one by one are always inputs.
#[derive(Debug, Clone, Default)]
pub struct Select {
    include: Vec<(globset::GlobMatcher, bool)>,
    exclude: Vec<(globset::GlobMatcher, bool)>,
    /// S3-compatible endpoint for `s3://` inputs (`--endpoint-url`).
    pub endpoint_url: Option<String>,
}

pub(crate) fn glob(pattern: &str) -> Result<globset::GlobMatcher, Error> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| Error::Usage(format!("bad glob {pattern:?}: {e}")))
}

impl Select {
    /// From `--include` and `--exclude` patterns.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Select, Error> {
        let compile = |ps: &[String]| -> Result<Vec<(globset::GlobMatcher, bool)>, Error> {
            ps.iter().map(|p| Ok((glob(p)?, p.contains('/')))).collect()
        };
        Ok(Select {
            include: compile(include)?,
            exclude: compile(exclude)?,
            endpoint_url: None,
        })
    }

    /// Whether a file found at `rel` (below the walked directory) is an input.
    pub fn keeps(&self, rel: &Path) -> bool {
        let name = rel.file_name().map(Path::new).unwrap_or(rel);
        let hit = |set: &[(globset::GlobMatcher, bool)]| {
            set.iter()
                .any(|(g, path)| g.is_match(if *path { rel } else { name }))
        };
        (self.include.is_empty() || hit(&self.include)) && !hit(&self.exclude)
    }
}

/// Whether an argument (a path or an S3 key) is a glob rather than a name.
pub(crate) fn is_glob(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_and_exclude_by_name_or_path() {
        let s = Select::new(&["*.log.gz".into()], &["2023/01/**".into()]).unwrap();
        assert!(s.keeps(Path::new("2023/02/x.log.gz")));
        assert!(!s.keeps(Path::new("2023/01/x.log.gz")));
        assert!(!s.keeps(Path::new("2023/02/x.log")));
        assert!(Select::default().keeps(Path::new("anything")));
        let s = Select::new(&[], &["*/*.tmp".into()]).unwrap();
        assert!(s.keeps(Path::new("a/b/x.tmp")), "* does not cross /");
        assert!(!s.keeps(Path::new("a/x.tmp")));
        assert!(Select::new(&["[".into()], &[]).is_err());
    }
}
