//! The field registry: every VPC flow log field of versions 2–11 and every Transit Gateway (v6) field.
//!
//! For each field it records AWS's name as written in a format string or an S3 header line
//! (`pkt-srcaddr`), the column name AWS uses when it delivers flow logs as Parquet (hyphens become
//! underscores: `pkt_srcaddr`), the Arrow type of that column, and the flow log version that
//! introduced it. The types follow AWS's Parquet delivery: a handful of small integers are int32,
//! counters and times are int64, everything else (account ids included) is utf8.
//!
//! The registry knows nothing of I/O: layouts ([`crate::format::layout`]) look names up here.

use arrow::datatypes::DataType;

/// The Arrow type family of a column. Every column is nullable: `-` in a record is null.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 32-bit signed integer (version, ports, protocol, tcp_flags, traffic_path, encryption_status).
    Int32,
    /// 64-bit signed integer (packets, bytes, start, end, packets_lost_*).
    Int64,
    /// UTF-8 text (everything else).
    Utf8,
}

impl Kind {
    /// The Arrow data type of a column of this kind.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Int32 => DataType::Int32,
            Kind::Int64 => DataType::Int64,
            Kind::Utf8 => DataType::Utf8,
        }
    }

    /// The name used in `vpcflow fields` and in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Int32 => "int32",
            Kind::Int64 => "int64",
            Kind::Utf8 => "utf8",
        }
    }
}

/// Which kind of flow log a field appears in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// VPC (ENI, subnet, VPC) flow logs only.
    Vpc,
    /// Transit Gateway flow logs only.
    Tgw,
    /// Both VPC and Transit Gateway flow logs.
    Both,
}

impl Scope {
    /// Short name for listings.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Vpc => "vpc",
            Scope::Tgw => "tgw",
            Scope::Both => "vpc+tgw",
        }
    }
}

/// What values a field may hold beyond its Arrow type; checked on every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Any value of the column's type.
    Any,
    /// An integer in `0..=max`.
    Max(i64),
    /// An IPv4 or IPv6 address in text form.
    Ip,
}

/// One flow log field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// AWS's name, as in `${pkt-srcaddr}` and S3 header lines.
    pub aws: &'static str,
    /// The Parquet/Arrow column name (AWS's own Parquet column name).
    pub column: &'static str,
    /// Arrow type family.
    pub kind: Kind,
    /// The flow log version that introduced the field.
    pub version: u8,
    /// VPC, TGW or both.
    pub scope: Scope,
    /// Allowed values beyond the type.
    pub domain: Domain,
    /// One-line meaning, from AWS's "Flow log records" documentation.
    pub description: &'static str,
}

const fn f(
    aws: &'static str,
    column: &'static str,
    kind: Kind,
    version: u8,
    scope: Scope,
    domain: Domain,
    description: &'static str,
) -> Field {
    Field {
        aws,
        column,
        kind,
        version,
        scope,
        domain,
        description,
    }
}

use Domain::{Any, Ip, Max};
use Kind::{Int32, Int64, Utf8};
use Scope::{Both, Tgw, Vpc};

const PORT: Domain = Max(65_535);

