//! The detections on planted patterns: windowed port scans and fan-outs, rejected traffic by
//! security group and by instance, traffic by instance, as canned queries, alert rules and report
//! sections. Each test writes its flows (and a small ENI inventory), computes what should be
//! found by plain loops over the same records, and compares the tool's rows with that.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
/// A multiple of 300, so 5-minute windows start at T0 + k·300.
const T0: i64 = 1_699_999_800;

const ENI_WEB: &str = "eni-0d0e0c0100000000a";
const ENI_DB: &str = "eni-0d0e0c0100000000b";
/// In the inventory, but with neither an instance nor a Name tag (a NAT gateway's).
const ENI_NAT: &str = "eni-0d0e0c0100000000c";
/// Not in the inventory.
const ENI_UNKNOWN: &str = "eni-0d0e0c0100000000d";

const SCANNER: &str = "203.0.113.5";
const SLOW_PROBER: &str = "203.0.113.6";
const SWEEPER: &str = "10.0.0.20";
const SLOW_SWEEPER: &str = "10.0.0.21";
const WEB: &str = "10.0.0.10";
const DB: &str = "10.0.0.30";

struct Flow {
    eni: &'static str,
    src: String,
    dst: String,
    sport: i64,
    dport: i64,
    bytes: i64,
    start: i64,
    accept: bool,
}

/// An interface of the inventory: its id, security groups, instance and Name tag.
type Entry = (
    &'static str,
    Vec<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

/// What the flows of one source in one window reach: ports, hosts, and how many flows.
type Reach = (BTreeSet<i64>, BTreeSet<String>, usize);

/// What one security group's rejected flows have: count, interfaces, sources, ports.
type GroupRejects<'a> = (usize, BTreeSet<&'a str>, BTreeSet<String>, BTreeSet<i64>);

/// Security groups, instance and Name of each interface in the inventory.
fn inventory_entries() -> Vec<Entry> {
    vec![
        (
            ENI_WEB,
            vec!["sg-0d0e0c01000000web", "sg-0d0e0c01000000all"],
            Some("i-0d0e0c0100000000a"),
            Some("web-1"),
        ),
        (
            ENI_DB,
            vec!["sg-0d0e0c010000000db", "sg-0d0e0c01000000all"],
            Some("i-0d0e0c0100000000b"),
            Some("db-1"),
        ),
        (ENI_NAT, vec!["sg-0d0e0c01000000nat"], None, None),
    ]
}

fn inventory_json() -> String {
    let nics: Vec<Value> = inventory_entries()
        .into_iter()
        .map(|(eni, groups, instance, name)| {
            let mut nic = serde_json::json!({
                "NetworkInterfaceId": eni,
                "InterfaceType": if instance.is_some() { "interface" } else { "nat_gateway" },
                "Description": format!("test {eni}"),
                "VpcId": "vpc-0d0e0c0100000000a",
                "SubnetId": "subnet-0d0e0c0100000000a",
                "Groups": groups.iter().map(|g| serde_json::json!({"GroupId": g, "GroupName": g})).collect::<Vec<_>>(),
                "TagSet": name.map(|n| vec![serde_json::json!({"Key": "Name", "Value": n})]).unwrap_or_default(),
            });
            if let Some(i) = instance {
                nic["Attachment"] = serde_json::json!({ "InstanceId": i });
            }
            nic
        })
        .collect();
    serde_json::json!({ "NetworkInterfaces": nics }).to_string()
}

fn flow(
    eni: &'static str,
    src: &str,
    dst: &str,
    sport: i64,
    dport: i64,
    start: i64,
    accept: bool,
) -> Flow {
    Flow {
        eni,
        src: src.to_string(),
        dst: dst.to_string(),
        sport,
        dport,
        bytes: 40 + dport % 7,
        start,
        accept,
    }
}

