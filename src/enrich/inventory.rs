//! The ENI inventory: snapshots of `aws ec2 describe-network-interfaces` output, each taken at a
//! capture time, answering "what was interface `eni-…` when this flow started" and "which
//! interface held this address then".
//!
//! - A snapshot is the JSON the AWS CLI prints, `{"NetworkInterfaces": [...]}` (several such
//!   documents one after another are one snapshot, as pages appended), plain or gzip.
//! - Its capture time is given (`--eni-inventory-time`), else read from the file name
//!   (`2026-11-30T12:00:00Z`, `2026-11-30T12-00-00Z`, `20261130T1200Z`, `2026-11-30`, …, UTC),
//!   else the file's modification time.
//! - An interface id names one interface forever: it resolves to its entry in the latest
//!   snapshot taken at or before the flow's start that lists it, else in the earliest later one.
//! - An address may pass from one interface to another, so it resolves in the snapshot in
//!   effect when the flow started (the latest at or before its start); an address that snapshot
//!   doesn't list resolves in the next snapshot (it was assigned in between). A flow without a
//!   start uses the latest snapshot.
//! - The addresses of an interface are its private IPv4 addresses, its IPv6 addresses, the
//!   public IPv4 addresses associated with it, and the addresses in prefixes delegated to it
//!   (`Ipv4Prefixes`, `Ipv6Prefixes`; an exact address wins over a delegated prefix).
//! - Private addresses repeat across VPCs. When one snapshot has an address on interfaces in
//!   several VPCs, the interface in the flow's own VPC is taken; if that doesn't single one out
//!   the address stays unresolved rather than guessed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::enrich::ip::{Prefix, PrefixTable, parse_addr};
use crate::error::Error;
use crate::format::calendar::days_from_civil;

/// One interface as a snapshot describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eni {
    /// `NetworkInterfaceId`.
    pub id: Arc<str>,
    /// `InterfaceType` (`interface`, `nat_gateway`, `lambda`, `vpc_endpoint`, …).
    pub interface_type: Option<Arc<str>>,
    /// `Description`.
    pub description: Option<Arc<str>>,
    /// The value of the `Name` tag.
    pub name: Option<Arc<str>>,
    /// `Attachment.InstanceId`.
    pub instance_id: Option<Arc<str>>,
    /// `Groups[].GroupId`, in the listed order.
    pub security_groups: Vec<Arc<str>>,
    /// `SubnetId`.
    pub subnet_id: Option<Arc<str>>,
    /// `VpcId`.
    pub vpc_id: Option<Arc<str>>,
}

/// Where a snapshot comes from and when it was captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The file.
    pub path: PathBuf,
    /// Capture time, Unix seconds.
    pub time: i64,
    /// Interfaces it lists.
    pub interfaces: usize,
}

/// A snapshot file to load, with its capture time if one was given.
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    /// The file (JSON or gzip JSON).
    pub path: PathBuf,
    /// The capture time (Unix seconds), or none to take it from the name or modification time.
    pub time: Option<i64>,
}

/// `(snapshot, interface)` indexes.
type Holding = (u32, u32);

/// Adds `holding` to `held` (several holdings go to `many`).
fn add_holding(many: &mut Vec<Vec<Holding>>, held: &mut Held, holding: Holding) {
    match *held {
        Held::None => *held = Held::One(holding),
        Held::One(h) if h == holding => {}
        Held::One(h) => {
            many.push(vec![h, holding]);
            *held = Held::Many(many.len() as u32 - 1);
        }
        Held::Many(i) => {
            let list = &mut many[i as usize];
            if !list.contains(&holding) {
                list.push(holding);
            }
        }
    }
}

