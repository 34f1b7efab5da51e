//! The same records delivered the ways AWS delivers them — plain text, gzip (several members), a
//! directory tree in AWS's S3 layout, CloudWatch Logs subscription payloads (gzip, concatenated as
//! Firehose writes them, with a control message), Firehose records (one per line and back to
//! back), CloudWatch export lines, AWS-style Parquet, and standard input — convert to identical
//! rows. Broken deliveries (truncated or corrupt gzip, malformed envelopes) fail or refuse only
//! what is broken, named with input and offset, and the counts still add up.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use arrow::array::{Array, StringArray};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use common::*;
use flate2::Compression;
use flate2::write::GzEncoder;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// JSON string literal.
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

struct Records {
    header: String,
    lines: Vec<String>,
}

fn records() -> Records {
    let text = std::fs::read_to_string(testdata("query").join("logs").join("vpc-all.log")).unwrap();
    let mut it = text.lines();
    let header = it.next().unwrap().to_string();
    Records {
        header,
        lines: it
            .filter(|l| !l.trim().is_empty())
            .map(String::from)
            .collect(),
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Converts to Parquet, checks the stats add up, and renders the rows without the CloudWatch
/// columns (which only envelope inputs have), plus the stats.
fn convert(inputs: &[&str], extra: &[&str], dir: &Path, tag: &str) -> (String, serde_json::Value) {
    let out = dir.join(format!("{tag}.parquet"));
    let stats = dir.join(format!("{tag}.stats.json"));
    let (out_s, stats_s) = (s(&out), s(&stats));
    let mut args = vec!["convert"];
    args.extend_from_slice(inputs);
    args.extend_from_slice(&["-o", &out_s, "--stats", &stats_s, "-q"]);
    args.extend_from_slice(extra);
    let o = vpcflow(&args);
    assert!(
        o.status.success(),
        "{tag}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(
        stats["records"].as_u64().unwrap(),
        stats["rows_written"].as_u64().unwrap() + stats["rejected"].as_u64().unwrap(),
        "{tag}: {stats}"
    );
    (render_without_cloudwatch(&out), stats)
}

fn render_without_cloudwatch(path: &Path) -> String {
    let (schema, batches) = read_parquet(path);
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !matches!(schema.field(i).name().as_str(), "log_group" | "log_stream"))
        .collect();
    let projected = schema.project(&keep).unwrap();
    let batches: Vec<RecordBatch> = batches.iter().map(|b| b.project(&keep).unwrap()).collect();
    render(&projected, &batches)
}

fn column_values(path: &Path, name: &str) -> Vec<Option<String>> {
    let (_, batches) = read_parquet(path);
    let mut v = Vec::new();
    for b in batches {
        let c = b.column_by_name(name).expect(name);
        let c = c.as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..c.len() {
            v.push(c.is_valid(i).then(|| c.value(i).to_string()));
        }
    }
    v
}

/// CloudWatch Logs subscription payloads for `lines`, `per` events each, alternating two streams.
fn cloudwatch_payloads(lines: &[String], per: usize) -> Vec<String> {
    lines
        .chunks(per)
        .enumerate()
        .map(|(k, chunk)| {
            let events: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    format!(
                        r#"{{"id":"{}","timestamp":1700000000000,"message":{}}}"#,
                        k * 1000 + i,
                        js(m)
                    )
                })
                .collect();
            format!(
                r#"{{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/vpc/flows","logStream":"eni-{}-all","subscriptionFilters":["to-firehose"],"logEvents":[{}]}}"#,
                k % 2,
                events.join(",")
            )
        })
        .collect()
}

const CONTROL: &str = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1700000000000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;

