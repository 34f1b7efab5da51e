//! Query results as text: an aligned table for terminals, CSV, a JSON array or NDJSON for
//! scripts. Any Arrow type is accepted. In JSON, numbers and booleans are JSON numbers and
//! booleans (a non-finite float — NaN, ±infinity — is `null`, as JSON has no such number),
//! lists (list, large list, fixed-size list) are arrays, structs are objects, maps are objects
//! whose member names are the keys as text, all nested to any depth with `null` for null; other
//! values (strings, timestamps, dates, intervals, binary, …) are text as the table shows them.

use std::fmt::Write as _;
use std::io::Write;

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, LargeListArray, ListArray, MapArray, StructArray,
};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::format::json::{member_name, push_json_str};

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

/// How a column, or a value nested in one, is written as JSON.
enum Enc<'a> {
    /// The `Null` type: always `null`.
    Null,
    /// A scalar, formatted as text and written as its kind says.
    Leaf {
        arr: &'a dyn Array,
        fmt: ArrayFormatter<'a>,
        kind: JsonKind,
    },
    List(&'a ListArray, Box<Enc<'a>>),
    LargeList(&'a LargeListArray, Box<Enc<'a>>),
    FixedList(&'a FixedSizeListArray, Box<Enc<'a>>),
    /// A struct and its fields (`"name":` ready, escaped).
    Struct(&'a StructArray, Vec<(Vec<u8>, Enc<'a>)>),
    /// A map: its keys (written as member names, as text) and its values.
    Map(&'a MapArray, ArrayFormatter<'a>, Box<Enc<'a>>),
}

impl<'a> Enc<'a> {
    /// The encoder of `arr`, built once per batch and column.
    fn new(arr: &'a dyn Array, opts: &FormatOptions<'a>) -> Result<Self, ArrowError> {
        let child = |a: &'a ArrayRef| Enc::new(a.as_ref(), opts).map(Box::new);
        Ok(match arr.data_type() {
            DataType::Null => Enc::Null,
            DataType::List(_) => {
                let l = arr.as_list::<i32>();
                Enc::List(l, child(l.values())?)
            }
            DataType::LargeList(_) => {
                let l = arr.as_list::<i64>();
                Enc::LargeList(l, child(l.values())?)
            }
            DataType::FixedSizeList(..) => {
                let l = arr.as_fixed_size_list();
                Enc::FixedList(l, child(l.values())?)
            }
            DataType::Struct(fields) => {
                let s = arr.as_struct();
                let members = fields
                    .iter()
                    .zip(s.columns())
                    .map(|(f, c)| Ok((member_name(f.name()), Enc::new(c.as_ref(), opts)?)))
                    .collect::<Result<_, ArrowError>>()?;
                Enc::Struct(s, members)
            }
            DataType::Map(..) => {
                let m = arr.as_map();
                let keys = ArrayFormatter::try_new(m.keys().as_ref(), opts)?;
                Enc::Map(m, keys, child(m.values())?)
            }
            t => Enc::Leaf {
                arr,
                fmt: ArrayFormatter::try_new(arr, opts)?,
                kind: json_kind(t),
            },
        })
    }

