//! Enrichment added to ECS documents: Community ID flow hashes and GeoIP/ASN lookups
//! (`*.geo`, `*.as`), both as Elastic's AWS VPC Flow ingest pipeline computes them.

pub mod community_id;
pub mod geoip;

/// Adds `geo`/`as` members for an address ([`geoip::GeoIp`] implements it; the ECS writer calls it).
pub trait GeoLookup: Sync {
    /// Appends `,"geo":{…}` and/or `,"as":{…}` for `ip`, or nothing when there is no record.
    fn write_geo_members(&self, ip: &str, out: &mut Vec<u8>);
}
