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

/// The "Exported fields" table of Elastic's AWS integration for its VPC Flow data stream
/// (elastic/integrations, `packages/aws/docs/vpcflow.md`, generated from
/// `packages/aws/data_stream/vpcflow/fields/*.yml`: `base-fields.yml`, `package-fields.yml`,
/// `fields.yml`, `agent.yml`), with the types it names: the v2–v5 rows of the table as of
/// package 2.x plus the Transit Gateway (v6) and ECS (v7) fields the 3.15 release added.
const ELASTIC_VPCFLOW_FIELDS: &[(&str, &str)] = &[
    ("@timestamp", "date"),
    ("aws.s3.bucket.arn", "keyword"),
    ("aws.s3.bucket.name", "keyword"),
    ("aws.s3.metadata", "flattened"),
    ("aws.s3.object.key", "keyword"),
    ("aws.vpcflow.account_id", "keyword"),
    ("aws.vpcflow.action", "keyword"),
    ("aws.vpcflow.ecs_cluster_arn", "keyword"),
    ("aws.vpcflow.ecs_cluster_name", "keyword"),
    ("aws.vpcflow.ecs_container_id", "keyword"),
    ("aws.vpcflow.ecs_container_instance_arn", "keyword"),
    ("aws.vpcflow.ecs_container_instance_id", "keyword"),
    ("aws.vpcflow.ecs_second_container_id", "keyword"),
    ("aws.vpcflow.ecs_service_name", "keyword"),
    ("aws.vpcflow.ecs_task_arn", "keyword"),
    ("aws.vpcflow.ecs_task_definition_arn", "keyword"),
    ("aws.vpcflow.ecs_task_id", "keyword"),
    ("aws.vpcflow.instance_id", "keyword"),
    ("aws.vpcflow.interface_id", "keyword"),
    ("aws.vpcflow.log_status", "keyword"),
    ("aws.vpcflow.packets_lost_blackhole", "long"),
    ("aws.vpcflow.packets_lost_mtu_exceeded", "long"),
    ("aws.vpcflow.packets_lost_no_route", "long"),
    ("aws.vpcflow.packets_lost_ttl_expired", "long"),
    ("aws.vpcflow.pkt_dst_service", "keyword"),
    ("aws.vpcflow.pkt_dstaddr", "ip"),
    ("aws.vpcflow.pkt_src_service", "keyword"),
    ("aws.vpcflow.pkt_srcaddr", "ip"),
    ("aws.vpcflow.resource_type", "keyword"),
    ("aws.vpcflow.sublocation.id", "keyword"),
    ("aws.vpcflow.sublocation.type", "keyword"),
    ("aws.vpcflow.subnet_id", "keyword"),
    ("aws.vpcflow.tcp_flags", "keyword"),
    ("aws.vpcflow.tcp_flags_array", "keyword"),
    ("aws.vpcflow.tgw_attachment_id", "keyword"),
    ("aws.vpcflow.tgw_dst_az_id", "keyword"),
    ("aws.vpcflow.tgw_dst_eni", "keyword"),
    ("aws.vpcflow.tgw_dst_subnet_id", "keyword"),
    ("aws.vpcflow.tgw_dst_vpc_account_id", "keyword"),
    ("aws.vpcflow.tgw_dst_vpc_id", "keyword"),
    ("aws.vpcflow.tgw_id", "keyword"),
    ("aws.vpcflow.tgw_pair_attachment_id", "keyword"),
    ("aws.vpcflow.tgw_src_az_id", "keyword"),
    ("aws.vpcflow.tgw_src_eni", "keyword"),
    ("aws.vpcflow.tgw_src_subnet_id", "keyword"),
    ("aws.vpcflow.tgw_src_vpc_account_id", "keyword"),
    ("aws.vpcflow.tgw_src_vpc_id", "keyword"),
    ("aws.vpcflow.traffic_path", "keyword"),
    ("aws.vpcflow.type", "keyword"),
    ("aws.vpcflow.version", "keyword"),
    ("aws.vpcflow.vpc_id", "keyword"),
    ("cloud.image.id", "keyword"),
    ("data_stream.dataset", "constant_keyword"),
    ("data_stream.namespace", "constant_keyword"),
    ("data_stream.type", "constant_keyword"),
    ("event.module", "constant_keyword"),
    ("host.containerized", "boolean"),
    ("host.os.build", "keyword"),
    ("host.os.codename", "keyword"),
    ("input.type", "keyword"),
    ("log.offset", "long"),
];