/// Every known field, VPC fields in AWS's table order, then the Transit Gateway-only fields.
pub static FIELDS: &[Field] = &[
    // version 2 (the default format)
    f(
        "version",
        "version",
        Int32,
        2,
        Both,
        Any,
        "flow log version",
    ),
    f(
        "account-id",
        "account_id",
        Utf8,
        2,
        Both,
        Any,
        "AWS account ID of the owner of the source network interface (or of the transit gateway)",
    ),
    f(
        "interface-id",
        "interface_id",
        Utf8,
        2,
        Vpc,
        Any,
        "ID of the network interface the traffic is recorded for",
    ),
    f(
        "srcaddr",
        "srcaddr",
        Utf8,
        2,
        Both,
        Ip,
        "source address of incoming traffic, or the interface's address for outgoing traffic",
    ),
    f(
        "dstaddr",
        "dstaddr",
        Utf8,
        2,
        Both,
        Ip,
        "destination address of outgoing traffic, or the interface's address for incoming traffic",
    ),
    f("srcport", "srcport", Int32, 2, Both, PORT, "source port"),
    f(
        "dstport",
        "dstport",
        Int32,
        2,
        Both,
        PORT,
        "destination port",
    ),
    f(
        "protocol",
        "protocol",
        Int32,
        2,
        Both,
        Max(255),
        "IANA protocol number",
    ),
    f(
        "packets",
        "packets",
        Int64,
        2,
        Both,
        Any,
        "packets transferred during the flow",
    ),
    f(
        "bytes",
        "bytes",
        Int64,
        2,
        Both,
        Any,
        "bytes transferred during the flow",
    ),
    f(
        "start",
        "start",
        Int64,
        2,
        Both,
        Any,
        "time the first packet of the flow was received in the aggregation interval (Unix seconds)",
    ),
    f(
        "end",
        "end",
        Int64,
        2,
        Both,
        Any,
        "time the last packet of the flow was received in the aggregation interval (Unix seconds)",
    ),
    f("action", "action", Utf8, 2, Vpc, Any, "ACCEPT or REJECT"),
    f(
        "log-status",
        "log_status",
        Utf8,
        2,
        Both,
        Any,
        "OK, NODATA or SKIPDATA",
    ),
    // version 3
    f(
        "vpc-id",
        "vpc_id",
        Utf8,
        3,
        Vpc,
        Any,
        "ID of the VPC containing the network interface",
    ),
    f(
        "subnet-id",
        "subnet_id",
        Utf8,
        3,
        Vpc,
        Any,
        "ID of the subnet containing the network interface",
    ),
    f(
        "instance-id",
        "instance_id",
        Utf8,
        3,
        Vpc,
        Any,
        "ID of the instance the network interface belongs to, if you own it",
    ),
    f(
        "tcp-flags",
        "tcp_flags",
        Int32,
        3,
        Both,
        Any,
        "bitwise OR of the TCP flags seen in the interval (FIN 1, SYN 2, RST 4, SYN-ACK 18)",
    ),
    f(
        "type",
        "type",
        Utf8,
        3,
        Both,
        Any,
        "traffic type: IPv4, IPv6 or EFA",
    ),
    f(
        "pkt-srcaddr",
        "pkt_srcaddr",
        Utf8,
        3,
        Vpc,
        Ip,
        "packet-level (original) source address",
    ),
    f(
        "pkt-dstaddr",
        "pkt_dstaddr",
        Utf8,
        3,
        Vpc,
        Ip,
        "packet-level (original) destination address",
    ),
    // version 4
    f(
        "region",
        "region",
        Utf8,
        4,
        Both,
        Any,
        "Region of the network interface (or transit gateway)",
    ),
    f(
        "az-id",
        "az_id",
        Utf8,
        4,
        Vpc,
        Any,
        "ID of the Availability Zone of the network interface",
    ),
    f(
        "sublocation-type",
        "sublocation_type",
        Utf8,
        4,
        Vpc,
        Any,
        "type of sublocation: wavelength, outpost or localzone",
    ),
    f(
        "sublocation-id",
        "sublocation_id",
        Utf8,
        4,
        Vpc,
        Any,
        "ID of the sublocation",
    ),
    // version 5
    f(
        "pkt-src-aws-service",
        "pkt_src_aws_service",
        Utf8,
        5,
        Both,
        Any,
        "AWS service (IP range subset) pkt-srcaddr belongs to",
    ),
    f(
        "pkt-dst-aws-service",
        "pkt_dst_aws_service",
        Utf8,
        5,
        Both,
        Any,
        "AWS service (IP range subset) pkt-dstaddr belongs to",
    ),
    f(
        "flow-direction",
        "flow_direction",
        Utf8,
        5,
        Both,
        Any,
        "direction of the flow relative to the interface: ingress or egress",
    ),
    f(
        "traffic-path",
        "traffic_path",
        Int32,
        5,
        Vpc,
        Any,
        "path egress traffic takes (1 same VPC … 8 internet gateway)",
    ),
    // version 7 (ECS)
    f(
        "ecs-cluster-arn",
        "ecs_cluster_arn",
        Utf8,
        7,
        Vpc,
        Any,
        "ARN of the ECS cluster of the task",
    ),
    f(
        "ecs-cluster-name",
        "ecs_cluster_name",
        Utf8,
        7,
        Vpc,
        Any,
        "name of the ECS cluster of the task",
    ),
    f(
        "ecs-container-instance-arn",
        "ecs_container_instance_arn",
        Utf8,
        7,
        Vpc,
        Any,
        "ARN of the ECS container instance",
    ),
    f(
        "ecs-container-instance-id",
        "ecs_container_instance_id",
        Utf8,
        7,
        Vpc,
        Any,
        "ID of the ECS container instance",
    ),
    f(
        "ecs-container-id",
        "ecs_container_id",
        Utf8,
        7,
        Vpc,
        Any,
        "Docker runtime ID of the task's container",
    ),
    f(
        "ecs-second-container-id",
        "ecs_second_container_id",
        Utf8,
        7,
        Vpc,
        Any,
        "Docker runtime ID of a second container of the task",
    ),
    f(
        "ecs-service-name",
        "ecs_service_name",
        Utf8,
        7,
        Vpc,
        Any,
        "name of the ECS service the task belongs to",
    ),
    f(
        "ecs-task-definition-arn",
        "ecs_task_definition_arn",
        Utf8,
        7,
        Vpc,
        Any,
        "ARN of the task definition",
    ),
    f(
        "ecs-task-arn",
        "ecs_task_arn",
        Utf8,
        7,
        Vpc,
        Any,
        "ARN of the ECS task",
    ),
    f(
        "ecs-task-id",
        "ecs_task_id",
        Utf8,
        7,
        Vpc,
        Any,
        "ID of the ECS task",
    ),
    // version 8
    f(
        "reject-reason",
        "reject_reason",
        Utf8,
        8,
        Vpc,
        Any,
        "why traffic was rejected: BPA (Block Public Access) or EC (encryption controls)",
    ),
    // version 9
    f(
        "resource-id",
        "resource_id",
        Utf8,
        9,
        Vpc,
        Any,
        "ID of the resource (e.g. a regional NAT gateway) the traffic went through",
    ),
    // version 10
    f(
        "encryption-status",
        "encryption_status",
        Int32,
        10,
        Vpc,
        Any,
        "whether the flow was encrypted in transit (0 none, 1 Nitro, 2 application, 3 both)",
    ),
    // version 11
    f(
        "instance-tag",
        "instance_tag",
        Utf8,
        11,
        Vpc,
        Any,
        "value of a selected tag of the instance",
    ),
    f(
        "instance-tag-2",
        "instance_tag_2",
        Utf8,
        11,
        Vpc,
        Any,
        "value of a second selected tag of the instance",
    ),
    f(
        "interface-tag",
        "interface_tag",
        Utf8,
        11,
        Vpc,
        Any,
        "value of a selected tag of the network interface",
    ),
    f(
        "interface-tag-2",
        "interface_tag_2",
        Utf8,
        11,
        Vpc,
        Any,
        "value of a second selected tag of the network interface",
    ),
    f(
        "asg-tag",
        "asg_tag",
        Utf8,
        11,
        Vpc,
        Any,
        "value of a selected tag of the instance's Auto Scaling group",
    ),
    f(
        "asg-tag-2",
        "asg_tag_2",
        Utf8,
        11,
        Vpc,
        Any,
        "value of a second selected tag of the Auto Scaling group",
    ),
    f(
        "interface-type",
        "interface_type",
        Utf8,
        11,
        Vpc,
        Any,
        "type of the network interface (e.g. nat_gateway)",
    ),
    f(
        "next-hop-interface-id",
        "next_hop_interface_id",
        Utf8,
        11,
        Vpc,
        Any,
        "ID of the next-hop network interface",
    ),
    f(
        "next-hop-subnet-id",
        "next_hop_subnet_id",
        Utf8,
        11,
        Vpc,
        Any,
        "subnet of the next-hop network interface",
    ),
    f(
        "next-hop-az-id",
        "next_hop_az_id",
        Utf8,
        11,
        Vpc,
        Any,
        "Availability Zone ID of the next-hop network interface",
    ),
    f(
        "next-hop-vpc-id",
        "next_hop_vpc_id",
        Utf8,
        11,
        Vpc,
        Any,
        "VPC of the next-hop network interface",
    ),
    f(
        "next-hop-interface-type",
        "next_hop_interface_type",
        Utf8,
        11,
        Vpc,
        Any,
        "type of the next-hop network interface",
    ),
    // Transit Gateway flow logs (version 6)
    f(
        "resource-type",
        "resource_type",
        Utf8,
        6,
        Tgw,
        Any,
        "TransitGateway or TransitGatewayAttachment",
    ),
    f(
        "tgw-id",
        "tgw_id",
        Utf8,
        6,
        Tgw,
        Any,
        "ID of the transit gateway",
    ),
    f(
        "tgw-attachment-id",
        "tgw_attachment_id",
        Utf8,
        6,
        Tgw,
        Any,
        "ID of the transit gateway attachment",
    ),
    f(
        "tgw-src-vpc-account-id",
        "tgw_src_vpc_account_id",
        Utf8,
        6,
        Tgw,
        Any,
        "account of the source VPC",
    ),
    f(
        "tgw-dst-vpc-account-id",
        "tgw_dst_vpc_account_id",
        Utf8,
        6,
        Tgw,
        Any,
        "account of the destination VPC",
    ),
    f(
        "tgw-src-vpc-id",
        "tgw_src_vpc_id",
        Utf8,
        6,
        Tgw,
        Any,
        "ID of the source VPC",
    ),
    f(
        "tgw-dst-vpc-id",
        "tgw_dst_vpc_id",
        Utf8,
        6,
        Tgw,
        Any,
        "ID of the destination VPC",
    ),
    f(
        "tgw-src-subnet-id",
        "tgw_src_subnet_id",
        Utf8,
        6,
        Tgw,
        Any,
        "ID of the source subnet",
    ),
    f(
        "tgw-dst-subnet-id",
        "tgw_dst_subnet_id",
        Utf8,
        6,
        Tgw,
        Any,
        "ID of the destination subnet",
    ),
    f(
        "tgw-src-eni",
        "tgw_src_eni",
        Utf8,
        6,
        Tgw,
        Any,
        "ID of the source transit gateway attachment ENI",
    ),
    f(
        "tgw-dst-eni",
        "tgw_dst_eni",
        Utf8,
        6,
        Tgw,
        Any,
        "ID of the destination transit gateway attachment ENI",
    ),
    f(
        "tgw-src-az-id",
        "tgw_src_az_id",
        Utf8,
        6,
        Tgw,
        Any,
        "Availability Zone ID of the source",
    ),
    f(
        "tgw-dst-az-id",
        "tgw_dst_az_id",
        Utf8,
        6,
        Tgw,
        Any,
        "Availability Zone ID of the destination",
    ),
    f(
        "tgw-pair-attachment-id",
        "tgw_pair_attachment_id",
        Utf8,
        6,
        Tgw,
        Any,
        "the other attachment of the flow (ingress or egress side)",
    ),
    f(
        "packets-lost-no-route",
        "packets_lost_no_route",
        Int64,
        6,
        Tgw,
        Any,
        "packets lost because no route was specified",
    ),
    f(
        "packets-lost-blackhole",
        "packets_lost_blackhole",
        Int64,
        6,
        Tgw,
        Any,
        "packets lost to a blackhole route",
    ),
    f(
        "packets-lost-mtu-exceeded",
        "packets_lost_mtu_exceeded",
        Int64,
        6,
        Tgw,
        Any,
        "packets lost because their size exceeded the MTU",
    ),
    f(
        "packets-lost-ttl-expired",
        "packets_lost_ttl_expired",
        Int64,
        6,
        Tgw,
        Any,
        "packets lost because their time-to-live expired",
    ),
];

