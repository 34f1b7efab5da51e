//! `vpcflow report`: the same page from raw logs and from their Parquet, time filters, sections
//! that need fields the data lacks, and escaping of what comes from the data. The page in a real
//! browser (marks per chart, no errors, no network) is `tests/report_browser.py`.

mod common;

use common::*;

fn logs() -> String {
    testdata("query").join("logs").display().to_string()
}

fn report(args: &[&str]) -> (bool, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r.html");
    let mut a = vec!["report"];
    a.extend_from_slice(args);
    a.extend(["-o", out.to_str().unwrap(), "-q"]);
    let o = vpcflow(&a);
    let html = std::fs::read_to_string(&out).unwrap_or_default();
    (
        o.status.success(),
        html,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The page without its subtitle (which names the inputs).
fn body(html: &str) -> String {
    let a = html.find("<main>").expect("a <main>");
    html[a..].to_string()
}

#[test]
fn raw_logs_and_their_parquet_give_the_same_report() {
    let tmp = tempfile::tempdir().unwrap();
    let pq = tmp.path().join("flows.parquet");
    let logs_dir = testdata("query").join("logs");
    let inputs: Vec<String> = ["vpc-all.log", "tgw.log", "hot.log"]
        .iter()
        .map(|f| logs_dir.join(f).display().to_string())
        .collect();
    let mut args = vec!["convert"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend(["-o", pq.to_str().unwrap(), "-q"]);
    assert!(vpcflow(&args).status.success());
    let (ok, raw, err) = report(&[&logs()]);
    assert!(ok, "{err}");
    let (ok, parquet, err) = report(&[pq.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(body(&raw), body(&parquet));
    assert!(raw.contains("<b>1,935</b><span>records</span>"));
}

#[test]
fn since_and_until_keep_a_window() {
    // hot.log's flows start at 1700003600 + …; the heavy talker's 30 flows are a minute apart.
    let (ok, html, err) = report(&[
        &testdata("query")
            .join("logs")
            .join("hot.log")
            .display()
            .to_string(),
        "--since",
        "1700003600",
        "--until",
        "2023-11-14T23:00",
    ]);
    assert!(ok, "{err}");
    // 1700003600 = 23:13:20, so nothing before 23:00 is left.
    assert!(html.contains("<b>0</b><span>records</span>"), "{html}");
    let (ok, html, _) = report(&[
        &testdata("query")
            .join("logs")
            .join("hot.log")
            .display()
            .to_string(),
        "--until",
        "1700003660",
    ]);
    assert!(ok);
    // Records whose window starts before the limit, counted naively.
    let text = std::fs::read_to_string(testdata("query").join("logs").join("hot.log")).unwrap();
    let want = text
        .lines()
        .skip(1)
        .filter(|l| l.split(' ').nth(10).unwrap().parse::<i64>().unwrap() < 1_700_003_660)
        .count();
    assert!(want > 3);
    assert!(
        html.contains(&format!("<b>{want}</b><span>records</span>")),
        "{}",
        &html[..3000]
    );
    let (ok, _, err) = report(&[&logs(), "--since", "last tuesday"]);
    assert!(
        !ok && err.contains("--since") && err.contains("not a time"),
        "{err}"
    );
}

#[test]
fn sections_needing_missing_fields_say_so() {
    // v2 default records: no flow-direction, no pkt-*-aws-service.
    let (ok, html, err) = report(&[&testdata("aws-default.log").display().to_string()]);
    assert!(ok, "{err}");
    assert!(html.contains(
        "Not in these flows: this summary needs the flow-direction field (column `flow_direction`)"
    ));
    assert!(html.contains("needs the pkt-src-aws-service field"));
    // … while the others are drawn.
    assert!(html.contains("id=\"chart-top-talkers\""));
}

#[test]
fn text_from_the_data_is_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("odd.log");
    // An interface id with markup in it (the parser takes any text there) is drawn as text.
    std::fs::write(
        &log,
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
         2 123456789012 eni-<b>x</b> 10.0.0.1 10.0.0.2 1 2 6 1 100 1700000000 1700000060 ACCEPT OK\n",
    )
    .unwrap();
    let (ok, html, err) = report(&[log.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(html.contains("eni-&lt;b&gt;x&lt;/b&gt;"));
    assert!(!html.contains("eni-<b>"));
}
