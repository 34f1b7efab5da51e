//! Addresses and CIDR prefixes: parsing (strict: a prefix with host bits set is refused), the
//! private and shared address spaces, `ip_prefix` truncation, and [`PrefixTable`], a
//! longest-prefix-match table over sorted disjoint ranges that the ip-ranges attribution, the
//! inventory's delegated prefixes and the SQL functions share.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A CIDR prefix: a network address (host bits zero) and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    /// The network address.
    pub addr: IpAddr,
    /// Prefix length in bits (0..=32 for IPv4, 0..=128 for IPv6).
    pub len: u8,
}

/// The address families' widths.
fn width(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

/// The address as a number (IPv4 in the low 32 bits).
pub fn to_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The lowest `n` bits set.
fn ones(n: u8) -> u128 {
    if n >= 128 {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

/// The mask of the leading `len` bits of a `width`-bit number.
fn mask(len: u8, width: u8) -> u128 {
    ones(width) & !ones(width - len)
}

fn from_bits(bits: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(bits as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(bits))
    }
}

/// Parses an address as flow logs and AWS write it (dotted IPv4, RFC 4291 IPv6 text).
pub fn parse_addr(text: &str) -> Option<IpAddr> {
    // The parser's own readers first (they accept exactly what the standard parser does, with
    // the same value; the attribution parses two addresses a record), the standard one for the
    // rest.
    let b = text.as_bytes();
    if let Some(v) = crate::parse::ipv4_value(b) {
        return Some(IpAddr::V4(v.into()));
    }
    if let Some(v) = crate::parse::ipv6_value(b) {
        return Some(IpAddr::V6(v.into()));
    }
    text.parse().ok()
}

impl Prefix {
    /// Parses `ADDR/LEN`, or a bare address (a /32 or /128). A prefix with bits set past its
    /// length is refused, as is a length beyond the family's width.
    pub fn parse(text: &str) -> Result<Prefix, String> {
        let (a, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr = parse_addr(a).ok_or_else(|| format!("{text:?} is not a CIDR prefix"))?;
        let w = width(&addr);
        let len = match len {
            None => w,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= w && !l.starts_with('+') => n,
                _ => {
                    return Err(format!(
                        "{text:?} is not a CIDR prefix (the length must be 0 to {w})"
                    ));
                }
            },
        };
        let bits = to_bits(addr);
        if bits & !mask(len, w) != 0 {
            return Err(format!(
                "{text:?} has host bits set (the network is {})",
                Prefix {
                    addr: from_bits(bits & mask(len, w), addr.is_ipv4()),
                    len
                }
            ));
        }
        Ok(Prefix { addr, len })
    }

    /// Whether `ip` lies in the prefix (an address of the other family never does).
    pub fn contains(&self, ip: IpAddr) -> bool {
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let m = mask(self.len, width(&ip));
        to_bits(ip) & m == to_bits(self.addr)
    }

    /// The first and last address of the prefix, as numbers.
    fn range(&self) -> (u128, u128) {
        let w = width(&self.addr);
        let lo = to_bits(self.addr);
        (lo, lo | ones(w - self.len))
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// The network of `ip` with `bits` leading bits, or none when `bits` exceeds the family's
/// width: `ip_prefix('10.1.2.3', 24)` is `10.1.2.0/24`.
pub fn prefix_of(ip: IpAddr, bits: u8) -> Option<Prefix> {
    let w = width(&ip);
    (bits <= w).then(|| Prefix {
        addr: from_bits(to_bits(ip) & mask(bits, w), ip.is_ipv4()),
        len: bits,
    })
}

/// The ranges [`is_private`] accepts: RFC 1918, RFC 6598 shared space (100.64/10), loopback,
/// link-local, and for IPv6 loopback, unique local (fc00::/7) and link-local (fe80::/10).
pub const PRIVATE_RANGES: [&str; 9] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
];

/// Whether `ip` is in one of [`PRIVATE_RANGES`].
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let [o1, o2, ..] = a.octets();
            o1 == 10
                || (o1 == 172 && (16..32).contains(&o2))
                || (o1 == 192 && o2 == 168)
                || (o1 == 100 && (64..128).contains(&o2))
                || o1 == 127
                || (o1 == 169 && o2 == 254)
        }
        IpAddr::V6(a) => {
            let s = a.segments()[0];
            a == Ipv6Addr::LOCALHOST || s & 0xfe00 == 0xfc00 || s & 0xffc0 == 0xfe80
        }
    }
}

/// Longest-prefix match: prefixes (nested or disjoint, as CIDR prefixes always are) flattened
/// into sorted disjoint ranges per family, each naming the value of the longest prefix that
/// covers it; a lookup is one binary search.
#[derive(Debug, Clone, Default)]
pub struct PrefixTable {
    v4: Ranges,
    v6: Ranges,
}

