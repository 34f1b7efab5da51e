//! Helpers shared by the integration tests: running the binary, reading Parquet back, and
//! rendering batches as canonical text.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::{Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn testdata(name: &str) -> PathBuf {
    repo().join("testdata").join(name)
}

/// Runs the vpcflow binary.
pub fn vpcflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vpcflow"))
        .args(args)
        .output()
        .expect("run vpcflow")
}

/// Every path below `dir`, directories included, recursively.
pub fn walk_all(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_all(&p));
        }
        out.push(p);
    }
    out
}

/// Reads a Parquet file back into batches.
pub fn read_parquet(path: &Path) -> (arrow::datatypes::SchemaRef, Vec<RecordBatch>) {
    let file = std::fs::File::open(path).expect("open parquet");
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet footer");
    let schema = builder.schema().clone();
    let batches = builder
        .build()
        .expect("reader")
        .collect::<Result<Vec<_>, _>>()
        .expect("batches");
    (schema, batches)
}

fn type_name(t: &DataType) -> &'static str {
    match t {
        DataType::Int32 => "int32",
        DataType::Int64 => "int64",
        DataType::Utf8 => "utf8",
        _ => "other",
    }
}

/// Canonical text: a `name:type` header line, then one line per row, values separated by `|`,
/// nulls as `NULL`.
pub fn render(schema: &arrow::datatypes::Schema, batches: &[RecordBatch]) -> String {
    let mut out = schema
        .fields()
        .iter()
        .map(|f| format!("{}:{}", f.name(), type_name(f.data_type())))
        .collect::<Vec<_>>()
        .join("|");
    out.push('\n');
    for b in batches {
        for row in 0..b.num_rows() {
            let vals: Vec<String> = b
                .columns()
                .iter()
                .map(|c| {
                    if c.is_null(row) {
                        return "NULL".to_string();
                    }
                    match c.data_type() {
                        DataType::Int32 => c
                            .as_any()
                            .downcast_ref::<Int32Array>()
                            .unwrap()
                            .value(row)
                            .to_string(),
                        DataType::Int64 => c
                            .as_any()
                            .downcast_ref::<Int64Array>()
                            .unwrap()
                            .value(row)
                            .to_string(),
                        DataType::Utf8 => c
                            .as_any()
                            .downcast_ref::<StringArray>()
                            .unwrap()
                            .value(row)
                            .to_string(),
                        t => panic!("unexpected type {t}"),
                    }
                })
                .collect();
            out.push_str(&vals.join("|"));
            out.push('\n');
        }
    }
    out
}

/// An independent, naive reading of a flow log with a header (or given names): split on
/// whitespace, `-` is NULL, types from AWS's Parquet rules written out here again.
pub fn naive(text: &str, names: Option<&str>) -> String {
    const INT32: &[&str] = &[
        "version",
        "srcport",
        "dstport",
        "protocol",
        "tcp_flags",
        "traffic_path",
        "encryption_status",
    ];
    const INT64: &[&str] = &[
        "packets",
        "bytes",
        "start",
        "end",
        "packets_lost_no_route",
        "packets_lost_blackhole",
        "packets_lost_mtu_exceeded",
        "packets_lost_ttl_expired",
    ];
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = match names {
        Some(n) => n.to_string(),
        None => lines.next().unwrap_or("").to_string(),
    };
    let cols: Vec<String> = header
        .split_whitespace()
        .map(|n| {
            let n = n
                .trim_start_matches("${")
                .trim_end_matches('}')
                .replace('-', "_");
            match n.as_str() {
                "pkt_src_service" => "pkt_src_aws_service".to_string(),
                "pkt_dst_service" => "pkt_dst_aws_service".to_string(),
                _ => n,
            }
        })
        .collect();
    let ty = |c: &str| {
        if INT32.contains(&c) {
            "int32"
        } else if INT64.contains(&c) {
            "int64"
        } else {
            "utf8"
        }
    };
    let mut out = cols
        .iter()
        .map(|c| format!("{c}:{}", ty(c)))
        .collect::<Vec<_>>()
        .join("|");
    out.push('\n');
    for l in lines {
        let vals: Vec<String> = l
            .split_whitespace()
            .zip(&cols)
            .map(|(v, c)| match (v, ty(c)) {
                ("-", _) => "NULL".to_string(),
                (v, "utf8") => v.to_string(),
                (v, _) => v.parse::<i64>().expect("integer").to_string(),
            })
            .collect();
        out.push_str(&vals.join("|"));
        out.push('\n');
    }
    out
}

/// Converts `input` (plus extra args) to a temporary Parquet file; returns the rendered rows,
/// the stats JSON and stderr.
pub fn convert_render(input: &Path, extra: &[&str]) -> (String, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let stats = dir.path().join("stats.json");
    let mut args = vec![
        "convert",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = vpcflow(&args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "vpcflow failed: {stderr}");
    let (schema, batches) = read_parquet(&out);
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(
        stats["records"].as_u64().unwrap(),
        stats["rows_written"].as_u64().unwrap() + stats["rejected"].as_u64().unwrap()
    );
    (render(&schema, &batches), stats, stderr)
}

/// A default-format log of `lines` records from a xorshift sequence seeded with `seed`: every
/// `nodata_every`-th record (offset 3) is a NODATA record with `-` (null) fields; the others take
/// their (srcaddr, dstaddr) from `addrs` of the sequence's value, and spread over `enis`
/// interfaces. Ports, packets and bytes vary; start and end grow with the line.
pub fn xorshift_log(
    lines: usize,
    seed: u64,
    nodata_every: usize,
    enis: u64,
    addrs: impl Fn(u64) -> (String, String),
) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        f,
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    )
    .unwrap();
    let mut x = seed;
    for i in 0..lines {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if i % nodata_every == 3 {
            writeln!(
                f,
                "2 123456789010 eni-{:08x} - - - - - - - 1700000000 1700000060 - NODATA",
                x % enis
            )
            .unwrap();
            continue;
        }
        let (src, dst) = addrs(x);
        writeln!(
            f,
            "2 123456789010 eni-{:08x} {src} {dst} {} 443 6 {} {} {} {} ACCEPT OK",
            x % enis,
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

/// A rendering's header line and its rows.
pub fn header_and_rows(rendered: &str) -> (String, Vec<String>) {
    let mut lines = rendered.lines();
    let header = lines.next().unwrap().to_string();
    (header, lines.map(str::to_string).collect())
}

/// The position of column `name` in a rendering's header.
pub fn column_at(header: &str, name: &str) -> usize {
    header
        .split('|')
        .position(|h| h.starts_with(&format!("{name}:")))
        .unwrap()
}

/// Every Parquet part file below a dataset directory, with its rendered rows (header dropped).
pub fn part_file_rows(dir: &Path) -> Vec<(PathBuf, Vec<String>)> {
    walk_all(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .map(|p| {
            let (schema, batches) = read_parquet(&p);
            let (_, rows) = header_and_rows(&render(&schema, &batches));
            (p, rows)
        })
        .collect()
}
