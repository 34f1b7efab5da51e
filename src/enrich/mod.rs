//! Enrichment added to ECS documents: Community ID flow hashes (and later GeoIP).

pub mod community_id;
