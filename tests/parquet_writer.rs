//! Our dictionary writer for text columns against arrow-rs's own column writer as the oracle:
//! the same batches written both ways read back to the same rows, with the same chunk
//! statistics, a page index for every column, and dictionary pages where arrow-rs has them;
//! and the attribution's dictionary arrays write the same file as their text.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, DictionaryArray, StringArray, UInt32Array};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt32Type};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::basic::Encoding;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use vpcflow::input::Input;
use vpcflow::sink::parquet::{ParquetOptions, ParquetSink};
use vpcflow::{Decoder, Options};

fn write(schema: &SchemaRef, batches: &[RecordBatch], own: bool, group_rows: usize) -> Bytes {
    let opts = ParquetOptions {
        own_dictionaries: own,
        row_group_rows: group_rows,
        ..ParquetOptions::default()
    };
    let mut sink = ParquetSink::new(Vec::new(), "test", schema.clone(), &opts).unwrap();
    for b in batches {
        sink.write(b).unwrap();
    }
    Bytes::from(sink.finish().unwrap())
}

fn read(file: Bytes) -> (RecordBatch, Arc<ParquetMetaData>) {
    let opts = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, opts).unwrap();
    let meta = builder.metadata().clone();
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
    (concat_batches(&schema, &batches).unwrap(), meta)
}

/// Writes `batches` both ways and compares everything a reader sees.
fn same_as_arrow_rs(schema: &SchemaRef, batches: &[RecordBatch], group_rows: usize) {
    let (ours, ours_meta) = read(write(schema, batches, true, group_rows));
    let (theirs, theirs_meta) = read(write(schema, batches, false, group_rows));
    assert_eq!(ours.schema(), theirs.schema());
    assert_eq!(ours, theirs);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(ours.num_rows(), rows);
    assert_eq!(ours_meta.num_row_groups(), theirs_meta.num_row_groups());
    for g in 0..ours_meta.num_row_groups() {
        let (a, b) = (ours_meta.row_group(g), theirs_meta.row_group(g));
        assert_eq!(a.num_rows(), b.num_rows());
        for c in 0..a.num_columns() {
            let (ca, cb) = (a.column(c), b.column(c));
            let name = ca.column_path().string();
            let (sa, sb) = (ca.statistics().unwrap(), cb.statistics().unwrap());
            assert_eq!(
                sa.null_count_opt(),
                sb.null_count_opt(),
                "{name} in group {g}"
            );
            assert_eq!(
                sa.min_bytes_opt(),
                sb.min_bytes_opt(),
                "{name} in group {g}"
            );
            assert_eq!(
                sa.max_bytes_opt(),
                sb.max_bytes_opt(),
                "{name} in group {g}"
            );
            assert_eq!(
                ca.definition_level_histogram(),
                cb.definition_level_histogram(),
                "{name} in group {g}"
            );
            let dictionary = |e: Vec<Encoding>| e.contains(&Encoding::RLE_DICTIONARY);
            assert_eq!(
                dictionary(ca.encodings().collect()),
                dictionary(cb.encodings().collect()),
                "{name} in group {g}"
            );
            // The page index: where both cut pages at the same rows (always below 20,000 rows
            // a chunk), the same entries; else at least one of ours.
            let (ia, ib) = (
                &ours_meta.column_index().unwrap()[g][c],
                &theirs_meta.column_index().unwrap()[g][c],
            );
            let firsts = |m: &ParquetMetaData| -> Vec<i64> {
                m.offset_index().unwrap()[g][c]
                    .page_locations()
                    .iter()
                    .map(|p| p.first_row_index)
                    .collect()
            };
            assert!(!matches!(ia, ColumnIndexMetaData::NONE), "{name}");
            assert!(!firsts(&ours_meta).is_empty(), "{name}");
            if firsts(&ours_meta) == firsts(&theirs_meta) {
                assert_eq!(ia, ib, "{name} in group {g}");
            }
        }
    }
}

/// The batches a conversion of `files` hands its sink, and their schema.
fn decoded(files: &[std::path::PathBuf]) -> (SchemaRef, Vec<RecordBatch>) {
    let inputs = files.iter().cloned().map(Input::Path).collect();
    let dec = Decoder::new(
        inputs,
        Options {
            chunk_bytes: 4096,
            ..Options::default()
        },
    )
    .unwrap();
    let schema = dec.schema();
    let mut batches = Vec::new();
    dec.run(
        |b| {
            batches.push(b);
            Ok(())
        },
        &mut |_| {},
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap();
    (schema, batches)
}

#[test]
fn flow_logs_write_as_arrow_rs_writes_them() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let logs = root.join("query").join("logs");
    let files = vec![
        logs.join("vpc-all.log"),
        logs.join("tgw.log"),
        logs.join("hot.log"),
        root.join("sample-default.log"),
    ];
    let (schema, batches) = decoded(&files);
    // Several row groups, each cut across batches.
    same_as_arrow_rs(&schema, &batches, 777);
    same_as_arrow_rs(&schema, &batches, 1 << 20);
}