/// An interface id as AWS writes it (`eni-` and up to 30 lowercase hex digits) as a number
/// (the digits' value and their count), else none.
fn id_key(id: &str) -> Option<u128> {
    let hex = id.strip_prefix("eni-")?.as_bytes();
    if hex.is_empty() || hex.len() > 30 {
        return None;
    }
    // Eight digits at a time (an id has 8 or 17): this runs once a record.
    let mut words = hex.chunks_exact(8);
    let mut v = 0u128;
    for w in &mut words {
        v = v << 32 | u128::from(hex8(u64::from_le_bytes(w.try_into().expect("8 bytes")))?);
    }
    for &b in words.remainder() {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        v = v << 4 | u128::from(d);
    }
    Some(v | (hex.len() as u128) << 120)
}

/// The value of 8 lowercase hex digits (the first one most significant), loaded little-endian
/// into `w`, or none if a byte isn't one: each byte is range-checked and turned into its digit
/// in parallel, then the digits are joined pairwise.
fn hex8(w: u64) -> Option<u32> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    if w & HIGH != 0 {
        return None;
    }
    // For bytes below 0x80: the high bit of `x + (0x80 - lo)` says x >= lo, that of
    // `x + (0x7f - hi)` says x > hi (no carry crosses a byte).
    let within = |lo: u64, hi: u64| (w + ONES * (0x80 - lo)) & !(w + ONES * (0x7f - hi)) & HIGH;
    let digit = within(0x30, 0x39);
    let letter = within(0x61, 0x66);
    if digit | letter != HIGH {
        return None;
    }
    // '0'..'9' & 0x0f are their values; 'a'..'f' & 0x0f are 1..6, 9 short.
    let v = (w & (ONES * 0x0f)) + (letter >> 7) * 9;
    let v = ((v << 4) | (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    let v = ((v << 8) | (v >> 16)) & 0x0000_ffff_0000_ffff;
    Some((((v << 16) | (v >> 32)) & 0xffff_ffff) as u32)
}

/// Who holds an address or id: one holding in place, or several in [`Inventory::many`].
#[derive(Debug, Clone, Copy)]
enum Held {
    None,
    One(Holding),
    Many(u32),
}

/// A multiply-rotate hash over 8-byte words (as rustc's FxHash), for the lookup maps: several
/// times cheaper than the standard hash on short keys. Only the inventory inserts keys, so input
/// lines can't make chains longer.
#[derive(Default, Clone, Copy)]
struct WordHash;

struct WordHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl WordHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl std::hash::BuildHasher for WordHash {
    type Hasher = WordHasher;
    fn build_hasher(&self) -> WordHasher {
        WordHasher(0)
    }
}

impl std::hash::Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last) ^ (rest.len() as u64) << 56);
        }
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.add(u64::from(v));
    }
    #[inline]
    fn write_u128(&mut self, v: u128) {
        self.add(v as u64);
        self.add((v >> 64) as u64);
    }
    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
    #[inline]
    fn write_isize(&mut self, v: isize) {
        self.add(v as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::fmt::Debug for WordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WordHash")
    }
}

/// Loaded snapshots, indexed by interface id and by address.
#[derive(Debug, Default)]
pub struct Inventory {
    snapshots: Vec<Snapshot>,
    enis: Vec<Eni>,
    /// Each interface id's entries, in snapshot order.
    /// (`eni-` and lowercase hex, as AWS writes them, keyed by their value; other ids by text).
    by_id: HashMap<u128, Held, WordHash>,
    by_other_id: HashMap<Arc<str>, Held, WordHash>,
    /// Each exact address's holders, in snapshot order: IPv4 and IPv6 apart, and the usual
    /// single holder kept in the table itself, so a lookup touches little memory.
    by_v4: HashMap<u32, Held, WordHash>,
    by_v6: HashMap<u128, Held, WordHash>,
    /// Holdings of ids and addresses held more than once (over snapshots, or in several VPCs).
    many: Vec<Vec<Holding>>,
    /// Per snapshot, the delegated prefixes (values index `delegations`).
    prefixes: Vec<PrefixTable>,
    /// Holders of delegated prefixes (several when private prefixes repeat across VPCs).
    delegations: Vec<Vec<u32>>,
}

