//! Every record in AWS's own documentation examples (testdata/aws-doc-examples.md, copied from
//! ../shared/conformance) parses with its stated format, with the values a naive reading gives.

mod common;

use common::*;

/// (format, data lines) for each `Format:` group followed by a code block.
fn groups() -> Vec<(String, Vec<String>)> {
    let md = std::fs::read_to_string(testdata("aws-doc-examples.md")).unwrap();
    let mut out = Vec::new();
    let mut format: Option<String> = None;
    let mut in_block = false;
    let mut lines = Vec::new();
    for l in md.lines() {
        if let Some(rest) = l.strip_prefix("Format: `") {
            format = Some(rest.split('`').next().unwrap().to_string());
            continue;
        }
        if l.starts_with("```") {
            if in_block {
                if let Some(f) = format.take() {
                    out.push((f, std::mem::take(&mut lines)));
                }
                lines.clear();
            }
            in_block = !in_block;
            continue;
        }
        if in_block && format.is_some() {
            // Documentation annotations are not data: `...` elisions and trailing `#` comments.
            if l.trim() == "..." {
                continue;
            }
            let data = match l.find(" #") {
                Some(i) => &l[..i],
                None => l,
            };
            lines.push(data.to_string());
        }
    }
    out
}

#[test]
fn every_documented_record_parses_with_its_format() {
    let groups = groups();
    assert!(groups.len() >= 20, "found only {} groups", groups.len());
    let dir = tempfile::tempdir().unwrap();
    let mut records = 0;
    for (i, (format, lines)) in groups.iter().enumerate() {
        let f = dir.path().join(format!("g{i}.log"));
        std::fs::write(&f, lines.join("\n") + "\n").unwrap();
        let (got, stats, stderr) = convert_render(&f, &["--fields", format, "--strict"]);
        // A group whose first line is an S3 header (J1) is read through that header.
        let names: Vec<&str> = format.split_whitespace().collect();
        let header = lines[0].split_whitespace().collect::<Vec<_>>();
        let is_header = header.len() == names.len()
            && header
                .iter()
                .zip(&names)
                .all(|(h, n)| format!("${{{h}}}") == **n);
        let data = if is_header {
            lines[1..].join("\n")
        } else {
            lines.join("\n")
        };
        assert_eq!(
            got,
            naive(&data, Some(format)),
            "group {i} ({format}): {stderr}"
        );
        assert_eq!(stats["rejected"], 0);
        records += stats["rows_written"].as_u64().unwrap();
    }
    assert!(records >= 35, "{records}");
}

#[test]
fn documented_default_records_are_detected_without_fields() {
    // Header-less default-format records (as CloudWatch holds them) need neither header nor --fields.
    for (format, lines) in groups() {
        if !format.starts_with("${version} ${account-id} ${interface-id}") {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("cw.log");
        std::fs::write(&f, lines.join("\n")).unwrap();
        let (got, stats, _) = convert_render(&f, &["--strict"]);
        assert_eq!(got, naive(&lines.join("\n"), Some(&format)));
        assert_eq!(stats["rejected"], 0);
    }
}
