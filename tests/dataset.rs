//! Directory datasets: Hive partitions, part files, the manifest, and runs that survive
//! `kill -9`. The dataset a killed-and-resumed run leaves must be row for row the one an
//! uninterrupted run writes (no row lost, none twice, no visible leftovers).

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use flate2::Compression;
use flate2::write::GzEncoder;

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// `files` gzip inputs of `per` records each, cycling through the test logs (two layouts), with
/// `start`/`end` moved so the rows spread over several days.
fn make_inputs(dir: &Path, files: usize, per: usize) -> PathBuf {
    let logs = testdata("query").join("logs");
    let vpc = std::fs::read_to_string(logs.join("vpc-all.log")).unwrap();
    let tgw = std::fs::read_to_string(logs.join("tgw.log")).unwrap();
    let root = dir.join("in");
    for f in 0..files {
        let text = if f % 5 == 4 { &tgw } else { &vpc };
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let names: Vec<&str> = header.split_whitespace().collect();
        let (si, ei) = (
            names.iter().position(|n| *n == "start").unwrap(),
            names.iter().position(|n| *n == "end").unwrap(),
        );
        let recs: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
        let mut out = String::from(header);
        out.push('\n');
        for i in 0..per {
            let mut toks: Vec<String> = recs[(f * 7 + i) % recs.len()]
                .split_whitespace()
                .map(String::from)
                .collect();
            let shift = (f as i64) * 6 * 3600 + i as i64;
            for k in [si, ei] {
                if let Ok(v) = toks[k].parse::<i64>() {
                    toks[k] = (v + shift).to_string();
                }
            }
            out.push_str(&toks.join(" "));
            out.push('\n');
        }
        let d = root.join(format!("2026/11/{:02}", 1 + f / 8));
        std::fs::create_dir_all(&d).unwrap();
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(out.as_bytes()).unwrap();
        std::fs::write(d.join(format!("f{f:03}.log.gz")), e.finish().unwrap()).unwrap();
    }
    root
}

/// Every visible Parquet file of a dataset, its rows rendered with the partition path first,
/// sorted (a multiset: a row written twice shows up twice). Also: hidden or temporary files left.
fn dataset_rows(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut rows = Vec::new();
    let mut hidden = Vec::new();
    fn walk(dir: &Path, rel: &str, rows: &mut Vec<String>, hidden: &mut Vec<String>) {
        for e in std::fs::read_dir(dir.join(rel)).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().unwrap().is_dir() {
                walk(dir, &r, rows, hidden);
            } else if name.starts_with('.') || name.ends_with(".tmp") {
                hidden.push(r);
            } else if name.ends_with(".parquet") {
                let (schema, batches) = read_parquet(&dir.join(&r));
                let part = rel.to_string();
                // Columns by name, so files with different column sets compare by content.
                let text = render(&schema, &batches);
                let mut lines = text.lines();
                let head: Vec<&str> = lines.next().unwrap().split('|').collect();
                for l in lines {
                    let mut cells: Vec<String> = head
                        .iter()
                        .zip(l.split('|'))
                        .filter(|(_, v)| *v != "NULL")
                        .map(|(h, v)| format!("{h}={v}"))
                        .collect();
                    cells.sort();
                    rows.push(format!("{part}|{}", cells.join("|")));
                }
            }
        }
    }
    walk(dir, "", &mut rows, &mut hidden);
    rows.sort();
    (rows, hidden)
}