/// Not a flow log field: the int64 column of each record's byte offset in its input, added when
/// bulk output asks for provenance (`log.offset`). Never matched by name in a layout.
pub(crate) static OFFSET_FIELD: Field = f(
    "__offset",
    "__offset",
    Int64,
    0,
    Vpc,
    Any,
    "byte offset of the record in its input",
);

/// Other spellings of known fields seen in the wild, mapped to the registry's AWS name.
/// Elastic and some AWS Transit Gateway examples write `pkt-src-service` for `pkt-src-aws-service`.
const ALIASES: &[(&str, &str)] = &[
    ("pkt-src-service", "pkt-src-aws-service"),
    ("pkt-dst-service", "pkt-dst-aws-service"),
];

/// Looks a field up by any accepted spelling: `pkt-srcaddr`, `pkt_srcaddr`, `${pkt-srcaddr}`,
/// any ASCII case. Returns `None` for names the registry doesn't know.
pub(crate) fn lookup(name: &str) -> Option<&'static Field> {
    let name = name
        .strip_prefix("${")
        .and_then(|n| n.strip_suffix('}'))
        .unwrap_or(name);
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    let mut buf = [0u8; 64];
    for (dst, &b) in buf.iter_mut().zip(name.as_bytes()) {
        *dst = match b {
            b'_' => b'-',
            _ => b.to_ascii_lowercase(),
        };
    }
    let norm = &buf[..name.len()];
    let norm = ALIASES
        .iter()
        .find(|(alias, _)| alias.as_bytes() == norm)
        .map_or(norm, |(_, canonical)| canonical.as_bytes());
    FIELDS.iter().find(|f| f.aws.as_bytes() == norm)
}

