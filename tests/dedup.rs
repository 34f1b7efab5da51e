//! `convert --dedup` against a naive oracle: two overlapping flow logs of different formats over
//! the same interfaces (one repeating most of the other's records in another order, plus
//! near-repeats that must stay), records without an interface, any thread count, chunk size and
//! memory budget (windows set aside to disk) give the oracle's rows in input order, and
//! `records == rows_written + rejected + duplicates`.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::process::Command;

/// xorshift64*: a fixed seed gives the same records everywhere.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const DEFAULT: [&str; 14] = [
    "version",
    "account-id",
    "interface-id",
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
    "log-status",
];

/// A record: field name (column spelling) → value (`None` for `-`).
type Record = BTreeMap<String, Option<String>>;

fn column(field: &str) -> String {
    field.replace('-', "_")
}

fn observation(rng: &mut Rng) -> Record {
    let start = 1_700_000_000 + rng.below(4 * 3600) as i64;
    let eni = rng.below(12);
    let values = [
        "2".to_string(),
        "123456789012".to_string(),
        if eni == 0 {
            "-".to_string()
        } else {
            format!("eni-{eni:017x}")
        },
        format!("10.0.{}.{}", rng.below(3), rng.below(6)),
        format!("10.1.{}.{}", rng.below(3), rng.below(6)),
        rng.below(3).to_string(),
        ["80", "443", "22"][rng.below(3) as usize].to_string(),
        "6".to_string(),
        (1 + rng.below(3)).to_string(),
        (40 * (1 + rng.below(3))).to_string(),
        start.to_string(),
        (start + 60).to_string(),
        ["ACCEPT", "REJECT"][rng.below(2) as usize].to_string(),
        "OK".to_string(),
    ];
    DEFAULT
        .iter()
        .zip(values)
        .map(|(f, v)| (column(f), (v != "-").then_some(v)))
        .collect()
}

fn line(fields: &[&str], r: &Record) -> String {
    fields
        .iter()
        .map(|f| r.get(&column(f)).cloned().flatten().unwrap_or("-".into()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The identity a record is deduplicated by (the rules of `--dedup`, written out again).
fn identity(r: &Record, all_columns: &[String]) -> Vec<Option<String>> {
    let get = |c: &str| r.get(c).cloned().flatten();
    if get("interface_id").is_some() || get("tgw_attachment_id").is_some() {
        let mut key = vec![Some("observed".to_string())];
        for c in [
            "account_id",
            "interface_id",
            "tgw_id",
            "tgw_attachment_id",
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
        ] {
            key.push(get(c));
        }
        key
    } else {
        let mut key = vec![Some("whole".to_string())];
        key.extend(
            all_columns
                .iter()
                .filter(|c| *c != "version")
                .map(|c| get(c)),
        );
        key
    }
}

/// The rows `convert --dedup --to ndjson` wrote, as records of text.
fn rows(out: &[u8]) -> Vec<Record> {
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_slice(l).unwrap();
            v.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let t = match v {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    };
                    (k.clone(), t)
                })
                .collect()
        })
        .collect()
}

