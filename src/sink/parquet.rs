//! Parquet output with AWS's column names and types: zstd, page statistics, dictionary encoding
//! where it pays (the writer falls back to plain pages for high-cardinality columns).

use std::io::Write;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::error::Error;

/// Parquet writer settings.
#[derive(Debug, Clone)]
pub struct ParquetOptions {
    /// zstd level (1 fastest … 22 smallest).
    pub zstd_level: i32,
    /// Rows per row group.
    pub row_group_rows: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            zstd_level: 1,
            row_group_rows: 1 << 20,
        }
    }
}

/// Writer properties for flow log datasets.
pub fn properties(opts: &ParquetOptions) -> Result<WriterProperties, Error> {
    let level = ZstdLevel::try_new(opts.zstd_level)
        .map_err(|e| Error::Usage(format!("zstd level {}: {e}", opts.zstd_level)))?;
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_enabled(true)
        .set_created_by(format!("vpcflow {}", env!("CARGO_PKG_VERSION")))
        .build())
}

/// Streams record batches into a Parquet file.
pub struct ParquetSink<W: Write + Send> {
    writer: ArrowWriter<W>,
    name: String,
}

impl<W: Write + Send> ParquetSink<W> {
    /// Starts a Parquet stream on `out` (named `name` in errors).
    pub fn new(
        out: W,
        name: &str,
        schema: SchemaRef,
        opts: &ParquetOptions,
    ) -> Result<Self, Error> {
        let writer = ArrowWriter::try_new(out, schema, Some(properties(opts)?)).map_err(|e| {
            Error::Write {
                path: name.to_string(),
                reason: e.to_string(),
            }
        })?;
        Ok(ParquetSink {
            writer,
            name: name.to_string(),
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        self.writer.write(batch).map_err(|e| Error::Write {
            path: self.name.clone(),
            reason: e.to_string(),
        })
    }

    /// Writes the footer and returns the underlying writer.
    pub fn finish(self) -> Result<W, Error> {
        let name = self.name;
        self.writer.into_inner().map_err(|e| Error::Write {
            path: name,
            reason: e.to_string(),
        })
    }
}
