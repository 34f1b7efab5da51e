//! Parquet as input to `convert`: our own Parquet and AWS-style Parquet (hyphenated names, int64
//! ports, dictionary strings) convert like the text they came from, into one dataset with text
//! inputs; a column of the wrong type or an integer too large fails that input only, named.

mod common;

use std::sync::Arc;

use arrow::array::{ArrayRef, DictionaryArray, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use arrow::record_batch::RecordBatch;
use common::*;

fn run(args: &[&str]) -> (i32, String) {
    let o = vpcflow(args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn write_parquet(path: &std::path::Path, cols: Vec<(&str, ArrayRef)>) {
    let schema = Arc::new(Schema::new(
        cols.iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch =
        RecordBatch::try_new(schema.clone(), cols.into_iter().map(|(_, a)| a).collect()).unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn our_parquet_converts_like_the_text_it_came_from() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = testdata("query").join("logs");
    let (a, b) = (
        logs.join("vpc-all.log").display().to_string(),
        logs.join("tgw.log").display().to_string(),
    );
    let pq = tmp.path().join("a.parquet").display().to_string();
    assert_eq!(run(&["convert", &a, &b, "-o", &pq, "-q"]).0, 0);
    for to in ["ndjson", "ecs"] {
        let from_pq = tmp.path().join(format!("p.{to}")).display().to_string();
        let from_text = tmp.path().join(format!("t.{to}")).display().to_string();
        let (code, err) = run(&["convert", &pq, "--to", to, "-o", &from_pq, "-q"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            run(&["convert", &a, &b, "--to", to, "-o", &from_text, "-q"]).0,
            0
        );
        let (p, t) = (
            std::fs::read_to_string(&from_pq).unwrap(),
            std::fs::read_to_string(&from_text).unwrap(),
        );
        assert_eq!(p.lines().count(), 1800);
        assert!(p == t, "--to {to}: Parquet input differs from text input");
    }
}

#[test]
fn aws_style_parquet_joins_text_in_one_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let aws = tmp.path().join("aws.log.parquet");
    let action: DictionaryArray<Int32Type> = vec!["ACCEPT", "REJECT"].into_iter().collect();
    write_parquet(
        &aws,
        vec![
            (
                "version",
                Arc::new(Int64Array::from(vec![5, 5])) as ArrayRef,
            ),
            (
                "interface-id",
                Arc::new(StringArray::from(vec!["eni-1", "eni-2"])),
            ),
            (
                "srcaddr",
                Arc::new(StringArray::from(vec!["10.0.0.1", "10.0.0.2"])),
            ),
            ("dstport", Arc::new(Int64Array::from(vec![Some(443), None]))),
            ("bytes", Arc::new(Int64Array::from(vec![100, 200]))),
            ("action", Arc::new(action)),
            (
                "flow-direction",
                Arc::new(StringArray::from(vec!["egress", "ingress"])),
            ),
        ],
    );
    let text = testdata("aws-default.log").display().to_string();
    let out = tmp.path().join("all.parquet");
    let stats = tmp.path().join("s.json");
    let (code, err) = run(&[
        "convert",
        &text,
        aws.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(
        s["records"].as_u64().unwrap(),
        s["rows_written"].as_u64().unwrap() + s["rejected"].as_u64().unwrap()
    );
    let (schema, batches) = read_parquet(&out);
    // The registry's types, whatever the file held; the new column joins the text's.
    assert_eq!(
        schema.field_with_name("dstport").unwrap().data_type(),
        &DataType::Int32
    );
    assert_eq!(
        schema.field_with_name("version").unwrap().data_type(),
        &DataType::Int32
    );
    assert_eq!(
        schema.field_with_name("action").unwrap().data_type(),
        &DataType::Utf8
    );
    assert!(schema.field_with_name("flow_direction").is_ok());
    let text = render(&schema, &batches);
    let last: Vec<&str> = text.lines().rev().take(2).collect();
    assert!(
        last[1].starts_with(
            "5|NULL|eni-1|10.0.0.1|NULL|NULL|443|NULL|NULL|100|NULL|NULL|ACCEPT|NULL|egress"
        ),
        "{}",
        last[1]
    );
    assert!(
        last[0].contains("|eni-2|10.0.0.2|NULL|NULL|NULL|"),
        "{}",
        last[0]
    );
}

#[test]
fn wrong_types_and_overflow_fail_that_input_only() {
    let tmp = tempfile::tempdir().unwrap();
    let text = testdata("aws-default.log").display().to_string();
    let wrong = tmp.path().join("wrong.parquet");
    write_parquet(
        &wrong,
        vec![(
            "srcport",
            Arc::new(StringArray::from(vec!["22"])) as ArrayRef,
        )],
    );
    let big = tmp.path().join("big.parquet");
    write_parquet(
        &big,
        vec![(
            "dstport",
            Arc::new(Int64Array::from(vec![22, 3_000_000_000])) as ArrayRef,
        )],
    );
    for (bad, why) in [
        (
            &wrong,
            "column `srcport` is Utf8, but flow log field srcport is a 32-bit integer",
        ),
        (&big, "column `dstport` near row 1"),
    ] {
        let out = tmp.path().join("o.ndjson");
        let (code, err) = run(&[
            "convert",
            bad.to_str().unwrap(),
            &text,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains(bad.to_str().unwrap()) && err.contains(why),
            "{err}"
        );
        // The text input still converted.
        let rows = std::fs::read_to_string(&out).unwrap();
        assert!(rows.lines().count() >= 4, "{rows}");
    }
}

#[test]
fn attributed_parquet_converts_again_with_its_attribution_recomputed_or_left_out() {
    // Our own Parquet with attribution columns (one of them a list) is an input like any other:
    // the columns are left out with a warning, and computed again when the run has the files.
    let dir = tempfile::tempdir().unwrap();
    let log = common::testdata("query").join("logs").join("hot.log");
    let inventory = common::testdata("query").join("inventory.json");
    let (log, inventory) = (log.to_str().unwrap(), inventory.to_str().unwrap());
    let first = dir.path().join("first.parquet");
    let again = dir.path().join("again.parquet");
    let plain = dir.path().join("plain.parquet");
    let run = |args: &[&str]| {
        let o = common::vpcflow(args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    run(&[
        "convert",
        log,
        "--eni-inventory",
        inventory,
        "-o",
        first.to_str().unwrap(),
        "-q",
    ]);
    let warned = run(&[
        "convert",
        first.to_str().unwrap(),
        "--eni-inventory",
        inventory,
        "-o",
        again.to_str().unwrap(),
    ]);
    assert!(
        warned.contains("attribution columns") && warned.contains("eni_security_groups"),
        "{warned}"
    );
    let left = run(&[
        "convert",
        first.to_str().unwrap(),
        "-o",
        plain.to_str().unwrap(),
        "-q",
    ]);
    assert!(left.contains("not carried over"), "{left}");
    let (s1, b1) = common::read_parquet(&first);
    let (s2, b2) = common::read_parquet(&again);
    let all =
        |s, b: &[arrow::record_batch::RecordBatch]| arrow::compute::concat_batches(&s, b).unwrap();
    assert_eq!(all(s1.clone(), &b1), all(s2, &b2));
    let (s3, _) = common::read_parquet(&plain);
    assert!(s3.fields().iter().all(|f| !f.name().starts_with("eni_")));
    assert!(
        s1.fields()
            .iter()
            .any(|f| f.name() == "eni_security_groups")
    );
}
