//! Golden tests: each testdata input converted by the real binary, read back from Parquet, and
//! compared with its expected rendering under `testdata/golden/`. Set `UPDATE_GOLDEN=1` to
//! rewrite the expected files (then review the diff).

mod common;

use common::*;

fn golden(case: &str, input: &str, extra: &[&str]) -> (String, serde_json::Value, String) {
    let (got, stats, stderr) = convert_render(&testdata(input), extra);
    let path = testdata("golden").join(format!("{case}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    assert_eq!(got, want, "{case}: output differs from {}", path.display());
    (got, stats, stderr)
}

fn count(stats: &serde_json::Value, key: &str) -> u64 {
    stats[key].as_u64().unwrap()
}

#[test]
fn default_format_from_aws_docs_with_nodata_skipdata_ipv6() {
    let (got, stats, _) = golden("aws-default", "aws-default.log", &[]);
    assert_eq!(
        got,
        naive(
            &std::fs::read_to_string(testdata("aws-default.log")).unwrap(),
            None
        )
    );
    assert_eq!(
        (count(&stats, "records"), count(&stats, "rejected")),
        (8, 0)
    );
    assert!(
        got.contains("NODATA")
            && got.contains("SKIPDATA")
            && got.contains("2001:db8:1234:a100:8d6e:3477:df66:f105")
    );
}

#[test]
fn forty_field_v2_to_v8_pattern() {
    let (got, _, _) = golden("all-40-fields", "all-40-fields.log", &[]);
    assert_eq!(
        got,
        naive(
            &std::fs::read_to_string(testdata("all-40-fields.log")).unwrap(),
            None
        )
    );
    assert_eq!(got.lines().next().unwrap().split('|').count(), 40);
}

#[test]
fn transit_gateway_v6() {
    let (got, _, _) = golden("tgw-v6", "tgw-v6.log", &[]);
    assert_eq!(
        got,
        naive(
            &std::fs::read_to_string(testdata("tgw-v6.log")).unwrap(),
            None
        )
    );
    assert!(got.starts_with("version:int32|resource_type:utf8|account_id:utf8|tgw_id:utf8"));
    assert!(got.contains("packets_lost_no_route:int64"));
}

#[test]
fn shuffled_custom_layout_with_header() {
    let (got, _, _) = golden("shuffled-custom", "shuffled-custom.log", &[]);
    assert_eq!(
        got,
        naive(
            &std::fs::read_to_string(testdata("shuffled-custom.log")).unwrap(),
            None
        )
    );
    let (got, _, _) = golden("vpc-reordered", "vpc-reordered.log", &[]);
    assert_eq!(
        got,
        naive(
            &std::fs::read_to_string(testdata("vpc-reordered.log")).unwrap(),
            None
        )
    );
}

const V5_CUSTOM: &str = "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status";

#[test]
fn headerless_custom_layout_with_fields() {
    let dollar: String = V5_CUSTOM
        .split(' ')
        .map(|n| format!("${{{n}}}"))
        .collect::<Vec<_>>()
        .join(" ");
    let (got, stats, _) = golden(
        "headerless-v5-custom",
        "headerless-v5-custom.log",
        &["--fields", &dollar],
    );
    assert_eq!(
        got,
        naive(
            &std::fs::read_to_string(testdata("headerless-v5-custom.log")).unwrap(),
            Some(V5_CUSTOM)
        )
    );
    assert_eq!(count(&stats, "rows_written"), 2);
    // The same 29 tokens without --fields look like the standard v5 layout by count, but not by
    // shape: every line is refused instead of being misparsed.
    let (got, stats, stderr) = convert_render(&testdata("headerless-v5-custom.log"), &[]);
    assert_eq!(count(&stats, "rejected"), 2);
    assert_eq!(got.lines().count(), 1, "no rows");
    assert!(
        stderr.contains("headerless-v5-custom.log:1:") && stderr.contains("not a valid account-id"),
        "{stderr}"
    );
}

#[test]
fn headerless_standard_layouts_detected_by_count_and_shape() {
    let (got, stats, _) = golden("headerless-standard", "headerless-standard.log", &[]);
    assert_eq!(
        (count(&stats, "rows_written"), count(&stats, "rejected")),
        (5, 0)
    );
    // the NAT example line: instance_id null, pkt_dstaddr 203.0.113.5
    assert!(got.contains("203.0.113.5"));
}

#[test]
fn crlf_and_tabs_and_missing_final_newline() {
    let (crlf, _, _) = convert_render(&testdata("crlf.log"), &[]);
    let (plain, _, _) = convert_render(&testdata("aws-default.log"), &[]);
    assert_eq!(crlf, plain);
    let (got, stats, _) = golden("no-trailing-newline", "no-trailing-newline.log", &[]);
    assert_eq!(count(&stats, "rows_written"), 3);
    assert!(got.ends_with("NODATA\n"), "last line kept: {got}");
    let (got, stats, _) = golden("tabs-and-spaces", "tabs-and-spaces.log", &[]);
    assert_eq!(
        (count(&stats, "rows_written"), count(&stats, "blank_lines")),
        (2, 1)
    );
    assert!(got.contains("|REJECT|OK\n"));
}

#[test]
fn empty_and_header_only_files() {
    let (got, stats, _) = golden("empty", "empty.log", &[]);
    assert_eq!(count(&stats, "records"), 0);
    assert_eq!(got.lines().count(), 1);
    assert!(
        got.starts_with("version:int32|account_id:utf8|interface_id:utf8"),
        "default schema: {got}"
    );
    let (got, stats, _) = golden("header-only", "header-only.log", &[]);
    assert_eq!(
        (count(&stats, "records"), count(&stats, "header_lines")),
        (0, 1)
    );
    assert_eq!(got.lines().next().unwrap().split('|').count(), 29);
}

#[test]
fn version_10_encryption_status() {
    let (got, _, _) = golden("encryption-v10", "encryption-v10.log", &[]);
    assert!(got.starts_with("flow_direction:utf8|traffic_path:int32|srcaddr:utf8|dstaddr:utf8|srcport:int32|dstport:int32|encryption_status:int32\n"));
    assert_eq!(
        got,
        naive(
            &std::fs::read_to_string(testdata("encryption-v10.log")).unwrap(),
            None
        )
    );
}

#[test]
fn bad_lines_are_reported_and_the_rest_converted() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.txt");
    let (got, stats, stderr) = golden(
        "bad-lines",
        "bad-lines.log",
        &["--rejects", rejects.to_str().unwrap()],
    );
    assert_eq!(
        (
            count(&stats, "records"),
            count(&stats, "rows_written"),
            count(&stats, "rejected"),
            count(&stats, "header_lines")
        ),
        (12, 4, 8, 2)
    );
    assert_eq!(got.lines().count(), 5);
    for (line, why) in [
        (3, "13 tokens"),
        (4, "15 tokens"),
        (5, "srcport: integer out of range"),
        (6, "srcport: negative"),
        (7, "bytes: integer out of range"),
        (8, "srcaddr: not an IP address"),
        (9, "packets: not a decimal integer"),
        (13, "invalid UTF-8"),
    ] {
        let needle = format!("bad-lines.log:{line}: {why}");
        assert!(stderr.contains(&needle), "missing '{needle}' in:\n{stderr}");
    }
    // The rejects file holds the refused lines verbatim, bytes included.
    let input = std::fs::read(testdata("bad-lines.log")).unwrap();
    let lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    let want: Vec<u8> = [3, 4, 5, 6, 7, 8, 9, 13]
        .iter()
        .flat_map(|&n| [lines[n - 1], b"\n"].concat())
        .collect();
    assert_eq!(std::fs::read(&rejects).unwrap(), want);
}

#[test]
fn strict_fails_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.parquet");
    let o = vpcflow(&[
        "convert",
        testdata("bad-lines.log").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--strict",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary file left behind"
    );
    let o = vpcflow(&[
        "convert",
        testdata("aws-default.log").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--strict",
    ]);
    assert!(o.status.success());
    assert!(out.exists());
}

#[test]
fn several_layouts_unite_into_one_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("u.parquet");
    let a = testdata("aws-default.log");
    let b = testdata("encryption-v10.log");
    let o = vpcflow(&[
        "convert",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let (schema, batches) = read_parquet(&out);
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    // First input's columns in its order, then columns only later inputs have.
    assert_eq!(
        names,
        [
            "version",
            "account_id",
            "interface_id",
            "srcaddr",
            "dstaddr",
            "srcport",
            "dstport",
            "protocol",
            "packets",
            "bytes",
            "start",
            "end",
            "action",
            "log_status",
            "flow_direction",
            "traffic_path",
            "encryption_status"
        ]
    );
    let text = render(&schema, &batches);
    assert_eq!(text.lines().count(), 1 + 8 + 4);
    // Rows of the second file have nulls where it lacks a column.
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("NULL|NULL|NULL|10.0.128.55|10.0.130.104|80|55016|NULL")
    );
}

#[test]
fn directories_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir
        .path()
        .join("AWSLogs/123456789010/vpcflowlogs/us-east-1/2026/11/24");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::copy(testdata("aws-default.log"), tree.join("a.log")).unwrap();
    std::fs::copy(testdata("sample-default.log"), tree.join("b.log")).unwrap();
    let (from_dir, stats, _) = convert_render(&dir.path().join("AWSLogs"), &[]);
    assert_eq!(
        (count(&stats, "inputs"), count(&stats, "rows_written")),
        (2, 48)
    );
    let out = dir.path().join("s.parquet");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vpcflow"))
        .args(["convert", "-", "-o", out.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&std::fs::read(testdata("aws-default.log")).unwrap())
        .unwrap();
    stdin
        .write_all(&std::fs::read(testdata("sample-default.log")).unwrap())
        .unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let (schema, batches) = read_parquet(&out);
    assert_eq!(
        render(&schema, &batches),
        from_dir,
        "the second header inside stdin is skipped"
    );
}

#[test]
fn unreadable_input_is_reported_and_others_still_convert() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.parquet");
    let dup = dir.path().join("dup.log");
    std::fs::write(&dup, "srcaddr dstaddr srcaddr\n1.2.3.4 1.2.3.5 1.2.3.6\n").unwrap();
    let o = vpcflow(&[
        "convert",
        dup.to_str().unwrap(),
        testdata("aws-default.log").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("dup.log: line 1: header: field 'srcaddr' appears twice"),
        "{stderr}"
    );
    let (_, batches) = read_parquet(&out);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 8);
}

