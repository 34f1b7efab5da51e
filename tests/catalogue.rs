//! The bad-input catalogue: every case is converted next to a good file. For each: no panic, the
//! good file's rows all arrive, `records == rows_written + rejected` in `--stats`, the case's
//! own counts are what they should be, and the message names the file (and the line, where there
//! is one) with the reason.

mod common;

use std::io::Write;
use std::path::Path;

use common::*;
use flate2::Compression;
use flate2::write::GzEncoder;

const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
const GOOD: &str = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";

fn good_file() -> String {
    format!("{HEADER}\n{GOOD}\n{GOOD}\n{GOOD}\n")
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Lines after the header, as a file.
fn with_header(lines: &[&str]) -> Vec<u8> {
    let mut s = format!("{HEADER}\n");
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s.into_bytes()
}

fn good_with(field: usize, value: &str) -> String {
    let mut t: Vec<&str> = GOOD.split(' ').collect();
    t[field] = value;
    t.join(" ")
}

struct Case {
    name: &'static str,
    /// File name (its extension matters to nobody: content decides).
    file: &'static str,
    bytes: Vec<u8>,
    extra: Vec<&'static str>,
    rows: u64,
    rejected: u64,
    failed: u64,
    /// Texts stderr must hold (besides the file name when something was refused or failed).
    says: Vec<&'static str>,
}

fn case(name: &'static str, file: &'static str, bytes: Vec<u8>) -> Case {
    Case {
        name,
        file,
        bytes,
        extra: Vec::new(),
        rows: 0,
        rejected: 0,
        failed: 0,
        says: Vec::new(),
    }
}

impl Case {
    fn rows(mut self, n: u64) -> Self {
        self.rows = n;
        self
    }
    fn rejected(mut self, n: u64) -> Self {
        self.rejected = n;
        self
    }
    fn failed(mut self) -> Self {
        self.failed = 1;
        self
    }
    fn says(mut self, s: &'static str) -> Self {
        self.says.push(s);
        self
    }
    fn args(mut self, a: &[&'static str]) -> Self {
        self.extra.extend_from_slice(a);
        self
    }
}

fn parquet_with_wrong_type() -> Vec<u8> {
    use arrow::array::{ArrayRef, Float64Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![
        Field::new("srcaddr", arrow::datatypes::DataType::Utf8, true),
        Field::new("bytes", arrow::datatypes::DataType::Float64, true),
    ]));
    let batch = arrow::record_batch::RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["10.0.0.1"])) as ArrayRef,
            Arc::new(Float64Array::from(vec![1.5])),
        ],
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    buf
}