#[test]
fn dedup_keeps_the_first_of_each_observation_whatever_the_threads_chunks_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x00de_d00b);
    // Log A: v2 default format.
    let a: Vec<Record> = (0..3000).map(|_| observation(&mut rng)).collect();
    // Log B: a custom format with vpc-id and tcp-flags over the same interfaces: two thirds of
    // A's records (latest first, so windows are revisited), near-repeats that differ in one
    // identity field, records without an interface that differ only in vpc-id (kept) or not at
    // all (dropped), and new records.
    let mut b: Vec<Record> = Vec::new();
    for r in a.iter().rev() {
        let mut r = r.clone();
        match rng.below(12) {
            0..=7 => {}
            8 => {
                let bytes: i64 = r["bytes"].as_deref().unwrap().parse().unwrap();
                r.insert("bytes".into(), Some((bytes + 1).to_string()));
            }
            9 => {
                let end: i64 = r["end"].as_deref().unwrap().parse().unwrap();
                r.insert("end".into(), Some((end + 1).to_string()));
            }
            _ => continue,
        }
        r.insert("version".into(), Some("3".into()));
        r.insert("vpc_id".into(), Some(format!("vpc-{}", rng.below(2))));
        r.insert("tcp_flags".into(), Some(rng.below(4).to_string()));
        b.push(r);
    }
    for _ in 0..500 {
        let mut r = observation(&mut rng);
        r.insert("version".into(), Some("3".into()));
        r.insert("vpc_id".into(), Some("vpc-0".into()));
        r.insert("tcp_flags".into(), None);
        b.push(r);
    }
    let custom: Vec<&str> = DEFAULT
        .iter()
        .copied()
        .chain(["vpc-id", "tcp-flags"])
        .collect();
    let write = |name: &str, fields: &[&str], records: &[Record]| {
        let mut text = fields.join(" ") + "\n";
        for r in records {
            text += &line(fields, r);
            text.push('\n');
        }
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let pa = write("a.log", &DEFAULT, &a);
    let pb = write("b.log", &custom, &b);

    // The oracle: records in input order, each kept unless its identity was seen.
    let all_columns: Vec<String> = custom.iter().map(|f| column(f)).collect();
    let mut seen = HashSet::new();
    let mut want = Vec::new();
    for r in a.iter().chain(&b) {
        if seen.insert(identity(r, &all_columns)) {
            let mut r = r.clone();
            for c in &all_columns {
                r.entry(c.clone()).or_insert(None);
            }
            want.push(r);
        }
    }
    let duplicates = (a.len() + b.len() - want.len()) as u64;
    assert!(
        duplicates > 1500 && want.len() > 3000,
        "a weak test: {duplicates} repeats"
    );

    let mut outputs = Vec::new();
    for (threads, chunk, keys) in [
        ("1", "1048576", "12000000"),
        ("2", "4096", "12000000"),
        ("2", "1048576", "50"),
        ("1", "777", "1"),
    ] {
        let stats = dir
            .path()
            .join(format!("stats-{threads}-{chunk}-{keys}.json"));
        let o = Command::new(env!("CARGO_BIN_EXE_vpcflow"))
            .args([
                "convert", &pa, &pb, "--dedup", "-o", "-", "--to", "ndjson", "-q",
            ])
            .args([
                "--threads",
                threads,
                "--chunk-bytes",
                chunk,
                "--dedup-keys",
                keys,
            ])
            .arg("--stats")
            .arg(&stats)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let got = rows(&o.stdout);
        assert_eq!(
            got.len(),
            want.len(),
            "threads {threads} chunk {chunk} keys {keys}"
        );
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g, w,
                "row {i} (threads {threads} chunk {chunk} keys {keys})"
            );
        }
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
        assert_eq!(s["duplicates"], duplicates);
        assert_eq!(
            s["records"].as_u64().unwrap(),
            s["rows_written"].as_u64().unwrap()
                + s["rejected"].as_u64().unwrap()
                + s["duplicates"].as_u64().unwrap()
        );
        outputs.push(o.stdout);
    }
    assert!(outputs.windows(2).all(|w| w[0] == w[1]));

    // Without --dedup every record is written and none is counted a duplicate.
    let o = common::vpcflow(&["convert", &pa, &pb, "-o", "-", "--to", "ndjson", "-q"]);
    assert_eq!(rows(&o.stdout).len(), a.len() + b.len());
}

#[test]
fn dedup_is_refused_where_it_cant_hold() {
    let o = common::vpcflow(&[
        "convert",
        "testdata/sample-default.log",
        "--dedup",
        "--cluster",
        "df://127.0.0.1:1",
        "-o",
        "/tmp/vpcflow-never/",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--dedup"));
}
