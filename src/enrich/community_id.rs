//! Community ID v1 flow hashes (`network.community_id`), computed the way Elasticsearch's
//! `community_id` ingest processor computes them, since that processor is what Elastic's AWS
//! VPC Flow pipeline runs.
//!
//! The hash is SHA-1 over `seed (u16 BE) | src addr | dst addr | proto (u8) | 0 | src port
//! (u16 BE) | dst port (u16 BE)`, written as `1:` plus the padded standard base64 of the digest.
//! Direction is removed by putting the smaller endpoint first. Where Elasticsearch departs from
//! the Community ID spec, this module does what Elasticsearch does:
//!
//! - Addresses are compared as unsigned integers, not byte strings, and the two addresses may
//!   be of different families: the 4 and 16 byte forms are simply concatenated. So an IPv4
//!   address sorts before any IPv6 address except the few below 2^32.
//! - Only TCP, UDP, SCTP, ICMP and ICMPv6 hash ports; every other protocol hashes the addresses
//!   and protocol only, whatever ports are passed. A missing port counts as 0.
//! - For ICMP (1) and ICMPv6 (58) the "ports" are the ICMP type and code. A type with a
//!   counterpart (echo request/reply and so on) hashes as `(type, counterpart)` and is ordered
//!   like any flow; any other type hashes as `(type, code)` and is never swapped. The
//!   counterpart tables are Elasticsearch's: unlike the spec they have no ICMPv4 16 → 15 and
//!   no ICMPv6 131 → 130.
//! - Protocol 255 is rejected, and IPv4-mapped IPv6 text (`::ffff:a.b.c.d`) hashes as the
//!   IPv4 address, as the JDK's `InetAddress` turns it into one.
//!
//! Flow logs carry no ICMP type or code, and Elastic's pipeline never sets `icmp.type` or
//! `icmp.code`, so Elasticsearch hashes every flow-log ICMP record as type 0, code 0 whatever its
//! srcport and dstport say. Pass a record's ports through `flow_log_ports` to get the same.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest as _, Sha1};

/// Length in bytes of a Community ID v1 string: `1:` followed by 28 base64 characters.
pub(crate) const COMMUNITY_ID_LEN: usize = 30;

/// IANA protocol number of ICMP.
const ICMP: u8 = 1;
/// IANA protocol number of TCP.
const TCP: u8 = 6;
/// IANA protocol number of UDP.
const UDP: u8 = 17;
/// IANA protocol number of ICMPv6.
const ICMPV6: u8 = 58;
/// IANA protocol number of SCTP.
const SCTP: u8 = 132;

/// Longest hash input: seed (2), two IPv6 addresses (32), protocol and padding (2), ports (4).
const MAX_INPUT: usize = 40;

/// Elastic-compatible Community ID v1 of a flow, or None when it can't be computed (an address doesn't parse).
///
/// `src_port`/`dst_port` are the ICMP type and code for protocols 1 and 58 (see
/// `flow_log_ports` for flow-log records) and are ignored for protocols without ports. `None`
/// is also returned for protocol 255, which Elasticsearch rejects.
pub fn community_id(
    seed: u16,
    proto: u8,
    src_ip: &str,
    dst_ip: &str,
    src_port: Option<u16>,
    dst_port: Option<u16>,
) -> Option<String> {
    let id = community_id_bytes(seed, proto, src_ip, dst_ip, src_port, dst_port)?;
    std::str::from_utf8(&id).ok().map(str::to_owned)
}

/// The Community ID of a flow as ASCII bytes in a fixed-size array, or `None` when
/// [`community_id`] would return `None`.
pub(crate) fn community_id_bytes(
    seed: u16,
    proto: u8,
    src_ip: &str,
    dst_ip: &str,
    src_port: Option<u16>,
    dst_port: Option<u16>,
) -> Option<[u8; COMMUNITY_ID_LEN]> {
    let src = Addr::parse(src_ip)?;
    let dst = Addr::parse(dst_ip)?;
    hash_flow(seed, proto, src, dst, src_port, dst_port)
}

/// The ports to hash for a flow-log record, as Elastic's pipeline hashes it: the record's own
/// ports, except for ICMP and ICMPv6, whose type and code flow logs don't carry and which
/// Elasticsearch then hashes as type 0, code 0 (so `(None, None)` is returned for them).
pub(crate) fn flow_log_ports(
    proto: u8,
    src_port: Option<u16>,
    dst_port: Option<u16>,
) -> (Option<u16>, Option<u16>) {
    match proto {
        ICMP | ICMPV6 => (None, None),
        _ => (src_port, dst_port),
    }
}