/// Sorted range starts and, for each, the value index covering it (`NONE`: none). IPv4 starts
/// are also kept as `u32`, a quarter of the memory to search (AWS's 9,000 IPv4 prefixes then
/// fit in the L1/L2 caches).
#[derive(Debug, Clone, Default)]
struct Ranges {
    starts: Vec<u128>,
    starts32: Vec<u32>,
    values: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl PrefixTable {
    /// Builds the table from `(prefix, value)` pairs. Where several entries name the same
    /// prefix, the first one wins: order them by preference.
    pub fn new(entries: &[(Prefix, u32)]) -> PrefixTable {
        let (v4, v6): (Vec<_>, Vec<_>) = entries.iter().partition(|(p, _)| p.addr.is_ipv4());
        let mut v4 = Ranges::build(v4);
        // The range after 255.255.255.255 (if any) starts past the IPv4 space: no address
        // reaches it.
        v4.starts32 = v4
            .starts
            .iter()
            .map_while(|&s| u32::try_from(s).ok())
            .collect();
        PrefixTable {
            v4,
            v6: Ranges::build(v6),
        }
    }

    /// The value of the longest prefix containing `ip`.
    pub fn lookup(&self, ip: IpAddr) -> Option<u32> {
        let (r, i) = match ip {
            IpAddr::V4(a) => {
                let x = u32::from(a);
                (&self.v4, self.v4.starts32.partition_point(|&s| s <= x))
            }
            IpAddr::V6(a) => {
                let x = u128::from(a);
                (&self.v6, self.v6.starts.partition_point(|&s| s <= x))
            }
        };
        let v = *r.values.get(i.checked_sub(1)?)?;
        (v != NONE).then_some(v)
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.v4.starts.is_empty() && self.v6.starts.is_empty()
    }
}

impl Ranges {
    fn build(mut entries: Vec<&(Prefix, u32)>) -> Ranges {
        // Outer prefixes before the ones they contain; the stable sort keeps the given
        // preference among equal prefixes.
        entries.sort_by_key(|(p, _)| (p.range().0, p.len));
        let mut out = Ranges::default();
        // Prefixes open at the cursor, outermost first: (last address, value).
        let mut open: Vec<(u128, u32)> = Vec::new();
        // The next address not yet given a range (None: past the end of the space).
        let mut cursor: Option<u128> = Some(0);
        let mut last: Option<Prefix> = None;
        for &&(p, value) in &entries {
            if last == Some(p) {
                continue;
            }
            last = Some(p);
            let (lo, hi) = p.range();
            // Close the prefixes that end before this one starts.
            while let Some(&(end, v)) = open.last() {
                if end >= lo {
                    break;
                }
                if let Some(c) = cursor
                    && c <= end
                {
                    out.push(c, v);
                    cursor = end.checked_add(1);
                }
                open.pop();
            }
            if let Some(c) = cursor
                && c < lo
            {
                out.push(c, open.last().map_or(NONE, |&(_, v)| v));
            }
            cursor = Some(lo);
            open.push((hi, value));
        }
        while let Some((end, v)) = open.pop() {
            if let Some(c) = cursor
                && c <= end
            {
                out.push(c, v);
                cursor = end.checked_add(1);
            }
        }
        if let Some(c) = cursor
            && !out.starts.is_empty()
        {
            out.push(c, NONE);
        }
        out
    }

