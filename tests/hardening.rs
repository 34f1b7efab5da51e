//! Hostile and unlucky inputs and invocations (issue 13): lines too long to hold, outputs that
//! would overwrite inputs, output URLs we can't write, `-` for `--stats`/`--rejects`, two runs
//! on one dataset, and the exit status of every documented outcome.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
const GOOD: &str = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";

fn stats(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Records with over-long lines of several sizes between them (one at the very end, without
/// a line feed), and the refusals a reader must report: (line number, length).
fn log_with_long_lines() -> (Vec<u8>, Vec<(u64, u64)>) {
    let mut text = format!("{HEADER}\n").into_bytes();
    let mut expected = Vec::new();
    let mut line = 1u64;
    for (i, len) in [3000usize, 70_000, 5, 200_001, 1_048_576]
        .iter()
        .enumerate()
    {
        for _ in 0..=i {
            text.extend_from_slice(GOOD.as_bytes());
            text.push(b'\n');
            line += 1;
        }
        line += 1;
        if *len > 2048 {
            expected.push((line, *len as u64));
        }
        // Mostly bytes that never form a record, with braces and quotes for the JSON reader.
        text.extend((0..*len).map(|k| b"ab{\"} x"[k % 7]));
        text.push(b'\n');
    }
    text.extend_from_slice(GOOD.as_bytes());
    text.push(b'\n');
    text.extend(std::iter::repeat_n(b'z', 9000));
    expected.push((line + 2, 9000));
    (text, expected)
}

/// What a conversion reported: its counts and the refused lines as (line, length) from stderr.
fn convert_refusals(input: &Path, extra: &[&str]) -> (serde_json::Value, Vec<(u64, u64)>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.parquet");
    let st = dir.path().join("s.json");
    let mut args = vec![
        "convert",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--stats",
        st.to_str().unwrap(),
        "--show-rejects",
        "1000",
        "--max-line-bytes",
        "2048",
    ];
    args.extend_from_slice(extra);
    let o = vpcflow(&args);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let mut refused = Vec::new();
    for l in err.lines() {
        if let Some((_, rest)) = l.split_once(".log:").or_else(|| l.split_once(".gz:"))
            && let Some((n, why)) = rest.split_once(": line too long: ")
        {
            let len = why.split(' ').next().unwrap().parse().unwrap();
            refused.push((n.parse().unwrap(), len));
        }
    }
    let (_, batches) = read_parquet(&out);
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let s = stats(&st);
    assert_eq!(rows as u64, s["rows_written"].as_u64().unwrap());
    (s, refused, err)
}

/// Whatever the window, chunk size or thread count, and whether the file is mapped, gzip or
/// standard input, long lines are refused with their line number and length, and every record
/// around them is converted.
#[test]
fn long_lines_are_refused_the_same_way_whatever_the_reading() {
    let (text, expected) = log_with_long_lines();
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("long.log");
    std::fs::write(&plain, &text).unwrap();
    let zipped = dir.path().join("long.log.gz");
    std::fs::write(&zipped, gz(&text)).unwrap();
    let records = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count() as u64
        - 1;
    for input in [&plain, &zipped] {
        for (window, chunk, threads) in [
            ("8388608", "1048576", "2"),
            ("4096", "512", "1"),
            ("1", "1", "2"),
            ("3000", "100000", "2"),
            ("70001", "7", "1"),
        ] {
            let extra = [
                "--window-bytes",
                window,
                "--chunk-bytes",
                chunk,
                "--threads",
                threads,
            ];
            let (s, refused, err) = convert_refusals(input, &extra);
            let ctx = format!("{} {extra:?}: {err}", input.display());
            assert_eq!(refused, expected, "{ctx}");
            assert_eq!(s["records"].as_u64(), Some(records), "{ctx}");
            assert_eq!(
                s["rejected"].as_u64(),
                Some(expected.len() as u64 + 1),
                "{ctx}"
            );
            assert_eq!(
                s["rows_written"].as_u64(),
                Some(records - 1 - expected.len() as u64),
                "{ctx}"
            );
            assert_eq!(s["bytes_read"].as_u64(), Some(text.len() as u64), "{ctx}");
        }
    }
    // Standard input, with a window smaller than the lines.
    let dir2 = tempfile::tempdir().unwrap();
    let out = dir2.path().join("o.parquet");
    let st = dir2.path().join("s.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vpcflow"))
        .args(["convert", "-", "-o", out.to_str().unwrap(), "--stats"])
        .arg(&st)
        .args(["--max-line-bytes", "2048", "--window-bytes", "1000"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feed = text.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&feed));
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stats(&st);
    assert_eq!(s["rejected"].as_u64(), Some(expected.len() as u64 + 1));
    assert_eq!(s["records"].as_u64(), Some(records));
}

/// The rejects file holds each refused long line's first --max-line-bytes bytes, one a line.
#[test]
fn rejects_file_keeps_the_head_of_a_long_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.log");
    let long = "q".repeat(50_000);
    std::fs::write(&input, format!("{HEADER}\n{GOOD}\n{long}\n{GOOD}\n")).unwrap();
    let rejects = dir.path().join("rejects.txt");
    let out = dir.path().join("o.parquet");
    for window in ["8388608", "1024"] {
        let o = vpcflow(&[
            "convert",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--rejects",
            rejects.to_str().unwrap(),
            "--max-line-bytes",
            "1000",
            "--window-bytes",
            window,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            std::fs::read_to_string(&rejects).unwrap(),
            format!("{}\n", &long[..1000]),
            "window {window}"
        );
    }
}

/// Peak resident memory of a command, sampled from /proc while it runs (VmHWM is the peak so far).
#[cfg(target_os = "linux")]
fn peak_rss_kb(cmd: &mut Command) -> (std::process::ExitStatus, u64) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path)
            && let Some(l) = s.lines().find(|l| l.starts_with("VmHWM:"))
        {
            peak = peak.max(l.split_whitespace().nth(1).unwrap().parse().unwrap());
        }
        if let Some(st) = child.try_wait().unwrap() {
            return (st, peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// A gzip object of a few MB that inflates to 1 GiB without a line feed: refused as one line
/// too long, in memory far below its size (the old reader held it whole: RSS grew past its
/// inflated size).
#[cfg(target_os = "linux")]
#[test]
fn a_gzip_bomb_without_line_feeds_stays_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.log.gz");
    {
        let f = std::fs::File::create(&bomb).unwrap();
        let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::best());
        e.write_all(format!("{HEADER}\n{GOOD}\n").as_bytes())
            .unwrap();
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..1024 {
            e.write_all(&zeros).unwrap();
        }
        e.write_all(format!("\n{GOOD}\n").as_bytes()).unwrap();
        e.finish().unwrap();
    }
    assert!(std::fs::metadata(&bomb).unwrap().len() < 4 << 20);
    let st = dir.path().join("s.json");
    let out = dir.path().join("o.parquet");
    let (status, peak_kb) = peak_rss_kb(
        Command::new(env!("CARGO_BIN_EXE_vpcflow"))
            .args([
                "convert",
                bomb.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ])
            .arg("--stats")
            .arg(&st),
    );
    assert!(status.success());
    let s = stats(&st);
    assert_eq!(s["rows_written"].as_u64(), Some(2));
    assert_eq!(s["rejected"].as_u64(), Some(1));
    assert!(
        peak_kb < 200 * 1024,
        "peak RSS {peak_kb} kB for a 1 GiB line"
    );
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `-o` naming an input in any spelling is refused before anything is written: the input is
/// left byte for byte as it was, and no temporary file is left beside it.
#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = format!("{HEADER}\n{GOOD}\n");
    let input = write(d, "flows.log", &text);
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::hard_link(&input, d.join("hard.log")).unwrap();
    std::os::unix::fs::symlink(&input, d.join("link.log")).unwrap();
    let inp = input.to_str().unwrap();
    let cases: Vec<Vec<String>> = vec![
        vec!["-o".into(), inp.into()],
        vec![
            "-o".into(),
            d.join("sub/../flows.log").display().to_string(),
        ],
        vec!["-o".into(), d.join("hard.log").display().to_string()],
        vec!["-o".into(), d.join("link.log").display().to_string()],
        vec!["-o".into(), inp.into(), "--to".into(), "ndjson".into()],
        vec![
            "-o".into(),
            d.join("o.parquet").display().to_string(),
            "--rejects".into(),
            inp.into(),
        ],
        vec![
            "-o".into(),
            d.join("o.parquet").display().to_string(),
            "--stats".into(),
            d.join("hard.log").display().to_string(),
        ],
    ];
    for extra in cases {
        let mut args = vec!["convert", inp];
        args.extend(extra.iter().map(String::as_str));
        let o = vpcflow(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
        assert!(
            err.contains("refusing to overwrite") && err.contains("flows.log"),
            "{extra:?}: {err}"
        );
        assert_eq!(std::fs::read_to_string(&input).unwrap(), text, "{extra:?}");
    }
    let mut names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["flows.log", "hard.log", "link.log", "sub"]);
    // The same file twice among the side outputs.
    let o = vpcflow(&[
        "convert",
        inp,
        "-o",
        d.join("x.parquet").to_str().unwrap(),
        "--stats",
        d.join("same").to_str().unwrap(),
        "--rejects",
        d.join("same").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("name the same file"));
}

/// A dataset directory holding an input, numbered bulk files that are inputs, and a report over
/// its own input are refused too.
#[test]
fn outputs_around_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = format!("{HEADER}\n{GOOD}\n");
    std::fs::create_dir(d.join("flows")).unwrap();
    let inside = write(&d.join("flows"), "in.log", &text);
    let o = vpcflow(&[
        "convert",
        inside.to_str().unwrap(),
        "-o",
        d.join("flows").to_str().unwrap(),
        "--partition-by",
        "date",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds the input"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_dir(d.join("flows")).unwrap().count(),
        1,
        "nothing written into it"
    );
    let bulk_input = write(d, "bulk-000001.ndjson", &text);
    let o = vpcflow(&[
        "convert",
        bulk_input.to_str().unwrap(),
        "-o",
        d.join("bulk.ndjson").to_str().unwrap(),
        "--to",
        "bulk",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&bulk_input).unwrap(), text);
    let o = vpcflow(&[
        "report",
        inside.to_str().unwrap(),
        "-o",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&inside).unwrap(), text);
    let o = vpcflow(&[
        "query",
        inside.to_str().unwrap(),
        "--sql",
        "SELECT 1",
        "--stats",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&inside).unwrap(), text);
}

/// URLs vpcflow can't write (`https://…`; `s3://` for `--stats` or a report) are refused, and no
/// local directory named after the scheme appears. (`convert -o s3://…` writes to S3:
/// `tests/s3_output.py`.)
#[test]
fn output_urls_we_cannot_write_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.log", &format!("{HEADER}\n{GOOD}\n"));
    let inp = input.to_str().unwrap();
    for args in [
        vec!["convert", inp, "-o", "https://example.com/x.ndjson"],
        vec![
            "convert",
            inp,
            "-o",
            "out.parquet",
            "--stats",
            "s3://bucket/stats.json",
        ],
        vec!["report", inp, "-o", "s3://bucket/report.html"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_vpcflow"))
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("not supported"), "{}", stderr(&o));
        assert!(!dir.path().join("s3:").exists() && !dir.path().join("https:").exists());
        assert!(!dir.path().join("out.parquet").exists());
    }
}