#[test]
fn es_template_maps_every_field_of_elastics_table_with_its_type() {
    assert_eq!(ELASTIC_VPCFLOW_FIELDS.len(), 61);
    let o = common::vpcflow(&["es-template"]);
    assert!(o.status.success());
    let template: Value = serde_json::from_slice(&o.stdout).unwrap();
    let props = &template["template"]["mappings"]["properties"];
    let wrong: Vec<String> = ELASTIC_VPCFLOW_FIELDS
        .iter()
        .filter_map(|&(path, want)| {
            let parts: Vec<&str> = path.split('.').collect();
            let got = mapped_type(props, &parts);
            (got != Some(want)).then(|| format!("{path}: {got:?}, Elastic maps it as {want}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn attribution_lands_in_ecs_homes_and_aws_vpcflow_and_fits_the_template() {
    // hot.log's interfaces from the query test inventory, and a small ip-ranges file; the ECS
    // documents are compared with the same conversion's flat NDJSON, row by row.
    let dir = tempfile::tempdir().unwrap();
    let ranges = dir.path().join("ip-ranges.json");
    std::fs::write(
        &ranges,
        r#"{"prefixes": [{"ip_prefix": "198.51.100.0/24", "region": "us-east-1", "service": "AMAZON"},
                         {"ip_prefix": "10.0.0.0/8", "region": "eu-west-1", "service": "EC2"}],
            "ipv6_prefixes": []}"#,
    )
    .unwrap();
    let log = common::testdata("query").join("logs").join("hot.log");
    let inventory = common::testdata("query").join("inventory.json");
    let run = |to: &str| {
        let o = common::vpcflow(&[
            "convert",
            log.to_str().unwrap(),
            "--eni-inventory",
            inventory.to_str().unwrap(),
            "--aws-ip-ranges",
            ranges.to_str().unwrap(),
            "--to",
            to,
            "-o",
            "-",
            "-q",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let (docs, flat) = (run("ecs"), run("ndjson"));
    assert_eq!(docs.len(), flat.len());
    let o = common::vpcflow(&["es-template"]);
    let template: Value = serde_json::from_slice(&o.stdout).unwrap();
    let props = &template["template"]["mappings"]["properties"];
    let (mut named, mut hosts_seen) = (0, 0);
    for (doc, row) in docs.iter().zip(&flat) {
        let mut seen = 0;
        walk(doc, &mut Vec::new(), props, &mut seen);
        let v = &doc["aws"]["vpcflow"];
        for c in [
            "eni_type",
            "eni_description",
            "eni_name",
            "eni_instance_id",
            "eni_security_groups",
            "eni_subnet_id",
            "eni_vpc_id",
            "src_eni_id",
            "dst_eni_id",
            "src_instance_id",
            "dst_instance_id",
            "src_aws_service",
            "src_aws_region",
            "dst_aws_service",
            "dst_aws_region",
        ] {
            // Null columns leave their field out; the rest keep their value and JSON type.
            match &row[c] {
                Value::Null => assert!(v.get(c).is_none(), "{c} in {doc}"),
                value => assert_eq!(&v[c], value, "{c}"),
            }
        }
        // hot.log is v2: no instance-id field, so the interface's instance is the flow's.
        assert_eq!(
            doc["cloud"]["instance"]["id"].as_str(),
            row["eni_instance_id"].as_str()
        );
        let mut want: Vec<&str> = Vec::new();
        for c in [
            "eni_name",
            "eni_instance_id",
            "src_instance_id",
            "dst_instance_id",
        ] {
            if let Some(h) = row[c].as_str()
                && !want.contains(&h)
            {
                want.push(h);
            }
        }
        let got: Vec<&str> = doc["related"]["hosts"]
            .as_array()
            .map(|a| a.iter().map(|h| h.as_str().unwrap()).collect())
            .unwrap_or_default();
        assert_eq!(got, want);
        named += usize::from(row["eni_name"].is_string());
        hosts_seen += usize::from(!got.is_empty());
    }
    assert!(
        named > 10 && hosts_seen > 10,
        "{named} {hosts_seen}: a weak test"
    );
}