    /// Appends row `r`'s value as JSON; `cell` is scratch space for formatting.
    fn write(&self, r: usize, out: &mut Vec<u8>, cell: &mut String) {
        let items = |range: std::ops::Range<usize>,
                     child: &Enc<'_>,
                     out: &mut Vec<u8>,
                     cell: &mut String| {
            out.push(b'[');
            for (k, i) in range.enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                child.write(i, out, cell);
            }
            out.push(b']');
        };
        match self {
            Enc::Leaf { arr, fmt, kind } => {
                if arr.is_null(r) {
                    out.extend_from_slice(b"null");
                    return;
                }
                cell.clear();
                let _ = write!(cell, "{}", fmt.value(r));
                match kind {
                    JsonKind::Number | JsonKind::Bool => out.extend_from_slice(cell.as_bytes()),
                    JsonKind::Float if cell.parse::<f64>().is_ok_and(f64::is_finite) => {
                        out.extend_from_slice(cell.as_bytes())
                    }
                    JsonKind::Float => out.extend_from_slice(b"null"),
                    JsonKind::Text => push_json_str(out, cell),
                }
            }
            Enc::List(l, child) if l.is_valid(r) => {
                let o = l.value_offsets();
                items(o[r] as usize..o[r + 1] as usize, child, out, cell)
            }
            Enc::LargeList(l, child) if l.is_valid(r) => {
                let o = l.value_offsets();
                items(o[r] as usize..o[r + 1] as usize, child, out, cell)
            }
            Enc::FixedList(l, child) if l.is_valid(r) => {
                let start = l.value_offset(r) as usize;
                items(start..start + l.value_length() as usize, child, out, cell)
            }
            Enc::Struct(s, members) if s.is_valid(r) => {
                out.push(b'{');
                for (k, (name, child)) in members.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(name);
                    child.write(r, out, cell);
                }
                out.push(b'}');
            }
            Enc::Map(m, keys, values) if m.is_valid(r) => {
                let o = m.value_offsets();
                out.push(b'{');
                for (k, i) in (o[r] as usize..o[r + 1] as usize).enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    cell.clear();
                    let _ = write!(cell, "{}", keys.value(i));
                    push_json_str(out, cell);
                    out.push(b':');
                    values.write(i, out, cell);
                }
                out.push(b'}');
            }
            _ => out.extend_from_slice(b"null"),
        }
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
        let json = matches!(self.format, ResultFormat::Json | ResultFormat::Ndjson);
        let null = if json { "null" } else { "" };
        let opts = FormatOptions::default().with_null(null);
        let cols: Vec<&ArrayRef> = batch.columns().iter().collect();
        let fmts = if json {
            Vec::new()
        } else {
            cols.iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
                .collect::<Result<Vec<_>, _>>()
                .map_err(std::io::Error::other)?
        };
        let encs = if json {
            cols.iter()
                .map(|c| Enc::new(c.as_ref(), &opts))
                .collect::<Result<Vec<_>, _>>()
                .map_err(std::io::Error::other)?
        } else {
            Vec::new()
        };
        let names: Vec<Vec<u8>> = self
            .schema
            .fields()
            .iter()
            .map(|f| member_name(f.name()))
            .collect();
        let mut cell = String::new();
        for r in 0..batch.num_rows() {
            match self.format {
                ResultFormat::Csv => {
                    for (i, f) in fmts.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(b',');
                        }
                        cell.clear();
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
                    for (i, enc) in encs.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(b',');
                        }
                        self.buf.extend_from_slice(&names[i]);
                        enc.write(r, &mut self.buf, &mut cell);
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
    fn nested_values_are_json_arrays_and_objects() {
        use arrow::array::{
            FixedSizeListBuilder, Int32Builder, LargeListBuilder, ListBuilder, MapBuilder,
            StringBuilder,
        };
        use arrow::datatypes::Fields;
        // A list of ints with a null item, a null list and an empty one.
        let mut lb = ListBuilder::new(Int32Builder::new());
        lb.append_value([Some(22), None, Some(80)]);
        lb.append_null();
        lb.append_value([] as [Option<i32>; 0]);
        let list = lb.finish();
        // A list of lists of text, as large lists.
        let mut ll = LargeListBuilder::new(ListBuilder::new(StringBuilder::new()));
        ll.values().append_value([Some("a\"b")]);
        ll.values().append_value([None::<&str>]);
        ll.append(true);
        ll.append(true);
        ll.values().append_null();
        ll.append(true);
        let nested = ll.finish();
        // Fixed-size pairs of floats: NaN and infinity become null.
        let mut fb = FixedSizeListBuilder::new(arrow::array::Float64Builder::new(), 2);
        for (a, b, valid) in [
            (0.5, f64::NAN, true),
            (1.0, 2.0, false),
            (f64::INFINITY, -3.25, true),
        ] {
            fb.values().append_value(a);
            fb.values().append_value(b);
            fb.append(valid);
        }
        let fixed = fb.finish();
        // A struct with a name that needs escaping, a null struct in row 1.
        let st = StructArray::try_new(
            Fields::from(vec![
                Field::new("n", DataType::Int64, true),
                Field::new("we\"ird", DataType::Utf8, true),
            ]),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), Some(2), None])) as ArrayRef,
                Arc::new(StringArray::from(vec![Some("x"), Some("y"), Some("z\n")])),
            ],
            Some(vec![true, false, true].into()),
        )
        .unwrap();
        // A map from text to int.
        let mut mb = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
        mb.keys().append_value("tcp");
        mb.values().append_value(6);
        mb.keys().append_value("udp");
        mb.values().append_null();
        mb.append(true).unwrap();
        mb.append(false).unwrap();
        mb.append(true).unwrap();
        let map = mb.finish();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(list),
            Arc::new(nested),
            Arc::new(fixed),
            Arc::new(st),
            Arc::new(map),
        ];
        let schema = Arc::new(Schema::new(
            ["l", "ll", "f", "s", "m"]
                .iter()
                .zip(&cols)
                .map(|(n, c)| Field::new(*n, c.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        let b = RecordBatch::try_new(schema.clone(), cols).unwrap();
        for format in [ResultFormat::Json, ResultFormat::Ndjson] {
            let mut out = Vec::new();
            let mut w = ResultWriter::new(format, &mut out, schema.clone());
            w.write(&b).unwrap();
            w.finish().unwrap();
            let rows: Vec<serde_json::Value> = if format == ResultFormat::Json {
                serde_json::from_slice(&out).unwrap()
            } else {
                out.split(|&c| c == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(|l| serde_json::from_slice(l).unwrap())
                    .collect()
            };
            assert_eq!(
                serde_json::Value::Array(rows),
                serde_json::json!([
                    {"l": [22, null, 80], "ll": [["a\"b"], [null]], "f": [0.5, null],
                     "s": {"n": 1, "we\"ird": "x"}, "m": {"tcp": 6, "udp": null}},
                    {"l": null, "ll": [], "f": null, "s": null, "m": null},
                    {"l": [], "ll": [null], "f": [null, -3.25],
                     "s": {"n": null, "we\"ird": "z\n"}, "m": {}},
                ])
            );
        }
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
