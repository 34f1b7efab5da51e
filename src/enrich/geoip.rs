//! GeoIP and ASN enrichment (`source.geo`, `source.as`, `destination.geo`, `destination.as`),
//! done the way Elasticsearch's `geoip` ingest processor does it for Elastic's AWS VPC Flow
//! pipeline.
//!
//! That pipeline runs four `geoip` processors: the default City database on `source.ip` and
//! `destination.ip` into `*.geo`, and `GeoLite2-ASN.mmdb` (properties `asn` and
//! `organization_name`) into `*.as`, then renames `as.asn` to `as.number` and
//! `as.organization_name` to `as.organization.name`. This module reproduces the result:
//!
//! - `geo` has the City processor's default properties, each written only when the record has
//!   it: `city_name` (`city.names.en`), `continent_name` (`continent.names.en`),
//!   `country_iso_code` and `country_name` (from `country`; `registered_country` is never
//!   used), `location` (`{lat, lon}`, only when both exist), `region_iso_code` (the country
//!   ISO code, `-`, and the subdivision ISO code, only when both exist) and `region_name`. The
//!   subdivision is the most specific one, i.e. the **last** entry of `subdivisions`. Names are
//!   always English.
//! - `as` has `number` (`autonomous_system_number`) and `organization.name`
//!   (`autonomous_system_organization`), each only when present.
//! - When a database has no record for the address, or the record yields none of the fields
//!   (for example a record with only `registered_country`), the object is left out entirely.
//!   Private and reserved addresses get nothing because MaxMind databases hold no records for
//!   them; like Elasticsearch, no address range is special-cased here.
//! - The address is parsed like Elasticsearch's `InetAddresses.forString`; IPv4-mapped IPv6 text
//!   (`::ffff:a.b.c.d`) is looked up as the IPv4 address, as the JDK turns it into one. Text
//!   that is not an IP address gets nothing (Elasticsearch would fail the processor instead).
//!
//! Databases are found by the `database_type` in their metadata, as Elasticsearch does: see
//! [`GeoIp::open_dir`]. [`GeoIp::write_geo_members`] writes the members for one address;
//! [`GeoIp::write_geo_members_cached`] does the same with a per-thread [`GeoCache`] that skips
//! decoding records already seen.

use std::fmt;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use maxminddb::Reader;
use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};

use crate::format::calendar::civil_from_days;
use crate::format::json::{Obj, push_escaped, push_json_str};

/// The file name Elastic's pipeline gives the City database (the processor's default
/// `database_file`); preferred when a directory holds several City databases.
const ELASTIC_CITY_FILE: &str = "GeoLite2-City.mmdb";
/// The `database_file` Elastic's pipeline names for the ASN lookups.
const ELASTIC_ASN_FILE: &str = "GeoLite2-ASN.mmdb";

/// Which kind of lookup a database serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    City,
    Asn,
}

impl Kind {
    /// The kind a `database_type` metadata string selects, if any.
    ///
    /// Elasticsearch dispatches on the suffix (`-City`, `-ASN`); matching the word anywhere also
    /// accepts variants such as `DBIP-City-Lite` or `GeoLite2-City-Test`-style names.
    fn of(database_type: &str) -> Option<Kind> {
        if database_type.contains("City") {
            Some(Kind::City)
        } else if database_type.contains("ASN") {
            Some(Kind::Asn)
        } else {
            None
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::City => "City",
            Kind::Asn => "ASN",
        }
    }

    fn elastic_file(self) -> &'static str {
        match self {
            Kind::City => ELASTIC_CITY_FILE,
            Kind::Asn => ELASTIC_ASN_FILE,
        }
    }
}

/// One opened MaxMind database.
struct Db {
    reader: Reader<Vec<u8>>,
    path: PathBuf,
}

impl Db {
    fn open(path: &Path) -> Result<Db, String> {
        let reader = Reader::open_readfile(path)
            .map_err(|e| format!("cannot open MaxMind database {}: {e}", path.display()))?;
        Ok(Db {
            reader,
            path: path.to_path_buf(),
        })
    }

    fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// Appends the members `render` makes of the record for `ip` (nothing when there is no
    /// record or it does not decode: an IPv6 address in an IPv4-only database, a corrupt
    /// record), reusing `slots` when given.
    #[inline]
    fn write<'a, T: Deserialize<'a>>(
        &'a self,
        ip: IpAddr,
        render: fn(&T, &mut Vec<u8>),
        slots: Option<&mut Slots>,
        out: &mut Vec<u8>,
    ) {
        let Ok(found) = self.reader.lookup(ip) else {
            return;
        };
        let Some(offset) = found.offset() else {
            return;
        };
        let decode_into = |out: &mut Vec<u8>| {
            if let Ok(Some(rec)) = found.decode::<T>() {
                render(&rec, out);
            }
        };
        match slots {
            None => decode_into(out),
            Some(slots) => {
                let (key, val) = slots.slot(offset);
                if *key != offset + 1 {
                    val.clear();
                    decode_into(val);
                    *key = offset + 1;
                }
                out.extend_from_slice(val);
            }
        }
    }
}

impl fmt::Display for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let meta = self.reader.metadata();
        let (y, m, d) = civil_from_days((meta.build_epoch / 86_400) as i64);
        write!(
            f,
            "{} ({}, built {y:04}-{m:02}-{d:02})",
            self.path.display(),
            meta.database_type
        )
    }
}

/// City and ASN databases for Elastic-compatible `geo` / `as` enrichment.
///
/// Lookups take `&self` and keep no state, so one `GeoIp` can be shared by reference (or in an
/// `Arc`) between any number of threads.
pub struct GeoIp {
    city: Option<Db>,
    asn: Option<Db>,
    /// Other `.mmdb` files seen by [`GeoIp::open_dir`] and why they were not used.
    skipped: Vec<String>,
    /// Tells a [`GeoCache`] which `GeoIp` its entries came from.
    id: u64,
}

/// Source of [`GeoIp::id`]s.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeoIp")
            .field(
                "city",
                &self.city.as_ref().map(|d| d.path.display().to_string()),
            )
            .field(
                "asn",
                &self.asn.as_ref().map(|d| d.path.display().to_string()),
            )
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// Says which databases are in use, one per line, e.g.
/// `GeoIP City: dir/GeoLite2-City.mmdb (GeoLite2-City, built 2026-02-04)`, followed by the
/// `.mmdb` files that were skipped.
impl fmt::Display for GeoIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (kind, db) in [(Kind::City, &self.city), (Kind::Asn, &self.asn)] {
            match db {
                Some(db) => writeln!(f, "GeoIP {}: {db}", kind.label())?,
                None => writeln!(
                    f,
                    "GeoIP {}: no database found; no {} fields are written",
                    kind.label(),
                    match kind {
                        Kind::City => "*.geo",
                        Kind::Asn => "*.as",
                    }
                )?,
            }
        }
        for note in &self.skipped {
            writeln!(f, "GeoIP skipped {note}")?;
        }
        Ok(())
    }
}