impl Inventory {
    /// Loads snapshot files: `paths` may name files or directories (their `*.json` and
    /// `*.json.gz` files, not recursing). Nothing is kept if any file is bad.
    pub fn load(files: &[SnapshotFile]) -> Result<Inventory, Error> {
        let mut parsed = Vec::new();
        for f in files {
            let time = match f.time {
                Some(t) => t,
                None => capture_time(&f.path)?,
            };
            let bytes = super::read_document(&f.path)?;
            let nics = parse_snapshot(&f.path.display().to_string(), &bytes)?;
            parsed.push((f.path.clone(), time, nics));
        }
        // Stable: snapshots of the same time keep the order they were given in.
        parsed.sort_by_key(|(_, t, _)| *t);
        let mut inv = Inventory::default();
        for (s, (path, time, nics)) in parsed.into_iter().enumerate() {
            inv.add(s as u32, path, time, nics);
        }
        Ok(inv)
    }

    fn add(&mut self, s: u32, path: PathBuf, time: i64, nics: Vec<Parsed>) {
        let mut delegated = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut interfaces = 0;
        for nic in nics {
            if !seen.insert(nic.eni.id.clone()) {
                continue; // a page appended twice
            }
            interfaces += 1;
            let e = self.enis.len() as u32;
            let held = match id_key(&nic.eni.id) {
                Some(k) => self.by_id.entry(k).or_insert(Held::None),
                None => self
                    .by_other_id
                    .entry(nic.eni.id.clone())
                    .or_insert(Held::None),
            };
            add_holding(&mut self.many, held, (s, e));
            for a in nic.addresses {
                self.hold(a, (s, e));
            }
            for p in nic.prefixes {
                delegated.push((p, e));
            }
            self.enis.push(nic.eni);
        }
        // One table value per distinct prefix, listing every interface it is delegated to.
        delegated.sort_by_key(|&(p, _)| (p.addr, p.len));
        let mut pairs: Vec<(Prefix, u32)> = Vec::new();
        for (p, e) in delegated {
            match pairs.last() {
                Some(&(last, d)) if last == p => self.delegations[d as usize].push(e),
                _ => {
                    self.delegations.push(vec![e]);
                    pairs.push((p, (self.delegations.len() - 1) as u32));
                }
            }
        }
        self.prefixes.push(PrefixTable::new(&pairs));
        self.snapshots.push(Snapshot {
            path,
            time,
            interfaces,
        });
    }

    /// Records that `holding` holds address `a`.
    fn hold(&mut self, a: IpAddr, holding: Holding) {
        let held = match a {
            IpAddr::V4(v4) => self.by_v4.entry(u32::from(v4)).or_insert(Held::None),
            IpAddr::V6(v6) => self.by_v6.entry(u128::from(v6)).or_insert(Held::None),
        };
        add_holding(&mut self.many, held, holding);
    }

    /// The holdings `held` stands for.
    fn holdings<'a>(&'a self, held: Option<&'a Held>) -> &'a [Holding] {
        match held {
            Some(Held::One(h)) => std::slice::from_ref(h),
            Some(Held::Many(i)) => &self.many[*i as usize],
            Some(Held::None) | None => &[],
        }
    }

    /// The holders of address `ip`, in snapshot order.
    fn held(&self, ip: IpAddr) -> &[Holding] {
        self.holdings(match ip {
            IpAddr::V4(v4) => self.by_v4.get(&u32::from(v4)),
            IpAddr::V6(v6) => self.by_v6.get(&u128::from(v6)),
        })
    }

    /// The snapshots, in capture order.
    pub fn snapshots(&self) -> &[Snapshot] {
        &self.snapshots
    }

