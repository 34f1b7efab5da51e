//! `vpcflow alert` without email: which rules fire on the query test set, exit statuses, JSON
//! output, users' own rule files and bad headers. Email delivery to a real SMTP server is tested
//! by `tests/alerts_smtp.py` (run by `.ci/run`).

mod common;

use common::*;

fn logs() -> String {
    testdata("query").join("logs").display().to_string()
}

/// `vpcflow alert --rule RULE INPUT…`: `args` starts with the rule.
fn alert(args: &[&str]) -> (i32, String, String) {
    let mut a = vec!["alert", "--rule"];
    a.extend_from_slice(args);
    let o = vpcflow(&a);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn shipped_rules_fire_on_what_they_look_for() {
    let (code, out, err) = alert(&["all", &logs(), "--format", "json"]);
    assert_eq!(code, 4, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rules = v.as_array().unwrap();
    assert!(rules.len() >= 5);
    let get = |name: &str| {
        rules
            .iter()
            .find(|r| r["rule"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    // The scanner in hot.log: 48 rejected flows over 16 ports.
    let spike = get("rejected_spike");
    assert_eq!(spike["fired"], true);
    assert_eq!(spike["result"][0]["srcaddr"], "198.51.100.7");
    assert_eq!(spike["result"][0]["rejected_flows"], 48);
    assert_eq!(spike["result"][0]["ports"], 16);
    // SSH from 192.0.2.99, RDP likewise.
    let admin = get("admin_from_internet");
    let hits: Vec<(&str, i64)> = admin["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["srcaddr"] == "192.0.2.99")
        .map(|r| {
            (
                r["dstaddr"].as_str().unwrap(),
                r["dstport"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(hits, [("10.0.1.10", 22), ("10.0.2.20", 3389)]);
    assert_eq!(admin["severity"], "high");
    assert_eq!(
        admin["recipients"],
        serde_json::json!(["secops@example.com"])
    );
    // The heavy talker: 30 flows of 12,000,000 + i*1000 bytes to a public address.
    let egress = get("egress_volume");
    let web = egress["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["interface_id"] == "eni-0a1b2c3d4e5f60001")
        .expect("the web server's interface");
    assert_eq!(web["egress_bytes"], 30 * 12_000_000 + 435_000);
    let skip = get("skipdata");
    assert!(skip["rows"].as_u64().unwrap() >= 1);
    let ports = get("port_outside_allow_list");
    assert!(
        ports["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["dstport"] == 22)
    );
}

#[test]
fn a_quiet_rule_exits_zero_and_prints_nothing() {
    let (code, out, err) = alert(&["rejected_spike", &logs(), "--param", "min_rejects=1000000"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert!(err.contains("rule rejected_spike: quiet (0 rows"), "{err}");
}

#[test]
fn users_rule_files_with_thresholds() {
    let tmp = tempfile::tempdir().unwrap();
    let rule = tmp.path().join("many_rejects.sql");
    std::fs::write(
        &rule,
        "-- Many rejected flows\n-- severity: critical\n-- threshold: 100\n-- subject: {rows} rejects\nSELECT srcaddr FROM flows WHERE action = 'REJECT'\n",
    )
    .unwrap();
    let rule = rule.display().to_string();
    // 170 rejected records in the test set: fires at 100 …
    let (code, out, err) = alert(&[&rule, &logs()]);
    assert_eq!(code, 4, "{err}");
    assert!(
        out.starts_with("ALERT CRITICAL many_rejects: 170 rejects (170 rows)\n"),
        "{out}"
    );
    // … and not at 1000.
    std::fs::write(
        &rule,
        "-- Many rejected flows\n-- threshold: 1000\nSELECT srcaddr FROM flows WHERE action = 'REJECT'\n",
    )
    .unwrap();
    let (code, out, _) = alert(&[&rule, &logs()]);
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn bad_rules_and_parameters_fail_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let rule = tmp.path().join("bad.sql");
    std::fs::write(&rule, "-- Bad\n-- severity: urgent\nSELECT 1\n").unwrap();
    let (code, _, err) = alert(&[rule.to_str().unwrap(), &logs()]);
    assert_eq!(code, 2);
    assert!(err.contains("severity \"urgent\""), "{err}");
    let (code, _, err) = alert(&["skipdata", &logs(), "--param", "nope=1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--param nope: no rule takes it"), "{err}");
    let (code, _, err) = alert(&["missing.sql", &logs()]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.sql: no such rule file"), "{err}");
    // A rule needing a column the data lacks: named, and the run fails.
    let (code, _, err) = alert(&[
        "skipdata",
        &testdata("query")
            .join("logs")
            .join("tgw.log")
            .display()
            .to_string(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("needs column `interface_id`"), "{err}");
}