/// A parsed address: its value as an unsigned integer (for ordering) and its width in bytes
/// (4 or 16) in the hash input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Addr {
    /// The address as a big-endian unsigned integer.
    value: u128,
    /// 4 for IPv4, 16 for IPv6.
    len: usize,
}

impl Addr {
    /// Parses IPv4 or IPv6 text; IPv4-mapped IPv6 becomes IPv4, as in the JDK.
    fn parse(text: &str) -> Option<Addr> {
        // Most flow log addresses are IPv4: a direct scan, exactly as strict as the standard
        // parser, which handles the rest.
        if let Some(v) = crate::parse::ipv4_value(text.as_bytes()) {
            return Some(Addr::v4(Ipv4Addr::from(v)));
        }
        if let Some(v) = crate::parse::ipv6_value(text.as_bytes()) {
            return Some(Addr::v6(Ipv6Addr::from(v)));
        }
        text.parse::<IpAddr>().ok().map(Addr::from)
    }

    /// An IPv4 address.
    fn v4(addr: Ipv4Addr) -> Addr {
        Addr {
            value: u128::from(u32::from(addr)),
            len: 4,
        }
    }

    /// An IPv6 address, or the IPv4 address it maps.
    fn v6(addr: Ipv6Addr) -> Addr {
        match addr.to_ipv4_mapped() {
            Some(v4) => Addr::v4(v4),
            None => Addr {
                value: u128::from(addr),
                len: 16,
            },
        }
    }

    /// The address in network byte order, 4 or 16 bytes.
    fn bytes(&self) -> [u8; 16] {
        self.value.to_be_bytes()
    }
}

impl From<IpAddr> for Addr {
    fn from(addr: IpAddr) -> Addr {
        match addr {
            IpAddr::V4(v4) => Addr::v4(v4),
            IpAddr::V6(v6) => Addr::v6(v6),
        }
    }
}

/// The hash input, built on the stack.
struct Input {
    /// Bytes written so far, then zeros.
    buf: [u8; MAX_INPUT],
    /// Number of bytes written.
    len: usize,
}

impl Input {
    /// Appends `bytes`; the callers never write more than [`MAX_INPUT`] bytes in total.
    fn push(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
    }

    /// Appends an address in network byte order.
    fn push_addr(&mut self, addr: Addr) {
        let bytes = addr.bytes();
        self.push(&bytes[16 - addr.len..]);
    }
}

/// The counterpart of an ICMP type in Elasticsearch's tables (echo request ↔ reply and so on),
/// or `None` for a one-way type.
fn icmp_counterpart(proto: u8, icmp_type: u16) -> Option<u16> {
    if proto == ICMPV6 {
        match icmp_type {
            128 => Some(129),
            129 => Some(128),
            130 => Some(131),
            133 => Some(134),
            134 => Some(133),
            135 => Some(136),
            136 => Some(135),
            139 => Some(140),
            140 => Some(139),
            144 => Some(145),
            145 => Some(144),
            _ => None,
        }
    } else {
        match icmp_type {
            0 => Some(8),
            8 => Some(0),
            9 => Some(10),
            10 => Some(9),
            13 => Some(14),
            14 => Some(13),
            15 => Some(16),
            17 => Some(18),
            18 => Some(17),
            _ => None,
        }
    }
}

