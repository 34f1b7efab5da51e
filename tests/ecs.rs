//! ECS output against Elastic's own pipeline test documents (copied into testdata/elastic from
//! ../shared/conformance/elastic): every field, every value, array order included.

mod common;

use serde_json::Value;

fn flatten(v: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() || prefix.is_empty() => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, &key, out);
            }
        }
        _ => out.push((prefix.to_string(), v.clone())),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-9
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        _ => a == b,
    }
}

#[test]
fn documents_match_elastics_golden_documents() {
    let dir = common::testdata("elastic");
    let mut logs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    assert_eq!(logs.len(), 7);
    let mut docs = 0;
    for log in logs {
        let geoip = common::testdata("geoip");
        let o = common::vpcflow(&[
            "convert",
            log.to_str().unwrap(),
            "--to",
            "ecs",
            "--preserve-original",
            "--geoip",
            geoip.to_str().unwrap(),
            "-q",
            "-o",
            "-",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let got: Vec<Value> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let expected_path = format!("{}-expected.json", log.display());
        let want: Value =
            serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
        let want = want["expected"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{}", log.display());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let (mut gf, mut wf) = (Vec::new(), Vec::new());
            flatten(g, "", &mut gf);
            flatten(w, "", &mut wf);
            wf.retain(|(k, _)| k != "event.ingested");
            gf.sort_by(|a, b| a.0.cmp(&b.0));
            wf.sort_by(|a, b| a.0.cmp(&b.0));
            let gk: Vec<&String> = gf.iter().map(|(k, _)| k).collect();
            let wk: Vec<&String> = wf.iter().map(|(k, _)| k).collect();
            assert_eq!(gk, wk, "{} doc {}: field sets differ", log.display(), i + 1);
            for ((k, a), (_, b)) in gf.iter().zip(&wf) {
                assert!(
                    same(a, b),
                    "{} doc {}: {k}: got {a}, want {b}",
                    log.display(),
                    i + 1
                );
            }
            docs += 1;
        }
    }
    assert_eq!(docs, 33);
}

#[test]
fn without_preserve_original_there_is_no_original_and_no_tag() {
    let log = common::testdata("elastic/test-extra-samples.log");
    let o = common::vpcflow(&[
        "convert",
        log.to_str().unwrap(),
        "--to",
        "ecs",
        "-q",
        "-o",
        "-",
    ]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), 7);
    for l in text.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        assert!(
            v["event"].get("original").is_none() && v.get("tags").is_none(),
            "{l}"
        );
        assert_eq!(v["ecs"]["version"], "8.11.0");
    }
}

#[test]
fn text_needing_json_escapes_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("odd.log");
    std::fs::write(
        &f,
        "version account-id note\n2 123 plain\n2 123 q\"uo\\te\u{1}x\n",
    )
    .unwrap();
    let o = common::vpcflow(&[
        "convert",
        f.to_str().unwrap(),
        "--to",
        "ecs",
        "-q",
        "-o",
        "-",
    ]);
    assert!(o.status.success());
    let docs: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs[0]["aws"]["vpcflow"]["note"], "plain");
    assert_eq!(docs[1]["aws"]["vpcflow"]["note"], "q\"uo\\te\u{1}x");
}
