//! `convert --sort-by`: a file's rows ordered by key columns (ascending, nulls last, equal keys
//! in input order) — checked against a naive stable sort of the unsorted output, whatever the
//! memory budget (so however many runs are merged), chunking and threads; the order recorded in
//! the file (each part file of a dataset); temporary runs removed; and the combinations it can't
//! serve refused.

mod common;

use std::process::Command;

use common::{column_at as column, convert_render, header_and_rows as rows, vpcflow};
use parquet::file::reader::{FileReader, SerializedFileReader};

/// A default-format log whose addresses repeat out of order, with `-` (null) addresses (NODATA
/// records) among them and many equal (srcaddr, dstaddr) keys. Some addresses are prefixes of
/// others ("10.0.1.1" < "10.0.1.10"): byte order decides.
fn input(lines: usize) -> tempfile::NamedTempFile {
    common::xorshift_log(lines, 0x9e37_79b9_7f4a_7c15, 89, 5, |x| {
        let src = format!("10.0.{}.{}", x % 3, (x >> 8) % 12);
        let dst = if x.is_multiple_of(11) {
            "2600:1f18::1".to_string()
        } else {
            format!("172.16.0.{}", (x >> 16) % 9)
        };
        (src, dst)
    })
}

/// The sort key of a rendered row: (srcaddr, dstaddr) at columns `s` and `d`, nulls last.
fn key(row: &str, s: usize, d: usize) -> ((bool, String), (bool, String)) {
    let f: Vec<&str> = row.split('|').collect();
    let k = |v: &str| (v == "NULL", if v == "NULL" { "" } else { v }.to_string());
    (k(f[s]), k(f[d]))
}

#[test]
fn rows_are_ordered_stably_whatever_the_budget_chunking_and_threads() {
    let f = input(4000);
    let (plain, stats, _) = convert_render(f.path(), &[]);
    assert_eq!(stats["rows_written"].as_u64(), Some(4000));
    let (header, plain_rows) = rows(&plain);
    let (s, d) = (column(&header, "srcaddr"), column(&header, "dstaddr"));
    // The oracle: the unsorted output, stably sorted by (srcaddr, dstaddr), nulls last.
    let key = |r: &String| key(r, s, d);
    let mut want = plain_rows.clone();
    want.sort_by_key(key);
    assert_ne!(want, plain_rows, "the input must not be ordered already");
    assert!(
        want.windows(2).filter(|w| key(&w[0]) == key(&w[1])).count() > 1000,
        "equal keys must be common, to test stability"
    );
    for (budget, chunk, threads) in [
        ("1", "4096", "2"),         // every batch its own run
        ("60000", "1000", "1"),     // runs of a few batches
        ("60000", "333", "3"),      // ragged chunks
        ("268435456", "4096", "2"), // one run, no temporary file
    ] {
        let (sorted, stats, _) = convert_render(
            f.path(),
            &[
                "--sort-by",
                "srcaddr,dstaddr",
                "--sort-run-bytes",
                budget,
                "--chunk-bytes",
                chunk,
                "--threads",
                threads,
            ],
        );
        assert_eq!(stats["rows_written"].as_u64(), Some(4000));
        let (h, got) = rows(&sorted);
        assert_eq!(h, header);
        assert_eq!(
            got, want,
            "budget {budget}, chunk {chunk}, threads {threads}"
        );
    }
}

