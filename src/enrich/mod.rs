//! Enrichment added to ECS documents: Community ID flow hashes and GeoIP/ASN lookups
//! (`*.geo`, `*.as`), both as Elastic's AWS VPC Flow ingest pipeline computes them.

pub mod community_id;
pub mod geoip;
