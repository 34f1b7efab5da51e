//! vpcflow turns AWS VPC and Transit Gateway flow logs into Arrow record batches, Parquet and NDJSON.
//!
//! The modules are layers in the order data flows; each imports only from the layers before it:
//! [`input`] names inputs and reads their bytes (files, gzip, stdin, S3) →
//! [`format`](mod@format) knows what the text means (fields, layouts, JSON envelopes) →
//! [`parse`] cuts lines into chunks and tokens → [`batch`] builds record batches → [`enrich`]
//! holds the lookups (ENI inventory and AWS ip-ranges attribution columns; GeoIP and Community ID
//! for ECS documents) → [`pipeline`] plans and runs the conversion (attribution, `--dedup`) →
//! [`sink`] writes outputs | [`query`] runs SQL with DataFusion → [`present`] prints
//! results, reports and e-mails. [`error`] and [`cleanup`] (temporary files) serve every layer.

pub mod batch;
pub mod cleanup;
pub mod enrich;
pub mod error;
pub mod format;
pub mod input;
pub mod parse;
pub mod pipeline;
pub mod present;
pub mod query;
pub mod sink;

pub use error::Error;
pub use pipeline::{Decoder, Options, Stats};