    /// Appends a range starting at `start`, merging it into the previous one when both name
    /// the same value.
    fn push(&mut self, start: u128, value: u32) {
        if self.starts.last() == Some(&start) {
            // An empty range (a prefix that starts where its parent's segment would): the new
            // value replaces it.
            *self.values.last_mut().expect("same length") = value;
        } else if self.values.last() != Some(&value) {
            self.starts.push(start);
            self.values.push(value);
        }
        // Merge forward if the replacement made two neighbours equal.
        let n = self.values.len();
        if n >= 2 && self.values[n - 1] == self.values[n - 2] {
            self.starts.pop();
            self.values.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        Prefix::parse(s).unwrap()
    }

    #[test]
    fn prefixes_parse_strictly() {
        assert_eq!(p("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(p("10.1.2.3").to_string(), "10.1.2.3/32");
        assert_eq!(p("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(p("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(p("::/0").to_string(), "::/0");
        for bad in [
            "10.0.0/8",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/",
            "::/129",
            "x/8",
            "",
        ] {
            assert!(Prefix::parse(bad).is_err(), "{bad}");
        }
        let e = Prefix::parse("10.0.0.1/8").unwrap_err();
        assert!(e.contains("host bits") && e.contains("10.0.0.0/8"), "{e}");
    }

    #[test]
    fn contains_and_prefix_of_agree_with_a_bitwise_oracle() {
        // Every length of a v4 and a v6 address: the prefix of the address contains it, and
        // flipping the bit just past the prefix leaves it inside while flipping the last
        // prefix bit takes it out.
        let v4: IpAddr = "172.31.250.9".parse().unwrap();
        let v6: IpAddr = "2600:1f18:abcd:12::7f".parse().unwrap();
        for ip in [v4, v6] {
            let w = width(&ip);
            for len in 0..=w {
                let net = prefix_of(ip, len).unwrap();
                assert!(net.contains(ip));
                assert_eq!(Prefix::parse(&net.to_string()), Ok(net));
                let bits = to_bits(ip);
                if len < w {
                    let inside = from_bits(bits ^ (1 << (w - len - 1)), ip.is_ipv4());
                    assert!(net.contains(inside), "{net} {inside}");
                }
                if len > 0 {
                    let outside = from_bits(bits ^ (1 << (w - len)), ip.is_ipv4());
                    assert!(!net.contains(outside), "{net} {outside}");
                }
            }
            assert_eq!(prefix_of(ip, w + 1), None);
        }
        assert!(!p("0.0.0.0/0").contains("::1".parse().unwrap()));
        assert_eq!(
            prefix_of("10.1.2.3".parse().unwrap(), 24)
                .unwrap()
                .to_string(),
            "10.1.2.0/24"
        );
    }

    #[test]
    fn private_ranges_are_the_listed_ones() {
        let nets: Vec<Prefix> = PRIVATE_RANGES.iter().map(|s| p(s)).collect();
        for s in [
            "10.0.0.0",
            "9.255.255.255",
            "11.0.0.0",
            "172.15.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "172.32.0.0",
            "192.168.1.1",
            "192.169.0.0",
            "100.63.255.255",
            "100.64.0.0",
            "100.127.255.255",
            "100.128.0.0",
            "127.0.0.1",
            "169.254.169.254",
            "169.253.0.1",
            "8.8.8.8",
            "::1",
            "::2",
            "fc00::1",
            "fdff:ffff::1",
            "fe00::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "2600::1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = s.parse().unwrap();
            assert_eq!(is_private(ip), nets.iter().any(|n| n.contains(ip)), "{s}");
        }
    }

    /// The longest containing prefix by scanning every entry (first listed wins a tie).
    fn naive(entries: &[(Prefix, u32)], ip: IpAddr) -> Option<u32> {
        let mut best: Option<(u8, u32)> = None;
        for &(pre, v) in entries {
            if pre.contains(ip) && best.is_none_or(|(l, _)| pre.len > l) {
                best = Some((pre.len, v));
            }
        }
        best.map(|(_, v)| v)
    }

    #[test]
    fn table_agrees_with_a_linear_scan() {
        // Nested, adjacent, duplicated and whole-space prefixes of both families, probed at
        // every boundary and next to it.
        let texts = [
            "10.0.0.0/8",
            "10.0.0.0/16",
            "10.0.0.0/24",
            "10.0.1.0/24",
            "10.0.0.0/16",
            "10.255.255.255/32",
            "10.128.0.0/9",
            "11.0.0.0/8",
            "255.255.255.255/32",
            "52.94.76.0/22",
            "52.94.76.0/24",
            "0.0.0.0/1",
            "2600:1f00::/24",
            "2600:1f18::/32",
            "2600:1f18::/33",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
            "::/0",
        ];
        let entries: Vec<(Prefix, u32)> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (p(t), i as u32))
            .collect();
        let table = PrefixTable::new(&entries);
        let mut probes = Vec::new();
        for (pre, _) in &entries {
            let (lo, hi) = pre.range();
            for x in [lo, hi] {
                for d in [-1i128, 0, 1] {
                    let y = (x as i128).wrapping_add(d) as u128;
                    if pre.addr.is_ipv4() && y > u128::from(u32::MAX) {
                        continue;
                    }
                    probes.push(from_bits(y, pre.addr.is_ipv4()));
                }
            }
        }
        probes.push("0.0.0.0".parse().unwrap());
        probes.push("200.1.1.1".parse().unwrap());
        probes.push("::".parse().unwrap());
        for ip in probes {
            assert_eq!(table.lookup(ip), naive(&entries, ip), "{ip}");
        }
        // The second 10.0.0.0/16 lost to the first.
        assert_eq!(table.lookup("10.0.200.1".parse().unwrap()), Some(1));
        assert!(
            PrefixTable::new(&[])
                .lookup("10.0.0.1".parse().unwrap())
                .is_none()
        );
    }
}