    /// The snapshot in effect at `at`: the latest captured at or before it (none if `at`
    /// precedes them all); the latest of all when `at` is unknown. Answers for two flows with
    /// the same snapshot in effect are the same.
    pub fn snapshot_at(&self, at: Option<i64>) -> Option<u32> {
        match at {
            None => self.snapshots.len().checked_sub(1).map(|s| s as u32),
            Some(t) => self
                .snapshots
                .partition_point(|s| s.time <= t)
                .checked_sub(1)
                .map(|s| s as u32),
        }
    }

    /// Interface `id` as described when a flow starting at `at` began.
    pub fn interface(&self, id: &str, at: Option<i64>) -> Option<&Eni> {
        self.interface_index(id, at).map(|e| self.eni(e))
    }

    /// The entry of interface `id` when a flow starting at `at` began (an index for
    /// [`Inventory::eni`]).
    pub fn interface_index(&self, id: &str, at: Option<i64>) -> Option<u32> {
        let list = self.holdings(match id_key(id) {
            Some(k) => self.by_id.get(&k),
            None => self.by_other_id.get(id),
        });
        let pick = match self.snapshot_at(at) {
            Some(c) => list
                .iter()
                .rev()
                .find(|&&(s, _)| s <= c)
                .or_else(|| list.iter().find(|&&(s, _)| s > c)),
            None => list.first(),
        }?;
        Some(pick.1)
    }

    /// An entry by index.
    pub fn eni(&self, index: u32) -> &Eni {
        &self.enis[index as usize]
    }

    /// How many entries there are (over all snapshots).
    pub fn entries(&self) -> usize {
        self.enis.len()
    }

    /// The interface holding `ip` when a flow starting at `at` began; `vpc` (the flow's VPC, if
    /// known) decides between interfaces of different VPCs holding the same private address.
    pub fn holder(&self, ip: IpAddr, at: Option<i64>, vpc: Option<&str>) -> Option<&Eni> {
        self.holder_index(ip, at, || vpc).map(|e| self.eni(e))
    }

    /// [`Inventory::holder`] as an index; the flow's VPC is asked for only when an address is
    /// held in several VPCs.
    pub fn holder_index<'v>(
        &self,
        ip: IpAddr,
        at: Option<i64>,
        vpc: impl FnOnce() -> Option<&'v str>,
    ) -> Option<u32> {
        let current = self.snapshot_at(at);
        let next = match (current, at) {
            (_, None) => None,
            (Some(c), _) => Some(c + 1),
            (None, _) => Some(0),
        }
        .filter(|&n| (n as usize) < self.snapshots.len());
        let exact = self.held(ip);
        for s in current.into_iter().chain(next) {
            let mut held = exact.iter().filter(|&&(h, _)| h == s).map(|&(_, e)| e);
            if let Some(first) = held.next() {
                if held.clone().next().is_none() {
                    return Some(first);
                }
                let all: Vec<u32> = std::iter::once(first).chain(held).collect();
                return self.in_vpc(&all, vpc());
            }
            if let Some(d) = self.prefixes[s as usize].lookup(ip) {
                return match &self.delegations[d as usize][..] {
                    [e] => Some(*e),
                    all => self.in_vpc(all, vpc()),
                };
            }
        }
        None
    }

    /// The only interface among `found` in `vpc`.
    fn in_vpc(&self, found: &[u32], vpc: Option<&str>) -> Option<u32> {
        let vpc = vpc?;
        let mut same = found
            .iter()
            .filter(|&&e| self.enis[e as usize].vpc_id.as_deref() == Some(vpc));
        match (same.next(), same.next()) {
            (Some(&e), None) => Some(e),
            _ => None,
        }
    }
}

/// Expands directories into their snapshot files (`*.json`, `*.json.gz`, by name); a file
/// passes as it is.
pub fn expand(path: &Path) -> Result<Vec<PathBuf>, Error> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(|e| Error::io(path, e))? {
        let entry = entry.map_err(|e| Error::io(path, e))?;
        let name = entry.file_name().to_string_lossy().to_lowercase();
        let p = entry.path();
        if !name.starts_with('.')
            && (name.ends_with(".json") || name.ends_with(".json.gz"))
            && p.is_file()
        {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(Error::Input {
            input: path.display().to_string(),
            reason: "the directory holds no *.json or *.json.gz inventory snapshots".into(),
        });
    }
    files.sort();
    Ok(files)
}