impl GeoIp {
    /// Opens the City and ASN databases found in `dir`.
    ///
    /// Every `*.mmdb` file directly in `dir` is opened and classified by the `database_type` in
    /// its metadata: one containing `City` (`GeoLite2-City`, `GeoIP2-City`, ...) serves `geo`,
    /// one containing `ASN` (`GeoLite2-ASN`) serves `as`; others (Country, ISP, ...) are skipped,
    /// as Elastic's pipeline does not use them. When several databases of a kind are present,
    /// the one named as in Elastic's pipeline (`GeoLite2-City.mmdb`, `GeoLite2-ASN.mmdb`) wins,
    /// then a `GeoLite2-*` type (what Elastic uses), then the first by file name. Files that
    /// fail to open are skipped too. The result's [`Display`](fmt::Display) says which files are
    /// used and which were skipped.
    ///
    /// Fails when `dir` can't be read or holds neither a City nor an ASN database; the message
    /// lists the `.mmdb` files that were looked at.
    pub fn open_dir(dir: &Path) -> Result<GeoIp, String> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read GeoIP directory {}: {e}", dir.display()))?;
        let mut paths: Vec<PathBuf> = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| format!("cannot read GeoIP directory {}: {e}", dir.display()))?;
            let path = entry.path();
            let is_mmdb = path
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("mmdb"));
            if is_mmdb && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();

        let mut city: Vec<Db> = Vec::new();
        let mut asn: Vec<Db> = Vec::new();
        let mut skipped: Vec<String> = Vec::new();
        for path in &paths {
            match Db::open(path) {
                Ok(db) => match Kind::of(db.database_type()) {
                    Some(Kind::City) => city.push(db),
                    Some(Kind::Asn) => asn.push(db),
                    None => skipped.push(format!(
                        "{}: database_type {} is neither City nor ASN",
                        path.display(),
                        db.database_type()
                    )),
                },
                Err(e) => skipped.push(e),
            }
        }

        let city = pick(Kind::City, city, &mut skipped);
        let asn = pick(Kind::Asn, asn, &mut skipped);
        if city.is_none() && asn.is_none() {
            let mut msg = format!(
                "no GeoIP City or ASN database (*.mmdb) found in {}",
                dir.display()
            );
            for note in &skipped {
                msg.push_str("; skipped ");
                msg.push_str(note);
            }
            return Err(msg);
        }
        Ok(GeoIp {
            city,
            asn,
            skipped,
            id: next_id(),
        })
    }

    /// Opens the given database files, either of which may be left out. Each file's
    /// `database_type` must match its role (contain `City` or `ASN`).
    #[cfg(test)]
    pub(crate) fn open_files(city: Option<&Path>, asn: Option<&Path>) -> Result<GeoIp, String> {
        let open = |kind: Kind, path: Option<&Path>| -> Result<Option<Db>, String> {
            let Some(path) = path else { return Ok(None) };
            let db = Db::open(path)?;
            if Kind::of(db.database_type()) != Some(kind) {
                return Err(format!(
                    "{} has database_type {}, not a {} database",
                    path.display(),
                    db.database_type(),
                    kind.label()
                ));
            }
            Ok(Some(db))
        };
        Ok(GeoIp {
            city: open(Kind::City, city)?,
            asn: open(Kind::Asn, asn)?,
            skipped: Vec::new(),
            id: next_id(),
        })
    }

    /// Path of the City database in use, if any.
    #[cfg(test)]
    pub(crate) fn city_path(&self) -> Option<&Path> {
        self.city.as_ref().map(|d| d.path.as_path())
    }

    /// Path of the ASN database in use, if any.
    #[cfg(test)]
    pub(crate) fn asn_path(&self) -> Option<&Path> {
        self.asn.as_ref().map(|d| d.path.as_path())
    }

    /// Appends `,"geo":{...}` and/or `,"as":{...}` for `ip` to `out`, as JSON object members for
    /// an endpoint object (`source` / `destination`) the caller has already opened and written at
    /// least one member of.
    ///
    /// Appends nothing for a part whose database has no record for `ip` (or yields no field),
    /// and nothing at all when `ip` is not an IP address. Members are written in sorted key
    /// order, the order of Elastic's expected documents.
    ///
    /// ```text
    /// caller: {"source":{"address":"89.160.20.156"
    /// adds:   ,"geo":{"city_name":"Linköping",...,"region_name":"Östergötland County"},"as":{"number":29518,"organization":{"name":"Bredband2 AB"}}
    /// caller: }
    /// ```
    pub fn write_geo_members(&self, ip: &str, out: &mut Vec<u8>) {
        if let Ok(ip) = ip.parse::<IpAddr>() {
            self.write_geo_members_ip(ip, out);
        }
    }

    /// [`write_geo_members`](Self::write_geo_members) for an already parsed address.
    pub(crate) fn write_geo_members_ip(&self, ip: IpAddr, out: &mut Vec<u8>) {
        self.write_ip(ip, None, out);
    }

    /// [`write_geo_members`](Self::write_geo_members), reusing the text rendered for database
    /// records seen before through `cache` (one per thread) instead of decoding them again.
    /// Output is identical; addresses of one network share a record, so this saves most of the
    /// per-address cost when addresses repeat or cluster.
    pub fn write_geo_members_cached(&self, ip: &str, cache: &mut GeoCache, out: &mut Vec<u8>) {
        if let Ok(ip) = ip.parse::<IpAddr>() {
            self.write_geo_members_ip_cached(ip, cache, out);
        }
    }

    /// [`write_geo_members_cached`](Self::write_geo_members_cached) for an already parsed
    /// address.
    pub(crate) fn write_geo_members_ip_cached(
        &self,
        ip: IpAddr,
        cache: &mut GeoCache,
        out: &mut Vec<u8>,
    ) {
        if cache.owner != self.id {
            cache.clear();
            cache.owner = self.id;
        }
        self.write_ip(ip, Some(cache), out);
    }

    fn write_ip(&self, ip: IpAddr, cache: Option<&mut GeoCache>, out: &mut Vec<u8>) {
        // The JDK turns IPv4-mapped IPv6 addresses into IPv4 ones before the lookup.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        let (city_slots, asn_slots) = match cache {
            Some(c) => (Some(&mut c.city), Some(&mut c.asn)),
            None => (None, None),
        };
        if let Some(db) = &self.city {
            db.write::<CityRecord<'_>>(ip, write_geo, city_slots, out);
        }
        if let Some(db) = &self.asn {
            db.write::<AsnRecord<'_>>(ip, write_as, asn_slots, out);
        }
    }
}