fn convert_cmd(input: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vpcflow"));
    c.args(["convert", &s(input), "-o", &s(out), "-q"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn run_ok(input: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let stats = out.with_extension("stats.json");
    let o = convert_cmd(input, out, extra)
        .args(["--stats", &s(&stats)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap()
}

#[test]
fn killed_runs_resume_to_the_uninterrupted_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let input = make_inputs(tmp.path(), 40, 4000);
    let opts = [
        "--partition-by",
        "date,action",
        "--commit-rows",
        "12000",
        "--threads",
        "1",
        "--target-file-mb",
        "1",
    ];
    let want_dir = tmp.path().join("want");
    let st = run_ok(&input, &want_dir, &opts);
    assert_eq!(st["rows_written"], 160_000);
    let (want, hidden) = dataset_rows(&want_dir);
    assert_eq!(want.len(), 160_000);
    assert!(hidden.is_empty(), "{hidden:?}");

    // How long an uninterrupted run takes, to spread the kills over it.
    let t = std::time::Instant::now();
    run_ok(&input, &tmp.path().join("timing"), &opts);
    let full = t.elapsed();
    let mut kills_landed = 0;
    for (n, fraction) in [0.02, 0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 0.97]
        .iter()
        .enumerate()
    {
        let dir = tmp.path().join(format!("killed-{n}"));
        // Kill it once, then again while it resumes, then let it finish.
        for f in [*fraction, fraction / 2.0] {
            let mut child = convert_cmd(&input, &dir, &opts).spawn().unwrap();
            std::thread::sleep(full.mul_f64(f));
            if child.try_wait().unwrap().is_none() {
                kills_landed += 1;
            }
            child.kill().ok(); // SIGKILL
            child.wait().unwrap();
        }
        run_ok(&input, &dir, &opts);
        let (got, hidden) = dataset_rows(&dir);
        assert!(hidden.is_empty(), "kill at {fraction}: left {hidden:?}");
        assert_eq!(got.len(), want.len(), "kill at {fraction}: row count");
        assert!(got == want, "kill at {fraction}: rows differ");
        // And a further run has nothing to do.
        let st = run_ok(&input, &dir, &opts);
        assert_eq!(
            st["records"], 0,
            "kill at {fraction}: re-run converted again"
        );
    }
    assert!(
        kills_landed >= 8,
        "only {kills_landed} kills hit a running process"
    );
}

#[test]
fn changed_and_new_inputs_are_converted_and_force_redoes() {
    let tmp = tempfile::tempdir().unwrap();
    let input = make_inputs(tmp.path(), 6, 500);
    let out = tmp.path().join("ds");
    let opts = ["--partition-by", "date", "--commit-rows", "1000"];
    run_ok(&input, &out, &opts);
    let (before, _) = dataset_rows(&out);
    assert_eq!(before.len(), 3000);
    // Unchanged: nothing to do.
    assert_eq!(run_ok(&input, &out, &opts)["records"], 0);
    // A new input: only it is converted.
    let extra = make_inputs(&tmp.path().join("more"), 1, 300);
    let new_file = input.join("2026/11/09/new.log.gz");
    std::fs::create_dir_all(new_file.parent().unwrap()).unwrap();
    std::fs::copy(extra.join("2026/11/01/f000.log.gz"), &new_file).unwrap();
    assert_eq!(run_ok(&input, &out, &opts)["records"], 300);
    assert_eq!(dataset_rows(&out).0.len(), 3300);
    // A changed input: its commit (two inputs of 500 rows) is redone, nothing doubles.
    let victim = input.join("2026/11/01/f003.log.gz");
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    let text = {
        let mut d = flate2::read::GzDecoder::new(std::fs::File::open(&victim).unwrap());
        let mut t = String::new();
        std::io::Read::read_to_string(&mut d, &mut t).unwrap();
        t
    };
    let fewer: Vec<&str> = text.lines().take(101).collect(); // header + 100 records
    e.write_all((fewer.join("\n") + "\n").as_bytes()).unwrap();
    std::fs::write(&victim, e.finish().unwrap()).unwrap();
    let st = run_ok(&input, &out, &opts);
    assert_eq!(st["records"], 600, "{st}");
    let (after, hidden) = dataset_rows(&out);
    assert!(hidden.is_empty());
    assert_eq!(after.len(), 3300 - 400);
    // The same as converting everything from scratch.
    let fresh = tmp.path().join("fresh");
    run_ok(&input, &fresh, &opts);
    assert!(dataset_rows(&fresh).0 == after);
    // --force: everything again, same rows.
    assert_eq!(
        run_ok(&input, &out, &[&opts[..], &["--force"]].concat())["records"],
        2900
    );
    assert!(dataset_rows(&out).0 == after);
    // Other options on the same directory: refused.
    let o = convert_cmd(&input, &out, &["--partition-by", "hour"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("other options"));
}

/// A run killed while appending to the manifest leaves a torn last line. The next run must not
/// append its own lines after it (the two would run together into one unreadable line).
#[test]
fn a_torn_manifest_line_is_dropped_before_new_lines_are_appended() {
    let tmp = tempfile::tempdir().unwrap();
    let input = make_inputs(tmp.path(), 4, 200);
    let out = tmp.path().join("ds");
    let opts = ["--partition-by", "date", "--commit-rows", "200"];
    run_ok(&input, &out, &opts);
    let manifest = out.join("_vpcflow_manifest.jsonl");
    let whole = std::fs::read_to_string(&manifest).unwrap();
    // The last unit's line cut in half: as if killed while writing it.
    let last = whole.trim_end().rsplit('\n').next().unwrap().to_string();
    let torn = format!(
        "{}{}",
        &whole[..whole.len() - last.len() - 1],
        &last[..last.len() / 2]
    );
    std::fs::write(&manifest, &torn).unwrap();
    // The torn unit's input is converted again, its line written whole.
    assert_eq!(run_ok(&input, &out, &opts)["records"], 200);
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    // And a third run finds everything done, with every row once.
    assert_eq!(run_ok(&input, &out, &opts)["records"], 0);
    assert_eq!(dataset_rows(&out).0.len(), 800);
}

#[test]
fn partition_values_never_escape_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let nasty = [
        "..",
        "../../escape",
        "/etc/passwd",
        ".hidden",
        "a\\b",
        "x=y",
        "%2F",
        &"L".repeat(5000),
    ];
    let mut text = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for (i, v) in nasty.iter().enumerate() {
        text.push_str(&format!(
            "2 {v} eni-1 10.0.0.1 10.0.0.2 {i} 443 6 1 40 1700000000 1700000060 ACCEPT OK\n"
        ));
    }
    // A NUL byte inside a value.
    text.push_str("2 a\0b eni-1 10.0.0.1 10.0.0.2 99 443 6 1 40 1700000000 1700000060 ACCEPT OK\n");
    text.push_str("2 - eni-1 10.0.0.1 10.0.0.2 98 443 6 1 40 - - ACCEPT OK\n");
    let input = tmp.path().join("nasty.log");
    std::fs::write(&input, text).unwrap();
    let base = tmp.path().join("a/b");
    let out = base.join("ds");
    let st = run_ok(&input, &out, &["--partition-by", "account_id,date"]);
    let written = st["rows_written"].as_u64().unwrap();
    let rejected = st["rejected"].as_u64().unwrap();
    assert_eq!(written + rejected, 10);
    // Nothing outside the dataset directory.
    let mut outside = Vec::new();
    for e in walk_all(tmp.path()) {
        let ours = e.starts_with(&out)
            || e == tmp.path().join("nasty.log")
            || e == out.with_extension("stats.json");
        if !ours && e.is_file() {
            outside.push(e);
        }
    }
    assert!(outside.is_empty(), "{outside:?}");
    // Every part file is exactly two levels below, under account_id=…/date=….
    let (rows, hidden) = dataset_rows(&out);
    assert!(hidden.is_empty(), "{hidden:?}");
    assert_eq!(rows.len() as u64, written);
    let mut per_dir: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        let part = r.split('|').next().unwrap().to_string();
        let segs: Vec<&str> = part.split('/').collect();
        assert_eq!(segs.len(), 2, "{part}");
        assert!(segs[0].starts_with("account_id=") && segs[1].starts_with("date="));
        assert!(segs[0].len() <= 11 + 128, "{}", segs[0].len());
        *per_dir.entry(part).or_default() += 1;
    }
    assert!(
        per_dir.contains_key("account_id=%2E./date=2023-11-14"),
        "{per_dir:?}"
    );
    assert!(
        per_dir
            .contains_key("account_id=__HIVE_DEFAULT_PARTITION__/date=__HIVE_DEFAULT_PARTITION__")
    );
    assert_eq!(
        per_dir.len() as u64,
        written,
        "each value its own directory"
    );
}

#[test]
fn unpartitioned_directory_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let input = make_inputs(tmp.path(), 3, 200);
    let out = tmp.path().join("plain/");
    let out_s = format!("{}/", s(&out));
    let o = Command::new(env!("CARGO_BIN_EXE_vpcflow"))
        .args(["convert", &s(&input), "-o", &out_s, "-q"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (rows, _) = dataset_rows(&out);
    assert_eq!(rows.len(), 600);
    assert!(
        rows.iter().all(|r| r.starts_with('|')),
        "files at the top level"
    );
    // A directory that holds something else is not taken over.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    let o = convert_cmd(&input, &other, &["--partition-by", "date"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    assert!(other.join("notes.txt").exists());
    // A partition column the data lacks.
    let o = convert_cmd(
        &input,
        &tmp.path().join("x"),
        &["--partition-by", "no_such"],
    )
    .output()
    .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such column"));
}

#[test]
fn many_partitions_in_one_batch_each_row_where_it_belongs() {
    // 50 distinct ports interleaved row by row: more groups per batch than the small-group scan
    // handles, so the hash-map path runs too; and more partitions than --max-open-files.
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for i in 0..5000 {
        text.push_str(&format!(
            "2 123456789012 eni-1 10.0.0.1 10.0.0.2 {i} {} 6 1 40 1700000000 1700000060 ACCEPT OK\n",
            1000 + (i * 7) % 50
        ));
    }
    let input = tmp.path().join("ports.log");
    std::fs::write(&input, text).unwrap();
    let out = tmp.path().join("ds");
    run_ok(
        &input,
        &out,
        &["--partition-by", "dstport", "--max-open-files", "8"],
    );
    let (rows, hidden) = dataset_rows(&out);
    assert!(hidden.is_empty());
    assert_eq!(rows.len(), 5000);
    let mut dirs = std::collections::BTreeSet::new();
    for r in &rows {
        let (part, cells) = r.split_once('|').unwrap();
        let port = cells
            .split('|')
            .find_map(|c| c.strip_prefix("dstport:int32="))
            .unwrap();
        assert_eq!(part, format!("dstport={port}"));
        dirs.insert(part.to_string());
    }
    assert_eq!(dirs.len(), 50);
}

#[test]
fn no_rows_lost_when_a_file_fills_up_between_small_and_big_pieces() {
    // Phase 1: ten ports interleaved (small pieces per batch, gathered: ~60,000 rows per port,
    // over 1 MB encoded); phase 2: long runs of one port (big pieces, written directly). With
    // 1 MB part files, the gathered rows fill a file up just as a big piece arrives; every row
    // must still land in a file exactly once (an earlier version dropped that big piece).
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    let mut n = 0u64;
    for i in 0..600_000u64 {
        text.push_str(&format!(
            "2 123456789012 eni-{i:x} 10.{}.{}.{} 10.0.0.2 {} {} 6 {} {} {} {} ACCEPT OK\n",
            i % 250,
            (i / 7) % 250,
            (i / 13) % 250,
            i % 65_000,
            1000 + i % 10,
            i % 977,
            i * 31 % 100_003,
            1_700_000_000 + i,
            1_700_000_060 + i
        ));
        n += 1;
    }
    for i in 0..150_000u64 {
        text.push_str(&format!(
            "2 123456789012 eni-{i:x} 10.{}.{}.{} 10.0.0.2 {} {} 6 {} {} {} {} ACCEPT OK\n",
            i % 250,
            (i / 7) % 250,
            (i / 11) % 250,
            i % 65_000,
            1000 + (i / 20_000) % 10,
            i % 977,
            i * 31 % 100_003,
            1_700_000_000 + i,
            1_700_000_060 + i
        ));
        n += 1;
    }
    let input = tmp.path().join("mixed.log");
    std::fs::write(&input, text).unwrap();
    let out = tmp.path().join("ds");
    let st = run_ok(
        &input,
        &out,
        &[
            "--partition-by",
            "dstport",
            "--target-file-mb",
            "1",
            "--threads",
            "2",
        ],
    );
    assert_eq!(st["rows_written"], n);
    let (rows, hidden) = dataset_rows(&out);
    assert!(hidden.is_empty());
    assert_eq!(rows.len() as u64, n, "rows in the dataset's files");
}