/// A snapshot file's capture time: from its name, else its modification time.
fn capture_time(path: &Path) -> Result<i64, Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if let Some(t) = time_in_name(&name) {
        return Ok(t);
    }
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|e| Error::io(path, e))?;
    Ok(match modified.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    })
}

/// The first UTC date or date-time in a file name: `YYYY-MM-DD` or `YYYYMMDD`, optionally
/// followed by `T` and `HH:MM[:SS]`, `HH-MM[-SS]` or `HHMM[SS]`.
pub fn time_in_name(name: &str) -> Option<i64> {
    let b = name.as_bytes();
    (0..b.len()).find_map(|i| {
        // A date starts a run of digits.
        if i > 0 && b[i - 1].is_ascii_digit() {
            return None;
        }
        date_time_at(&b[i..])
    })
}

fn date_time_at(b: &[u8]) -> Option<i64> {
    let num = |s: &[u8]| -> Option<i64> {
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0i64, |n, &d| n * 10 + i64::from(d - b'0')))
    };
    let (y, m, d, rest) = if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        (num(&b[..4])?, num(&b[5..7])?, num(&b[8..10])?, &b[10..])
    } else if b.len() >= 8 {
        (num(&b[..4])?, num(&b[4..6])?, num(&b[6..8])?, &b[8..])
    } else {
        return None;
    };
    if rest.first().is_some_and(u8::is_ascii_digit) || !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let days = days_from_civil(y, m as u32, d as u32);
    if crate::format::calendar::civil_from_days(days) != (y, m as u32, d as u32) {
        return None;
    }
    let mut secs = 0;
    if let Some(t) = rest.strip_prefix(b"T").or_else(|| rest.strip_prefix(b"t")) {
        // HH:MM[:SS], HH-MM[-SS] or HHMM[SS]
        let digits: Vec<u8> = t
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b':' || **c == b'-')
            .copied()
            .collect();
        let parts: Vec<i64> = if digits.contains(&b':') || digits.contains(&b'-') {
            digits
                .split(|c| *c == b':' || *c == b'-')
                .take(3)
                .map(num)
                .collect::<Option<_>>()?
        } else if digits.len() == 4 || digits.len() == 6 {
            digits.chunks(2).map(num).collect::<Option<_>>()?
        } else {
            return Some(days * 86_400);
        };
        let limits = [24, 60, 60];
        for (k, v) in parts.iter().enumerate() {
            if !(0..limits[k]).contains(v) {
                return None;
            }
            secs += v * [3600, 60, 1][k];
        }
    }
    Some(days * 86_400 + secs)
}

