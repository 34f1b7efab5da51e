//! Flat NDJSON: one JSON object per row, keys are the dataset's column names, values keep their
//! column types (integers as numbers, text as strings, null as `null`).
//!
//! JSON is written straight from the Arrow columns into reused byte buffers; a batch's rows are
//! formatted in parallel slices and written in order.

use std::io::Write;

use arrow::array::{Array, ArrayRef, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use crate::error::Error;

/// Bytes that JSON strings must escape: controls, `"` and backslash.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Whether any byte of the word is a control character, `"` or backslash (exact as a yes/no
/// answer: the classic "has a zero byte" / "has a byte less than n" tests).
#[inline(always)]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let has_less_than_0x20 = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    has_less_than_0x20
        || has_zero(w ^ (ONES * u64::from(b'"')))
        || has_zero(w ^ (ONES * u64::from(b'\\')))
}

/// Position of the first byte at or after `from` that JSON must escape.
#[inline]
fn next_escape(bytes: &[u8], mut from: usize) -> Option<usize> {
    while let Some(word) = bytes.get(from..from + 8) {
        if word_needs_escape(u64::from_le_bytes(word.try_into().expect("8 bytes"))) {
            break;
        }
        from += 8;
    }
    bytes[from..]
        .iter()
        .position(|&b| NEEDS_ESCAPE[b as usize])
        .map(|k| from + k)
}

/// Whether any byte of `bytes` must be escaped in a JSON string.
pub fn needs_escape(bytes: &[u8]) -> bool {
    next_escape(bytes, 0).is_some()
}

/// Appends `s` as a JSON string literal (quotes included).
#[inline]
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    while let Some(i) = next_escape(bytes, start) {
        out.extend_from_slice(&bytes[start..i]);
        match bytes[i] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

enum Column<'a> {
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    Str(&'a StringArray),
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
                _ => None,
            }
            .ok_or_else(|| format!("column type {} has no NDJSON form", c.data_type()))
        })
        .collect()
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
            .map(|f| {
                let mut k = Vec::new();
                push_json_str(&mut k, f.name());
                k.push(b':');
                k
            })
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    proptest::proptest! {
        #[test]
        fn escape_finder_agrees_with_a_byte_scan(s in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), from in 0usize..40) {
            let from = from.min(s.len());
            let naive = s[from..].iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\').map(|k| from + k);
            proptest::prop_assert_eq!(next_escape(&s, from), naive);
        }
    }

    #[test]
    fn strings_are_escaped_like_serde_json() {
        for s in [
            "plain",
            "quote\"back\\slash",
            "ctl\u{1}\n\r\t",
            "ünïcødé",
            "",
        ] {
            let mut out = Vec::new();
            push_json_str(&mut out, s);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
    }

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
}
