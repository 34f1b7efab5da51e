//! AWS's published address ranges (`ip-ranges.json`): which AWS service and region an address
//! belongs to, for `src_aws_service`/`src_aws_region`/`dst_aws_service`/`dst_aws_region`.
//!
//! The file lists IPv4 (`prefixes[].ip_prefix`) and IPv6 (`ipv6_prefixes[].ipv6_prefix`)
//! prefixes, each with a `service` and a `region`; many appear twice, once as the catch-all
//! `AMAZON` and once as a specific service. An address takes the entry of the **longest**
//! prefix containing it; among entries of that same prefix a specific service wins over
//! `AMAZON`, and among several specific services the first listed wins.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::enrich::ip::{Prefix, PrefixTable};
use crate::error::Error;

/// The catch-all service name every AWS address also appears under.
pub const CATCH_ALL: &str = "AMAZON";

/// A loaded `ip-ranges.json`.
#[derive(Debug, Clone)]
pub struct AwsIpRanges {
    /// `(service, region)` of each kept entry, indexed by the table's values.
    entries: Vec<(Arc<str>, Arc<str>)>,
    table: PrefixTable,
    /// The file's `syncToken` (its publication time, Unix seconds, as text).
    pub sync_token: Option<String>,
    /// How many prefixes the file listed.
    pub prefixes: usize,
}

#[derive(Deserialize)]
struct File {
    #[serde(rename = "syncToken")]
    sync_token: Option<String>,
    prefixes: Vec<V4>,
    #[serde(default)]
    ipv6_prefixes: Vec<V6>,
}

#[derive(Deserialize)]
struct V4 {
    ip_prefix: String,
    region: String,
    service: String,
}

#[derive(Deserialize)]
struct V6 {
    ipv6_prefix: String,
    region: String,
    service: String,
}

impl AwsIpRanges {
    /// Reads `ip-ranges.json` (plain or gzip) from `path`.
    pub fn load(path: &Path) -> Result<AwsIpRanges, Error> {
        let bytes = super::read_document(path)?;
        AwsIpRanges::parse(&path.display().to_string(), &bytes)
    }