/// A small per-thread memo for [`GeoIp::write_geo_members_cached`]: the members rendered for
/// recently seen database records, keyed by the record's position in the database (so one
/// entry serves every address of a network). Fixed size (256 entries per database, direct
/// mapped); it never grows. Using it with another [`GeoIp`] empties it first.
#[derive(Debug, Default)]
pub struct GeoCache {
    owner: u64,
    city: Slots,
    asn: Slots,
}

impl GeoCache {
    /// An empty cache.
    pub fn new() -> GeoCache {
        GeoCache::default()
    }

    fn clear(&mut self) {
        self.city = Slots::default();
        self.asn = Slots::default();
    }
}

/// Number of entries per database in a [`GeoCache`] (a power of two).
const CACHE_SLOTS: usize = 256;

/// Direct-mapped memo: `keys[i]` is the data offset + 1 of the record rendered in `vals[i]`
/// (0 = empty).
#[derive(Debug, Default)]
struct Slots {
    keys: Vec<usize>,
    vals: Vec<Vec<u8>>,
}

impl Slots {
    fn slot(&mut self, offset: usize) -> (&mut usize, &mut Vec<u8>) {
        if self.keys.is_empty() {
            self.keys = vec![0; CACHE_SLOTS];
            self.vals = vec![Vec::new(); CACHE_SLOTS];
        }
        // Records are tens to hundreds of bytes apart; mix the offset so neighbours spread.
        let i = (offset.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) & (CACHE_SLOTS - 1);
        (&mut self.keys[i], &mut self.vals[i])
    }
}

/// Picks the database of `kind` to use from `found` (sorted by path) and records the rest in
/// `skipped`.
fn pick(kind: Kind, found: Vec<Db>, skipped: &mut Vec<String>) -> Option<Db> {
    let rank = |db: &Db| {
        let named = db
            .path
            .file_name()
            .is_some_and(|n| n.eq_ignore_ascii_case(kind.elastic_file()));
        let geolite = db.database_type().starts_with("GeoLite2");
        match (named, geolite) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 2,
        }
    };
    // min_by_key keeps the first of equal ranks, i.e. the first by file name.
    let best = found.iter().enumerate().min_by_key(|(_, db)| rank(db))?.0;
    let mut chosen = None;
    for (i, db) in found.into_iter().enumerate() {
        if i == best {
            chosen = Some(db);
        } else {
            skipped.push(format!(
                "{db}: another {} database is used instead",
                kind.label()
            ));
        }
    }
    chosen
}

// ---- MMDB records: only the fields Elastic reads, strings borrowed from the database ----

/// `names` map of a City-database entity; only English is used.
#[derive(Deserialize, Default)]
struct Names<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

/// An entity that only contributes its name (`city`, `continent`).
#[derive(Deserialize, Default)]
struct Named<'a> {
    #[serde(borrow, default)]
    names: Names<'a>,
}

/// `country` and each of `subdivisions`: ISO code and names.
#[derive(Deserialize, Default)]
struct Coded<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    names: Names<'a>,
}

