//! `--to bulk` files and `es-template`: every bulk file is NDJSON of alternating action and
//! document lines within the size limit, and every value of every document has the JSON type its
//! template mapping expects.

mod common;

use serde_json::Value;

/// The mapping type at a dotted path, following `properties`; `None` if unmapped.
fn mapped_type<'a>(props: &'a Value, path: &[&str]) -> Option<&'a str> {
    let node = props.get(path[0])?;
    if path.len() == 1 {
        return node.get("type")?.as_str();
    }
    if let Some(t) = node.get("type").and_then(Value::as_str) {
        // A leaf type with deeper JSON (geo_point's lat/lon).
        return (t == "geo_point").then_some(t);
    }
    mapped_type(node.get("properties")?, &path[1..])
}

fn walk(v: &Value, path: &mut Vec<String>, props: &Value, seen: &mut usize) {
    if let Value::Object(m) = v {
        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
        if !parts.is_empty() && mapped_type(props, &parts) == Some("geo_point") {
            assert!(m["lat"].is_number() && m["lon"].is_number(), "{parts:?}");
            *seen += 1;
            return;
        }
        for (k, v) in m {
            path.push(k.clone());
            walk(v, path, props, seen);
            path.pop();
        }
        return;
    }
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    let ty = match mapped_type(props, &parts) {
        Some(t) => t,
        // Anything else under aws.vpcflow is a string mapped by the dynamic template.
        None if parts.starts_with(&["aws", "vpcflow"]) && v.is_string() => "keyword",
        None => panic!("{} is not in the template", parts.join(".")),
    };
    let values: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    for x in values {
        let ok = match ty {
            "keyword" | "constant_keyword" => x.is_string(),
            "ip" => x
                .as_str()
                .is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok()),
            "date" => x
                .as_str()
                .is_some_and(|s| s.len() == 24 && s.ends_with(".000Z") && s.as_bytes()[10] == b'T'),
            "long" => x.is_i64(),
            t => panic!("unexpected mapping type {t}"),
        };
        assert!(
            ok,
            "{} = {x} does not fit mapping type {ty}",
            parts.join(".")
        );
        *seen += 1;
    }
}

#[test]
fn bulk_files_alternate_actions_and_documents_within_the_limit_and_fit_the_template() {
    let o = common::vpcflow(&["es-template"]);
    assert!(o.status.success());
    let template: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(template["index_patterns"][0], "logs-aws.vpcflow-*");
    let props = &template["template"]["mappings"]["properties"];

    let dir = tempfile::tempdir().unwrap();
    let mut inputs: Vec<String> = [
        "all-40-fields.log",
        "tgw-v6.log",
        "aws-default.log",
        "encryption-v10.log",
        "headerless-standard.log",
    ]
    .iter()
    .map(|n| common::testdata(n).to_str().unwrap().to_string())
    .collect();
    inputs.push(common::testdata("elastic").to_str().unwrap().to_string());
    let out = dir.path().join("bulk.ndjson");
    let geoip = common::testdata("geoip");
    let limit = 30_000;
    let mut args: Vec<&str> = vec!["convert"];
    args.extend(inputs.iter().map(String::as_str));
    let limit_s = limit.to_string();
    args.extend([
        "--to",
        "bulk",
        "--preserve-original",
        "--namespace",
        "test",
        "--geoip",
        geoip.to_str().unwrap(),
        "--bulk-bytes",
        &limit_s,
        "-o",
    ]);
    args.push(out.to_str().unwrap());
    let o = common::vpcflow(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() > 3, "{files:?}");
    let (mut docs, mut values) = (0, 0);
    for (i, f) in files.iter().enumerate() {
        assert_eq!(
            f.file_name().unwrap().to_str().unwrap(),
            format!("bulk-{:06}.ndjson", i + 1)
        );
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            text.len() <= limit,
            "{} has {} bytes",
            f.display(),
            text.len()
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len() % 2, 0);
        for pair in lines.chunks(2) {
            assert_eq!(pair[0], r#"{"create":{"_index":"logs-aws.vpcflow-test"}}"#);
            let doc: Value = serde_json::from_str(pair[1]).unwrap();
            assert_eq!(doc["data_stream"]["namespace"], "test");
            assert_eq!(doc["event"]["dataset"], "aws.vpcflow");
            walk(&doc, &mut Vec::new(), props, &mut values);
            // Provenance: the line at log.offset of log.file.path is the record.
            let path = doc["log"]["file"]["path"].as_str().unwrap();
            let offset = doc["log"]["offset"].as_u64().unwrap() as usize;
            let data = std::fs::read(path).unwrap();
            let end = data[offset..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |k| offset + k);
            let line = String::from_utf8_lossy(&data[offset..end]);
            let line = line.trim_end_matches('\r').trim();
            if !line.starts_with('{') {
                assert_eq!(
                    line,
                    doc["event"]["original"].as_str().unwrap(),
                    "{path}@{offset}"
                );
            }
            assert_eq!(doc["input"]["type"], "log");
            assert!(doc["@timestamp"].is_string());
            docs += 1;
        }
    }
    // 40 + 30 + 8 + 4 + 5 records and Elastic's 33 documents.
    assert_eq!(docs, 40 + 30 + 8 + 4 + 5 + 33);
    assert!(values > docs * 15);
}