/// Hashes a flow between parsed addresses.
fn hash_flow(
    seed: u16,
    proto: u8,
    src: Addr,
    dst: Addr,
    src_port: Option<u16>,
    dst_port: Option<u16>,
) -> Option<[u8; COMMUNITY_ID_LEN]> {
    if proto == u8::MAX {
        return None;
    }
    let mut sport = src_port.unwrap_or(0);
    let mut dport = dst_port.unwrap_or(0);
    let mut has_ports = true;
    let mut one_way = false;
    match proto {
        TCP | UDP | SCTP => {}
        ICMP | ICMPV6 => match icmp_counterpart(proto, sport) {
            Some(counterpart) => dport = counterpart,
            None => one_way = true,
        },
        _ => {
            has_ports = false;
            sport = 0;
            dport = 0;
        }
    }
    let ordered = src.value < dst.value || (src.value == dst.value && sport < dport);
    let (first, second, first_port, second_port) = if one_way || ordered {
        (src, dst, sport, dport)
    } else {
        (dst, src, dport, sport)
    };

    let mut input = Input {
        buf: [0; MAX_INPUT],
        len: 0,
    };
    input.push(&seed.to_be_bytes());
    input.push_addr(first);
    input.push_addr(second);
    input.push(&[proto, 0]);
    if has_ports {
        input.push(&first_port.to_be_bytes());
        input.push(&second_port.to_be_bytes());
    }
    let digest = Sha1::digest(&input.buf[..input.len]);

    let mut id = [0u8; COMMUNITY_ID_LEN];
    id[0] = b'1';
    id[1] = b':';
    let written = STANDARD
        .encode_slice(digest.as_slice(), &mut id[2..])
        .ok()?;
    (written == COMMUNITY_ID_LEN - 2).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::Path;

    /// One row of a community-id TSV file.
    #[derive(Debug)]
    struct Row {
        line: usize,
        seed: u16,
        proto: u8,
        src_ip: String,
        dst_ip: String,
        src_port: Option<u16>,
        dst_port: Option<u16>,
        expected: String,
    }

    /// Parses `seed proto src_ip dst_ip src_port dst_port expected` rows after a header line;
    /// an empty port cell is an absent port.
    fn parse_rows(text: &str) -> Vec<Row> {
        let port = |cell: &str| (!cell.is_empty()).then(|| cell.parse::<u16>().expect("port"));
        text.lines()
            .enumerate()
            .skip(1)
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                let cells: Vec<&str> = line.split('\t').collect();
                assert_eq!(cells.len(), 7, "line {}: {line:?}", i + 1);
                Row {
                    line: i + 1,
                    seed: cells[0].parse().expect("seed"),
                    proto: cells[1].parse().expect("proto"),
                    src_ip: cells[2].to_owned(),
                    dst_ip: cells[3].to_owned(),
                    src_port: port(cells[4]),
                    dst_port: port(cells[5]),
                    expected: cells[6].to_owned(),
                }
            })
            .collect()
    }

    /// Checks every row of a vectors file; `vpc` routes the ports through [`flow_log_ports`].
    fn check_rows(name: &str, text: &str, vpc: bool) -> usize {
        let rows = parse_rows(text);
        assert!(!rows.is_empty(), "{name}: no rows");
        let mut failures = Vec::new();
        for row in &rows {
            let (sp, dp) = if vpc {
                flow_log_ports(row.proto, row.src_port, row.dst_port)
            } else {
                (row.src_port, row.dst_port)
            };
            let got = community_id(row.seed, row.proto, &row.src_ip, &row.dst_ip, sp, dp);
            if got.as_deref() != Some(row.expected.as_str()) {
                failures.push(format!("{name}:{}: {row:?} -> {got:?}", row.line));
            }
            // The ECS writer's form: the ID as bytes.
            let id = community_id_bytes(row.seed, row.proto, &row.src_ip, &row.dst_ip, sp, dp);
            assert_eq!(
                id.as_ref().map(|b| &b[..]),
                Some(row.expected.as_bytes()),
                "{name}:{}",
                row.line
            );
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        rows.len()
    }

    #[test]
    fn community_id_spec_and_elastic_vectors() {
        let text = include_str!("../../testdata/community-id-vectors.tsv");
        assert_eq!(check_rows("community-id-vectors.tsv", text, false), 118);
    }

    #[test]
    fn community_id_shared_vectors_if_present() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(|p| p.join("shared/conformance/community-id-vectors.tsv"));
        if let Some(path) = shared.filter(|p| p.exists()) {
            let text = std::fs::read_to_string(&path).expect("read shared vectors");
            check_rows(&path.display().to_string(), &text, false);
        }
    }

    #[test]
    fn community_id_elastic_expected_documents() {
        let text = include_str!("../../testdata/community-id-elastic.tsv");
        assert!(check_rows("community-id-elastic.tsv", text, true) >= 20);
    }

    #[test]
    fn community_id_flow_log_icmp_ignores_ports() {
        // ES reads ICMP type/code from icmp.*, which the pipeline never sets: always type 0 code 0.
        let (sp, dp) = flow_log_ports(ICMP, Some(3), Some(1));
        assert_eq!((sp, dp), (None, None));
        assert_eq!(
            community_id(0, ICMP, "89.160.20.156", "172.31.16.139", sp, dp).as_deref(),
            Some("1:cttDCHp3UNR8SFNTOgVYpAceHf4=")
        );
        assert_eq!(flow_log_ports(TCP, Some(3), Some(1)), (Some(3), Some(1)));
    }

    #[test]
    fn community_id_portless_protocols_ignore_ports() {
        for proto in [0u8, 2, 46, 47, 50, 89, 254] {
            let none = community_id(0, proto, "10.0.0.1", "10.0.0.2", None, None);
            let some = community_id(0, proto, "10.0.0.1", "10.0.0.2", Some(1), Some(2));
            assert!(none.is_some());
            assert_eq!(none, some, "proto {proto}");
        }
        assert_eq!(
            community_id(0, 46, "1.2.3.4", "5.6.7.8", Some(80), Some(443)).as_deref(),
            Some("1:ikv3kmf89luf73WPz1jOs49S768=")
        );
    }

    #[test]
    fn community_id_missing_ports_are_zero() {
        for proto in [TCP, UDP, SCTP, ICMP, ICMPV6] {
            assert_eq!(
                community_id(0, proto, "10.0.0.1", "10.0.0.2", None, None),
                community_id(0, proto, "10.0.0.1", "10.0.0.2", Some(0), Some(0)),
                "proto {proto}"
            );
        }
    }

    #[test]
    fn community_id_rejects_bad_input() {
        for (proto, src, dst) in [
            (TCP, "", "10.0.0.2"),
            (TCP, "10.0.0.1", "-"),
            (TCP, "10.0.0.256", "10.0.0.2"),
            (TCP, "010.0.0.1", "10.0.0.2"),
            (TCP, " 10.0.0.1", "10.0.0.2"),
            (TCP, "fe80::1%eth0", "10.0.0.2"),
            (UDP, "2001:db8::g", "10.0.0.2"),
            (u8::MAX, "10.0.0.1", "10.0.0.2"),
        ] {
            assert_eq!(community_id(0, proto, src, dst, Some(1), Some(2)), None);
            assert_eq!(
                community_id_bytes(0, proto, src, dst, Some(1), Some(2)),
                None
            );
        }
    }

    #[test]
    fn community_id_ipv4_mapped_hashes_as_ipv4() {
        assert_eq!(
            community_id(0, TCP, "::ffff:1.2.3.4", "5.6.7.8", Some(1122), Some(3344)).as_deref(),
            Some("1:wCb3OG7yAFWelaUydu0D+125CLM=")
        );
    }

    #[test]
    fn community_id_icmp_echo_request_and_reply_match() {
        let request = community_id(0, ICMP, "10.0.0.1", "10.0.0.2", Some(8), Some(0));
        let reply = community_id(0, ICMP, "10.0.0.2", "10.0.0.1", Some(0), Some(0));
        assert!(request.is_some());
        assert_eq!(request, reply);
        let request = community_id(1, ICMPV6, "fe80::1", "fe80::2", Some(128), Some(0));
        let reply = community_id(1, ICMPV6, "fe80::2", "fe80::1", Some(129), Some(0));
        assert!(request.is_some());
        assert_eq!(request, reply);
    }

    /// Any IPv4 or IPv6 address, as text.
    fn any_ip() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<u32>().prop_map(|v| Ipv4Addr::from(v).to_string()),
            any::<u128>().prop_map(|v| Ipv6Addr::from(v).to_string()),
            // Nearby addresses and equal ones, so the port tie-break gets exercised.
            (0u32..4).prop_map(|v| Ipv4Addr::from(0x0a00_0000 + v).to_string()),
        ]
    }

    proptest! {
        #[test]
        fn community_id_is_direction_symmetric(
            seed in any::<u16>(),
            proto in prop_oneof![Just(TCP), Just(UDP), Just(SCTP), Just(46u8), Just(47u8), Just(50u8)],
            a in any_ip(),
            b in any_ip(),
            pa in prop_oneof![any::<u16>(), 0u16..3],
            pb in prop_oneof![any::<u16>(), 0u16..3],
        ) {
            let forward = community_id(seed, proto, &a, &b, Some(pa), Some(pb));
            let backward = community_id(seed, proto, &b, &a, Some(pb), Some(pa));
            prop_assert!(forward.is_some());
            prop_assert_eq!(forward.as_ref().map(String::len), Some(COMMUNITY_ID_LEN));
            prop_assert_eq!(forward, backward);
        }

        #[test]
        fn community_id_bytes_match_string(
            seed in any::<u16>(),
            proto in any::<u8>(),
            a in any_ip(),
            b in any_ip(),
            pa in any::<u16>(),
            pb in any::<u16>(),
        ) {
            let text = community_id(seed, proto, &a, &b, Some(pa), Some(pb));
            let bytes = community_id_bytes(seed, proto, &a, &b, Some(pa), Some(pb));
            prop_assert_eq!(text.as_ref().map(String::as_bytes), bytes.as_ref().map(|b| &b[..]));
            prop_assert_eq!(text.is_none(), proto == u8::MAX);
        }
    }
}
