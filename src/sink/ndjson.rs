//! Flat NDJSON: one JSON object per row, keys are the dataset's column names, values keep their
//! column types (integers as numbers, text as strings, lists of text as arrays, null as `null`).
//!
//! JSON is written straight from the Arrow columns into reused byte buffers; a batch's rows are
//! formatted in parallel slices and written in order.

use std::io::Write;

use arrow::array::{Array, ArrayRef, Int32Array, Int64Array, ListArray, StringArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use crate::error::Error;
use crate::format::json::{member_name, push_json_str};

enum Column<'a> {
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    Str(&'a StringArray),
    /// A list of text (`eni_security_groups`).
    StrList(&'a ListArray, &'a StringArray),
}

fn columns<'a>(batch: &'a RecordBatch) -> Result<Vec<Column<'a>>, String> {
    batch
        .columns()
        .iter()
        .map(|c: &'a ArrayRef| {
            match c.data_type() {
                DataType::Int32 => c.as_any().downcast_ref::<Int32Array>().map(Column::I32),
                DataType::Int64 => c.as_any().downcast_ref::<Int64Array>().map(Column::I64),
                DataType::Utf8 => c.as_any().downcast_ref::<StringArray>().map(Column::Str),
                DataType::List(f) if *f.data_type() == DataType::Utf8 => {
                    c.as_any().downcast_ref::<ListArray>().and_then(|l| {
                        l.values()
                            .as_any()
                            .downcast_ref::<StringArray>()
                            .map(|v| Column::StrList(l, v))
                    })
                }
                _ => None,
            }
            .ok_or_else(|| format!("column type {} has no NDJSON form", c.data_type()))
        })
        .collect()
}

/// Appends row `r` of a list-of-text column as a JSON array (null items as `null`).
pub(crate) fn push_str_list(buf: &mut Vec<u8>, list: &ListArray, values: &StringArray, r: usize) {
    buf.push(b'[');
    let offsets = list.value_offsets();
    for (k, i) in (offsets[r] as usize..offsets[r + 1] as usize).enumerate() {
        if k > 0 {
            buf.push(b',');
        }
        if values.is_valid(i) {
            push_json_str(buf, values.value(i));
        } else {
            buf.extend_from_slice(b"null");
        }
    }
    buf.push(b']');
}

/// Streams record batches as flat NDJSON.
pub struct NdjsonSink<W: Write + Send> {
    out: W,
    /// `"name":` for every column, pre-escaped.
    keys: Vec<Vec<u8>>,
    bufs: Vec<Vec<u8>>,
    name: String,
}

impl<W: Write + Send> NdjsonSink<W> {
    /// Starts an NDJSON stream on `out` (named `name` in errors).
    pub fn new(out: W, name: &str, schema: SchemaRef) -> Self {
        let keys = schema
            .fields()
            .iter()
            .map(|f| member_name(f.name()))
            .collect();
        NdjsonSink {
            out,
            keys,
            bufs: Vec::new(),
            name: name.to_string(),
        }
    }

    /// Formats rows `rows` of `cols` into `buf`.
    fn format(
        keys: &[Vec<u8>],
        cols: &[Column<'_>],
        rows: std::ops::Range<usize>,
        buf: &mut Vec<u8>,
    ) {
        let mut ints = itoa::Buffer::new();
        for r in rows {
            buf.push(b'{');
            for (j, (key, col)) in keys.iter().zip(cols).enumerate() {
                if j > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(key);
                match col {
                    Column::I32(a) if a.is_valid(r) => {
                        buf.extend_from_slice(ints.format(a.value(r)).as_bytes())
                    }
                    Column::I64(a) if a.is_valid(r) => {
                        buf.extend_from_slice(ints.format(a.value(r)).as_bytes())
                    }
                    Column::Str(a) if a.is_valid(r) => push_json_str(buf, a.value(r)),
                    Column::StrList(l, v) if l.is_valid(r) => push_str_list(buf, l, v, r),
                    _ => buf.extend_from_slice(b"null"),
                }
            }
            buf.extend_from_slice(b"}\n");
        }
    }

    /// Appends a batch's rows.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        let cols = columns(batch).map_err(|reason| Error::Write {
            path: self.name.clone(),
            reason,
        })?;
        const SLICE: usize = 4096;
        let n = batch.num_rows();
        let parts = n.div_ceil(SLICE);
        self.bufs.resize_with(parts.max(self.bufs.len()), Vec::new);
        let keys = &self.keys;
        self.bufs[..parts]
            .par_iter_mut()
            .enumerate()
            .for_each(|(p, buf)| {
                buf.clear();
                Self::format(keys, &cols, p * SLICE..((p + 1) * SLICE).min(n), buf);
            });
        for buf in &self.bufs[..parts] {
            self.out
                .write_all(buf)
                .map_err(|e| Error::io(std::path::Path::new(&self.name), e))?;
        }
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> Result<W, Error> {
        self.out
            .flush()
            .map_err(|e| Error::io(std::path::Path::new(&self.name), e))?;
        Ok(self.out)
    }
}

impl crate::pipeline::Sink for NdjsonSink<crate::sink::Target> {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        NdjsonSink::write(self, batch)
    }

    fn finish(self: Box<Self>, commit: bool) -> Result<crate::pipeline::Written, Error> {
        NdjsonSink::finish(*self)?.close(commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    #[test]
    fn rows_keep_types_and_nulls() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("srcport", DataType::Int32, true),
            Field::new("bytes", DataType::Int64, true),
            Field::new("action", DataType::Utf8, true),
        ]));
        let n = 10_000;
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int32Array::from_iter(
                    (0..n).map(|i| (i % 3 != 0).then_some(i)),
                )),
                Arc::new(Int64Array::from_iter(
                    (0..n).map(|i| Some(i as i64 * 1_000_000_000)),
                )),
                Arc::new(StringArray::from_iter(
                    (0..n).map(|i| (i % 5 != 0).then_some("ACCEPT")),
                )),
            ],
        )
        .unwrap();
        let mut sink = NdjsonSink::new(Vec::new(), "t", schema);
        sink.write(&b).unwrap();
        let out = sink.finish().unwrap();
        let lines: Vec<serde_json::Value> = out
            .split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines.len(), n as usize);
        for (i, v) in lines.iter().enumerate() {
            let i = i as i64;
            let want = serde_json::json!({
                "srcport": if i % 3 != 0 { serde_json::json!(i) } else { serde_json::Value::Null },
                "bytes": i * 1_000_000_000,
                "action": if i % 5 != 0 { serde_json::json!("ACCEPT") } else { serde_json::Value::Null },
            });
            assert_eq!(v, &want);
        }
    }

    #[test]
    fn text_lists_are_arrays() {
        use arrow::array::{ListBuilder, StringBuilder};
        let mut b = ListBuilder::new(StringBuilder::new());
        b.values().append_value("sg-1");
        b.values().append_value("s\"g");
        b.append(true);
        b.append(false);
        b.append(true);
        b.values().append_null();
        b.append(true);
        let list = b.finish();
        let schema = Arc::new(Schema::new(vec![Field::new(
            "eni_security_groups",
            list.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(list)]).unwrap();
        let mut sink = NdjsonSink::new(Vec::new(), "t", schema);
        sink.write(&batch).unwrap();
        let out = String::from_utf8(sink.finish().unwrap()).unwrap();
        assert_eq!(
            out,
            "{\"eni_security_groups\":[\"sg-1\",\"s\\\"g\"]}\n{\"eni_security_groups\":null}\n\
             {\"eni_security_groups\":[]}\n{\"eni_security_groups\":[null]}\n"
        );
    }
}