#[test]
fn every_delivery_form_gives_the_same_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let r = records();
    let n = r.lines.len();
    let body = r.lines.join("\n") + "\n";
    let with_header = format!("{}\n{body}", r.header);
    let fields = ["--fields", r.header.as_str()];

    // Reference: the plain file.
    let plain = dir.join("plain.log");
    std::fs::write(&plain, &with_header).unwrap();
    let (want, stats) = convert(&[&s(&plain)], &[], dir, "plain");
    assert_eq!(stats["rows_written"].as_u64().unwrap(), n as u64);
    assert_eq!(want.lines().count(), n + 1);

    // gzip in three members, named without .gz (found by magic bytes).
    let gz = dir.join("members.bin");
    let third = n / 3;
    let mut bytes = gzip(format!("{}\n", r.header).as_bytes());
    bytes.extend(gzip((r.lines[..third].join("\n") + "\n").as_bytes()));
    bytes.extend(gzip((r.lines[third..].join("\n") + "\n").as_bytes()));
    std::fs::write(&gz, bytes).unwrap();
    assert_eq!(convert(&[&s(&gz)], &[], dir, "gzip").0, want, "gzip");

    // A tree in AWS's layout: one .log.gz per hour, each with its header, plus a stray file.
    let tree = dir.join("AWSLogs");
    for (h, part) in r.lines.chunks(n.div_ceil(4)).enumerate() {
        let d = tree.join("123456789012/vpcflowlogs/us-east-1/2026/11/25");
        std::fs::create_dir_all(&d).unwrap();
        let name = format!("123456789012_vpcflowlogs_us-east-1_fl-1_20261125T{h:02}00Z_abc.log.gz");
        let text = format!("{}\n{}\n", r.header, part.join("\n"));
        std::fs::write(d.join(name), gzip(text.as_bytes())).unwrap();
    }
    std::fs::write(tree.join("README.txt"), "not a log").unwrap();
    // Reader threads read ahead several inputs at once: any thread count, same rows in order.
    for threads in ["1", "2", "5"] {
        assert_eq!(
            convert(
                &[&s(&tree)],
                &[
                    "--include",
                    "*.log.gz",
                    "--threads",
                    threads,
                    "--window-bytes",
                    "4096"
                ],
                dir,
                "tree"
            )
            .0,
            want,
            "tree, {threads} threads"
        );
    }

    // CloudWatch Logs subscription payloads, each gzipped, back to back (as Firehose stores
    // them), with a control message first.
    let payloads = cloudwatch_payloads(&r.lines, 97);
    let mut cw = gzip(CONTROL.as_bytes());
    for p in &payloads {
        cw.extend(gzip(p.as_bytes()));
    }
    let cw_path = dir.join("firehose-cw.gz");
    std::fs::write(&cw_path, &cw).unwrap();
    let (got, stats) = convert(&[&s(&cw_path)], &fields, dir, "cloudwatch");
    assert_eq!(got, want, "CloudWatch payloads");
    assert_eq!(stats["control_messages"], 1);
    let groups = column_values(&dir.join("cloudwatch.parquet"), "log_group");
    assert!(groups.iter().all(|g| g.as_deref() == Some("/vpc/flows")));
    let streams = column_values(&dir.join("cloudwatch.parquet"), "log_stream");
    assert_eq!(streams.len(), n);
    for (i, st) in streams.iter().enumerate() {
        assert_eq!(
            st.as_deref(),
            Some(format!("eni-{}-all", (i / 97) % 2).as_str())
        );
    }

    // One uncompressed payload, pretty-printed over many lines.
    let pretty: serde_json::Value = serde_json::from_str(&payloads[0]).unwrap();
    let pretty_path = dir.join("payload.json");
    std::fs::write(&pretty_path, serde_json::to_string_pretty(&pretty).unwrap()).unwrap();
    let (got, _) = convert(&[&s(&pretty_path)], &fields, dir, "pretty");
    let want_97: Vec<&str> = want.lines().take(98).collect();
    assert_eq!(got.lines().collect::<Vec<_>>(), want_97, "pretty payload");

    // Firehose records: back to back without line feeds, and one per line.
    let concat: String = r
        .lines
        .iter()
        .map(|l| format!("{{\"message\":{}}}", js(l)))
        .collect();
    let fh = dir.join("firehose-concat.gz");
    std::fs::write(&fh, gzip(concat.as_bytes())).unwrap();
    assert_eq!(convert(&[&s(&fh)], &fields, dir, "fh").0, want, "Firehose");
    let per_line: String = r
        .lines
        .iter()
        .map(|l| format!("{{\"message\":{}}}\n", js(l)))
        .collect();
    let fh_lines = dir.join("firehose-lines.json");
    std::fs::write(&fh_lines, per_line).unwrap();
    assert_eq!(
        convert(&[&s(&fh_lines)], &fields, dir, "fhl").0,
        want,
        "Firehose, one per line"
    );

    // CloudWatch export: a timestamp before each record.
    let export: String = r
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("2026-11-25T20:{:02}:00.000Z {l}\n", i % 60))
        .collect();
    let ex = dir.join("000000.gz");
    std::fs::write(&ex, gzip(export.as_bytes())).unwrap();
    assert_eq!(
        convert(&[&s(&ex)], &fields, dir, "export").0,
        want,
        "export"
    );

    // AWS-style Parquet: AWS's hyphenated column names.
    let (schema, batches) = read_parquet(&dir.join("plain.parquet"));
    let aws_schema = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name().replace('_', "-"), f.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    for codec in [
        parquet::basic::Compression::GZIP(Default::default()),
        parquet::basic::Compression::SNAPPY,
        parquet::basic::Compression::ZSTD(Default::default()),
        parquet::basic::Compression::UNCOMPRESSED,
        parquet::basic::Compression::BROTLI(Default::default()),
        parquet::basic::Compression::LZ4_RAW,
    ] {
        let aws_pq = dir.join(format!("aws-{codec}.log.parquet"));
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(codec)
            .set_max_row_group_row_count(Some(400))
            .build();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&aws_pq).unwrap(),
            aws_schema.clone(),
            Some(props),
        )
        .unwrap();
        for b in &batches {
            w.write(&RecordBatch::try_new(aws_schema.clone(), b.columns().to_vec()).unwrap())
                .unwrap();
        }
        w.close().unwrap();
        assert_eq!(
            convert(&[&s(&aws_pq)], &[], dir, "awsparquet").0,
            want,
            "AWS Parquet, {codec}"
        );
    }

    // Standard input: CloudWatch payloads (gzip) and Firehose records.
    for (tag, data) in [("stdin-cw", cw.clone()), ("stdin-fh", concat.into_bytes())] {
        let out = dir.join(format!("{tag}.parquet"));
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vpcflow"))
            .args(["convert", "-", "-o", &s(&out), "-q"])
            .args(fields)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&data));
        let o = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(
            o.status.success(),
            "{tag}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(render_without_cloudwatch(&out), want, "{tag}");
    }
}