#[derive(Deserialize, Default)]
struct Location {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

#[derive(Deserialize)]
struct CityRecord<'a> {
    #[serde(borrow, default)]
    city: Named<'a>,
    #[serde(borrow, default)]
    continent: Named<'a>,
    #[serde(borrow, default)]
    country: Coded<'a>,
    #[serde(default)]
    location: Location,
    /// The most specific (last) subdivision, as `CityResponse.getMostSpecificSubdivision()`.
    #[serde(borrow, default, deserialize_with = "last_subdivision")]
    subdivisions: Option<Coded<'a>>,
}

#[derive(Deserialize)]
struct AsnRecord<'a> {
    /// A `uint32` in MaxMind's databases; any unsigned integer type is accepted.
    #[serde(default, deserialize_with = "any_uint")]
    autonomous_system_number: Option<u64>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
}

/// Decodes `subdivisions` keeping only its last entry, without collecting the list.
fn last_subdivision<'de, D>(deserializer: D) -> Result<Option<Coded<'de>>, D::Error>
where
    D: Deserializer<'de>,
{
    struct LastVisitor;

    impl<'de> Visitor<'de> for LastVisitor {
        type Value = Option<Coded<'de>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of subdivisions")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut last = None;
            while let Some(sub) = seq.next_element::<Coded<'de>>()? {
                last = Some(sub);
            }
            Ok(last)
        }
    }

    deserializer.deserialize_seq(LastVisitor)
}

/// Decodes an integer of any MMDB integer type (the decoder matches types exactly, so a plain
/// `u64` would reject the `uint32` MaxMind uses). Negative values decode as absent.
fn any_uint<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: Deserializer<'de>,
{
    struct UintVisitor;

    impl Visitor<'_> for UintVisitor {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an unsigned integer")
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(u64::try_from(v).ok())
        }

        fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Self::Value, E> {
            Ok(u64::try_from(v).ok())
        }
    }

    deserializer.deserialize_any(UintVisitor)
}

// ---- JSON writing ----

/// Appends `,"geo":{...}` for a City record, or nothing when it yields no field.
fn write_geo(rec: &CityRecord<'_>, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(b",\"geo\":");
    let mut m = Obj::open(out, false);
    m.opt_str("city_name", rec.city.names.en);
    m.opt_str("continent_name", rec.continent.names.en);
    m.opt_str("country_iso_code", rec.country.iso_code);
    m.opt_str("country_name", rec.country.names.en);
    if let Location {
        latitude: Some(lat),
        longitude: Some(lon),
    } = rec.location
        && lat.is_finite()
        && lon.is_finite()
    {
        let o = m.key("location");
        o.extend_from_slice(b"{\"lat\":");
        write_f64(o, lat);
        o.extend_from_slice(b",\"lon\":");
        write_f64(o, lon);
        o.push(b'}');
    }
    let sub = rec.subdivisions.as_ref();
    if let (Some(country), Some(region)) = (rec.country.iso_code, sub.and_then(|s| s.iso_code)) {
        let o = m.key("region_iso_code");
        o.push(b'"');
        push_escaped(o, country);
        o.push(b'-');
        push_escaped(o, region);
        o.push(b'"');
    }
    m.opt_str("region_name", sub.and_then(|s| s.names.en));
    if m.first {
        m.out.truncate(start);
    } else {
        m.close();
    }
}

/// Appends `,"as":{...}` for an ASN record, or nothing when it has neither field.
fn write_as(rec: &AsnRecord<'_>, out: &mut Vec<u8>) {
    if rec.autonomous_system_number.is_none() && rec.autonomous_system_organization.is_none() {
        return;
    }
    out.extend_from_slice(b",\"as\":");
    let mut m = Obj::open(out, false);
    if let Some(number) = rec.autonomous_system_number {
        m.key("number")
            .extend_from_slice(itoa::Buffer::new().format(number).as_bytes());
    }
    if let Some(org) = rec.autonomous_system_organization {
        let o = m.key("organization");
        o.extend_from_slice(b"{\"name\":");
        push_json_str(o, org);
        o.push(b'}');
    }
    m.close();
}