/// An interface parsed from a snapshot, with its addresses and delegated prefixes.
struct Parsed {
    eni: Eni,
    addresses: Vec<IpAddr>,
    prefixes: Vec<Prefix>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Doc {
    network_interfaces: Vec<Nic>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Nic {
    network_interface_id: String,
    interface_type: Option<String>,
    description: Option<String>,
    #[serde(default, alias = "Tags")]
    tag_set: Option<Vec<Tag>>,
    attachment: Option<Attachment>,
    #[serde(default)]
    groups: Option<Vec<Group>>,
    subnet_id: Option<String>,
    vpc_id: Option<String>,
    private_ip_address: Option<String>,
    #[serde(default)]
    private_ip_addresses: Option<Vec<PrivateIp>>,
    association: Option<Association>,
    #[serde(default)]
    ipv6_addresses: Option<Vec<Ipv6>>,
    #[serde(default)]
    ipv4_prefixes: Option<Vec<Ipv4Delegated>>,
    #[serde(default)]
    ipv6_prefixes: Option<Vec<Ipv6Delegated>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attachment {
    instance_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Group {
    group_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrivateIp {
    private_ip_address: Option<String>,
    association: Option<Association>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Association {
    public_ip: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ipv6 {
    ipv6_address: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ipv4Delegated {
    ipv4_prefix: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ipv6Delegated {
    ipv6_prefix: String,
}

/// Parses one snapshot file's text (one or more `{"NetworkInterfaces": [...]}` documents).
fn parse_snapshot(name: &str, bytes: &[u8]) -> Result<Vec<Parsed>, Error> {
    let bad = |reason: String| Error::Input {
        input: name.to_string(),
        reason,
    };
    let mut out = Vec::new();
    let mut docs = 0;
    for doc in serde_json::Deserializer::from_slice(bytes).into_iter::<Doc>() {
        let doc = doc.map_err(|e| {
            bad(format!(
                "not the output of `aws ec2 describe-network-interfaces` ({{\"NetworkInterfaces\": [...]}}): {e}"
            ))
        })?;
        docs += 1;
        for (i, nic) in doc.network_interfaces.into_iter().enumerate() {
            let at = format!("NetworkInterfaces[{i}] ({})", nic.network_interface_id);
            out.push(parsed(nic).map_err(|r| bad(format!("{at}.{r}")))?);
        }
    }
    if docs == 0 {
        return Err(bad(
            "empty: expected the output of `aws ec2 describe-network-interfaces`".into(),
        ));
    }
    Ok(out)
}

fn parsed(nic: Nic) -> Result<Parsed, String> {
    let text = |s: Option<String>| s.filter(|s| !s.is_empty()).map(Arc::from);
    let addr = |field: &str, s: &str| {
        parse_addr(s).ok_or_else(|| format!("{field}: {s:?} is not an IP address"))
    };
    let mut addresses = Vec::new();
    if let Some(a) = &nic.private_ip_address {
        addresses.push(addr("PrivateIpAddress", a)?);
    }
    for (k, p) in nic.private_ip_addresses.iter().flatten().enumerate() {
        if let Some(a) = &p.private_ip_address {
            addresses.push(addr(
                &format!("PrivateIpAddresses[{k}].PrivateIpAddress"),
                a,
            )?);
        }
        if let Some(a) = p.association.as_ref().and_then(|a| a.public_ip.as_ref()) {
            addresses.push(addr(
                &format!("PrivateIpAddresses[{k}].Association.PublicIp"),
                a,
            )?);
        }
    }
    if let Some(a) = nic.association.as_ref().and_then(|a| a.public_ip.as_ref()) {
        addresses.push(addr("Association.PublicIp", a)?);
    }
    for (k, a) in nic.ipv6_addresses.iter().flatten().enumerate() {
        addresses.push(addr(
            &format!("Ipv6Addresses[{k}].Ipv6Address"),
            &a.ipv6_address,
        )?);
    }
    addresses.sort_unstable();
    addresses.dedup();
    let mut prefixes = Vec::new();
    for (k, p) in nic.ipv4_prefixes.iter().flatten().enumerate() {
        prefixes.push(
            Prefix::parse(&p.ipv4_prefix)
                .map_err(|r| format!("Ipv4Prefixes[{k}].Ipv4Prefix: {r}"))?,
        );
    }
    for (k, p) in nic.ipv6_prefixes.iter().flatten().enumerate() {
        prefixes.push(
            Prefix::parse(&p.ipv6_prefix)
                .map_err(|r| format!("Ipv6Prefixes[{k}].Ipv6Prefix: {r}"))?,
        );
    }
    let name = nic
        .tag_set
        .iter()
        .flatten()
        .find(|t| t.key == "Name")
        .and_then(|t| t.value.clone());
    Ok(Parsed {
        eni: Eni {
            id: Arc::from(nic.network_interface_id),
            interface_type: text(nic.interface_type),
            description: text(nic.description),
            name: text(name),
            instance_id: text(nic.attachment.and_then(|a| a.instance_id)),
            security_groups: nic
                .groups
                .into_iter()
                .flatten()
                .map(|g| Arc::from(g.group_id))
                .collect(),
            subnet_id: text(nic.subnet_id),
            vpc_id: text(nic.vpc_id),
        },
        addresses,
        prefixes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nic(id: &str, vpc: &str, addrs: &[&str], extra: &str) -> String {
        let ips: Vec<String> = addrs
            .iter()
            .map(|a| format!(r#"{{"PrivateIpAddress": "{a}", "Primary": false}}"#))
            .collect();
        format!(
            r#"{{"NetworkInterfaceId": "{id}", "VpcId": "{vpc}", "SubnetId": "subnet-1",
                "InterfaceType": "interface", "Groups": [{{"GroupId": "sg-1", "GroupName": "a"}}],
                "PrivateIpAddresses": [{}] {extra}}}"#,
            ips.join(",")
        )
    }

    fn snapshot(dir: &Path, name: &str, nics: &[String]) -> SnapshotFile {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(r#"{{"NetworkInterfaces": [{}]}}"#, nics.join(",")),
        )
        .unwrap();
        SnapshotFile { path, time: None }
    }

    proptest::proptest! {
        /// The word-at-a-time parse against a digit-by-digit one, over ids mixing hex digits
        /// with the characters next to them.
        #[test]
        fn interface_ids_key_as_a_digit_by_digit_reading_does(
            digits in proptest::collection::vec(
                proptest::sample::select(b"0123456789abcdef/:`gAF\x80".to_vec()), 0..33),
        ) {
            let id = format!("eni-{}", String::from_utf8_lossy(&digits));
            let hex = &id[4..];
            let naive = (!hex.is_empty() && hex.len() <= 30)
                .then(|| u128::from_str_radix(hex, 16).ok())
                .flatten()
                .filter(|_| hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
                .map(|v| v | (hex.len() as u128) << 120);
            proptest::prop_assert_eq!(id_key(&id), naive, "{}", id);
        }
    }

    #[test]
    fn interface_ids_key_by_value_and_length() {
        assert_eq!(id_key("eni-0a"), Some(0x0a | 2 << 120));
        assert_ne!(id_key("eni-0a"), id_key("eni-a"));
        assert_ne!(id_key("eni-00"), id_key("eni-000"));
        for other in [
            "eni-",
            "eni-0A",
            "eni-xyz",
            "i-0a",
            &format!("eni-{}", "f".repeat(31)),
        ] {
            assert_eq!(id_key(other), None, "{other}");
        }
    }

    #[test]
    fn capture_times_come_from_names() {
        let day = days_from_civil(2026, 11, 30) * 86_400;
        for (name, want) in [
            ("enis-2026-11-30.json", Some(day)),
            ("enis-2026-11-30T12:34:56Z.json", Some(day + 45_296)),
            ("enis-2026-11-30T12-34-56Z.json.gz", Some(day + 45_296)),
            ("enis_20261130T1234Z.json", Some(day + 45_240)),
            ("enis_20261130T123456.json", Some(day + 45_296)),
            ("20261130.json", Some(day)),
            ("enis-2026-11-31.json", None),
            ("enis-2026-13-01.json", None),
            ("enis-1202611301.json", None),
            ("enis.json", None),
            ("v2-2026-11-30T25:00.json", None),
        ] {
            assert_eq!(time_in_name(name), want, "{name}");
        }
    }

    #[test]
    fn addresses_resolve_in_the_snapshot_in_effect() {
        let dir = tempfile::tempdir().unwrap();
        let a = snapshot(
            dir.path(),
            "enis-2026-11-01.json",
            &[nic("eni-a", "vpc-1", &["10.0.1.5"], "")],
        );
        let b = snapshot(
            dir.path(),
            "enis-2026-11-02.json",
            &[
                nic("eni-b", "vpc-1", &["10.0.1.5"], ""),
                nic("eni-c", "vpc-1", &["10.0.1.6"], ""),
            ],
        );
        let inv = Inventory::load(&[b, a]).unwrap();
        let t1 = days_from_civil(2026, 11, 1) * 86_400;
        let t2 = t1 + 86_400;
        let ip: IpAddr = "10.0.1.5".parse().unwrap();
        let at = |t: Option<i64>| inv.holder(ip, t, None).map(|e| &*e.id);
        assert_eq!(at(Some(t1 - 100)), Some("eni-a"));
        assert_eq!(at(Some(t1)), Some("eni-a"));
        assert_eq!(at(Some(t2 - 1)), Some("eni-a"));
        assert_eq!(at(Some(t2)), Some("eni-b"));
        assert_eq!(at(None), Some("eni-b"));
        // Not in the first snapshot: assigned between the two.
        let six: IpAddr = "10.0.1.6".parse().unwrap();
        assert_eq!(
            inv.holder(six, Some(t1 + 5), None).map(|e| &*e.id),
            Some("eni-c")
        );
        // Interfaces: eni-a is only in the first snapshot.
        assert_eq!(
            inv.interface("eni-a", Some(t2 + 9)).map(|e| &*e.id),
            Some("eni-a")
        );
        assert_eq!(
            inv.interface("eni-c", Some(t1 - 9)).map(|e| &*e.id),
            Some("eni-c")
        );
        assert!(inv.interface("eni-zzz", None).is_none());
    }

    #[test]
    fn repeated_private_addresses_resolve_by_vpc_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let s = snapshot(
            dir.path(),
            "x.json",
            &[
                nic("eni-1", "vpc-1", &["10.0.0.9"], ""),
                nic(
                    "eni-2",
                    "vpc-2",
                    &["10.0.0.9"],
                    r#","Ipv4Prefixes": [{"Ipv4Prefix": "10.9.0.0/28"}]"#,
                ),
                nic("eni-Custom", "vpc-2", &["10.0.0.10"], ""),
            ],
        );
        let inv = Inventory::load(&[SnapshotFile { time: Some(0), ..s }]).unwrap();
        // An id not in AWS's form is found by its text.
        assert_eq!(
            inv.interface("eni-Custom", None).map(|e| &*e.id),
            Some("eni-Custom")
        );
        assert!(inv.interface("eni-custom", None).is_none());
        assert_eq!(inv.interface("eni-2", None).map(|e| &*e.id), Some("eni-2"));
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        assert_eq!(
            inv.holder(ip, Some(5), Some("vpc-2")).map(|e| &*e.id),
            Some("eni-2")
        );
        assert!(inv.holder(ip, Some(5), None).is_none());
        assert!(inv.holder(ip, Some(5), Some("vpc-3")).is_none());
        let delegated: IpAddr = "10.9.0.15".parse().unwrap();
        assert_eq!(
            inv.holder(delegated, None, None).map(|e| &*e.id),
            Some("eni-2")
        );
        assert!(
            inv.holder("10.9.0.16".parse().unwrap(), None, None)
                .is_none()
        );
    }

    #[test]
    fn bad_snapshots_name_the_file_and_the_place() {
        let err = |text: &str| {
            parse_snapshot("inv.json", text.as_bytes())
                .err()
                .unwrap()
                .to_string()
        };
        let e = err("{\"NetworkInterfaces\": [\n  {\"NetworkInterfaceId\": 7}]}");
        assert!(e.starts_with("inv.json: ") && e.contains("line 2"), "{e}");
        let e = err(r#"{"Reservations": []}"#);
        assert!(e.contains("NetworkInterfaces"), "{e}");
        let e = err("");
        assert!(e.contains("empty"), "{e}");
        let e = err(
            r#"{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1"}, {"NetworkInterfaceId": "eni-2", "PrivateIpAddress": "10.0.0"}]}"#,
        );
        assert!(
            e.contains("NetworkInterfaces[1] (eni-2).PrivateIpAddress") && e.contains("10.0.0"),
            "{e}"
        );
    }
}