/// `--stats -` writes the JSON to standard error, `--rejects -` the refused lines to standard
/// output; `--rejects -` with `-o -` is refused.
#[test]
fn dash_means_a_standard_stream() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "in.log",
        &format!("{HEADER}\n{GOOD}\nnot a record\n"),
    );
    let inp = input.to_str().unwrap();
    let out = dir.path().join("o.parquet");
    let o = Command::new(env!("CARGO_BIN_EXE_vpcflow"))
        .args([
            "convert",
            inp,
            "-o",
            out.to_str().unwrap(),
            "--stats",
            "-",
            "--rejects",
            "-",
            "-q",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "not a record\n");
    let err = stderr(&o);
    let json_start = err.find('{').expect("stats JSON on stderr");
    let s: serde_json::Value = serde_json::from_str(&err[json_start..]).unwrap();
    assert_eq!(s["rejected"].as_u64(), Some(1));
    assert!(!dir.path().join("-").exists(), "no file named -");
    let o = vpcflow(&[
        "convert",
        inp,
        "-o",
        "-",
        "--to",
        "ndjson",
        "--rejects",
        "-",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_vpcflow"))
        .args([
            "query",
            inp,
            "--sql",
            "SELECT count(*) AS n FROM flows",
            "--stats",
            "-",
            "--format",
            "csv",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .collect::<Vec<_>>(),
        ["n", "1"]
    );
    assert!(stderr(&o).contains("\"rejected\": 1"), "{}", stderr(&o));
    assert!(!dir.path().join("-").exists());
}

/// A second run on a dataset directory that a run is writing is refused (exit 1), and leaves it
/// alone; once the first is done, the directory is usable again.
#[test]
fn two_runs_never_write_one_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.log", &format!("{HEADER}\n{GOOD}\n"));
    let ds = dir.path().join("ds");
    let args = [
        "convert",
        input.to_str().unwrap(),
        "-o",
        ds.to_str().unwrap(),
        "--partition-by",
        "date",
        "-q",
    ];
    let o = vpcflow(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let listing = || {
        let mut v = walk_all(&ds);
        v.sort();
        v
    };
    let before = listing();
    // Another run holds the lock (this process stands in for it).
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(ds.join("_vpcflow.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let o = vpcflow(&[
        "convert",
        input.to_str().unwrap(),
        "-o",
        ds.to_str().unwrap(),
        "--partition-by",
        "date",
        "--force",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("another vpcflow run"), "{}", stderr(&o));
    assert_eq!(listing(), before, "the locked dataset is untouched");
    drop(lock);
    let o = vpcflow(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).is_empty());
}

/// Every exit status the README documents, from the situations it names.
#[test]
fn exit_statuses_are_the_documented_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = write(d, "good.log", &format!("{HEADER}\n{GOOD}\n"));
    let bad = write(d, "bad.log", &format!("{HEADER}\n{GOOD}\nnot a record\n"));
    let g = good.to_str().unwrap();
    let b = bad.to_str().unwrap();
    let out = d.join("o.parquet");
    let o_ = out.to_str().unwrap();
    let missing = d.join("missing.log");
    let glob = format!("{}/*.nothing", d.display());
    let cases: Vec<(u8, Vec<&str>)> = vec![
        (0, vec!["convert", g, "-o", o_]),
        (0, vec!["convert", b, "-o", o_]),
        (1, vec!["convert", g, missing.to_str().unwrap(), "-o", o_]),
        (1, vec!["convert", g, "-o", "/proc/no/such/dir/o.parquet"]),
        (2, vec!["convert", g]),
        (2, vec!["convert", g, "-o", o_, "--to", "nope"]),
        (2, vec!["convert", &glob, "-o", o_]),
        (
            2,
            vec![
                "convert",
                g,
                "-o",
                "ds1",
                "--partition-by",
                "no_such_column",
            ],
        ),
        (
            2,
            vec![
                "convert",
                g,
                "-o",
                o_,
                "--sort-by",
                "srcaddr",
                "--cluster-by",
                "srcaddr",
            ],
        ),
        (
            2,
            vec!["convert", g, "-o", "x.ndjson", "--sort-by", "srcaddr"],
        ),
        (2, vec!["convert", g, "-o", o_, "--force"]),
        (
            2,
            vec!["convert", g, "-o", o_, "--fields", "version version"],
        ),
        (2, vec!["convert", g, "-o", o_, "--include", "["]),
        (2, vec!["convert", g, "-o", o_, "--max-line-bytes", "0"]),
        (3, vec!["convert", b, "-o", o_, "--strict"]),
        (2, vec!["query", g, "--name", "no_such_query"]),
        (2, vec!["query", g]),
        (2, vec!["query", g, "--sql", "SELECT nope FROM flows"]),
        (2, vec!["query", g, "--sql", "SELEC 1"]),
        (2, vec!["query", &glob, "--sql", "SELECT 1"]),
        (
            2,
            vec![
                "query",
                g,
                "--name",
                "interface_traffic",
                "--param",
                "eni=x",
                "--param",
                "nope=1",
            ],
        ),
        (
            1,
            vec![
                "query",
                g,
                missing.to_str().unwrap(),
                "--sql",
                "SELECT count(*) FROM flows",
            ],
        ),
        (0, vec!["query", g, "--sql", "SELECT count(*) FROM flows"]),
        (2, vec!["report", g, "-o", "r.html", "--since", "yesterday"]),
        (2, vec!["alert", "--rule", "no_such_rule.sql", g]),
        (2, vec!["alert", g]),
        (0, vec!["alert", "--rule", "skipdata", g, "-q"]),
    ];
    let mut wrong = Vec::new();
    for (want, args) in &cases {
        let o = Command::new(env!("CARGO_BIN_EXE_vpcflow"))
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        let code = o.status.code();
        if code != Some(i32::from(*want)) {
            wrong.push(format!(
                "{args:?}: exit {code:?}, wanted {want}: {}",
                stderr(&o)
            ));
        }
    }
    // 4: an alert fired (the shipped rules fire on the planted patterns).
    let hot = testdata("query/logs/hot.log");
    let o = vpcflow(&["alert", "--rule", "all", hot.to_str().unwrap(), "-q"]);
    if o.status.code() != Some(4) {
        wrong.push(format!(
            "alert all hot.log: exit {:?}, wanted 4",
            o.status.code()
        ));
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// A FIFO (what `<(zcat …)` hands over) is read as a stream, once: every record arrives, for
/// `convert` and for `query`.
#[test]
fn a_fifo_input_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{HEADER}\n{}", format!("{GOOD}\n").repeat(1000));
    for (i, sub) in ["convert", "query"].iter().enumerate() {
        let fifo = dir.path().join(format!("fifo{i}"));
        let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(st.success());
        let feed = text.clone();
        let path = fifo.clone();
        let writer = std::thread::spawn(move || std::fs::write(path, feed));
        let f = fifo.to_str().unwrap();
        let o = if *sub == "convert" {
            vpcflow(&["convert", f, "-o", "-", "--to", "ndjson", "-q"])
        } else {
            vpcflow(&[
                "query",
                f,
                "--sql",
                "SELECT count(*) AS n FROM flows",
                "--format",
                "csv",
                "-q",
            ])
        };
        writer.join().unwrap().unwrap();
        assert!(o.status.success(), "{sub}: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        if *sub == "convert" {
            assert_eq!(out.lines().count(), 1000, "{sub}");
        } else {
            assert_eq!(out.lines().collect::<Vec<_>>(), ["n", "1000"]);
        }
    }
}

/// Standard output on a full disk: a clear error and exit status 1, never a panic or a
/// silent success.
#[test]
fn a_full_disk_on_standard_output_fails_clearly() {
    let full = Path::new("/dev/full");
    if !std::fs::metadata(full).is_ok_and(|m| {
        use std::os::unix::fs::FileTypeExt;
        m.file_type().is_char_device()
    }) {
        return;
    }
    let input = testdata("sample-default.log");
    for args in [
        vec![
            "convert",
            input.to_str().unwrap(),
            "-o",
            "-",
            "--to",
            "ndjson",
        ],
        vec!["convert", input.to_str().unwrap(), "-o", "-", "--to", "ecs"],
        vec!["convert", input.to_str().unwrap(), "-o", "-"],
        vec![
            "query",
            input.to_str().unwrap(),
            "--sql",
            "SELECT * FROM flows",
        ],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_vpcflow"))
            .args(&args)
            .stdout(std::fs::OpenOptions::new().write(true).open(full).unwrap())
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("No space left on device"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
