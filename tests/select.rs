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
