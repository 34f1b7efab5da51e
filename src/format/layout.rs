//! A file's ordered fields: from its S3 header line, from `--fields`, or — only when neither
//! exists — by matching each line against AWS's standard layouts.
//!
//! Names come first. An S3 object's first line names its fields (`version account-id …`, hyphens or
//! underscores); `--fields '${version} ${srcaddr} …'` (or the plain names) describes header-less
//! input. Header-less input without `--fields` (CloudWatch Logs, Firehose, Elastic's test files) is
//! matched line by line against the standard layouts below by token count *and* token shape:
//! numbers where numbers belong, `eni-`/`vpc-`/… ids or `-` where ids belong, addresses where
//! addresses belong, `ACCEPT`/`REJECT`, `OK`/`NODATA`/`SKIPDATA`. A line that fits none is
//! rejected, never parsed in the wrong order.

use crate::format::fields::{self, Domain, Field, Kind};
use crate::parse;

/// One column of a layout: a registry field, or a name the registry doesn't know (kept as utf8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// A field from [`fields::FIELDS`].
    Known(&'static Field),
    /// An unknown field, by its column name (lower case, hyphens turned into underscores).
    Unknown(String),
}

impl Column {
    /// Column name in the output schema.
    pub fn name(&self) -> &str {
        match self {
            Column::Known(f) => f.column,
            Column::Unknown(n) => n,
        }
    }

    /// Arrow type family.
    pub fn kind(&self) -> Kind {
        match self {
            Column::Known(f) => f.kind,
            Column::Unknown(_) => Kind::Utf8,
        }
    }

    /// Value domain checked on every record.
    pub(crate) fn domain(&self) -> Domain {
        match self {
            Column::Known(f) => f.domain,
            Column::Unknown(_) => Domain::Any,
        }
    }
}

/// An ordered list of columns, one per token of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Columns in token order.
    pub columns: Vec<Column>,
    /// Unknown names met while building the layout (for a warning).
    pub unknown: Vec<String>,
}

pub use crate::error::LayoutError;

/// Most tokens a record may have. AWS knows 72 fields; unknown extras fit too.
pub const MAX_TOKENS: usize = 128;

