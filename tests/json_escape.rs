//! Every JSON line we write parses, whatever the column names and values hold: names and values
//! with quotes, backslashes, control characters or any Unicode go through the NDJSON sink, the
//! ECS writer and bulk output (a property test on the library), and through the binary from a
//! Parquet input whose column names hold them (end to end). Each line is parsed with serde_json
//! and every name and value read back.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use proptest::prelude::*;
use serde_json::Value;
use vpcflow::sink::ecs::{BulkOptions, EcsOptions, EcsWriter, MAPPED};
use vpcflow::sink::ndjson::NdjsonSink;

/// Members the ECS writer adds under `aws.vpcflow` itself; a column of that name would collide
/// with them, so the property leaves such names out.
const SYNTHESIZED: &[&str] = &[
    "pkt_src_service",
    "pkt_dst_service",
    "tcp_flags_array",
    "sublocation",
];

/// Text that JSON must escape, mixed with ordinary and non-ASCII characters, or any string.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex("[\"\\\\\\x00-\\x1f\\x7fa-z_ é€\u{2028}\u{1F600}]{0,12}")
            .unwrap(),
        any::<String>(),
    ]
}

fn lines(out: &[u8]) -> Vec<Value> {
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(l)))
        })
        .collect()
}

fn batch(names: &[String], rows: &[Vec<Option<String>>]) -> RecordBatch {
    let mut fields: Vec<Field> = names
        .iter()
        .map(|n| Field::new(n, DataType::Utf8, true))
        .collect();
    let mut cols: Vec<ArrayRef> = (0..names.len())
        .map(|j| Arc::new(StringArray::from_iter(rows.iter().map(|r| r[j].clone()))) as ArrayRef)
        .collect();
    // One integer column too, kept under aws.vpcflow as text.
    fields.push(Field::new("traffic_path", DataType::Int32, true));
    cols.push(Arc::new(Int32Array::from_iter(
        (0..rows.len()).map(|i| (i % 2 == 0).then_some(i as i32)),
    )));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ndjson_ecs_and_bulk_lines_parse_and_keep_every_name_and_value(
        names in proptest::collection::btree_set(text(), 1..6),
        seed_rows in proptest::collection::vec(proptest::collection::vec(proptest::option::of(text()), 6), 1..5),
    ) {
        let names: Vec<String> = names
            .into_iter()
            .filter(|n| n != "traffic_path" && !MAPPED.contains(&n.as_str()) && !SYNTHESIZED.contains(&n.as_str()) && n != "action")
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let rows: Vec<Vec<Option<String>>> = seed_rows.iter().map(|r| r[..names.len()].to_vec()).collect();
        let b = batch(&names, &rows);

        // Flat NDJSON: every column a key, null as null.
        let mut sink = NdjsonSink::new(Vec::new(), "t", b.schema());
        sink.write(&b).unwrap();
        let got = lines(&sink.finish().unwrap());
        prop_assert_eq!(got.len(), rows.len());
        for (i, (doc, row)) in got.iter().zip(&rows).enumerate() {
            let obj = doc.as_object().unwrap();
            prop_assert_eq!(obj.len(), names.len() + 1);
            for (n, v) in names.iter().zip(row) {
                let want = v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()));
                prop_assert_eq!(&obj[n], &want, "column {:?}", n);
            }
            let tp = if i % 2 == 0 { Value::from(i as i64) } else { Value::Null };
            prop_assert_eq!(&obj["traffic_path"], &tp);
        }

        // ECS documents, then bulk (an action line before each document).
        for bulk in [false, true] {
            let opts = EcsOptions {
                bulk: bulk.then(|| BulkOptions::new("default", None)),
                ..Default::default()
            };
            let mut w = EcsWriter::new(Vec::new(), "t", b.schema(), opts);
            w.write(&b).unwrap();
            let got = lines(&w.finish().unwrap());
            let docs: Vec<&Value> = if bulk {
                prop_assert_eq!(got.len(), 2 * rows.len());
                for action in got.iter().step_by(2) {
                    prop_assert_eq!(&action["create"]["_index"], "logs-aws.vpcflow-default");
                }
                got.iter().skip(1).step_by(2).collect()
            } else {
                got.iter().collect()
            };
            prop_assert_eq!(docs.len(), rows.len());
            for (i, (doc, row)) in docs.iter().zip(&rows).enumerate() {
                let kept = doc["aws"]["vpcflow"].as_object().unwrap();
                let present: Vec<(&String, &String)> = names
                    .iter()
                    .zip(row)
                    .filter_map(|(n, v)| v.as_ref().map(|v| (n, v)))
                    .collect();
                prop_assert_eq!(kept.len(), present.len() + usize::from(i % 2 == 0));
                for (n, v) in present {
                    prop_assert_eq!(kept.get(n).and_then(Value::as_str), Some(v.as_str()), "column {:?}", n);
                }
                if i % 2 == 0 {
                    prop_assert_eq!(&kept["traffic_path"], &Value::String(i.to_string()));
                }
            }
        }
    }
}