#[test]
fn cloudwatch_payloads_to_ecs_carry_log_group_and_stream() {
    let tmp = tempfile::tempdir().unwrap();
    let r = records();
    let payloads = cloudwatch_payloads(&r.lines[..5], 5);
    let p = tmp.path().join("cw.json");
    std::fs::write(&p, &payloads[0]).unwrap();
    let o = vpcflow(&[
        "convert",
        &s(&p),
        "--to",
        "ecs",
        "-o",
        "-",
        "--fields",
        &r.header,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let docs: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 5);
    for d in &docs {
        assert_eq!(d["aws"]["cloudwatch"]["log_group"], "/vpc/flows");
        assert_eq!(d["aws"]["cloudwatch"]["log_stream"], "eni-0-all");
        assert!(d["aws"]["vpcflow"].get("log_group").is_none());
    }
}

fn run_stats(args: &[&str], stats: &Path) -> (i32, String, serde_json::Value) {
    let mut all = args.to_vec();
    let st = s(stats);
    all.extend_from_slice(&["--stats", &st]);
    let o = vpcflow(&all);
    let v = serde_json::from_str(&std::fs::read_to_string(stats).unwrap_or("null".into()))
        .unwrap_or(serde_json::Value::Null);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        v,
    )
}

#[test]
fn broken_gzip_fails_that_input_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let r = records();
    let text = format!("{}\n{}\n", r.header, r.lines.join("\n"));
    let good = dir.join("good.log.gz");
    std::fs::write(&good, gzip(text.as_bytes())).unwrap();
    let full = gzip(text.as_bytes());
    // Truncated: the stream ends before its trailer.
    let truncated = dir.join("truncated.log.gz");
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    // Corrupt: bytes in the middle of the deflate data overwritten.
    let corrupt = dir.join("corrupt.log.gz");
    let mut bad = full.clone();
    let mid = bad.len() / 2;
    for b in &mut bad[mid..mid + 64] {
        *b = 0xff;
    }
    std::fs::write(&corrupt, &bad).unwrap();
    // Only the magic bytes.
    let stub = dir.join("stub.log.gz");
    std::fs::write(&stub, [0x1f, 0x8b]).unwrap();

    let out = dir.join("out.parquet");
    let (code, err, stats) = run_stats(
        &[
            "convert",
            &s(&truncated),
            &s(&good),
            &s(&corrupt),
            &s(&stub),
            "-o",
            &s(&out),
        ],
        &dir.join("stats.json"),
    );
    assert_ne!(code, 0, "failed inputs must fail the run: {err}");
    for name in ["truncated.log.gz", "corrupt.log.gz", "stub.log.gz"] {
        assert!(err.contains(name), "{name} not named in: {err}");
    }
    assert!(!err.contains("good.log.gz:"), "{err}");
    assert_eq!(stats["failed_inputs"], 3, "{stats}");
    assert_eq!(stats["inputs"], 4);
    let records = stats["records"].as_u64().unwrap();
    assert_eq!(
        records,
        stats["rows_written"].as_u64().unwrap() + stats["rejected"].as_u64().unwrap()
    );
    // The good file is there in full.
    assert!(stats["rows_written"].as_u64().unwrap() >= r.lines.len() as u64);
}