/// Pseudo-random bytes without a single line feed.
fn garbage_without_line_feeds(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|i| {
            if i == 0 {
                return b'G';
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match (x >> 24) as u8 {
                b'\n' => b'?',
                b => b,
            }
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let long_line = format!(
        "2 123456789010 eni-1 {} 172.31.16.21 1 2 6 1 1 1 2 ACCEPT OK",
        "1".repeat(10 << 20)
    );
    let mut garbage = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..20_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        garbage.push((x >> 16) as u8);
    }
    let garbage_lines = garbage.iter().filter(|&&b| b == b'\n').count() as u64;
    let full_gz = gz(&with_header(&[GOOD, GOOD, GOOD, GOOD, GOOD, GOOD, GOOD, GOOD]).repeat(2000));
    let mut corrupt_gz = full_gz.clone();
    let mid = corrupt_gz.len() / 2;
    corrupt_gz[mid..mid + 32].fill(0xAA);
    vec![
        case("too few tokens", "few.log", with_header(&["2 123 eni-1 1.2.3.4"]))
            .rejected(1)
            .says("few.log:2:")
            .says("4 tokens"),
        case("too many tokens", "many.log", with_header(&[&(GOOD.to_string() + " extra")]))
            .rejected(1)
            .says("many.log:2:")
            .says("15 tokens"),
        case("integer overflow", "overflow.log", with_header(&[&good_with(9, "99999999999999999999999")]))
            .rejected(1)
            .says("overflow.log:2: bytes: integer out of range"),
        case("negative port", "negport.log", with_header(&[&good_with(5, "-1")]))
            .rejected(1)
            .says("negport.log:2: srcport"),
        case("port above 65535", "bigport.log", with_header(&[&good_with(6, "65536")]))
            .rejected(1)
            .says("bigport.log:2: dstport"),
        case("protocol above 255", "proto.log", with_header(&[&good_with(7, "256")]))
            .rejected(1)
            .says("proto.log:2: protocol"),
        case("letters in a number", "letters.log", with_header(&[&good_with(8, "twenty")]))
            .rejected(1)
            .says("letters.log:2: packets: not a decimal integer"),
        case("bad IPv4", "ip4.log", with_header(&[&good_with(3, "172.31.16.300")]))
            .rejected(1)
            .says("ip4.log:2: srcaddr: not an IP address"),
        case("bad IPv6", "ip6.log", with_header(&[&good_with(4, "2600:1f18::zz")]))
            .rejected(1)
            .says("ip6.log:2: dstaddr: not an IP address"),
        case("non-UTF-8 bytes", "latin1.log", {
            let mut b = with_header(&[GOOD]);
            b.extend_from_slice(b"2 123456789010 eni-\xe9\xff 172.31.16.139 172.31.16.21 1 2 6 1 1 1 2 ACCEPT OK\n");
            b
        })
        .rows(1)
        .rejected(1)
        .says("latin1.log:3: invalid UTF-8"),
        case("NUL byte", "nul.log", with_header(&[&good_with(2, "eni-1\0x"), GOOD]))
            .rows(2),
        case("NUL in a number", "nulnum.log", with_header(&[&good_with(9, "42\0")]))
            .rejected(1)
            .says("nulnum.log:2: bytes"),
        case("10 MB line", "huge.log", with_header(&[GOOD, &long_line, GOOD]))
            .rows(2)
            .rejected(1)
            .says("huge.log:3: line too long: 10485818 bytes"),
        case("a line just within --max-line-bytes", "limit.log", with_header(&[GOOD, &format!("{GOOD}{}", " ".repeat(200 - GOOD.len())), GOOD]))
            .args(&["--max-line-bytes", "200"])
            .rows(3),
        case("a line one byte over --max-line-bytes", "over.log", with_header(&[GOOD, &format!("{GOOD}{}", " ".repeat(201 - GOOD.len())), GOOD]))
            .args(&["--max-line-bytes", "200"])
            .rows(2)
            .rejected(1)
            .says("over.log:3: line too long: 201 bytes"),
        case("3 MB without a line feed", "noeol.bin", garbage_without_line_feeds(3 << 20))
            .args(&["--window-bytes", "65536"])
            .rejected(1)
            .says("noeol.bin:1: line too long: 3145728 bytes"),
        case("gzip of a 3 MB line between records", "bomb.log.gz", gz(&with_header(&[GOOD, &"x".repeat(3 << 20), GOOD])))
            .args(&["--window-bytes", "65536"])
            .rows(2)
            .rejected(1)
            .says("bomb.log.gz:3: line too long: 3145728 bytes"),
        case("CloudWatch payload over the object limit", "cwbig.json", {
            let big = format!(r#"{{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{{"id":"1","timestamp":1,"message":"{}"}}]}}"#, "y".repeat(20_000));
            let small = format!(r#"{{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{{"id":"2","timestamp":2,"message":"{GOOD}"}}]}}"#);
            format!("{small}{big}{small}").into_bytes()
        })
        .args(&["--max-line-bytes", "200", "--window-bytes", "4096"])
        .rows(2)
        .rejected(1)
        .says("cwbig.json:2: JSON object too long"),
        case("tab separators", "tabs.log", with_header(&[&GOOD.replace(' ', "\t")])).rows(1),
        case("CRLF line ends", "crlf.log", with_header(&[GOOD, GOOD]).iter().flat_map(|&b| if b == b'\n' { vec![b'\r', b'\n'] } else { vec![b] }).collect())
            .rows(2),
        case("trailing spaces", "trailing.log", with_header(&[&format!("{GOOD}   "), &format!("  {GOOD}\t")])).rows(2),
        case("byte order mark", "bom.log", [b"\xEF\xBB\xBF".as_slice(), &with_header(&[GOOD])].concat()).rows(1),
        case("header only", "header-only.log", with_header(&[])),
        case("empty file", "empty.log", Vec::new()),
        case("blank lines only", "blank.log", b"\n\n   \n\t\n".to_vec()),
        case("binary garbage", "garbage.bin", garbage.clone())
            .rejected(garbage_lines + 1)
            .says("garbage.bin"),
        case("header with duplicate names", "dup.log", b"version srcaddr srcaddr\n2 1.2.3.4 1.2.3.5\n".to_vec())
            .failed()
            .says("dup.log: line 1")
            .says("srcaddr"),
        case("unknown field names", "unknown.log", b"version my-extra srcaddr\n2 hello 1.2.3.4\n".to_vec())
            .rows(1)
            .says("doesn't know")
            .says("my-extra"),
        case("repeated header mid-file", "repeat.log", with_header(&[GOOD, HEADER, GOOD])).rows(2),
        case("all-dash record", "dashes.log", with_header(&["- - - - - - - - - - - - - -"])).rows(1),
        case("truncated gzip", "trunc.log.gz", full_gz[..full_gz.len() * 2 / 3].to_vec())
            .failed()
            .says("trunc.log.gz"),
        case("corrupt gzip", "corrupt.log.gz", corrupt_gz).failed().says("corrupt.log.gz"),
        case("gzip magic, no gzip", "magic.log.gz", b"\x1f\x8bnot really gzip at all\n".to_vec())
            .failed()
            .says("magic.log.gz"),
        case("gzip of garbage", "garbage.gz", gz(&garbage))
            .rejected(garbage_lines + 1)
            .says("garbage.gz"),
        case("envelope without message", "nomsg.json", b"{\"msg\":\"2 1 eni-1\"}\n".to_vec())
            .rejected(1)
            .says("nomsg.json:1: JSON envelope has no string \"message\" member"),
        case("malformed envelope", "badjson.json", b"{\"message\": \"unterminated}\n".to_vec())
            .rejected(1)
            .says("badjson.json:1: malformed JSON envelope"),
        case("CloudWatch event without message", "cw.json", br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"7","timestamp":1,"message":"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"},{"id":"8","timestamp":2}]}"#.to_vec())
            .rows(1)
            .rejected(1)
            .says("cw.json:2: CloudWatch log event 1 (id 8) has no string message"),
        case("Parquet with a wrong type", "wrong.parquet", parquet_with_wrong_type())
            .failed()
            .says("wrong.parquet")
            .says("bytes"),
        case("header-less line fitting no layout", "headerless.log", b"hello world this is not a flow log\n".to_vec())
            .rejected(1)
            .says("headerless.log:1:"),
        case("--fields with the wrong count", "fields.log", b"2 123 eni-1\n".to_vec())
            .args(&["--fields", "version account-id"])
            .rejected(1)
            .says("fields.log:1: 3 tokens, but the layout (--fields) has 2"),
    ]
}

fn stats_of(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_bad_input_is_named_counted_and_contained() {
    let all = cases();
    assert!(all.len() >= 30, "{} cases", all.len());
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (i, c) in all.iter().enumerate() {
        let dir = tmp.path().join(format!("case{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("a-good.log");
        std::fs::write(&good, good_file()).unwrap();
        let bad = dir.join(c.file);
        std::fs::write(&bad, &c.bytes).unwrap();
        let stats = dir.join("stats.json");
        let out = dir.join("out.parquet");
        let mut args: Vec<String> = vec![
            "convert".into(),
            good.display().to_string(),
            bad.display().to_string(),
            "-o".into(),
            out.display().to_string(),
            "--stats".into(),
            stats.display().to_string(),
            "--show-rejects".into(),
            "100000".into(),
        ];
        args.extend(c.extra.iter().map(|s| s.to_string()));
        // The good file has a header; --fields (if any) applies to the header-less case file.
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = vpcflow(&argv);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let code = o.status.code().unwrap_or(-1);
        let mut problems = Vec::new();
        if err.contains("panicked") || code == 101 || code < 0 {
            problems.push(format!("crashed (exit {code})"));
        }
        if !stats.exists() {
            problems.push(format!("no stats (exit {code}): {err}"));
            failures.push(format!("{}: {}", c.name, problems.join("; ")));
            continue;
        }
        let st = stats_of(&stats);
        let g = |k: &str| st[k].as_u64().unwrap_or(u64::MAX);
        if g("records") != g("rows_written") + g("rejected") {
            problems.push(format!("records != rows + rejected: {st}"));
        }
        if g("rows_written") != 3 + c.rows {
            problems.push(format!("rows {} != 3 + {}", g("rows_written"), c.rows));
        }
        if g("rejected") != c.rejected {
            problems.push(format!("rejected {} != {}", g("rejected"), c.rejected));
        }
        if g("failed_inputs") != c.failed {
            problems.push(format!(
                "failed inputs {} != {}",
                g("failed_inputs"),
                c.failed
            ));
        }
        let want_code = if c.failed > 0 { 1 } else { 0 };
        if code != want_code {
            problems.push(format!("exit {code}, wanted {want_code}"));
        }
        if (c.rejected > 0 || c.failed > 0) && !err.contains(c.file) {
            problems.push("stderr doesn't name the file".to_string());
        }
        for s in &c.says {
            if !err.contains(s) {
                problems.push(format!("stderr lacks {s:?}"));
            }
        }
        if !problems.is_empty() {
            let shown: String = err.chars().take(600).collect();
            failures.push(format!(
                "{}: {}\n    stderr: {shown}",
                c.name,
                problems.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn clearly_not_flow_logs_stops_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let text: String = (0..5000)
        .map(|i| format!("GET /index{i}.html HTTP/1.1 200\n"))
        .collect();
    let p = tmp.path().join("access.log");
    std::fs::write(&p, text).unwrap();
    let out = tmp.path().join("o.parquet");
    let o = vpcflow(&[
        "convert",
        &p.display().to_string(),
        "-o",
        &out.display().to_string(),
        "--max-rejects",
        "5%",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("access.log"), "{err}");
    assert!(err.contains("does not look like flow logs"), "{err}");
    assert!(!out.exists(), "no output from a run stopped like that");
}