fn is_name_token(tok: &str) -> bool {
    let t = tok
        .strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(tok);
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

impl Layout {
    /// Builds a layout from field names (`${a} ${b}`, `a b`, `a,b`, hyphens or underscores).
    pub fn from_names(text: &str) -> Result<Layout, LayoutError> {
        let mut columns: Vec<Column> = Vec::new();
        let mut unknown = Vec::new();
        for tok in text
            .split([' ', '\t', ',', '\r', '\n'])
            .filter(|t| !t.is_empty())
        {
            if !is_name_token(tok) {
                return Err(LayoutError::BadName(tok.to_string()));
            }
            let col = match fields::lookup(tok) {
                Some(f) => Column::Known(f),
                None => {
                    let bare = tok
                        .strip_prefix("${")
                        .and_then(|t| t.strip_suffix('}'))
                        .unwrap_or(tok);
                    let name = bare.to_ascii_lowercase().replace('-', "_");
                    unknown.push(bare.to_string());
                    Column::Unknown(name)
                }
            };
            if columns.iter().any(|c| c.name() == col.name()) {
                return Err(LayoutError::Duplicate(col.name().to_string()));
            }
            columns.push(col);
        }
        if columns.is_empty() {
            return Err(LayoutError::Empty);
        }
        if columns.len() > MAX_TOKENS {
            return Err(LayoutError::TooMany(columns.len(), MAX_TOKENS));
        }
        Ok(Layout { columns, unknown })
    }

    /// The `--fields` value: names, or the word `default` for the v2 default format.
    pub fn from_fields_arg(text: &str) -> Result<Layout, LayoutError> {
        let t = text.trim();
        if let Some(std) = STANDARD.iter().find(|s| s.name == t) {
            return Ok(std.layout());
        }
        Layout::from_names(t)
    }

    /// Whether `line` (one trimmed line of a file) is a header naming fields: every token is a
    /// field-name-like word, and at least half of them are names the registry knows. A header
    /// that fails to build (duplicate names) is still recognised, and reported as an error.
    pub fn detect_header(line: &[u8]) -> Option<Result<Layout, LayoutError>> {
        let text = std::str::from_utf8(line).ok()?;
        let mut total = 0;
        let mut known = 0;
        for tok in text.split([' ', '\t']).filter(|t| !t.is_empty()) {
            if !is_name_token(tok) {
                return None;
            }
            total += 1;
            known += usize::from(fields::lookup(tok).is_some());
        }
        if total == 0 || known == 0 || known * 2 < total {
            return None;
        }
        Some(Layout::from_names(text))
    }

    /// The header line AWS would write for this layout (hyphenated names).
    pub(crate) fn header_line(&self) -> String {
        self.columns
            .iter()
            .map(|c| match c {
                Column::Known(f) => f.aws.to_string(),
                Column::Unknown(n) => n.clone(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What a token must look like in a header-less line for a standard layout to fit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Decimal digits.
    Int,
    /// An IPv4/IPv6 address.
    Ip,
    /// Starts with this prefix (`eni-`, `vpc-`, …).
    Prefix(&'static str),
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// An AWS account id: digits or `unknown`.
    Account,
    /// Anything.
    Any,
}

impl Shape {
    /// Whether `tok` fits; `-` (no value) fits every shape.
    pub(crate) fn fits(self, tok: &[u8]) -> bool {
        if tok == b"-" {
            return true;
        }
        match self {
            Shape::Int => tok.iter().all(u8::is_ascii_digit),
            Shape::Ip => parse::is_ip(tok),
            Shape::Prefix(p) => tok.starts_with(p.as_bytes()) && tok.len() > p.len(),
            Shape::OneOf(words) => words.iter().any(|w| w.as_bytes() == tok),
            Shape::Account => tok.iter().all(u8::is_ascii_digit) || tok == b"unknown",
            Shape::Any => true,
        }
    }

    /// The shape a field's values have.
    pub fn of(field: &Field) -> Shape {
        match field.aws {
            "interface-id" | "tgw-src-eni" | "tgw-dst-eni" => Shape::Prefix("eni-"),
            "vpc-id" | "tgw-src-vpc-id" | "tgw-dst-vpc-id" => Shape::Prefix("vpc-"),
            "subnet-id" | "tgw-src-subnet-id" | "tgw-dst-subnet-id" => Shape::Prefix("subnet-"),
            "instance-id" => Shape::Prefix("i-"),
            "tgw-id" => Shape::Prefix("tgw-"),
            "tgw-attachment-id" | "tgw-pair-attachment-id" => Shape::Prefix("tgw-attach-"),
            "account-id" | "tgw-src-vpc-account-id" | "tgw-dst-vpc-account-id" => Shape::Account,
            "action" => Shape::OneOf(&["ACCEPT", "REJECT"]),
            "log-status" => Shape::OneOf(&["OK", "NODATA", "SKIPDATA"]),
            "type" => Shape::OneOf(&["IPv4", "IPv6", "EFA"]),
            "flow-direction" => Shape::OneOf(&["ingress", "egress"]),
            "resource-type" => Shape::OneOf(&["TransitGateway", "TransitGatewayAttachment"]),
            _ => match (field.kind, field.domain) {
                (_, Domain::Ip) => Shape::Ip,
                (Kind::Int32 | Kind::Int64, _) => Shape::Int,
                _ => Shape::Any,
            },
        }
    }
}

/// One of AWS's standard (or documented example) layouts, for header-less input.
#[derive(Debug)]
pub struct Standard {
    /// Short name (`default`, `v5-all`, `tgw`, …).
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// AWS field names in token order.
    pub fields: &'static [&'static str],
}

const V2: [&str; 14] = [
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
const V5_ALL: [&str; 29] = [
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
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
];
const V7_ALL: [&str; 39] = [
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
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
];
const V8_ALL: [&str; 40] = [
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
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    "reject-reason",
];
const TGW: [&str; 36] = [
    "version",
    "resource-type",
    "account-id",
    "tgw-id",
    "tgw-attachment-id",
    "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id",
    "tgw-src-vpc-id",
    "tgw-dst-vpc-id",
    "tgw-src-subnet-id",
    "tgw-dst-subnet-id",
    "tgw-src-eni",
    "tgw-dst-eni",
    "tgw-src-az-id",
    "tgw-dst-az-id",
    "tgw-pair-attachment-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "log-status",
    "type",
    "packets-lost-no-route",
    "packets-lost-blackhole",
    "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired",
    "tcp-flags",
    "region",
    "flow-direction",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
];
const NAT_EXAMPLE: [&str; 6] = [
    "instance-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "pkt-srcaddr",
    "pkt-dstaddr",
];
const TGW_PATH_EXAMPLE: [&str; 17] = [
    "version",
    "interface-id",
    "account-id",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "action",
    "log-status",
];
const TCP_FLAGS_EXAMPLE: [&str; 21] = [
    "version",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "interface-id",
    "account-id",
    "type",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "protocol",
    "bytes",
    "packets",
    "start",
    "end",
    "action",
    "tcp-flags",
    "log-status",
];

/// AWS's standard layouts, each with a distinct token count.
pub static STANDARD: &[Standard] = &[
    Standard {
        name: "default",
        description: "v2 default format (14 fields)",
        fields: &V2,
    },
    Standard {
        name: "v5-all",
        description: "all v2–v5 fields in AWS's table order (29 fields)",
        fields: &V5_ALL,
    },
    Standard {
        name: "tgw",
        description: "Transit Gateway v6 default format (36 fields)",
        fields: &TGW,
    },
    Standard {
        name: "v7-all",
        description: "all v2–v7 fields (39 fields)",
        fields: &V7_ALL,
    },
    Standard {
        name: "v8-all",
        description: "all v2–v8 fields (40 fields)",
        fields: &V8_ALL,
    },
    Standard {
        name: "nat-example",
        description: "AWS's NAT gateway example custom format (6 fields)",
        fields: &NAT_EXAMPLE,
    },
    Standard {
        name: "tgw-path-example",
        description: "AWS's transit gateway path example custom format (17 fields)",
        fields: &TGW_PATH_EXAMPLE,
    },
    Standard {
        name: "tcp-flags-example",
        description: "AWS's TCP flag sequence example custom format (21 fields)",
        fields: &TCP_FLAGS_EXAMPLE,
    },
];

impl Standard {
    /// The layout, with every field resolved in the registry.
    pub fn layout(&self) -> Layout {
        let columns = self
            .fields
            .iter()
            .map(|n| Column::Known(fields::lookup(n).expect("standard layouts use registry names")))
            .collect();
        Layout {
            columns,
            unknown: Vec::new(),
        }
    }

    /// The standard layout with `n` tokens, if any.
    pub(crate) fn by_count(n: usize) -> Option<&'static Standard> {
        STANDARD.iter().find(|s| s.fields.len() == n)
    }
}

/// Which standard layout a header-less line's tokens fit, checking count and every token's shape.
/// On a mismatch, says which token failed.
pub(crate) fn match_standard(
    line: &[u8],
    spans: &[(u32, u32)],
) -> Result<&'static Standard, String> {
    let Some(std) = Standard::by_count(spans.len()) else {
        return Err(format!(
            "{} tokens, and no header or --fields says what they are; the standard layouts have 6, 14, 17, 21, 29, 36, 39 or 40",
            spans.len()
        ));
    };
    for (i, (&(s, e), name)) in spans.iter().zip(std.fields).enumerate() {
        let tok = &line[s as usize..e as usize];
        let field = fields::lookup(name).expect("registry name");
        if !Shape::of(field).fits(tok) {
            return Err(format!(
                "{} tokens as in the {} layout, but token {} ('{}') is not a valid {}; give --fields for custom layouts",
                spans.len(),
                std.name,
                i + 1,
                String::from_utf8_lossy(&tok[..tok.len().min(80)]),
                field.aws
            ));
        }
    }
    Ok(std)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(line: &str) -> Vec<(u32, u32)> {
        let mut s = vec![(0, 0); MAX_TOKENS];
        let n = parse::tokenize(line.as_bytes(), &mut s);
        s.truncate(n);
        s
    }

    #[test]
    fn standard_layouts_have_distinct_counts_and_known_fields() {
        let mut counts: Vec<usize> = STANDARD.iter().map(|s| s.fields.len()).collect();
        counts.sort();
        assert_eq!(counts, [6, 14, 17, 21, 29, 36, 39, 40]);
        for s in STANDARD {
            assert_eq!(s.layout().columns.len(), s.fields.len());
        }
    }

    #[test]
    fn header_detection() {
        let h = Layout::detect_header(b"version account-id interface-id srcaddr")
            .unwrap()
            .unwrap();
        assert_eq!(h.columns.len(), 4);
        let h = Layout::detect_header(b"version account_id my-extra")
            .unwrap()
            .unwrap();
        assert_eq!(h.unknown, ["my-extra"]);
        assert_eq!(h.columns[2], Column::Unknown("my_extra".into()));
        assert!(
            Layout::detect_header(b"2 123456789010 eni-1 - - - - - - - 1 2 - NODATA").is_none()
        );
        assert!(
            Layout::detect_header(
                b"- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5"
            )
            .is_none()
        );
        assert!(Layout::detect_header(b"ingress - 10.0.133.8 10.0.128.55 43236 80 1").is_none());
        assert!(Layout::detect_header(b"alpha beta gamma").is_none());
        assert_eq!(
            Layout::detect_header(b"srcaddr dstaddr srcaddr").unwrap(),
            Err(LayoutError::Duplicate("srcaddr".into()))
        );
    }

    #[test]
    fn fields_arg_forms() {
        let a = Layout::from_fields_arg("${version} ${account-id} ${interface-id}").unwrap();
        let b = Layout::from_fields_arg("version,account_id,interface-id").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            Layout::from_fields_arg("default").unwrap().columns.len(),
            14
        );
        assert!(matches!(
            Layout::from_fields_arg("${version} 1x"),
            Err(LayoutError::BadName(_))
        ));
        assert_eq!(Layout::from_fields_arg("  "), Err(LayoutError::Empty));
    }

    #[test]
    fn standard_matching_checks_shapes() {
        let l = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";
        assert_eq!(
            match_standard(l.as_bytes(), &spans(l)).unwrap().name,
            "default"
        );
        // A 14-token custom order (packets/bytes before ports) is refused, not misparsed.
        let odd = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 ACCEPT 22 6 20 4249 1418530010 1418530070 20641 OK";
        let err = match_standard(odd.as_bytes(), &spans(odd)).unwrap_err();
        assert!(err.contains("token 6"), "{err}");
        let nat = "- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5";
        assert_eq!(
            match_standard(nat.as_bytes(), &spans(nat)).unwrap().name,
            "nat-example"
        );
        let seven = "a b c d e f g";
        assert!(
            match_standard(seven.as_bytes(), &spans(seven))
                .unwrap_err()
                .contains("7 tokens")
        );
    }
}