/// Column names as a foreign Parquet file may hold them: quotes, backslashes, controls,
/// non-ASCII, hyphens (read as underscores), upper case (read in lower case).
const WEIRD: &[&str] = &[
    "we\"ird",
    "back\\slash",
    "ctl\u{1}x",
    "new\nline\ttab",
    "Ünï-Côdé",
    "\u{7f}del\u{2028}sep",
];

#[test]
fn parquet_column_names_that_need_escaping_convert_to_json_every_parser_reads() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("weird.parquet");
    let mut fields = vec![
        Field::new("srcaddr", DataType::Utf8, true),
        Field::new("dstaddr", DataType::Utf8, true),
        Field::new("dstport", DataType::Int32, true),
    ];
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![Some("10.0.0.1"), Some("10.0.0.3")])),
        Arc::new(StringArray::from(vec![Some("10.0.0.2"), None])),
        Arc::new(Int32Array::from(vec![Some(443), None])),
    ];
    let values = |j: usize| {
        vec![
            Some(format!("v{j} \"q\" \\ \u{0}\u{1f} ü")),
            j.is_multiple_of(2).then(|| format!("plain{j}")),
        ]
    };
    for (j, n) in WEIRD.iter().enumerate() {
        fields.push(Field::new(*n, DataType::Utf8, true));
        cols.push(Arc::new(StringArray::from(values(j))));
    }
    let schema = Arc::new(Schema::new(fields));
    let b = RecordBatch::try_new(schema.clone(), cols).unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&input).unwrap(), schema, None)
            .unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();
    let input = input.to_str().unwrap();
    // The column names the dataset gives them.
    let column = |n: &str| n.to_ascii_lowercase().replace('-', "_");

    // Flat NDJSON.
    let o = common::vpcflow(&["convert", input, "--to", "ndjson", "-q", "-o", "-"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = lines(&o.stdout);
    assert_eq!(rows.len(), 2);
    for (r, row) in rows.iter().enumerate() {
        assert_eq!(row["srcaddr"], ["10.0.0.1", "10.0.0.3"][r]);
        for (j, n) in WEIRD.iter().enumerate() {
            let want = values(j)[r].clone().map_or(Value::Null, Value::String);
            assert_eq!(row[&column(n)], want, "{n:?}");
        }
    }

    // ECS documents and bulk files: the unknown columns under aws.vpcflow.
    let bulk_base = dir.path().join("bulk.ndjson");
    for (to, out) in [("ecs", "-"), ("bulk", bulk_base.to_str().unwrap())] {
        let o = common::vpcflow(&["convert", input, "--to", to, "-q", "-o", out]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let got = if to == "bulk" {
            let text = std::fs::read(dir.path().join("bulk-000001.ndjson")).unwrap();
            let all = lines(&text);
            assert!(all.iter().step_by(2).all(|a| a.get("create").is_some()));
            all.into_iter().skip(1).step_by(2).collect()
        } else {
            lines(&o.stdout)
        };
        assert_eq!(got.len(), 2, "{to}");
        for (r, doc) in got.iter().enumerate() {
            assert_eq!(doc["source"]["ip"], ["10.0.0.1", "10.0.0.3"][r]);
            for (j, n) in WEIRD.iter().enumerate() {
                let want = values(j)[r].clone().map_or(Value::Null, Value::String);
                let got = doc["aws"]["vpcflow"]
                    .get(column(n))
                    .cloned()
                    .unwrap_or(Value::Null);
                assert_eq!(got, want, "{to} {n:?}");
            }
        }
    }
}
