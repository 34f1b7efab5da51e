//! Choosing inputs in an archive tree: globs on the command line and `--include`/`--exclude`,
//! for `convert` and `query`, on a tree laid out as AWS writes to S3.

mod common;

use std::io::Write;

use common::*;

/// AWSLogs/<account>/vpcflowlogs/<region>/2026/11/{24,25}/…: day 24 gzip, day 25 plain, and a
/// stray README.
fn tree() -> (tempfile::TempDir, usize, usize) {
    let tmp = tempfile::tempdir().unwrap();
    let day = |d: &str| {
        let p = tmp
            .path()
            .join("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11")
            .join(d);
        std::fs::create_dir_all(&p).unwrap();
        p
    };
    let hot = std::fs::read(testdata("query").join("logs").join("hot.log")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(day("24").join("123_vpcflowlogs_a.log.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&hot).unwrap();
    gz.finish().unwrap();
    let plain = std::fs::read(testdata("aws-default.log")).unwrap();
    std::fs::write(day("25").join("123_vpcflowlogs_b.log"), &plain).unwrap();
    std::fs::write(tmp.path().join("AWSLogs/README.txt"), "not flow logs\n").unwrap();
    let records = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .count()
    };
    (tmp, records(&hot), records(&plain))
}

fn rows(args: &[&str]) -> (i32, u64, String) {
    let tmp = tempfile::tempdir().unwrap();
    let stats = tmp.path().join("s.json");
    let out = tmp.path().join("o.parquet");
    let mut a = vec!["convert"];
    a.extend_from_slice(args);
    a.extend([
        "-o",
        out.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
        "-q",
    ]);
    let o = vpcflow(&a);
    let n = std::fs::read_to_string(&stats)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["rows_written"].as_u64())
        .unwrap_or(0);
    (
        o.status.code().unwrap_or(-1),
        n,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn include_exclude_and_globs_choose_the_files() {
    let (tmp, hot, plain) = tree();
    let root = tmp.path().join("AWSLogs").display().to_string();
    let (code, n, err) = rows(&[&root, "--include", "*.log.gz"]);
    assert_eq!((code, n as usize), (0, hot), "{err}");
    let (code, n, err) = rows(&[&root, "--include", "*.log*", "--exclude", "**/24/**"]);
    assert_eq!((code, n as usize), (0, plain), "{err}");
    let (code, n, err) = rows(&[&root, "--include", "*.log*"]);
    assert_eq!((code, n as usize), (0, hot + plain), "{err}");
    // A glob: `*` stays within one directory level, `**` crosses them.
    let g = format!("{root}/*/vpcflowlogs/*/2026/11/25/*.log");
    let (code, n, err) = rows(&[&g]);
    assert_eq!((code, n as usize), (0, plain), "{err}");
    let g = format!("{root}/**/*.log*");
    let (code, n, err) = rows(&[&g]);
    assert_eq!((code, n as usize), (0, hot + plain), "{err}");
    let g = format!("{root}/*/*.log");
    let (code, _, err) = rows(&[&g]);
    assert!(code != 0 && err.contains("no files match"), "{err}");
    // Without a filter the README is read too, and refused line by line, not silently skipped.
    let (code, n, err) = rows(&[&root]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(n as usize, hot + plain);
    assert!(err.contains("README.txt"), "{err}");
}

#[test]
fn query_takes_the_same_selection() {
    let (tmp, hot, _) = tree();
    let root = tmp.path().join("AWSLogs").display().to_string();
    let o = vpcflow(&[
        "query",
        &root,
        "--include",
        "*.gz",
        "--sql",
        "SELECT count(*) AS n FROM flows",
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!("n\r\n{hot}\r\n")
    );
}

/// A tree whose symbolic links loop (`a/loop -> ..`, `a/self -> .`, `b/up -> ROOT`), dangle
/// (`gone -> nowhere`), and lead to files the walk also reaches by their own path (`c -> a`,
/// `x-again.log -> x.log`), plus `d -> e`, a directory reached only through a link.
fn tangled() -> tempfile::TempDir {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let log = std::fs::read(testdata("aws-default.log")).unwrap();
    for d in ["a", "b", "outside/e"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for f in ["x.log", "a/y.log", "b/z.log", "outside/e/w.log"] {
        std::fs::write(root.join(f), &log).unwrap();
    }
    symlink("..", root.join("a/loop")).unwrap();
    symlink(".", root.join("a/self")).unwrap();
    symlink(root, root.join("b/up")).unwrap();
    symlink("nowhere", root.join("gone")).unwrap();
    symlink("a", root.join("c")).unwrap();
    symlink("x.log", root.join("x-again.log")).unwrap();
    symlink("outside/e", root.join("d")).unwrap();
    tmp
}

#[test]
fn walking_links_ends_reads_each_file_once_and_names_the_loops() {
    let tmp = tangled();
    let root = tmp.path().display().to_string();
    let mut warnings = Vec::new();
    let got = vpcflow::input::expand(std::slice::from_ref(&root), &mut warnings).unwrap();
    let rel: Vec<String> = got
        .iter()
        .map(|i| match i {
            vpcflow::input::Input::Path(p) => {
                p.strip_prefix(tmp.path()).unwrap().display().to_string()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    // `c/y.log` and `x-again.log` are `a/y.log` and `x.log` again; `d/w.log` and the
    // `outside/e/w.log` are one file too, its own path preferred.
    assert_eq!(
        rel,
        ["a/y.log", "b/z.log", "outside/e/w.log", "x.log"],
        "{warnings:?}"
    );
    let has = |what: &str| warnings.iter().any(|w| w.contains(what));
    for link in ["a/loop", "a/self", "b/up"] {
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("{root}/{link}")) && w.contains("loop")),
            "{link}: {warnings:?}"
        );
    }
    assert!(
        has(&format!("{root}/gone")) && has("nowhere"),
        "{warnings:?}"
    );
    assert_eq!(warnings.len(), 4, "{warnings:?}");

    // A glob walks the same way.
    let mut warnings = Vec::new();
    let g = format!("{root}/**/*.log");
    let got = vpcflow::input::expand(&[g], &mut warnings).unwrap();
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(warnings.len(), 4, "{warnings:?}");
}

#[test]
fn convert_warns_about_loops_and_goes_on() {
    let tmp = tangled();
    let one = std::fs::read_to_string(testdata("aws-default.log"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    let root = tmp.path().display().to_string();
    let (code, n, err) = rows(&[&root]);
    assert_eq!((code, n as usize), (0, 4 * one), "{err}");
    assert!(
        err.contains(&format!(
            "vpcflow: warning: {root}/a/loop: symbolic link loop"
        )),
        "{err}"
    );
    assert!(err.contains(&format!("{root}/gone")), "{err}");
    // A file named on the command line that doesn't exist is still an error.
    let (code, _, err) = rows(&[&format!("{root}/gone")]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn a_plain_tree_walks_as_before() {
    // No links: every file an input, hard links included, in name order.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("p/q")).unwrap();
    for f in ["p/q/1.log", "p/2.log", "3.log"] {
        std::fs::write(tmp.path().join(f), "x\n").unwrap();
    }
    std::fs::hard_link(tmp.path().join("3.log"), tmp.path().join("4.log")).unwrap();
    let mut warnings = Vec::new();
    let root = tmp.path().display().to_string();
    let got = vpcflow::input::expand(&[root], &mut warnings).unwrap();
    let names: Vec<String> = got
        .iter()
        .map(|i| i.display()[tmp.path().display().to_string().len() + 1..].to_string())
        .collect();
    assert_eq!(names, ["3.log", "4.log", "p/2.log", "p/q/1.log"]);
    assert!(warnings.is_empty(), "{warnings:?}");
}