#[test]
fn unknown_header_names_become_text_columns_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.log");
    std::fs::write(
        &f,
        "version srcaddr my-extra-field\n2 10.0.0.1 hello\n2 10.0.0.2 -\n",
    )
    .unwrap();
    let (got, _, stderr) = convert_render(&f, &[]);
    assert!(
        stderr.contains("warning") && stderr.contains("my-extra-field"),
        "{stderr}"
    );
    assert_eq!(
        got,
        "version:int32|srcaddr:utf8|my_extra_field:utf8\n2|10.0.0.1|hello\n2|10.0.0.2|NULL\n"
    );
}

#[test]
fn fields_command_lists_the_registry() {
    let o = vpcflow(&["fields", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 72);
    let find = |n: &str| rows.iter().find(|r| r["aws_name"] == n).unwrap().clone();
    assert_eq!(find("packets-lost-ttl-expired")["type"], "int64");
    assert_eq!(find("account-id")["type"], "utf8");
    assert_eq!(find("encryption-status")["version"], 10);
}

#[test]
fn flat_ndjson_matches_parquet_rows_with_types() {
    let dir = tempfile::tempdir().unwrap();
    for input in [
        "all-40-fields.log",
        "tgw-v6.log",
        "aws-default.log",
        "shuffled-custom.log",
    ] {
        let pq = dir.path().join("o.parquet");
        let nd = dir.path().join("o.ndjson");
        let inp = testdata(input);
        assert!(
            vpcflow(&["convert", inp.to_str().unwrap(), "-o", pq.to_str().unwrap()])
                .status
                .success()
        );
        assert!(
            vpcflow(&["convert", inp.to_str().unwrap(), "-o", nd.to_str().unwrap()])
                .status
                .success()
        );
        let (schema, batches) = read_parquet(&pq);
        let from_parquet = render(&schema, &batches);
        // Render the NDJSON the same way: keys in schema order, integers must be JSON numbers.
        let mut from_json = from_parquet.lines().next().unwrap().to_string() + "\n";
        for line in std::fs::read_to_string(&nd).unwrap().lines() {
            let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
            let keys: Vec<&String> = v.keys().collect();
            let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
            assert_eq!(keys.len(), names.len());
            let vals: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| match &v[f.name()] {
                    serde_json::Value::Null => "NULL".to_string(),
                    serde_json::Value::Number(n) => {
                        assert_ne!(
                            f.data_type(),
                            &arrow::datatypes::DataType::Utf8,
                            "{}",
                            f.name()
                        );
                        n.to_string()
                    }
                    serde_json::Value::String(s) => {
                        assert_eq!(
                            f.data_type(),
                            &arrow::datatypes::DataType::Utf8,
                            "{}",
                            f.name()
                        );
                        s.clone()
                    }
                    other => panic!("unexpected {other}"),
                })
                .collect();
            from_json.push_str(&vals.join("|"));
            from_json.push('\n');
        }
        assert_eq!(from_json, from_parquet, "{input}");
    }
}

