//! `vpcflow query`: every canned query against its snapshot (`testdata/query/expected/NAME.csv`,
//! rewritten with `UPDATE_GOLDEN=1`), raw logs and Parquet giving identical answers, and the
//! errors a user meets (missing columns, parameters, mixed inputs). DuckDB's answers for the same
//! queries are compared by `tests/query_oracle.py` (run by `.ci/run`).

mod common;

use std::path::PathBuf;

use common::*;

fn query_set() -> Vec<String> {
    ["vpc-all.log", "tgw.log", "hot.log"]
        .iter()
        .map(|f| testdata("query").join("logs").join(f).display().to_string())
        .collect()
}

fn canned_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("queries"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .map(|n| n.trim_end_matches(".sql").to_string())
        .collect();
    names.sort();
    names
}

/// `--param` arguments for `name` from `testdata/query/params.tsv`.
fn test_params(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(testdata("query").join("params.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .filter(|(q, _)| *q == name)
        .flat_map(|(_, kv)| ["--param".to_string(), kv.to_string()])
        .collect()
}

fn run_query(inputs: &[String], extra: &[&str]) -> (bool, String, String) {
    let mut args: Vec<&str> = vec!["query"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend_from_slice(extra);
    let out = vpcflow(&args);
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The ENI inventory of hot.log's interfaces, for the queries about instances and security
/// groups (given to every query: the columns it adds change no other query's answer).
fn inventory() -> String {
    testdata("query")
        .join("inventory.json")
        .display()
        .to_string()
}

fn canned_csv(inputs: &[String], name: &str) -> String {
    let params = test_params(name);
    let inventory = inventory();
    let mut extra = vec![
        "--name",
        name,
        "--format",
        "csv",
        "-q",
        "--eni-inventory",
        &inventory,
    ];
    extra.extend(params.iter().map(String::as_str));
    let (ok, out, err) = run_query(inputs, &extra);
    assert!(ok, "{name}: {err}");
    out
}

fn converted(dir: &tempfile::TempDir, inputs: &[String], name: &str) -> String {
    let out = dir.path().join(name).display().to_string();
    let mut args = vec!["convert"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend(["-o", &out, "-q"]);
    let o = vpcflow(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

#[test]
fn every_canned_query_matches_its_snapshot_and_parquet_agrees_with_raw() {
    let names = canned_names();
    assert!(names.len() >= 12, "only {} canned queries", names.len());
    let tmp = tempfile::tempdir().unwrap();
    let parquet = vec![converted(&tmp, &query_set(), "flows.parquet")];
    // The layout for "who talks to whom": rows ordered by address pair (a small sort budget, so
    // the order is merged from several runs), which `query` aggregates as one ordered stream.
    let sorted = tmp.path().join("sorted.parquet").display().to_string();
    let mut args = vec!["convert"];
    let set = query_set();
    args.extend(set.iter().map(String::as_str));
    args.extend([
        "-o",
        &sorted,
        "--sort-by",
        "srcaddr,dstaddr",
        "--sort-run-bytes",
        "20000",
        "-q",
    ]);
    let o = vpcflow(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sorted = vec![sorted];
    let expected = testdata("query").join("expected");
    let mut missing = Vec::new();
    for name in &names {
        let raw = canned_csv(&query_set(), name);
        assert!(
            raw.lines().count() > 1,
            "{name} returns no rows on the test set: a snapshot of nothing tests nothing"
        );
        let from_parquet = canned_csv(&parquet, name);
        assert_eq!(raw, from_parquet, "{name}: raw logs and Parquet disagree");
        let from_sorted = canned_csv(&sorted, name);
        assert_eq!(
            raw, from_sorted,
            "{name}: raw logs and sorted Parquet disagree"
        );
        let path = expected.join(format!("{name}.csv"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(&expected).unwrap();
            std::fs::write(&path, &raw).unwrap();
        }
        match std::fs::read_to_string(&path) {
            Ok(want) => assert_eq!(raw, want, "{name}: differs from {}", path.display()),
            Err(_) => missing.push(name.clone()),
        }
    }
    assert!(
        missing.is_empty(),
        "canned queries without a snapshot in testdata/query/expected: {missing:?}"
    );
}

#[test]
fn list_shows_every_canned_query_with_its_description() {
    let (ok, out, err) = run_query(&[], &["--list"]);
    assert!(ok, "{err}");
    for name in canned_names() {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("{name} not listed:\n{out}"));
        assert!(line.len() > name.len() + 10, "{name} has no description");
    }
    assert!(out.contains("--param eni=… (string, required)"), "{out}");
}

#[test]
fn a_query_needing_a_missing_column_names_it() {
    // The v2 default layout has no flow-direction field.
    let input = vec![testdata("aws-default.log").display().to_string()];
    let (ok, _, err) = run_query(&input, &["--name", "direction"]);
    assert!(!ok);
    assert!(
        err.contains("needs column `flow_direction`") && err.contains("query direction"),
        "{err}"
    );
}

#[test]
fn parameters_are_checked_and_bound_as_literals() {
    let inputs = query_set();
    let (ok, _, err) = run_query(&inputs, &["--name", "interface_traffic"]);
    assert!(!ok && err.contains("needs --param eni=…"), "{err}");
    let (ok, _, err) = run_query(
        &inputs,
        &[
            "--name",
            "top_talkers",
            "--param",
            "top=3; DROP TABLE flows",
        ],
    );
    assert!(!ok && err.contains("not an integer"), "{err}");
    // A quote in a string value stays inside the literal.
    let (ok, out, err) = run_query(
        &inputs,
        &[
            "--sql",
            "SELECT count(*) AS n FROM flows WHERE interface_id = ${eni}",
            "--param",
            "eni=x' OR '1'='1",
            "--format",
            "csv",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out, "n\r\n0\r\n");
    let (ok, out, _) = run_query(
        &inputs,
        &[
            "--name",
            "top_talkers",
            "--param",
            "top=3",
            "--format",
            "ndjson",
            "-q",
        ],
    );
    assert!(ok);
    assert_eq!(out.lines().count(), 3);
}

/// Counts and sums over the raw test set, computed by reading the files naively.
fn naive_totals() -> (u64, i64, u64) {
    let (mut rows, mut bytes, mut rejected) = (0u64, 0i64, 0u64);
    for f in query_set() {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(' ').collect();
        let b = header.iter().position(|h| *h == "bytes").unwrap();
        let a = header.iter().position(|h| *h == "action");
        for l in lines.filter(|l| !l.is_empty()) {
            let t: Vec<&str> = l.split(' ').collect();
            rows += 1;
            bytes += t[b].parse::<i64>().unwrap_or(0);
            if a.is_some_and(|a| t[a] == "REJECT") {
                rejected += 1;
            }
        }
    }
    (rows, bytes, rejected)
}

#[test]
fn totals_agree_with_a_naive_reading_in_every_output_format() {
    let (rows, bytes, rejected) = naive_totals();
    let sql = "SELECT count(*) AS n, sum(bytes) AS b, sum(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS r FROM flows";
    let (ok, out, err) = run_query(&query_set(), &["--sql", sql, "--format", "json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"n": rows, "b": bytes, "r": rejected}])
    );
    let (ok, out, _) = run_query(&query_set(), &["--sql", sql, "--format", "csv"]);
    assert!(ok);
    assert_eq!(out, format!("n,b,r\r\n{rows},{bytes},{rejected}\r\n"));
    let (ok, out, _) = run_query(&query_set(), &["--sql", sql]);
    assert!(ok);
    let last = out.lines().last().unwrap();
    let cells: Vec<&str> = last.split_whitespace().collect();
    assert_eq!(
        cells,
        [rows.to_string(), bytes.to_string(), rejected.to_string()]
    );
}

#[test]
fn refused_lines_are_reported_and_counted() {
    let input = vec![testdata("bad-lines.log").display().to_string()];
    let tmp = tempfile::tempdir().unwrap();
    let stats = tmp.path().join("stats.json");
    let (ok, out, err) = run_query(
        &input,
        &[
            "--sql",
            "SELECT count(*) AS n FROM flows",
            "--format",
            "csv",
            "--stats",
            stats.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let rows = s["rows_written"].as_u64().unwrap();
    assert!(s["rejected"].as_u64().unwrap() > 0);
    assert_eq!(
        s["records"].as_u64().unwrap(),
        rows + s["rejected"].as_u64().unwrap()
    );
    assert_eq!(out, format!("n\r\n{rows}\r\n"));
    assert!(
        err.contains("vpcflow: refused ") && err.contains("bad-lines.log:"),
        "{err}"
    );
}

#[test]
fn parquet_files_with_different_columns_unite_and_directories_are_walked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    std::fs::create_dir_all(dir.join("region=x")).unwrap();
    for (input, name) in [(2, "hot.parquet"), (1, "region=x/tgw.parquet")] {
        let out = dir.join(name).display().to_string();
        let o = vpcflow(&["convert", &query_set()[input], "-o", &out, "-q"]);
        assert!(o.status.success());
    }
    let sql = "SELECT count(*) AS n, count(interface_id) AS eni, count(tgw_id) AS tgw FROM flows";
    let (ok, out, err) = run_query(
        &[dir.display().to_string()],
        &["--sql", sql, "--format", "csv"],
    );
    assert!(ok, "{err}");
    // hot.log: 135 records with an interface; tgw.log: 300 records with a gateway.
    assert_eq!(out, "n,eni,tgw\r\n435,135,300\r\n");
    let (ok, out2, err) = run_query(
        &[query_set()[2].clone(), query_set()[1].clone()],
        &["--sql", sql, "--format", "csv"],
    );
    assert!(ok, "{err}");
    assert_eq!(out, out2, "raw and Parquet differ");
}

#[test]
fn mixed_inputs_and_bad_sql_fail_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let pq = converted(&tmp, &[query_set()[2].clone()], "hot.parquet");
    let (ok, _, err) = run_query(&[pq, query_set()[1].clone()], &["--sql", "SELECT 1"]);
    assert!(!ok && err.contains("mix Parquet"), "{err}");
    let (ok, _, err) = run_query(&query_set(), &["--sql", "SELEC oops"]);
    assert!(!ok && err.contains("error"), "{err}");
    let (ok, _, err) = run_query(&query_set(), &["--name", "no_such_query"]);
    assert!(!ok && err.contains("--list"), "{err}");
}

/// Several queries over raw logs parse them once (into a scratch Parquet file): each query's
/// rows are those it gives alone over the raw text, the counts and refused lines are the same,
/// and the scratch file is gone afterwards.
#[test]
fn several_queries_parse_raw_logs_once_and_answer_as_each_alone() {
    let mut inputs = query_set();
    inputs.push(testdata("bad-lines.log").display().to_string());
    let tmp = tempfile::tempdir().unwrap();
    let queries = [
        "SELECT action, count(*) AS n, sum(bytes) AS b FROM flows GROUP BY action ORDER BY action",
        "SELECT srcaddr, dstaddr, sum(bytes) AS b FROM flows GROUP BY 1, 2 ORDER BY b DESC NULLS LAST, 1, 2 LIMIT 5",
        "SELECT count(*) AS n, min(start_time) AS first FROM flows",
    ];
    let run = |qs: &[&str], stats: &std::path::Path| {
        let mut extra: Vec<&str> = Vec::new();
        for q in qs {
            extra.extend(["--sql", q]);
        }
        let stats = stats.to_str().unwrap();
        extra.extend(["--format", "csv", "--show-rejects", "3", "--stats", stats]);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vpcflow"))
            .arg("query")
            .args(&inputs)
            .args(&extra)
            .env("TMPDIR", tmp.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        let refused: Vec<String> = err
            .lines()
            .filter(|l| l.starts_with("vpcflow: refused "))
            .map(str::to_string)
            .collect();
        let mut st: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(stats).unwrap()).unwrap();
        st.as_object_mut().unwrap().remove("seconds");
        (String::from_utf8(out.stdout).unwrap(), refused, st)
    };
    let (together, refused, stats) = run(&queries, &tmp.path().join("all.json"));
    let mut alone = String::new();
    for (i, q) in queries.iter().enumerate() {
        let (out, r, st) = run(&[q], &tmp.path().join(format!("{i}.json")));
        alone += &out;
        assert_eq!(r, refused, "the same refused lines, shown the same way");
        assert_eq!(st, stats, "the same counts");
    }
    assert_eq!(together, alone);
    assert_eq!(refused.len(), 3);
    assert!(stats["rejected"].as_u64().unwrap() > 3);
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".json"))
        .collect();
    assert!(left.is_empty(), "scratch files left behind: {left:?}");
}

#[test]
fn standard_input_is_read_once_and_timestamps_come_from_the_view() {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vpcflow"))
        .args([
            "query",
            "-",
            "--sql",
            "SELECT start_time, end_time, bytes FROM flows ORDER BY bytes DESC NULLS LAST LIMIT 1",
            "--format",
            "csv",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let text = std::fs::read(PathBuf::from(&query_set()[2])).unwrap();
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The heavy talker's last flow: start 1700003600 + 29 * 60.
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "start_time,end_time,bytes\r\n2023-11-14T23:42:20,2023-11-14T23:43:20,12029000\r\n"
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let cmd = format!(
        "{} query {} --sql 'SELECT * FROM flows' --format csv | head -n 1",
        env!("CARGO_BIN_EXE_vpcflow"),
        query_set().join(" ")
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("{cmd}; exit ${{PIPESTATUS:-0}}")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("error"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("version,"));
}

#[test]
fn parquet_files_whose_column_types_differ_are_refused_naming_both() {
    use arrow::array::StringArray;
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let good = converted(&tmp, &[query_set()[2].clone()], "a.parquet");
    let bad = tmp.path().join("b.parquet");
    let schema = Arc::new(Schema::new(vec![Field::new("bytes", DataType::Utf8, true)]));
    let batch = arrow::record_batch::RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(StringArray::from(vec!["12"]))],
    )
    .unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&bad).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let (ok, _, err) = run_query(
        &[good, bad.display().to_string()],
        &["--sql", "SELECT count(*) FROM flows"],
    );
    assert!(!ok);
    assert!(
        err.contains("b.parquet: column `bytes` is Utf8, but Int64 in")
            && err.contains("a.parquet"),
        "{err}"
    );
}

#[test]
fn sql_may_start_with_a_comment_and_several_statements_run_in_order() {
    let (ok, out, err) = run_query(
        &query_set(),
        &[
            "--sql",
            "-- how many\nSELECT count(*) AS n FROM flows WHERE action = 'REJECT'",
            "--sql",
            "SELECT 1 AS one",
            "--format",
            "csv",
        ],
    );
    assert!(ok, "{err}");
    let (_, _, rejected) = naive_totals();
    assert_eq!(out, format!("n\r\n{rejected}\r\none\r\n1\r\n"));
}

#[test]
fn json_output_writes_lists_structs_and_maps_as_json() {
    // The oracle: destination ports and counts per action, read naively from the sample.
    let path = testdata("sample-default.log");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut groups: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for l in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let t: Vec<&str> = l.split(' ').collect();
        groups
            .entry(t[12].to_string())
            .or_default()
            .push(t[6].parse().unwrap());
    }
    let sql = "SELECT action, array_agg(dstport ORDER BY dstport) AS ports, [1, 2] AS l, \
               named_struct('a', 1, 'b', action, 'c', make_array(NULL, 2.5)) AS s, \
               map(['n'], [count(*)]) AS m, \
               make_array(named_struct('x', count(*))) AS ls, \
               min(start_time) AS t \
               FROM flows GROUP BY action ORDER BY action";
    for format in ["json", "ndjson"] {
        let (ok, out, err) = run_query(
            &[path.display().to_string()],
            &["--sql", sql, "--format", format, "-q"],
        );
        assert!(ok, "{err}");
        let rows: Vec<serde_json::Value> = if format == "json" {
            serde_json::from_str(&out).unwrap()
        } else {
            out.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        assert_eq!(rows.len(), groups.len());
        for (row, (action, ports)) in rows.iter().zip(&groups) {
            let mut sorted = ports.clone();
            sorted.sort();
            assert_eq!(row["action"], action.as_str());
            assert_eq!(row["ports"], serde_json::json!(sorted), "{format}");
            assert_eq!(row["l"], serde_json::json!([1, 2]));
            assert_eq!(
                row["s"],
                serde_json::json!({"a": 1, "b": action, "c": [null, 2.5]})
            );
            assert_eq!(row["m"], serde_json::json!({"n": ports.len()}));
            assert_eq!(row["ls"], serde_json::json!([{"x": ports.len()}]));
            // Timestamps stay text.
            assert!(row["t"].is_string(), "{}", row["t"]);
        }
    }
}

/// The raw inputs of the partition tests: the query set plus files with refused lines, headers,
/// blank lines and a custom layout, so every count of the scan log is exercised.
fn partition_set() -> Vec<String> {
    let mut set = query_set();
    for f in [
        "bad-lines.log",
        "header-only.log",
        "crlf.log",
        "vpc-reordered.log",
    ] {
        set.push(testdata(f).display().to_string());
    }
    set
}

#[test]
fn a_scan_split_into_partitions_answers_as_one_stream() {
    // `--threads` sets DataFusion's partition count: 1 reads the files as one stream, 4 splits
    // them into 4 partitions of whole files.
    let inventory = inventory();
    for name in canned_names() {
        let params = test_params(&name);
        let run = |threads: &str| {
            let mut extra = vec![
                "--name",
                &name,
                "--format",
                "csv",
                "-q",
                "--threads",
                threads,
                "--eni-inventory",
                &inventory,
            ];
            extra.extend(params.iter().map(String::as_str));
            let (ok, out, err) = run_query(&query_set(), &extra);
            assert!(ok, "{name} --threads {threads}: {err}");
            out
        };
        assert_eq!(run("1"), run("4"), "{name}: 4 partitions differ from 1");
    }
    let sql = "SELECT srcaddr, dstaddr, count(*) AS n, sum(bytes) AS b FROM flows \
               GROUP BY srcaddr, dstaddr ORDER BY srcaddr, dstaddr";
    let run = |threads: &str| {
        let (ok, out, err) = run_query(
            &partition_set(),
            &["--sql", sql, "--format", "csv", "--threads", threads],
        );
        assert!(ok, "--threads {threads}: {err}");
        // Refused lines are reported in input order, whatever the partitions.
        // (The summary line's time is left out: it differs from run to run.)
        let refused: Vec<String> = err
            .lines()
            .filter(|l| l.contains("refused"))
            .map(|l| l.split(" MB in ").next().unwrap_or(l).to_string())
            .collect();
        (out, refused)
    };
    let (one, one_refused) = run("1");
    let (four, four_refused) = run("4");
    assert!(one.lines().count() > 10, "{one}");
    assert_eq!(one, four);
    assert!(!one_refused.is_empty());
    assert_eq!(one_refused, four_refused);
}

#[test]
fn the_scan_log_of_several_partitions_counts_as_convert_does() {
    let tmp = tempfile::tempdir().unwrap();
    let set = partition_set();
    let convert_stats = tmp.path().join("convert.json");
    let out = tmp.path().join("out.parquet");
    let mut args = vec!["convert"];
    args.extend(set.iter().map(String::as_str));
    args.extend([
        "-o",
        out.to_str().unwrap(),
        "--stats",
        convert_stats.to_str().unwrap(),
        "-q",
    ]);
    let o = vpcflow(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |p: &std::path::Path| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("seconds");
        v
    };
    let want = read(&convert_stats);
    assert!(want["rejected"].as_u64().unwrap() > 0, "{want}");
    assert!(want["header_lines"].as_u64().unwrap() > 0, "{want}");
    for threads in ["1", "2", "4"] {
        let query_stats = tmp.path().join(format!("query-{threads}.json"));
        let (ok, out, err) = run_query(
            &set,
            &[
                "--sql",
                "SELECT count(*) AS n FROM flows",
                "--format",
                "csv",
                "--threads",
                threads,
                "--stats",
                query_stats.to_str().unwrap(),
            ],
        );
        assert!(ok, "{err}");
        assert_eq!(read(&query_stats), want, "--threads {threads}");
        assert_eq!(
            out,
            format!("n\r\n{}\r\n", want["rows_written"].as_u64().unwrap())
        );
    }
}
