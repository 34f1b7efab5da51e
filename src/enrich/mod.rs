//! Enrichment: Community ID flow hashes and GeoIP/ASN lookups for ECS documents (both as
//! Elastic's AWS VPC Flow ingest pipeline computes them), and attribution columns (who is behind
//! each address) from an ENI inventory and AWS's ip-ranges, for every output and query.

pub mod attribution;
pub mod community_id;
pub mod geoip;
pub mod inventory;
pub mod ip;
pub mod ip_ranges;

use std::io::Read as _;
use std::path::Path;

use crate::error::Error;

/// Adds `geo`/`as` members for an address ([`geoip::GeoIp`] implements it; the ECS writer calls it).
pub trait GeoLookup: Sync {
    /// Appends `,"geo":{…}` and/or `,"as":{…}` for `ip`, or nothing when there is no record.
    fn write_geo_members(&self, ip: &str, out: &mut Vec<u8>);
}

/// The whole text of a reference document (an inventory snapshot, ip-ranges), gunzipped when
/// it starts with gzip's magic bytes.
fn read_document(path: &Path) -> Result<Vec<u8>, Error> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|e| Error::Input {
            input: path.display().to_string(),
            reason: format!("not a readable gzip file: {e}"),
        })?;
    Ok(out)
}