#[test]
fn a_dictionary_past_its_limit_and_nulls_write_as_arrow_rs_writes_them() {
    // 60,000 distinct values of about 25 bytes: past the 1 MiB dictionary limit within the row
    // group, so both writers go on with PLAIN pages; every seventh value null, and one run of
    // nulls longer than a page.
    let values: Vec<Option<String>> = (0..60_000)
        .map(|i| {
            (i % 7 != 3 && !(30_000..52_000).contains(&i))
                .then(|| format!("value-{:020}", (i * 7919) % 60_000))
        })
        .collect();
    let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Utf8, true)]));
    let batches: Vec<RecordBatch> = values
        .chunks(9_000)
        .map(|c| {
            let a: ArrayRef = Arc::new(c.iter().map(|v| v.as_deref()).collect::<StringArray>());
            RecordBatch::try_new(schema.clone(), vec![a]).unwrap()
        })
        .collect();
    same_as_arrow_rs(&schema, &batches, 1 << 20);
    same_as_arrow_rs(&schema, &batches, 25_000);
}

#[test]
fn dictionary_arrays_write_the_same_file_as_their_text() {
    // As the attribution hands them: keys (some null) into one values array (some null) shared
    // by every batch.
    let values: ArrayRef = Arc::new(StringArray::from(vec![
        Some("interface"),
        None,
        Some("nat_gateway"),
        Some("vpc_endpoint"),
        Some("lambda"),
    ]));
    let text_schema = Arc::new(Schema::new(vec![Field::new(
        "eni_type",
        DataType::Utf8,
        true,
    )]));
    let dict_schema = Arc::new(Schema::new(vec![Field::new(
        "eni_type",
        DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8)),
        true,
    )]));
    let (mut as_dict, mut as_text) = (Vec::new(), Vec::new());
    for b in 0..7u32 {
        let keys: UInt32Array = (0..5_000u32)
            .map(|i| (i % 11 != 0).then_some((i * 31 + b) % 5))
            .collect();
        let d = DictionaryArray::<UInt32Type>::try_new(keys, values.clone()).unwrap();
        let text = arrow::compute::cast(&d, &DataType::Utf8).unwrap();
        assert!(text.null_count() > 0);
        as_dict.push(RecordBatch::try_new(dict_schema.clone(), vec![Arc::new(d)]).unwrap());
        as_text.push(RecordBatch::try_new(text_schema.clone(), vec![text]).unwrap());
    }
    for group_rows in [1 << 20, 4_000] {
        // The sink is opened with the text schema, as the decoder's `schema()` gives it.
        let from_dict = write(&text_schema, &as_dict, true, group_rows);
        let from_text = write(&text_schema, &as_text, true, group_rows);
        assert_eq!(read(from_dict.clone()).0, read(from_text).0);
        assert_eq!(read(from_dict).0.schema(), text_schema);
        // A sink that leaves the column to arrow-rs casts the dictionary back to text.
        let by_arrow_rs = write(&text_schema, &as_dict, false, group_rows);
        assert_eq!(
            read(by_arrow_rs).0,
            concat_batches(&text_schema, &as_text).unwrap()
        );
    }
}

/// Every row of the Parquet files under `path` (a file or a dataset directory), each as text,
/// sorted, with the files' schema.
fn rows_of(path: &std::path::Path) -> (Vec<String>, SchemaRef) {
    let mut files = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(d) = dirs.pop() {
        if d.is_file() {
            files.push(d);
            continue;
        }
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() || name.ends_with(".parquet") {
                dirs.push(p);
            }
        }
    }
    let mut rows = Vec::new();
    let mut schema = None;
    for f in files {
        let (batch, _) = read(Bytes::from(std::fs::read(&f).unwrap()));
        schema.get_or_insert_with(|| batch.schema());
        let fmt: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| {
                arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &Default::default())
                    .unwrap()
            })
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(
                fmt.iter()
                    .map(|f| f.value(r).to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            );
        }
    }
    rows.sort();
    (rows, schema.unwrap())
}

#[test]
fn attributed_datasets_hold_the_rows_of_the_attributed_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let logs = root.join("query").join("logs");
    let inventory = root.join("query").join("inventory.json");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("flows.parquet");
    let convert = |out: &std::path::Path, extra: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vpcflow"));
        cmd.arg("convert")
            .arg(logs.join("vpc-all.log"))
            .arg(logs.join("hot.log"))
            .arg("-o")
            .arg(out)
            .arg("-q")
            .arg("--eni-inventory")
            .arg(&inventory)
            .args(extra);
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    convert(&file, &[]);
    let (want, schema) = rows_of(&file);
    assert!(schema.field_with_name("eni_name").is_ok());
    assert!(want.iter().any(|r| r.contains("eni-")), "no attributed row");
    // Partitioned by time (the attribution's columns come as dictionaries), and by one of the
    // attribution's columns (they come as text).
    for (name, by) in [("by-date", "date"), ("by-vpc", "eni_vpc_id")] {
        let dir = tmp.path().join(name);
        convert(&dir, &["--partition-by", by]);
        let (got, got_schema) = rows_of(&dir);
        assert_eq!(got_schema, schema, "{name}");
        assert_eq!(got, want, "{name}");
    }
}