/// The planted patterns.
fn flows() -> Vec<Flow> {
    let mut f = Vec::new();
    // A scan: 30 ports within 150 seconds, one window.
    for i in 0..30 {
        f.push(flow(
            ENI_WEB,
            SCANNER,
            WEB,
            40_000 + i,
            1000 + i,
            T0 + 5 * i,
            false,
        ));
    }
    // The same 30 ports over 2 hours: at most 2 in any 5-minute window. Not a scan at 20.
    for i in 0..30 {
        f.push(flow(
            ENI_WEB,
            SLOW_PROBER,
            WEB,
            41_000 + i,
            1000 + i,
            T0 + 600 + 240 * i,
            false,
        ));
    }
    // A fan-out: 25 hosts on port 445 within 100 seconds, all accepted.
    for i in 0..25 {
        f.push(flow(
            ENI_UNKNOWN,
            SWEEPER,
            &format!("10.0.1.{}", i + 1),
            50_000 + i,
            445,
            T0 + 900 + 4 * i,
            true,
        ));
    }
    // The same 25 hosts over 2 hours: not a fan-out.
    for i in 0..25 {
        f.push(flow(
            ENI_UNKNOWN,
            SLOW_SWEEPER,
            &format!("10.0.1.{}", i + 1),
            51_000 + i,
            445,
            T0 + 300 * i,
            true,
        ));
    }
    // A web server answering 25 clients within a minute: replies, neither a fan-out nor a scan.
    for i in 0..25 {
        f.push(flow(
            ENI_WEB,
            WEB,
            &format!("198.51.100.{}", i + 1),
            443,
            30_000 + i,
            T0 + 1200 + 2 * i,
            true,
        ));
    }
    // Clients refused by the database's groups (many sources, one port), and a few accepted.
    for i in 0..12 {
        f.push(flow(
            ENI_DB,
            &format!("10.0.2.{}", i + 1),
            DB,
            33_000 + i,
            5432,
            T0 + 1500 + 10 * i,
            false,
        ));
    }
    for i in 0..4 {
        f.push(flow(
            ENI_DB,
            "10.0.0.10",
            DB,
            34_000 + i,
            5432,
            T0 + 1500 + 10 * i,
            true,
        ));
    }
    // Rejected on the NAT gateway (in the inventory, no instance) and on an unknown interface.
    for i in 0..3 {
        f.push(flow(
            ENI_NAT,
            "10.0.3.3",
            "192.0.2.1",
            35_000 + i,
            25,
            T0 + 1800 + i,
            false,
        ));
        f.push(flow(
            ENI_UNKNOWN,
            "10.0.3.4",
            "192.0.2.2",
            36_000 + i,
            25,
            T0 + 1800 + i,
            false,
        ));
    }
    f
}

struct Fixture {
    _dir: tempfile::TempDir,
    log: String,
    inventory: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!("{HEADER}\n");
    for x in flows() {
        text += &format!(
            "2 123456789012 {} {} {} {} {} 6 1 {} {} {} {} OK\n",
            x.eni,
            x.src,
            x.dst,
            x.sport,
            x.dport,
            x.bytes,
            x.start,
            x.start + 10,
            if x.accept { "ACCEPT" } else { "REJECT" }
        );
    }
    // A window of no data: no addresses, so in no detection.
    text += &format!(
        "2 123456789012 {ENI_WEB} - - - - - - - {T0} {} - NODATA\n",
        T0 + 60
    );
    let log = dir.path().join("flows.log");
    std::fs::write(&log, text).unwrap();
    let inventory = dir.path().join("inventory.json");
    std::fs::write(&inventory, inventory_json()).unwrap();
    Fixture {
        log: path(&log),
        inventory: path(&inventory),
        _dir: dir,
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// `vpcflow query LOG --name NAME --format json ARGS…`: the rows.
fn query(log: &str, name: &str, args: &[&str]) -> Vec<Value> {
    let mut a = vec!["query", log, "--name", name, "--format", "json", "-q"];
    a.extend_from_slice(args);
    let o = vpcflow(&a);
    assert!(
        o.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array().unwrap().clone()
}

/// Some columns of each row, as text, in order.
fn pick(rows: &[Value], cols: &[&str]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            cols.iter()
                .map(|c| match &r[*c] {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                })
                .collect()
        })
        .collect()
}

fn is_reply(f: &Flow) -> bool {
    f.sport < 1024 && f.dport >= 1024
}

/// Per (source, window start): the distinct destination ports and hosts, replies left out.
fn windows(window: i64) -> BTreeMap<(String, i64), Reach> {
    let mut w: BTreeMap<(String, i64), Reach> = BTreeMap::new();
    for f in flows().iter().filter(|f| !is_reply(f)) {
        let e = w
            .entry((f.src.clone(), f.start - f.start.rem_euclid(window)))
            .or_default();
        e.0.insert(f.dport);
        e.1.insert(f.dst.clone());
        e.2 += 1;
    }
    w
}

#[test]
fn port_scans_are_many_ports_in_one_window_not_many_ports_over_hours() {
    let fx = fixture();
    let rows = query(&fx.log, "port_scanners", &["--param", "min_ports=20"]);
    let mut want: Vec<(usize, String, i64, usize)> = windows(300)
        .into_iter()
        .filter(|(_, (ports, _, _))| ports.len() >= 20)
        .map(|((src, w), (ports, _, n))| (ports.len(), src, w, n))
        .collect();
    want.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.3.cmp(&a.3))
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(&b.2))
    });
    let want: Vec<Vec<String>> = want
        .into_iter()
        .map(|(p, s, w, n)| vec![s, w.to_string(), p.to_string(), n.to_string()])
        .collect();
    assert_eq!(
        pick(
            &rows,
            &["srcaddr", "window_start", "distinct_ports", "flows"]
        ),
        want
    );
    // The planted scan is found, the slow prober (the same 30 ports over 2 hours) is not.
    assert_eq!(
        want,
        [vec![
            SCANNER.to_string(),
            T0.to_string(),
            "30".into(),
            "30".into()
        ]]
    );
    // Over a 2-hour window the slow prober's 30 ports are one window's worth: it is found.
    let rows = query(
        &fx.log,
        "port_scanners",
        &["--param", "min_ports=20", "--param", "window=14400"],
    );
    let found: BTreeSet<String> = pick(&rows, &["srcaddr"])
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(
        found.contains(SLOW_PROBER) && found.contains(SCANNER),
        "{found:?}"
    );
}

