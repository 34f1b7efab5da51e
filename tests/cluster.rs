//! `--cluster-by`: each window of rows ordered by a column, stably, nulls last — checked against
//! a naive reordering of the unclustered output, and the same whatever the chunking and threads.

mod common;

use common::{column_at, convert_render, header_and_rows as rows, vpcflow};

/// A default-format log whose source addresses repeat out of order, with some `-` (null)
/// addresses (NODATA records) among them.
fn input(lines: usize) -> tempfile::NamedTempFile {
    common::xorshift_log(lines, 0x2545_f491_4f6c_dd1d, 97, 7, |x| {
        (
            format!("10.0.{}.{}", x % 5, (x >> 8) % 40),
            format!("172.16.{}.{}", (x >> 16) % 3, (x >> 24) % 200),
        )
    })
}

#[test]
fn windows_are_ordered_stably_by_the_column_whatever_the_chunking() {
    let f = input(3000);
    let (plain, stats, _) = convert_render(f.path(), &[]);
    assert_eq!(stats["rows_written"].as_u64(), Some(3000));
    let (header, plain_rows) = rows(&plain);
    let col = column_at(&header, "srcaddr");
    // The oracle: windows of 700 rows of the unclustered output, each stably sorted by
    // srcaddr with nulls last.
    let mut want = Vec::new();
    for w in plain_rows.chunks(700) {
        let mut w: Vec<&String> = w.iter().collect();
        w.sort_by_key(|r| {
            let v = r.split('|').nth(col).unwrap();
            (v == "NULL", if v == "NULL" { "" } else { v })
        });
        want.extend(w.into_iter().cloned());
    }
    assert_ne!(want, plain_rows, "the input must not be ordered already");
    for (chunk, threads) in [("1000", "1"), ("4096", "2"), ("1048576", "2"), ("333", "3")] {
        let (clustered, stats, _) = convert_render(
            f.path(),
            &[
                "--cluster-by",
                "srcaddr",
                "--cluster-rows",
                "700",
                "--chunk-bytes",
                chunk,
                "--threads",
                threads,
            ],
        );
        assert_eq!(stats["rows_written"].as_u64(), Some(3000));
        let (h, got) = rows(&clustered);
        assert_eq!(h, header);
        assert_eq!(got, want, "chunk {chunk}, threads {threads}");
    }
}

#[test]
fn clustered_datasets_keep_every_row() {
    let f = input(2000);
    let (plain, _, _) = convert_render(f.path(), &[]);
    let (_, mut plain_rows) = rows(&plain);
    plain_rows.sort();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let o = vpcflow(&[
        "convert",
        f.path().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--partition-by",
        "interface_id",
        "--cluster-by",
        "srcaddr",
        "--cluster-rows",
        "100",
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let parts = common::part_file_rows(&out);
    assert_eq!(parts.len(), 7);
    let mut got: Vec<String> = parts.into_iter().flat_map(|(_, r)| r).collect();
    got.sort();
    assert_eq!(got, plain_rows);
}

#[test]
fn unknown_columns_and_other_outputs_are_refused() {
    let f = input(10);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.parquet");
    let o = vpcflow(&[
        "convert",
        f.path().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--cluster-by",
        "nosuch",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--cluster-by nosuch: no such column"), "{err}");
    assert!(!out.exists());
    let o = vpcflow(&[
        "convert",
        f.path().to_str().unwrap(),
        "--to",
        "ecs",
        "-o",
        "-",
        "--cluster-by",
        "srcaddr",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("applies to Parquet output"));
}
