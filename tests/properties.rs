//! Property tests: any chunk size, window size and thread count give the same rows and the same
//! refused lines (with the same line numbers) as a single-threaded, single-chunk decode.

mod common;

use std::path::Path;

use proptest::prelude::*;
use vpcflow::input::Input;
use vpcflow::pipeline::Notice;
use vpcflow::{Decoder, Options};

fn decode(
    path: &Path,
    threads: usize,
    chunk: usize,
    window: usize,
) -> (String, Vec<(u64, String)>, vpcflow::Stats) {
    let (schema, batches, rejects, stats) = decode_batches(path, threads, chunk, window, None);
    (common::render(&schema, &batches), rejects, stats)
}

/// The batches of a decode that builds only the columns in `keep` (all when none).
fn decode_batches(
    path: &Path,
    threads: usize,
    chunk: usize,
    window: usize,
    keep: Option<&[&str]>,
) -> (
    arrow::datatypes::SchemaRef,
    Vec<arrow::record_batch::RecordBatch>,
    Vec<(u64, String)>,
    vpcflow::Stats,
) {
    let opts = Options {
        threads,
        chunk_bytes: chunk,
        window_bytes: window,
        ..Options::default()
    };
    let mut dec = Decoder::new(vec![Input::Path(path.to_path_buf())], opts).unwrap();
    if let Some(keep) = keep {
        dec.keep_only(keep);
    }
    let schema = dec.schema();
    let mut batches = Vec::new();
    let mut rejects = Vec::new();
    let stats = dec
        .run(
            |b| {
                batches.push(b);
                Ok(())
            },
            &mut |r| rejects.push((r.line, r.reason.to_string())),
            &mut |n| {
                if let Notice::Failed(e) = n {
                    panic!("{e}")
                }
            },
            &mut |_| {},
        )
        .unwrap();
    (schema, batches, rejects, stats)
}

fn mixed_input() -> tempfile::NamedTempFile {
    let mut text = std::fs::read_to_string(common::testdata("sample-default.log")).unwrap();
    let body: String = text.lines().skip(1).collect::<Vec<_>>().join("\n");
    for i in 0..12 {
        text.push_str(&body);
        text.push('\n');
        match i % 4 {
            0 => text.push_str("2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 x 5 1 2 ACCEPT OK\n"),
            1 => text.push_str("\n\r\n"),
            2 => {
                text.push_str("short line\n2 1 eni-1 10.0.0.300 10.0.0.2 1 2 6 1 5 1 2 ACCEPT OK\n")
            }
            _ => text.push_str("2 1 eni-1 10.0.0.1 10.0.0.2 70000 2 6 1 5 1 2 ACCEPT OK\r\n"),
        }
    }
    text.push_str("2 123456789010 eni-1 - - - - - - - 1 2 - NODATA");
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_chunking_and_thread_count_gives_identical_output(
        threads in 1usize..4, chunk in 1usize..3000, window in 1usize..20000,
    ) {
        let f = mixed_input();
        let reference = decode(f.path(), 1, usize::MAX / 4, usize::MAX / 4);
        prop_assert_eq!(reference.1.len(), 12);
        prop_assert_eq!(reference.2.records, reference.2.rows_written + reference.2.rejected);
        let got = decode(f.path(), threads, chunk, window);
        prop_assert_eq!(&got.0, &reference.0);
        prop_assert_eq!(&got.1, &reference.1);
        prop_assert_eq!(got.2, reference.2);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// A query's projection pushed into the parser: whatever columns are kept, the same lines
    /// are refused for the same reasons, the counts are the same, kept columns equal the full
    /// decode's and the others are all null.
    #[test]
    fn keeping_any_columns_refuses_the_same_lines_and_keeps_their_values(
        mask in proptest::collection::vec(any::<bool>(), 14), threads in 1usize..3,
        chunk in 50usize..3000,
    ) {
        let f = mixed_input();
        let (schema, full, full_rejects, full_stats) =
            decode_batches(f.path(), 1, usize::MAX / 4, usize::MAX / 4, None);
        let names: Vec<&str> = schema.fields().iter().map(|c| c.name().as_str()).collect();
        prop_assert_eq!(names.len(), 14);
        let keep: Vec<&str> = names.iter().zip(&mask).filter(|(_, k)| **k).map(|(n, _)| *n).collect();
        let (_, got, rejects, stats) =
            decode_batches(f.path(), threads, chunk, 1 << 16, Some(&keep));
        prop_assert_eq!(&rejects, &full_rejects);
        prop_assert_eq!(stats, full_stats);
        let full = arrow::compute::concat_batches(&schema, &full).unwrap();
        let got = arrow::compute::concat_batches(&schema, &got).unwrap();
        prop_assert_eq!(got.num_rows(), full.num_rows());
        for (i, name) in names.iter().enumerate() {
            if mask[i] {
                prop_assert_eq!(got.column(i), full.column(i), "{}", name);
            } else {
                prop_assert_eq!(got.column(i).null_count(), got.num_rows(), "{}", name);
            }
        }
    }
}

#[test]
fn reject_line_numbers_count_every_line() {
    let f = mixed_input();
    let (_, rejects, stats) = decode(f.path(), 2, 100, 1000);
    // Line 1 is the header, then 40 records twice, then the first bad line.
    assert_eq!(rejects[0].0, 82);
    assert!(
        rejects[0].1.starts_with("packets: not a decimal integer"),
        "{:?}",
        rejects[0]
    );
    assert_eq!(stats.blank_lines, 6);
}