#[test]
fn fan_outs_are_many_hosts_in_one_window_and_replies_are_not() {
    let fx = fixture();
    let rows = query(&fx.log, "fan_out", &["--param", "min_hosts=20"]);
    let want: Vec<Vec<String>> = windows(300)
        .into_iter()
        .filter(|(_, (_, hosts, _))| hosts.len() >= 20)
        .map(|((src, w), (ports, hosts, n))| {
            vec![
                src,
                w.to_string(),
                hosts.len().to_string(),
                ports.len().to_string(),
                n.to_string(),
            ]
        })
        .collect();
    assert_eq!(
        pick(
            &rows,
            &[
                "srcaddr",
                "window_start",
                "distinct_destinations",
                "distinct_ports",
                "flows"
            ]
        ),
        want
    );
    assert_eq!(want.len(), 1, "{want:?}");
    assert_eq!(want[0][0], SWEEPER);
    assert_eq!(want[0][2], "25");
    // The web server's 25 replies in one minute would be a fan-out if replies counted.
    assert!(
        flows()
            .iter()
            .filter(|f| f.src == WEB && is_reply(f))
            .count()
            >= 20
    );
}

/// (security group, rejected flows, interfaces, distinct sources, distinct ports), computed by
/// hand: each rejected flow on an interface of the inventory counts once for each of its groups.
fn rejected_by_group() -> Vec<Vec<String>> {
    let inv = inventory_entries();
    let mut g: BTreeMap<&str, GroupRejects> = BTreeMap::new();
    for f in flows().iter().filter(|f| !f.accept) {
        if let Some((_, groups, _, _)) = inv.iter().find(|e| e.0 == f.eni) {
            for sg in groups {
                let e = g.entry(sg).or_default();
                e.0 += 1;
                e.1.insert(f.eni);
                e.2.insert(f.src.clone());
                e.3.insert(f.dport);
            }
        }
    }
    let mut rows: Vec<(usize, &str, Vec<String>)> = g
        .into_iter()
        .map(|(sg, (n, enis, srcs, ports))| {
            (
                n,
                sg,
                vec![
                    sg.to_string(),
                    n.to_string(),
                    enis.len().to_string(),
                    srcs.len().to_string(),
                    ports.len().to_string(),
                ],
            )
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    rows.into_iter().map(|r| r.2).collect()
}

/// Per (instance, Name) of interfaces that have one of them: flows, accepted, rejected, bytes.
fn per_instance() -> BTreeMap<(String, String), (usize, usize, usize, i64)> {
    let inv = inventory_entries();
    let mut m: BTreeMap<(String, String), (usize, usize, usize, i64)> = BTreeMap::new();
    for f in flows() {
        if let Some((_, _, instance, name)) = inv.iter().find(|e| e.0 == f.eni)
            && (instance.is_some() || name.is_some())
        {
            let e = m
                .entry((
                    instance.unwrap_or("null").to_string(),
                    name.unwrap_or("null").to_string(),
                ))
                .or_default();
            e.0 += 1;
            if f.accept {
                e.1 += 1;
            } else {
                e.2 += 1;
            }
            e.3 += f.bytes;
        }
    }
    m
}

#[test]
fn rejected_traffic_by_security_group_and_instance() {
    let fx = fixture();
    let inv = ["--eni-inventory", fx.inventory.as_str()];
    let rows = query(&fx.log, "rejected_by_security_group", &inv);
    let want = rejected_by_group();
    assert_eq!(
        pick(
            &rows,
            &[
                "security_group",
                "rejected_flows",
                "interfaces",
                "distinct_sources",
                "distinct_ports"
            ]
        ),
        want
    );
    // The group both interfaces share carries all of their rejects: 30 + 30 scans, 12 clients.
    assert_eq!(
        want[0][..3],
        ["sg-0d0e0c01000000all".to_string(), "72".into(), "2".into()]
    );
    // The NAT gateway's group is there, the unknown interface's rejects are not.
    assert!(
        want.iter()
            .any(|r| r[0] == "sg-0d0e0c01000000nat" && r[1] == "3")
    );

    let rows = query(&fx.log, "rejected_by_instance", &inv);
    let mut want: Vec<(usize, Vec<String>)> = per_instance()
        .into_iter()
        .filter(|(_, v)| v.2 > 0)
        .map(|((i, n), v)| (v.2, vec![i, n, v.2.to_string()]))
        .collect();
    want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let want: Vec<Vec<String>> = want.into_iter().map(|w| w.1).collect();
    assert_eq!(
        pick(&rows, &["eni_instance_id", "eni_name", "rejected_flows"]),
        want
    );
    assert_eq!(
        want.len(),
        2,
        "the NAT gateway has no instance and no name: {want:?}"
    );

    let rows = query(&fx.log, "traffic_by_instance", &inv);
    let mut want: Vec<(i64, Vec<String>)> = per_instance()
        .into_iter()
        .map(|((i, n), v)| {
            (
                v.3,
                vec![
                    i,
                    n,
                    v.0.to_string(),
                    v.1.to_string(),
                    v.2.to_string(),
                    v.3.to_string(),
                ],
            )
        })
        .collect();
    want.sort_by_key(|w| std::cmp::Reverse(w.0));
    let want: Vec<Vec<String>> = want.into_iter().map(|w| w.1).collect();
    assert_eq!(
        pick(
            &rows,
            &[
                "eni_instance_id",
                "eni_name",
                "flows",
                "accepted_flows",
                "rejected_flows",
                "total_bytes"
            ]
        ),
        want
    );
}

#[test]
fn without_an_inventory_the_queries_say_which_flag_they_need() {
    let fx = fixture();
    let o = vpcflow(&["query", &fx.log, "--name", "rejected_by_security_group"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("needs column `eni_security_groups`"), "{err}");
}

/// `vpcflow alert --rule RULE LOG --format json ARGS…`: (exit status, the rule's outcome, stderr).
fn alert(rule: &str, log: &str, args: &[&str]) -> (i32, Value, String) {
    let mut a = vec!["alert", "--rule", rule, log, "--format", "json", "-q"];
    a.extend_from_slice(args);
    let o = vpcflow(&a);
    let out: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    let outcome = out
        .as_array()
        .and_then(|a| a.iter().find(|r| r["rule"] == rule).cloned())
        .unwrap_or(Value::Null);
    (
        o.status.code().unwrap_or(-1),
        outcome,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn alert_rules_fire_on_the_planted_patterns_only() {
    let fx = fixture();
    let (code, o, err) = alert("port_scan", &fx.log, &["--param", "min_ports=20"]);
    assert_eq!(code, 4, "{err}");
    assert_eq!(
        pick(
            o["result"].as_array().unwrap(),
            &["srcaddr", "window_start", "ports"]
        ),
        [[SCANNER, &T0.to_string(), "30"]]
    );
    // At 31 ports nothing is a scan: quiet, exit 0.
    let (code, o, err) = alert("port_scan", &fx.log, &["--param", "min_ports=31"]);
    assert_eq!((code, o["fired"].clone()), (0, Value::Bool(false)), "{err}");

    let (code, o, err) = alert("fan_out", &fx.log, &["--param", "min_hosts=20"]);
    assert_eq!(code, 4, "{err}");
    assert_eq!(
        pick(
            o["result"].as_array().unwrap(),
            &["srcaddr", "destinations"]
        ),
        [[SWEEPER, "25"]]
    );

    // Rejected flows per security group per 5-minute window, by hand.
    let inv = inventory_entries();
    let mut per: BTreeMap<(&str, i64), usize> = BTreeMap::new();
    for f in flows().iter().filter(|f| !f.accept) {
        if let Some((_, groups, _, _)) = inv.iter().find(|e| e.0 == f.eni) {
            for sg in groups {
                *per.entry((sg, f.start - f.start % 300)).or_default() += 1;
            }
        }
    }
    let mut want: Vec<(usize, &str, i64)> = per
        .into_iter()
        .filter(|(_, n)| *n >= 12)
        .map(|((sg, w), n)| (n, sg, w))
        .collect();
    want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)).then(a.2.cmp(&b.2)));
    let want: Vec<Vec<String>> = want
        .into_iter()
        .map(|(n, sg, w)| vec![sg.to_string(), w.to_string(), n.to_string()])
        .collect();
    assert!(want.len() >= 3, "{want:?}");
    let (code, o, err) = alert(
        "security_group_rejects",
        &fx.log,
        &[
            "--eni-inventory",
            &fx.inventory,
            "--param",
            "sg_min_rejects=12",
        ],
    );
    assert_eq!(code, 4, "{err}");
    assert_eq!(
        pick(
            o["result"].as_array().unwrap(),
            &["security_group", "window_start", "rejected_flows"]
        ),
        want
    );

    // Named without an inventory: the run fails, naming the flag …
    let (code, _, err) = alert("security_group_rejects", &fx.log, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--eni-inventory"), "{err}");
    // … while `all` skips it and runs the others.
    let o = vpcflow(&[
        "alert",
        "--rule",
        "all",
        &fx.log,
        "--format",
        "json",
        "--param",
        "min_ports=20",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(
        err.contains("rule security_group_rejects: skipped") && err.contains("--eni-inventory"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"port_scan") && !names.contains(&"security_group_rejects"),
        "{names:?}"
    );
}

fn report(log: &str, args: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let out: PathBuf = tmp.path().join("r.html");
    let mut a = vec!["report", log, "-o", out.to_str().unwrap(), "-q"];
    a.extend_from_slice(args);
    let o = vpcflow(&a);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(&out).unwrap();
    html[html.find("<main>").unwrap()..].to_string()
}

/// The page without the `<section id="ID">…</section>` of `id`, and that section.
fn cut_section(html: &str, id: &str) -> (String, String) {
    let open = format!("<section id=\"{id}\">");
    let a = html
        .find(&open)
        .unwrap_or_else(|| panic!("no section {id}"));
    let b = a + html[a..].find("</section>").unwrap() + "</section>".len();
    (
        format!("{}{}", &html[..a], &html[b..]),
        html[a..b].to_string(),
    )
}

#[test]
fn the_report_has_attribution_sections_only_with_an_inventory() {
    let fx = fixture();
    let plain = report(&fx.log, &[]);
    let with = report(&fx.log, &["--eni-inventory", &fx.inventory]);
    for id in [
        "rejected-security-groups",
        "rejected-instances",
        "instance-traffic",
    ] {
        assert!(
            !plain.contains(&format!("id=\"{id}\"")),
            "{id} without an inventory"
        );
    }
    // Cut out the three sections: what is left is the page without an inventory, unchanged.
    let (rest, groups) = cut_section(&with, "rejected-security-groups");
    let (rest, instances) = cut_section(&rest, "rejected-instances");
    let (rest, traffic) = cut_section(&rest, "instance-traffic");
    assert_eq!(rest, plain);
    // One bar per group, as many as the query finds, each labelled with its group.
    let groups_want = rejected_by_group();
    assert_eq!(
        groups.matches("<rect class=\"mark\"").count(),
        groups_want.len()
    );
    for g in &groups_want {
        assert!(
            groups.contains(&format!("<title>{}: {}</title>", g[0], g[1])),
            "{}: {groups}",
            g[0]
        );
    }
    assert!(
        instances.contains("<title>web-1 i-0d0e0c0100000000a: 60</title>"),
        "{instances}"
    );
    assert!(
        instances.contains("<title>db-1 i-0d0e0c0100000000b: 12</title>"),
        "{instances}"
    );
    assert_eq!(
        traffic.matches("<rect class=\"mark\"").count(),
        per_instance().len()
    );
}