/// Appends a finite double the way Java prints one: the shortest text that reads back as the
/// same value, with `.0` added to whole numbers (`62.0`).
fn write_f64(out: &mut Vec<u8>, v: f64) {
    let start = out.len();
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{v}");
    if !out[start..].contains(&b'.') {
        out.extend_from_slice(b".0");
    }
}

impl super::GeoLookup for GeoIp {
    fn write_geo_members(&self, ip: &str, out: &mut Vec<u8>) {
        GeoIp::write_geo_members(self, ip, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    fn testdata() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
    }

    fn open() -> GeoIp {
        match GeoIp::open_dir(&testdata().join("geoip")) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    /// Runs the writer behind an opened endpoint object and returns the parsed members it added.
    fn members(g: &GeoIp, ip: &str) -> Map<String, Value> {
        let mut out = br#"{"address":"x""#.to_vec();
        g.write_geo_members(ip, &mut out);
        let added = out[br#"{"address":"x""#.len()..].to_vec();
        out.push(b'}');
        let whole: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!("{ip}: invalid JSON {e}: {}", String::from_utf8_lossy(&out))
        });
        if added.is_empty() {
            return Map::new();
        }
        assert_eq!(added[0], b',', "{ip}: must start with a comma");
        let mut obj = b"{".to_vec();
        obj.extend_from_slice(&added[1..]);
        obj.push(b'}');
        let Value::Object(m) = serde_json::from_slice::<Value>(&obj).unwrap() else {
            unreachable!()
        };
        assert_eq!(whole["address"], "x");
        m
    }

    /// JSON equality with numbers compared as f64 (so 62 == 62.0).
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
            }
            _ => a == b,
        }
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<GeoIp>();
    }

    #[test]
    fn cached_output_is_identical() {
        let g = open();
        let other =
            GeoIp::open_files(Some(&testdata().join("geoip/GeoIP2-City-Test.mmdb")), None).unwrap();
        let table = std::fs::read_to_string(testdata().join("geoip-elastic.jsonl")).unwrap();
        let mut ips: Vec<String> = table
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["ip"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        ips.extend(["2.125.160.216", "2001:480::1", "::ffff:1.128.0.0", "nope"].map(String::from));
        let mut cache = GeoCache::new();
        for round in 0..3 {
            for ip in &ips {
                for geo in [&g, &other] {
                    let (mut plain, mut cached) = (Vec::new(), b"prefix".to_vec());
                    geo.write_geo_members(ip, &mut plain);
                    geo.write_geo_members_cached(ip, &mut cache, &mut cached);
                    assert_eq!(&cached[..6], b"prefix");
                    assert_eq!(cached[6..], plain[..], "{ip} round {round}");
                }
            }
        }
        // Many distinct records through the fixed-size cache.
        let mut n = 0;
        for a in 0..=255u8 {
            for b in [0u8, 64, 128, 192] {
                let ip = IpAddr::from([a, b, 20, 156]);
                let (mut plain, mut cached) = (Vec::new(), Vec::new());
                g.write_geo_members_ip(ip, &mut plain);
                g.write_geo_members_ip_cached(ip, &mut cache, &mut cached);
                assert_eq!(cached, plain, "{ip}");
                n += usize::from(!plain.is_empty());
            }
        }
        assert!(n > 0);
    }

    #[test]
    fn shared_between_threads() {
        let g = open();
        let mut want = Vec::new();
        g.write_geo_members("89.160.20.156", &mut want);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let mut out = Vec::new();
                    for _ in 0..1000 {
                        out.clear();
                        g.write_geo_members("89.160.20.156", &mut out);
                        assert_eq!(out, want);
                    }
                });
            }
        });
    }

    #[test]
    fn open_dir_prefers_geolite2_and_reports_files() {
        let g = open();
        let city = g
            .city_path()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let asn = g.asn_path().unwrap().file_name().unwrap().to_str().unwrap();
        assert_eq!(city, "GeoLite2-City-Test.mmdb");
        assert_eq!(asn, "GeoLite2-ASN-Test.mmdb");
        let text = g.to_string();
        assert!(text.contains("GeoIP City: ") && text.contains("(GeoLite2-City, built "));
        assert!(text.contains("GeoIP ASN: ") && text.contains("(GeoLite2-ASN, built "));
        assert!(
            text.contains("GeoIP2-City-Test.mmdb (GeoIP2-City"),
            "{text}"
        );
    }

    #[test]
    fn open_dir_without_databases_fails_clearly() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("junk.mmdb"), b"not a database").unwrap();
        let e = GeoIp::open_dir(dir.path()).unwrap_err();
        assert!(e.contains("no GeoIP City or ASN database"), "{e}");
        assert!(e.contains("junk.mmdb"), "{e}");
        let e = GeoIp::open_dir(&dir.path().join("missing")).unwrap_err();
        assert!(e.contains("cannot read GeoIP directory"), "{e}");
    }

    #[test]
    fn open_dir_with_only_asn_writes_only_as() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            testdata().join("geoip/GeoLite2-ASN-Test.mmdb"),
            dir.path().join("GeoLite2-ASN.mmdb"),
        )
        .unwrap();
        let g = GeoIp::open_dir(dir.path()).unwrap();
        assert!(g.city_path().is_none());
        assert!(g.to_string().contains("GeoIP City: no database found"));
        let m = members(&g, "89.160.20.156");
        assert_eq!(m.keys().collect::<Vec<_>>(), ["as"]);
    }

    #[test]
    fn open_files_checks_roles() {
        let city = testdata().join("geoip/GeoLite2-City-Test.mmdb");
        let asn = testdata().join("geoip/GeoLite2-ASN-Test.mmdb");
        assert!(GeoIp::open_files(Some(&asn), None).is_err());
        assert!(GeoIp::open_files(None, Some(&city)).is_err());
        let g = GeoIp::open_files(Some(&city), None).unwrap();
        assert_eq!(
            Value::Object(members(&g, "81.2.69.142"))["geo"]["city_name"],
            "London"
        );
    }

    /// Every (ip → geo/as) pair in Elastic's expected documents, extracted once into
    /// testdata/geoip-elastic.jsonl.
    #[test]
    fn matches_elastic_expected_documents() {
        let g = open();
        let table = std::fs::read_to_string(testdata().join("geoip-elastic.jsonl")).unwrap();
        let mut n = 0;
        for line in table.lines().filter(|l| !l.trim().is_empty()) {
            let row: Value = serde_json::from_str(line).unwrap();
            let ip = row["ip"].as_str().unwrap();
            let got = Value::Object(members(&g, ip));
            assert!(
                same(&got, &row["expected"]),
                "{ip}: got {got}, Elastic has {}",
                row["expected"]
            );
            n += 1;
        }
        assert!(n >= 15, "only {n} rows");
    }

    #[test]
    fn exact_text_for_the_sample_event() {
        let g = open();
        let mut out = Vec::new();
        g.write_geo_members("89.160.20.156", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                r#","geo":{"city_name":"Linköping","continent_name":"Europe","#,
                r#""country_iso_code":"SE","country_name":"Sweden","#,
                r#""location":{"lat":58.4167,"lon":15.6167},"region_iso_code":"SE-E","#,
                r#""region_name":"Östergötland County"},"#,
                r#""as":{"number":29518,"organization":{"name":"Bredband2 AB"}}"#
            )
        );
        // Whole-number coordinates print as Java does.
        let mut out = Vec::new();
        g.write_geo_members("2a02:cf40::", &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(r#""location":{"lat":62.0,"lon":10.0}"#),
            "{text}"
        );
    }

    #[test]
    fn private_unknown_and_invalid_addresses_give_nothing() {
        let g = open();
        for ip in [
            "10.0.0.1",
            "172.31.16.139",
            "192.168.1.1",
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "8.8.8.8",
            "192.0.2.1", // documentation range: only elastic-package's own DB has it
            "",
            "-",
            "not-an-ip",
            "1.2.3",
            "01.2.3.4",
            "89.160.20.156 ",
            "fe80::1%eth0",
        ] {
            let mut out = b"keep".to_vec();
            g.write_geo_members(ip, &mut out);
            assert_eq!(out, b"keep", "{ip}: {}", String::from_utf8_lossy(&out));
        }
    }

    #[test]
    fn partial_records() {
        let g = open();
        // City record, no ASN record.
        let m = members(&g, "81.2.69.142");
        assert_eq!(m.keys().collect::<Vec<_>>(), ["geo"]);
        // ASN record, no City record.
        let m = members(&g, "1.128.0.0");
        assert_eq!(
            Value::Object(m),
            json!({"as": {"number": 1221, "organization": {"name": "Telstra Pty Ltd"}}})
        );
        // ASN record without organization; City record without city or region.
        let m = Value::Object(members(&g, "67.43.156.0"));
        assert_eq!(m["as"], json!({"number": 35908}));
        assert!(same(
            &m["geo"],
            &json!({"continent_name": "Asia", "country_iso_code": "BT", "country_name": "Bhutan",
                    "location": {"lat": 27.5, "lon": 90.5}})
        ));
    }

    #[test]
    fn region_is_the_last_subdivision() {
        // 2.125.160.216 has subdivisions [ENG England, WBK West Berkshire].
        let g = open();
        let m = Value::Object(members(&g, "2.125.160.216"));
        assert_eq!(m["geo"]["region_iso_code"], "GB-WBK");
        assert_eq!(m["geo"]["region_name"], "West Berkshire");
        assert_eq!(m["geo"]["country_iso_code"], "GB");
    }

    #[test]
    fn ipv4_mapped_ipv6_is_looked_up_as_ipv4() {
        let g = open();
        assert_eq!(
            members(&g, "::ffff:89.160.20.156"),
            members(&g, "89.160.20.156")
        );
        let parsed: IpAddr = "89.160.20.156".parse().unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        g.write_geo_members_ip(parsed, &mut a);
        g.write_geo_members("89.160.20.156", &mut b);
        assert!(!a.is_empty());
        assert_eq!(a, b);
    }

    #[test]
    fn geoip2_city_differs_only_where_documented() {
        // GeoIP2-City-Test agrees on the IPv4 test addresses and has no 2001:480::1 record
        // (neither has the 2021 database elastic-package ships; today's GeoLite2 test DB does).
        let geoip2 =
            GeoIp::open_files(Some(&testdata().join("geoip/GeoIP2-City-Test.mmdb")), None).unwrap();
        let geolite = GeoIp::open_files(
            Some(&testdata().join("geoip/GeoLite2-City-Test.mmdb")),
            None,
        )
        .unwrap();
        for ip in [
            "89.160.20.156",
            "67.43.156.0",
            "216.160.83.56",
            "81.2.69.142",
        ] {
            assert_eq!(members(&geoip2, ip), members(&geolite, ip), "{ip}");
        }
        assert!(members(&geoip2, "2001:480::1").is_empty());
        assert_eq!(
            Value::Object(members(&geolite, "2001:480::1"))["geo"]["city_name"],
            "San Diego"
        );
    }

    #[test]
    fn escaping() {
        let mut out = Vec::new();
        push_json_str(&mut out, "a\"b\\c\nd\u{1}é\t");
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            r#""a\"b\\c\nd\u0001é\t""#
        );
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, "a\"b\\c\nd\u{1}é\t");
    }

    #[test]
    fn doubles_print_like_java() {
        for (v, s) in [
            (62.0, "62.0"),
            (-0.0931, "-0.0931"),
            (125.3228, "125.3228"),
            (0.0, "0.0"),
            (-122.3149, "-122.3149"),
        ] {
            let mut out = Vec::new();
            write_f64(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), s);
        }
    }

    #[test]
    fn empty_city_record_writes_no_geo_object() {
        let rec = CityRecord {
            city: Named::default(),
            continent: Named::default(),
            country: Coded::default(),
            location: Location {
                latitude: Some(1.0),
                longitude: None,
            },
            subdivisions: Some(Coded {
                iso_code: Some("X"),
                names: Names::default(),
            }),
        };
        let mut out = b"x".to_vec();
        write_geo(&rec, &mut out);
        assert_eq!(out, b"x");
        let rec = AsnRecord {
            autonomous_system_number: None,
            autonomous_system_organization: None,
        };
        write_as(&rec, &mut out);
        assert_eq!(out, b"x");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(1_770_245_369 / 86_400), (2026, 2, 4));
    }
}