#[test]
fn the_order_is_recorded_and_temporary_runs_are_removed() {
    let f = input(3000);
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.parquet");
    let o = Command::new(env!("CARGO_BIN_EXE_vpcflow"))
        .args([
            "convert",
            f.path().to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--sort-by",
            "dstaddr,srcaddr",
            "--sort-run-bytes",
            "1",
            "--chunk-bytes",
            "2000",
            "--row-group-rows",
            "1000",
            "-q",
        ])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let reader = SerializedFileReader::new(std::fs::File::open(&out).unwrap()).unwrap();
    let meta = reader.metadata();
    assert_eq!(meta.num_row_groups(), 3);
    let names: Vec<String> = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    for rg in meta.row_groups() {
        let cols = rg
            .sorting_columns()
            .expect("sorting_columns in every row group");
        let got: Vec<(&str, bool, bool)> = cols
            .iter()
            .map(|c| {
                (
                    names[c.column_idx as usize].as_str(),
                    c.descending,
                    c.nulls_first,
                )
            })
            .collect();
        assert_eq!(got, [("dstaddr", false, false), ("srcaddr", false, false)]);
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "temporary runs left behind: {left:?}");
    // DataFusion reads the recorded order: an aggregate over it runs ordered, in one stream
    // (and EXPLAIN shows that plan); over the same rows unsorted it is a hash aggregate.
    let plain = dir.path().join("p.parquet");
    let o = vpcflow(&[
        "convert",
        f.path().to_str().unwrap(),
        "-o",
        plain.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sql = "SELECT dstaddr, srcaddr, count(*) FROM flows GROUP BY 1, 2";
    let plan = |file: &std::path::Path, explain: &str| {
        let o = vpcflow(&[
            "query",
            file.to_str().unwrap(),
            "--sql",
            &format!("{explain} {sql}"),
            "--format",
            "csv",
            "--threads",
            "2",
            "-q",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    for explain in ["EXPLAIN", "EXPLAIN ANALYZE"] {
        let sorted = plan(&out, explain);
        assert!(sorted.contains("ordering_mode=Sorted"), "{sorted}");
        assert!(
            !sorted.contains("RepartitionExec: partitioning=Hash"),
            "ordered aggregates run in one stream: {sorted}"
        );
        let unsorted = plan(&plain, explain);
        assert!(!unsorted.contains("ordering_mode=Sorted"), "{unsorted}");
        assert!(
            unsorted.contains("RepartitionExec: partitioning=Hash"),
            "{unsorted}"
        );
    }
}

#[test]
fn each_part_file_of_a_dataset_is_ordered_and_every_row_kept() {
    let f = input(3000);
    let (plain, _, _) = convert_render(f.path(), &[]);
    let (header, mut plain_rows) = rows(&plain);
    let (s, d) = (column(&header, "srcaddr"), column(&header, "dstaddr"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let o = vpcflow(&[
        "convert",
        f.path().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--partition-by",
        "interface_id",
        "--sort-by",
        "srcaddr,dstaddr",
        "--sort-run-bytes",
        "100",
        "--max-open-files",
        "2",
        "--chunk-bytes",
        "3000",
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let key = |r: &String| key(r, s, d);
    let parts = common::part_file_rows(&out);
    assert_eq!(parts.len(), 5, "one part file per interface");
    let mut got = Vec::new();
    for (p, r) in parts {
        let reader = SerializedFileReader::new(std::fs::File::open(&p).unwrap()).unwrap();
        assert!(reader.metadata().row_group(0).sorting_columns().is_some());
        assert!(
            r.windows(2).all(|w| key(&w[0]) <= key(&w[1])),
            "{} is not ordered",
            p.display()
        );
        got.extend(r);
    }
    got.sort();
    plain_rows.sort();
    assert_eq!(got, plain_rows);
    // The dataset directory is queried as is (its manifest skipped), the ordered aggregate
    // giving what a naive count gives.
    let o = vpcflow(&[
        "query",
        out.to_str().unwrap(),
        "--sql",
        "SELECT srcaddr, dstaddr, count(*) AS n FROM flows GROUP BY 1, 2 ORDER BY 1, 2",
        "--format",
        "csv",
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut naive: std::collections::BTreeMap<_, u64> = Default::default();
    for r in &plain_rows {
        *naive.entry(key(r)).or_default() += 1;
    }
    let text = String::from_utf8(o.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("srcaddr,dstaddr,n"));
    let answer: Vec<(String, String, u64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string(), f[2].parse().unwrap())
        })
        .collect();
    let want: Vec<(String, String, u64)> =
        naive.into_iter().map(|((s, d), n)| (s.1, d.1, n)).collect();
    assert_eq!(answer, want);
}

#[test]
fn unknown_columns_and_what_it_cannot_serve_are_refused() {
    let f = input(10);
    let dir = tempfile::tempdir().unwrap();
    let input = f.path().to_str().unwrap();
    let out = dir.path().join("o.parquet");
    let out = out.to_str().unwrap();
    for (args, says) in [
        (
            vec!["-o", out, "--sort-by", "srcaddr,nosuch"],
            "--sort-by nosuch: no such column",
        ),
        (
            vec!["-o", out, "--sort-by", "srcaddr", "--cluster-by", "dstaddr"],
            "can't be combined",
        ),
        (
            vec!["--to", "ecs", "-o", "-", "--sort-by", "srcaddr"],
            "applies to Parquet output",
        ),
    ] {
        let mut all = vec!["convert", input];
        all.extend(args.iter().copied());
        let o = vpcflow(&all);
        assert!(!o.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!std::path::Path::new(out).exists(), "{args:?}");
    }
}
