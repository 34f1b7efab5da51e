//! Parquet flow logs as input (AWS delivers flow logs as Parquet too; our own output reads back
//! the same way): columns are mapped by name onto the dataset schema (AWS's Parquet names are
//! the registry's column names; hyphenated names are accepted), so text and Parquet archives
//! convert into one dataset. A column whose type can't be the registry's (text where an integer
//! belongs, a float, …) fails the input with the file and column named.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, new_null_array};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};

use crate::batch::{DatasetSchema, INPUT_COLUMN};
use crate::error::Error;
use crate::format::fields::{self, Kind};
use crate::format::layout::Column;

/// Rows per batch read from a Parquet input.
pub(crate) const BATCH_ROWS: usize = 64 * 1024;

fn bad(input: &str, reason: String) -> Error {
    Error::Parquet {
        input: input.to_string(),
        reason,
    }
}

/// The Arrow schema of a Parquet file, from its footer alone: `tail(n)` returns the file's last
/// `n` bytes (a ranged read: a part file on S3 is not downloaded for this).
pub fn footer_schema(
    name: &str,
    mut tail: impl FnMut(u64) -> Result<Vec<u8>, Error>,
) -> Result<arrow::datatypes::Schema, Error> {
    let bad = |reason: String| Error::Input {
        input: name.to_string(),
        reason,
    };
    let mut buf = tail(64 << 10)?;
    let meta_len = |b: &[u8]| -> Result<u64, Error> {
        if b.len() < 8 || &b[b.len() - 4..] != b"PAR1" {
            return Err(bad("not a Parquet file (no PAR1 footer)".into()));
        }
        let n = &b[b.len() - 8..b.len() - 4];
        Ok(u64::from(u32::from_le_bytes([n[0], n[1], n[2], n[3]])))
    };
    let len = meta_len(&buf)?;
    if len + 8 > buf.len() as u64 {
        buf = tail(len + 8)?;
        if len + 8 > buf.len() as u64 {
            return Err(bad("Parquet footer longer than the file".into()));
        }
    }
    let end = buf.len() - 8;
    let meta = parquet::file::metadata::ParquetMetaDataReader::decode_metadata(
        &buf[end - len as usize..end],
    )
    .map_err(|e| bad(format!("Parquet footer: {e}")))?;
    let fm = meta.file_metadata();
    parquet::arrow::parquet_to_arrow_schema(fm.schema_descr(), fm.key_value_metadata())
        .map_err(|e| bad(format!("Parquet schema: {e}")))
}

/// Adds a Parquet input's columns to the dataset schema, except those `leave_out` names (added
/// to `left_out`); returns (source column, dataset column name) pairs.
pub fn plan(
    name: &str,
    path: &Path,
    schema: &mut DatasetSchema,
    leave_out: &dyn Fn(&str) -> bool,
    left_out: &mut Vec<String>,
) -> Result<Vec<(usize, String)>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = ArrowReaderMetadata::load(&file, Default::default())
        .map_err(|e| bad(name, format!("not a readable Parquet file: {e}")))?;
    let mut map = Vec::new();
    for (i, f) in meta.schema().fields().iter().enumerate() {
        let col_name = f.name().to_ascii_lowercase().replace('-', "_");
        if leave_out(&col_name) {
            left_out.push(col_name);
            continue;
        }
        let col = match fields::by_column(&col_name).or_else(|| fields::lookup(f.name())) {
            Some(k) => Column::Known(k),
            None => Column::Unknown(col_name),
        };
        let t = f.data_type();
        let t = match t {
            DataType::Dictionary(_, v) => v.as_ref(),
            t => t,
        };
        let fits = match col.kind() {
            Kind::Int32 | Kind::Int64 => t.is_integer(),
            Kind::Utf8 => match &col {
                Column::Known(_) => {
                    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
                }
                // A column we don't know is kept as text, whatever it held.
                Column::Unknown(_) => {
                    t.is_primitive()
                        || t.is_null()
                        || matches!(
                            t,
                            DataType::Utf8
                                | DataType::LargeUtf8
                                | DataType::Utf8View
                                | DataType::Boolean
                        )
                }
            },
        };
        if !fits {
            return Err(bad(
                name,
                format!(
                    "column `{}` is {}, but flow log field {} is {}",
                    f.name(),
                    f.data_type(),
                    col.name(),
                    match col.kind() {
                        Kind::Int32 => "a 32-bit integer",
                        Kind::Int64 => "a 64-bit integer",
                        Kind::Utf8 => "text",
                    }
                ),
            ));
        }
        if map.iter().any(|(_, n)| *n == col.name()) {
            return Err(bad(name, format!("column `{}` appears twice", col.name())));
        }
        schema.add(&col);
        map.push((i, col.name().to_string()));
    }
    Ok(map)
}

/// Reads a planned Parquet input batch by batch, each conformed to the dataset schema
/// (columns the file lacks are null; `INPUT_COLUMN` names the input), and hands it to `each`
/// with the rows it holds. Integers that don't fit their column fail the input.
pub fn read(
    name: &str,
    path: &Path,
    map: &[(usize, String)],
    schema: &SchemaRef,
    each: &mut dyn FnMut(RecordBatch) -> Result<(), Error>,
) -> Result<u64, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| bad(name, e.to_string()))?
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| bad(name, e.to_string()))?;
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut rows = 0u64;
    for b in reader {
        let b = b.map_err(|e| bad(name, format!("after {rows} rows: {e}")))?;
        let n = b.num_rows();
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            let src = map.iter().find(|(_, d)| d == f.name()).map(|(i, _)| *i);
            let col = match src {
                Some(i) => cast_with_options(b.column(i), f.data_type(), &strict).map_err(|e| {
                    bad(
                        name,
                        format!("column `{}` near row {}: {e}", f.name(), rows + 1),
                    )
                })?,
                None if f.name() == INPUT_COLUMN => {
                    Arc::new(StringArray::from(vec![name; n])) as ArrayRef
                }
                None => new_null_array(f.data_type(), n),
            };
            cols.push(col);
        }
        let out = RecordBatch::try_new(schema.clone(), cols)
            .map_err(|e| bad(name, format!("near row {}: {e}", rows + 1)))?;
        rows += n as u64;
        each(out)?;
    }
    Ok(rows)
}
