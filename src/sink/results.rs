//! Query results as text: an aligned table for terminals, CSV, a JSON array or NDJSON for
//! scripts. Any Arrow type is accepted: numbers and booleans are written as JSON numbers and
//! booleans (a non-finite float as `null`), everything else (strings, timestamps, …) as text.

use std::io::Write;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::json::push_json_str;

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    /// An aligned table with a header row (`-` for null).
    Table,
    /// RFC 4180 CSV with a header row (empty for null).
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// Writes the batches of one result.
pub struct ResultWriter<W: Write> {
    format: ResultFormat,
    out: W,
    schema: SchemaRef,
    rows: u64,
    held: Vec<RecordBatch>,
    buf: Vec<u8>,
    started: bool,
}

#[derive(Clone, Copy)]
enum JsonKind {
    Number,
    Float,
    Bool,
    Text,
}

fn json_kind(t: &DataType) -> JsonKind {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => JsonKind::Number,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => JsonKind::Float,
        DataType::Boolean => JsonKind::Bool,
        DataType::Dictionary(_, v) => json_kind(v),
        _ => JsonKind::Text,
    }
}

fn csv_field(out: &mut Vec<u8>, s: &str) {
    let quote = s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        || s.starts_with(' ')
        || s.ends_with(' ');
    if quote {
        out.push(b'"');
        out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

impl<W: Write> ResultWriter<W> {
    /// A writer of rows of `schema` to `out`.
    pub fn new(format: ResultFormat, out: W, schema: SchemaRef) -> Self {
        ResultWriter {
            format,
            out,
            schema,
            rows: 0,
            held: Vec::new(),
            buf: Vec::with_capacity(1 << 16),
            started: false,
        }
    }

    fn start(&mut self) -> std::io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        match self.format {
            ResultFormat::Csv => {
                for (i, f) in self.schema.fields().iter().enumerate() {
                    if i > 0 {
                        self.buf.push(b',');
                    }
                    csv_field(&mut self.buf, f.name());
                }
                self.buf.extend_from_slice(b"\r\n");
            }
            ResultFormat::Json => self.buf.push(b'['),
            ResultFormat::Table | ResultFormat::Ndjson => {}
        }
        Ok(())
    }

    /// Writes one batch (a table is written whole by [`ResultWriter::finish`]).
    pub fn write(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        self.start()?;
        if self.format == ResultFormat::Table {
            self.rows += batch.num_rows() as u64;
            self.held.push(batch.clone());
            return Ok(());
        }
        let null = if self.format == ResultFormat::Csv {
            ""
        } else {
            "null"
        };
        let opts = FormatOptions::default().with_null(null);
        let cols: Vec<&ArrayRef> = batch.columns().iter().collect();
        let fmts = cols
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()
            .map_err(std::io::Error::other)?;
        let kinds: Vec<JsonKind> = cols.iter().map(|c| json_kind(c.data_type())).collect();
        let names: Vec<&String> = self.schema.fields().iter().map(|f| f.name()).collect();
        let mut cell = String::new();
        for r in 0..batch.num_rows() {
            match self.format {
                ResultFormat::Csv => {
                    for (i, f) in fmts.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(b',');
                        }
                        cell.clear();
                        use std::fmt::Write as _;
                        let _ = write!(cell, "{}", f.value(r));
                        csv_field(&mut self.buf, &cell);
                    }
                    self.buf.extend_from_slice(b"\r\n");
                }
                ResultFormat::Json | ResultFormat::Ndjson => {
                    if self.format == ResultFormat::Json {
                        self.buf
                            .extend_from_slice(if self.rows == 0 { b"\n" } else { b",\n" });
                    }
                    self.buf.push(b'{');
                    for (i, f) in fmts.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(b',');
                        }
                        push_json_str(&mut self.buf, names[i]);
                        self.buf.push(b':');
                        if cols[i].is_null(r) {
                            self.buf.extend_from_slice(b"null");
                            continue;
                        }
                        cell.clear();
                        use std::fmt::Write as _;
                        let _ = write!(cell, "{}", f.value(r));
                        match kinds[i] {
                            JsonKind::Number | JsonKind::Bool => {
                                self.buf.extend_from_slice(cell.as_bytes())
                            }
                            JsonKind::Float => {
                                if cell.parse::<f64>().is_ok_and(f64::is_finite) {
                                    self.buf.extend_from_slice(cell.as_bytes())
                                } else {
                                    self.buf.extend_from_slice(b"null")
                                }
                            }
                            JsonKind::Text => push_json_str(&mut self.buf, &cell),
                        }
                    }
                    self.buf.push(b'}');
                    if self.format == ResultFormat::Ndjson {
                        self.buf.push(b'\n');
                    }
                }
                ResultFormat::Table => unreachable!("tables are held until finish"),
            }
            self.rows += 1;
            if self.buf.len() >= 1 << 16 {
                self.out.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        Ok(())
    }

    /// Ends the result (writes a held table, closes a JSON array) and returns the row count.
    pub fn finish(mut self) -> std::io::Result<u64> {
        self.start()?;
        match self.format {
            ResultFormat::Table => {
                let text = super::table::render(&self.schema, &self.held, usize::MAX)
                    .map_err(std::io::Error::other)?;
                self.buf.extend_from_slice(text.as_bytes());
            }
            ResultFormat::Json => self.buf.extend_from_slice(b"\n]\n"),
            ResultFormat::Csv | ResultFormat::Ndjson => {}
        }
        self.out.write_all(&self.buf)?;
        self.out.flush()?;
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn batch() -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("share", DataType::Float64, true),
            Field::new("name", DataType::Utf8, true),
        ]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None, Some(-3)])),
                Arc::new(Float64Array::from(vec![Some(0.5), Some(f64::NAN), None])),
                Arc::new(StringArray::from(vec![Some("a,\"b\""), Some("é\n"), None])),
            ],
        )
        .unwrap();
        (schema, b)
    }

    fn render(format: ResultFormat) -> String {
        let (schema, b) = batch();
        let mut out = Vec::new();
        let mut w = ResultWriter::new(format, &mut out, schema);
        w.write(&b).unwrap();
        assert_eq!(w.finish().unwrap(), 3);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_types_and_escapes() {
        let text = render(ResultFormat::Json);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"n": 1, "share": 0.5, "name": "a,\"b\""},
                {"n": null, "share": null, "name": "é\n"},
                {"n": -3, "share": null, "name": null},
            ])
        );
        let nd = render(ResultFormat::Ndjson);
        let rows: Vec<serde_json::Value> = nd
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(serde_json::Value::Array(rows), v);
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(
            render(ResultFormat::Csv),
            "n,share,name\r\n1,0.5,\"a,\"\"b\"\"\"\r\n,NaN,\"é\n\"\r\n-3,,\r\n"
        );
    }

    #[test]
    fn empty_results_still_have_their_shape() {
        let (schema, _) = batch();
        for (format, want) in [
            (ResultFormat::Json, "[\n]\n"),
            (ResultFormat::Csv, "n,share,name\r\n"),
            (ResultFormat::Ndjson, ""),
        ] {
            let mut out = Vec::new();
            let w = ResultWriter::new(format, &mut out, schema.clone());
            assert_eq!(w.finish().unwrap(), 0);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }
}