#[test]
fn max_rejects_stops_input_that_is_not_flow_logs() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.log");
    let text: String = (0..500)
        .map(|i| format!("this is line {i} of some other log\n"))
        .collect();
    std::fs::write(&junk, text).unwrap();
    let out = dir.path().join("o.parquet");
    let o = vpcflow(&[
        "convert",
        junk.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--max-rejects",
        "10",
        "-q",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("does not look like flow logs") && stderr.contains("junk.log:"),
        "{stderr}"
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );

    // A share of records: 10% refused passes a 20% limit and fails a 5% one.
    let mixed = dir.path().join("mixed.log");
    let good = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";
    let text: String = (0..2000)
        .map(|i| {
            if i % 10 == 0 {
                "garbage\n".to_string()
            } else {
                format!("{good}\n")
            }
        })
        .collect();
    std::fs::write(&mixed, text).unwrap();
    let ok = vpcflow(&[
        "convert",
        mixed.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--max-rejects",
        "20%",
        "-q",
    ]);
    assert!(ok.status.success());
    let (_, batches) = read_parquet(&out);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1800);
    let bad = vpcflow(&[
        "convert",
        mixed.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--max-rejects",
        "5%",
        "-q",
        "--chunk-bytes",
        "4096",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let o = vpcflow(&[
        "convert",
        mixed.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--max-rejects",
        "lots",
    ]);
    assert_eq!(o.status.code(), Some(2), "bad value is a usage error");
}
