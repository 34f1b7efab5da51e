//! vpcflow turns AWS VPC and Transit Gateway flow logs into Arrow record batches, Parquet and NDJSON.
//!
//! The pipeline: [`source`] reads inputs as line-aligned blocks (memory-mapped files, gzip, stdin,
//! [`s3`] objects; [`envelope`] takes records out of CloudWatch Logs and Firehose JSON);
//! [`layout`] learns each input's fields (header line, `--fields`, or AWS's standard layouts);
//! [`chunk`] splits blocks into line-aligned chunks; [`batch`] parses a chunk into a
//! `RecordBatch` ([`parse`] does the per-token work); [`decode`] runs chunks in parallel with
//! rayon and delivers batches in input order; [`sink`] writes them; [`query`] runs SQL over
//! them with DataFusion. [`cleanup`] owns temporary files and removes them on Ctrl-C.

pub mod batch;
pub mod chunk;
pub mod cleanup;
pub mod clobber;
pub mod decode;
pub mod enrich;
pub mod envelope;
pub mod error;
pub mod fields;
pub mod html;
pub mod json;
pub mod layout;
pub mod mail;
pub mod parquet_in;
pub mod parse;
pub mod query;
pub mod report;
pub mod s3;
pub mod sink;
pub mod source;

pub use decode::{Decoder, Options, Stats};
pub use error::Error;