    /// Parses the file's text; `name` is the file named in errors, which give the JSON
    /// position (line and column) or the entry (`prefixes[3].ip_prefix`) at fault.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<AwsIpRanges, Error> {
        let bad = |reason: String| Error::Input {
            input: name.to_string(),
            reason,
        };
        let file: File = serde_json::from_slice(bytes).map_err(|e| {
            bad(format!(
                "not an AWS ip-ranges.json document ({{\"prefixes\": [{{\"ip_prefix\", \"region\", \"service\"}}, …]}}): {e}"
            ))
        })?;
        let mut listed: Vec<(Prefix, &str, &str)> = Vec::new();
        for (i, e) in file.prefixes.iter().enumerate() {
            let p = Prefix::parse(&e.ip_prefix)
                .map_err(|r| bad(format!("prefixes[{i}].ip_prefix: {r}")))?;
            if !p.addr.is_ipv4() {
                return Err(bad(format!(
                    "prefixes[{i}].ip_prefix: {:?} is not an IPv4 prefix",
                    e.ip_prefix
                )));
            }
            listed.push((p, &e.service, &e.region));
        }
        for (i, e) in file.ipv6_prefixes.iter().enumerate() {
            let p = Prefix::parse(&e.ipv6_prefix)
                .map_err(|r| bad(format!("ipv6_prefixes[{i}].ipv6_prefix: {r}")))?;
            if p.addr.is_ipv4() {
                return Err(bad(format!(
                    "ipv6_prefixes[{i}].ipv6_prefix: {:?} is not an IPv6 prefix",
                    e.ipv6_prefix
                )));
            }
            listed.push((p, &e.service, &e.region));
        }
        let prefixes = listed.len();
        // Specific services before AMAZON, else file order: the table keeps the first entry
        // of a prefix.
        listed.sort_by_key(|&(_, service, _)| service == CATCH_ALL);
        let mut entries: Vec<(Arc<str>, Arc<str>)> = Vec::new();
        let mut pairs = Vec::with_capacity(listed.len());
        let mut interned: std::collections::HashMap<(&str, &str), u32> = Default::default();
        for (p, service, region) in listed {
            let id = *interned.entry((service, region)).or_insert_with(|| {
                entries.push((Arc::from(service), Arc::from(region)));
                (entries.len() - 1) as u32
            });
            pairs.push((p, id));
        }
        Ok(AwsIpRanges {
            entries,
            table: PrefixTable::new(&pairs),
            sync_token: file.sync_token,
            prefixes,
        })
    }

    /// The `(service, region)` of the longest AWS prefix containing `ip`.
    pub fn lookup(&self, ip: IpAddr) -> Option<(&str, &str)> {
        let (s, r) = &self.entries[self.lookup_index(ip)? as usize];
        Some((s, r))
    }

    /// [`AwsIpRanges::lookup`] as an index into [`AwsIpRanges::entries`].
    pub fn lookup_index(&self, ip: IpAddr) -> Option<u32> {
        self.table.lookup(ip)
    }

    /// The distinct `(service, region)` pairs.
    pub fn entries(&self) -> &[(Arc<str>, Arc<str>)] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{
      "syncToken": "1764547200",
      "createDate": "2025-12-01-00-00-00",
      "prefixes": [
        {"ip_prefix": "52.94.0.0/16", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
        {"ip_prefix": "52.94.76.0/22", "region": "us-west-2", "service": "AMAZON", "network_border_group": "us-west-2"},
        {"ip_prefix": "52.94.76.0/22", "region": "us-west-2", "service": "DYNAMODB", "network_border_group": "us-west-2"},
        {"ip_prefix": "52.94.76.0/22", "region": "us-west-2", "service": "EC2", "network_border_group": "us-west-2"},
        {"ip_prefix": "52.94.77.0/24", "region": "us-west-2", "service": "AMAZON", "network_border_group": "us-west-2"},
        {"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2", "service": "S3", "network_border_group": "ap-northeast-2"}
      ],
      "ipv6_prefixes": [
        {"ipv6_prefix": "2600:1f00::/24", "region": "GLOBAL", "service": "AMAZON", "network_border_group": "GLOBAL"},
        {"ipv6_prefix": "2600:1f18::/33", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"}
      ]
    }"#;

    #[test]
    fn longest_prefix_then_specific_service_then_file_order() {
        let r = AwsIpRanges::parse("ip-ranges.json", DOC.as_bytes()).unwrap();
        let at = |s: &str| r.lookup(s.parse().unwrap());
        assert_eq!(at("52.94.1.1"), Some(("AMAZON", "us-east-1")));
        // DYNAMODB is listed before EC2 for the same /22; AMAZON's /24 inside it is longer.
        assert_eq!(at("52.94.76.9"), Some(("DYNAMODB", "us-west-2")));
        assert_eq!(at("52.94.77.9"), Some(("AMAZON", "us-west-2")));
        assert_eq!(at("52.94.79.255"), Some(("DYNAMODB", "us-west-2")));
        assert_eq!(at("3.5.143.255"), Some(("S3", "ap-northeast-2")));
        assert_eq!(at("3.5.144.0"), None);
        assert_eq!(at("2600:1f18::1"), Some(("EC2", "us-east-1")));
        assert_eq!(at("2600:1f18:8000::1"), Some(("AMAZON", "GLOBAL")));
        assert_eq!(at("10.0.0.1"), None);
        assert_eq!(
            (r.prefixes, r.sync_token.as_deref()),
            (8, Some("1764547200"))
        );
    }

    #[test]
    fn bad_documents_name_the_file_and_the_place() {
        let err = |doc: &str| {
            AwsIpRanges::parse("r.json", doc.as_bytes())
                .unwrap_err()
                .to_string()
        };
        let e = err("{\"prefixes\": [\n{\"ip_prefix\": 5}]}");
        assert!(e.starts_with("r.json: ") && e.contains("line 2"), "{e}");
        let e = err("[1, 2]");
        assert!(e.contains("not an AWS ip-ranges.json"), "{e}");
        let e = err(
            r#"{"prefixes": [{"ip_prefix": "1.2.3.0/24", "region": "r", "service": "S"},
                              {"ip_prefix": "1.2.3/24", "region": "r", "service": "S"}]}"#,
        );
        assert!(
            e.contains("prefixes[1].ip_prefix") && e.contains("1.2.3/24"),
            "{e}"
        );
        let e = err(
            r#"{"prefixes": [], "ipv6_prefixes": [{"ipv6_prefix": "10.0.0.0/8", "region": "r", "service": "S"}]}"#,
        );
        assert!(
            e.contains("ipv6_prefixes[0]") && e.contains("not an IPv6"),
            "{e}"
        );
        let e =
            err(r#"{"prefixes": [{"ip_prefix": "1.2.3.4/24", "region": "r", "service": "S"}]}"#);
        assert!(e.contains("host bits"), "{e}");
    }
}