#[test]
fn malformed_envelopes_are_refused_by_record_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let r = records();
    let p = cloudwatch_payloads(&r.lines[..4], 2);
    // payload 0 fine; a broken object; payload 1 with one event lacking its message; garbage.
    let broken = r#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"x","message":}]}"#;
    let p1 = p[1].replacen("\"message\":", "\"msg\":", 1);
    let text = format!("{}{broken}\n{p1}\nnot json at all\n", p[0]);
    let path = dir.join("cw-bad.json");
    std::fs::write(&path, &text).unwrap();
    let rejects = dir.join("rejects.txt");
    let (code, err, stats) = run_stats(
        &[
            "convert",
            &s(&path),
            "-o",
            &s(&dir.join("o.parquet")),
            "--fields",
            &r.header,
            "--rejects",
            &s(&rejects),
        ],
        &dir.join("st.json"),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(stats["rows_written"], 3, "{stats} {err}");
    assert_eq!(stats["rejected"], 3, "{stats} {err}");
    let broken_at = p[0].len();
    assert!(
        err.contains("cw-bad.json:3: malformed JSON envelope"),
        "{err}"
    );
    assert!(
        err.contains(&format!("JSON object at byte {broken_at})")),
        "{err}"
    );
    assert!(
        err.contains("cw-bad.json:4: CloudWatch log event 0 (id 1000) has no string message"),
        "{err}"
    );
    assert!(
        err.contains("cw-bad.json:6: text outside any JSON object"),
        "{err}"
    );
    let written = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(written.lines().count(), 3, "{written}");
}