/// Looks a field up by its column name (`pkt_srcaddr`).
pub(crate) fn by_column(column: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.column == column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_columns_are_unique_and_consistent() {
        let mut aws = HashSet::new();
        let mut cols = HashSet::new();
        for f in FIELDS {
            assert!(aws.insert(f.aws), "duplicate {}", f.aws);
            assert!(cols.insert(f.column), "duplicate {}", f.column);
            assert_eq!(f.column, f.aws.replace('-', "_"));
        }
    }

    #[test]
    fn vpc_fields_of_versions_2_to_11_number_54() {
        let vpc = FIELDS.iter().filter(|f| f.scope != Scope::Tgw).count();
        assert_eq!(vpc, 54);
        // The TGW default format has 36 fields; all of them are known.
        let tgw = FIELDS.iter().filter(|f| f.scope != Scope::Vpc).count();
        assert_eq!(tgw, 36);
    }

    #[test]
    fn types_follow_aws_parquet() {
        let ty = |n: &str| lookup(n).unwrap().kind;
        for n in [
            "version",
            "srcport",
            "dstport",
            "protocol",
            "tcp-flags",
            "traffic-path",
            "encryption-status",
        ] {
            assert_eq!(ty(n), Kind::Int32, "{n}");
        }
        for n in [
            "packets",
            "bytes",
            "start",
            "end",
            "packets-lost-no-route",
            "packets-lost-blackhole",
            "packets-lost-mtu-exceeded",
            "packets-lost-ttl-expired",
        ] {
            assert_eq!(ty(n), Kind::Int64, "{n}");
        }
        assert_eq!(ty("account-id"), Kind::Utf8);
        assert_eq!(ty("tgw-src-vpc-account-id"), Kind::Utf8);
    }

    #[test]
    fn lookup_accepts_every_spelling() {
        for n in [
            "pkt-srcaddr",
            "pkt_srcaddr",
            "${pkt-srcaddr}",
            "PKT-SRCADDR",
            "${pkt_srcaddr}",
        ] {
            assert_eq!(lookup(n).map(|f| f.column), Some("pkt_srcaddr"), "{n}");
        }
        assert_eq!(
            lookup("pkt-src-service").map(|f| f.column),
            Some("pkt_src_aws_service")
        );
        assert_eq!(lookup("nonsense"), None);
        assert_eq!(lookup(""), None);
        assert_eq!(lookup("${}"), None);
        assert_eq!(lookup(&"x".repeat(100)), None);
    }
}
