//! What flow log text means: the field registry ([`fields`]), each input's layout ([`layout`]:
//! header line, `--fields`, AWS's standard layouts), JSON envelopes around records
//! ([`envelope`]), and the JSON text our outputs write ([`json`]). Knows nothing of files or
//! Arrow writers.

pub mod calendar;
pub mod envelope;
pub mod fields;
pub mod json;
pub mod layout;
