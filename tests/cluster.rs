//! `--cluster-by`: each window of rows ordered by a column, stably, nulls last — checked against
//! a naive reordering of the unclustered output, and the same whatever the chunking and threads.

mod common;

use std::io::Write;

use common::{convert_render, vpcflow};

/// A default-format log whose source addresses repeat out of order, with some `-` (null)
/// addresses (NODATA records) among them.
fn input(lines: usize) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        f,
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    )
    .unwrap();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..lines {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if i % 97 == 5 {
            writeln!(
                f,
                "2 123456789010 eni-{:08x} - - - - - - - 1700000000 1700000060 - NODATA",
                x % 7
            )
            .unwrap();
            continue;
        }
        let src = format!("10.0.{}.{}", x % 5, (x >> 8) % 40);
        let dst = format!("172.16.{}.{}", (x >> 16) % 3, (x >> 24) % 200);
        writeln!(
            f,
            "2 123456789010 eni-{:08x} {src} {dst} {} 443 6 {} {} {} {} ACCEPT OK",
            x % 7,
            1024 + (x >> 32) % 60000,
            1 + (x >> 40) % 50,
            100 + (x >> 44) % 9000,
            1_700_000_000 + i as u64,
            1_700_000_060 + i as u64,
        )
        .unwrap();
    }
    f.flush().unwrap();
    f
}

/// Rows of a rendering, without its header line.
fn rows(rendered: &str) -> (String, Vec<String>) {
    let mut lines = rendered.lines();
    let header = lines.next().unwrap().to_string();
    (header, lines.map(str::to_string).collect())
}

#[test]
fn windows_are_ordered_stably_by_the_column_whatever_the_chunking() {
    let f = input(3000);
    let (plain, stats, _) = convert_render(f.path(), &[]);
    assert_eq!(stats["rows_written"].as_u64(), Some(3000));
    let (header, plain_rows) = rows(&plain);
    let col = header
        .split('|')
        .position(|h| h.starts_with("srcaddr:"))
        .unwrap();
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
    let mut got = Vec::new();
    let mut files = 0;
    for p in common::walk_all(&out) {
        if p.extension().is_some_and(|x| x == "parquet") {
            files += 1;
            let (schema, batches) = common::read_parquet(&p);
            let (_, r) = rows(&common::render(&schema, &batches));
            got.extend(r);
        }
    }
    assert_eq!(files, 7);
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
