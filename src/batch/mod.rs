//! Column builders → `RecordBatch`: one chunk of lines becomes one batch in the dataset's schema,
//! plus the lines it refused, each with its position and reason.
//!
//! A line's values are appended as they are parsed and rolled back when the line is refused
//! (token count, an integer, an address, UTF-8), so a refused line leaves no trace in the batch.
//! Lines of a fixed layout (a header or `--fields`) take a direct path that parses each value
//! straight from the line; anything unusual goes to the general path (tokenize, then parse each
//! token), which alone words the reasons.

// Not in the fuzz targets, which build the parser without Parquet.
#[cfg(not(fuzzing))]
pub mod parquet_in;

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBufferBuilder, Int32Array, Int64Array, StringArray, new_null_array,
};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{Field as ArrowField, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::format::fields::{Domain, Kind};
use crate::format::layout::{self, Column, Layout, MAX_TOKENS, Standard};
use crate::parse::chunk;
use crate::parse::{self, TokenError};

/// The dataset's columns: the union of every input's layout, in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct DatasetSchema {
    columns: Vec<Column>,
}

impl DatasetSchema {
    /// Adds a column if it isn't there yet; returns its index.
    pub fn add(&mut self, col: &Column) -> usize {
        match self.columns.iter().position(|c| c.name() == col.name()) {
            Some(i) => i,
            None => {
                self.columns.push(col.clone());
                self.columns.len() - 1
            }
        }
    }

    /// Columns in schema order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The Arrow schema (every column nullable).
    pub fn arrow(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| ArrowField::new(c.name(), c.kind().data_type(), true))
                .collect::<Vec<_>>(),
        ))
    }
}

/// Name of the extra column holding each record's text (after any JSON envelope is removed),
/// present only when [`crate::pipeline::Options::keep_original`] asks for it (ECS `event.original`).
pub(crate) const ORIGINAL_COLUMN: &str = "__original";

/// Name of the extra column with each record's input name (bulk provenance `log.file.path`).
pub(crate) const INPUT_COLUMN: &str = "__input";
/// Name of the extra column with each record's byte offset in its input (`log.offset`).
pub(crate) const OFFSET_COLUMN: &str = "__offset";

/// How one token list maps onto a file's columns.
#[derive(Debug, Clone)]
pub struct LinePlan {
    /// Tokens a line must have.
    pub ntokens: usize,
    /// For each file column, the token holding its value (`None`: the column is null in such lines).
    pub token_of_col: Vec<Option<u16>>,
    /// The standard layout this plan stands for, in header-less mode.
    pub standard: Option<&'static Standard>,
}

/// How a file's lines are read.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Every line has the same layout (header or `--fields`).
    Fixed(LinePlan),
    /// Header-less: each line is matched against these standard layouts.
    Standard(Vec<LinePlan>),
}

/// Everything the parser needs to know about one input file.
#[derive(Debug, Clone)]
pub struct FilePlan {
    /// Dataset column index of each file column.
    pub columns: Vec<usize>,
    /// Type of each file column.
    pub kinds: Vec<Kind>,
    /// Value domain of each file column.
    pub domains: Vec<Domain>,
    /// Column names, for reasons.
    pub names: Vec<String>,
    /// Fixed layout or standard matching.
    pub mode: Mode,
    /// The file's header line (trimmed), so repeats of it inside the file (concatenated objects)
    /// are skipped rather than refused.
    pub header: Option<Vec<u8>>,
    /// Describes the layout source in messages (`header`, `--fields`, `standard layouts (…)`).
    pub describe: String,
    /// The input's name, for the provenance column `INPUT_COLUMN`.
    pub input: String,
    /// Each record follows a CloudWatch Logs export timestamp, which is dropped.
    pub leading_timestamp: bool,
    /// Lines longer than this (in bytes, without the line feed) are refused as too long.
    pub max_line: usize,
    /// For each file column, whether its values are kept (all by default). A column not kept is
    /// still checked, so the same lines are refused for the same reasons, but nothing is built
    /// for it: its batch column is all null (a scan that doesn't need it drops it anyway).
    pub keep: Vec<bool>,
}

/// The longest line accepted unless `--max-line-bytes` says otherwise: 1 MiB, hundreds of times
/// the longest flow log record (40 fields), small enough that a file without line feeds can't
/// make anyone hold it whole.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// Why a line of `len` bytes is refused when lines may hold at most `limit`. The reader that
/// skips lines too long to hold ([`crate::input::read`]) gives the same reason.
#[cold]
pub(crate) fn line_too_long(len: u64, limit: usize) -> String {
    format!("line too long: {len} bytes, more than the limit of {limit} (--max-line-bytes)")
}

impl FilePlan {
    fn file_columns(
        schema: &mut DatasetSchema,
        cols: &[&Column],
    ) -> (Vec<usize>, Vec<Kind>, Vec<Domain>, Vec<String>) {
        let idx = cols.iter().map(|c| schema.add(c)).collect();
        let kinds = cols.iter().map(|c| c.kind()).collect();
        let domains = cols.iter().map(|c| c.domain()).collect();
        let names = cols.iter().map(|c| c.name().to_string()).collect();
        (idx, kinds, domains, names)
    }

    /// A plan for a file whose every line follows `layout` (from its header or `--fields`).
    pub fn fixed(
        layout: &Layout,
        header: Option<Vec<u8>>,
        describe: String,
        schema: &mut DatasetSchema,
    ) -> FilePlan {
        let cols: Vec<&Column> = layout.columns.iter().collect();
        let (columns, kinds, domains, names) = Self::file_columns(schema, &cols);
        let plan = LinePlan {
            ntokens: cols.len(),
            token_of_col: (0..cols.len()).map(|i| Some(i as u16)).collect(),
            standard: None,
        };
        FilePlan {
            columns,
            kinds,
            domains,
            names,
            mode: Mode::Fixed(plan),
            header,
            describe,
            input: String::new(),
            leading_timestamp: false,
            max_line: DEFAULT_MAX_LINE_BYTES,
            keep: vec![true; cols.len()],
        }
    }

    /// A plan for header-less input without `--fields`: the file's columns are the union of the
    /// standard layouts `seen` (in that order); each line may follow any standard layout whose
    /// columns the file has.
    pub fn standard(seen: &[&'static Standard], schema: &mut DatasetSchema) -> FilePlan {
        let mut cols: Vec<Column> = Vec::new();
        for std in seen {
            for c in std.layout().columns {
                if !cols.contains(&c) {
                    cols.push(c);
                }
            }
        }
        let refs: Vec<&Column> = cols.iter().collect();
        let (columns, kinds, domains, names) = Self::file_columns(schema, &refs);
        let mut plans = Vec::new();
        for std in layout::STANDARD {
            let lc = std.layout().columns;
            if lc.iter().all(|c| cols.contains(c)) {
                let token_of_col = cols
                    .iter()
                    .map(|c| lc.iter().position(|x| x == c).map(|p| p as u16))
                    .collect();
                plans.push(LinePlan {
                    ntokens: lc.len(),
                    token_of_col,
                    standard: Some(std),
                });
            }
        }
        let describe = if seen.is_empty() {
            "no header, no --fields, and no line matching a standard layout".to_string()
        } else {
            let names: Vec<&str> = seen.iter().map(|s| s.name).collect();
            format!("standard layout {}", names.join("+"))
        };
        FilePlan {
            columns,
            kinds,
            domains,
            names,
            mode: Mode::Standard(plans),
            header: None,
            describe,
            input: String::new(),
            leading_timestamp: false,
            max_line: DEFAULT_MAX_LINE_BYTES,
            keep: vec![true; cols.len()],
        }
    }
}

/// A line that was refused.
#[derive(Debug, Clone)]
pub struct Reject {
    /// Line number within the chunk (0-based); the decoder turns it into a file line number.
    pub line_in_chunk: u64,
    /// Byte offset of the line's first byte within its source.
    pub offset: u64,
    /// Why.
    pub reason: String,
    /// The line as it was (without its line feed).
    pub raw: Vec<u8>,
}

/// What parsing one chunk produced.
#[derive(Debug, Default)]
pub struct ChunkOutput {
    /// The rows, in the dataset schema (absent when no line was accepted).
    pub batch: Option<RecordBatch>,
    /// Refused lines, in order.
    pub rejects: Vec<Reject>,
    /// Lines in the chunk (all of them: records, blank lines, repeated headers).
    pub lines: u64,
    /// Records seen (non-blank, non-header lines).
    pub records: u64,
    /// Rows accepted.
    pub rows: u64,
    /// Blank lines skipped.
    pub blank: u64,
    /// Repeated header lines skipped.
    pub headers: u64,
}

/// Column builders that can drop the values of a refused line: a line's values are appended as
/// they are parsed, and [`Col::truncate`] undoes a partly appended line.
enum Col {
    I32(Vec<i32>, Validity),
    I64(Vec<i64>, Validity),
    Str(Vec<i32>, Vec<u8>, Validity),
    /// A column not kept ([`FilePlan::keep`]): values of this type are checked, not stored.
    Check(Kind),
}

/// Which values of a column are valid. Most columns of most chunks have no null at all, so no
/// bitmap is built until the first null: before it, only the count of valid values is kept
/// (measured: 1.2% fewer instructions for a conversion of default-layout records).
struct Validity {
    /// Values so far, while all are valid.
    valid: usize,
    /// The bitmap, once a null was appended.
    bits: Option<BooleanBufferBuilder>,
    /// Rows the bitmap is sized for when it is needed.
    capacity: usize,
}

impl Validity {
    fn new(capacity: usize) -> Validity {
        Validity {
            valid: 0,
            bits: None,
            capacity,
        }
    }

    #[inline(always)]
    fn append(&mut self, valid: bool) {
        match &mut self.bits {
            None if valid => self.valid += 1,
            Some(bits) => bits.append(valid),
            None => {
                let mut bits = BooleanBufferBuilder::new(self.capacity.max(self.valid + 1));
                bits.append_n(self.valid, true);
                bits.append(false);
                self.bits = Some(bits);
            }
        }
    }

    fn truncate(&mut self, rows: usize) {
        match &mut self.bits {
            None => self.valid = self.valid.min(rows),
            Some(bits) => bits.truncate(rows),
        }
    }

    /// The null buffer, if any value is null.
    fn finish(self) -> Option<NullBuffer> {
        let b = NullBuffer::new(self.bits?.finish());
        (b.null_count() > 0).then_some(b)
    }
}

impl Col {
    fn new(kind: Kind, rows: usize, bytes: usize) -> Col {
        match kind {
            Kind::Int32 => Col::I32(Vec::with_capacity(rows), Validity::new(rows)),
            Kind::Int64 => Col::I64(Vec::with_capacity(rows), Validity::new(rows)),
            Kind::Utf8 => {
                let mut offsets = Vec::with_capacity(rows + 1);
                offsets.push(0);
                Col::Str(offsets, Vec::with_capacity(bytes), Validity::new(rows))
            }
        }
    }

    #[inline(always)]
    fn push_null(&mut self) {
        match self {
            Col::I32(v, n) => {
                v.push(0);
                n.append(false);
            }
            Col::I64(v, n) => {
                v.push(0);
                n.append(false);
            }
            Col::Str(o, d, n) => {
                o.push(d.len() as i32);
                n.append(false);
            }
            Col::Check(_) => {}
        }
    }

    /// Appends a whole line as a text value (the original-record column).
    fn push_str(&mut self, text: &[u8]) {
        if let Col::Str(o, d, n) = self {
            d.extend_from_slice(text);
            o.push(d.len() as i32);
            n.append(true);
        }
    }

    /// Keeps the first `rows` values.
    fn truncate(&mut self, rows: usize) {
        match self {
            Col::I32(v, n) => {
                v.truncate(rows);
                n.truncate(rows);
            }
            Col::I64(v, n) => {
                v.truncate(rows);
                n.truncate(rows);
            }
            Col::Str(o, d, n) => {
                o.truncate(rows + 1);
                d.truncate(o[rows] as usize);
                n.truncate(rows);
            }
            Col::Check(_) => {}
        }
    }

    /// The column's array; none for a column not kept.
    fn finish(self) -> Option<ArrayRef> {
        Some(match self {
            Col::I32(v, n) => Arc::new(Int32Array::new(v.into(), n.finish())),
            Col::I64(v, n) => Arc::new(Int64Array::new(v.into(), n.finish())),
            Col::Check(_) => return None,
            Col::Str(o, mut d, n) => {
                d.shrink_to_fit();
                let offsets = OffsetBuffer::new(ScalarBuffer::from(o));
                // SAFETY: the offsets start at 0, never decrease and end at `d.len()` (each push
                // records `d.len()` after extending it; truncation keeps a prefix), and every
                // value is a slice of a line that passed `str::from_utf8`, cut at ASCII
                // separators, so each value and the whole buffer are valid UTF-8.
                Arc::new(unsafe {
                    StringArray::new_unchecked(offsets, Buffer::from_vec(d), n.finish())
                })
            }
        })
    }
}

fn max_for(kind: Kind, domain: Domain) -> u64 {
    let type_max = match kind {
        Kind::Int32 => i32::MAX as u64,
        _ => i64::MAX as u64,
    };
    match domain {
        Domain::Max(m) => type_max.min(m as u64),
        _ => type_max,
    }
}

#[cold]
fn token_reason(name: &str, err: TokenError, tok: &[u8]) -> String {
    format!(
        "{name}: {} ('{}')",
        err.describe(),
        String::from_utf8_lossy(&tok[..tok.len().min(80)])
    )
}

/// Appends what [`parse::int_token`] read to an integer column (its bound was checked there);
/// false for a token left to the general path.
#[inline(always)]
fn push_int<T: Default>(
    v: &mut Vec<T>,
    nulls: &mut Validity,
    token: parse::IntToken,
    value: fn(u64) -> T,
) -> bool {
    match token {
        parse::IntToken::Value(x) => {
            v.push(value(x));
            nulls.append(true);
        }
        parse::IntToken::Null => {
            v.push(T::default());
            nulls.append(false);
        }
        parse::IntToken::Other => return false,
    }
    true
}

/// The fast path for a line of a fixed layout, whose every column is the token at its position:
/// appends each value straight from the line's bytes, one scan per token, without recording the
/// token spans first. Returns false as soon as the line is anything but a record of exactly
/// `cols.len()` tokens whose values this path reads (some values of the line may be appended by
/// then): the caller rolls the line back and takes the general path, which refuses it with the
/// exact reason, or accepts it with the same values (an integer of more than 19 digits).
///
/// Measured against tokenizing first: see issue 16's note (callgrind, per record).
#[inline(always)]
fn parse_direct(line: &[u8], cols: &mut [Col], maxes: &[u64], is_ip: &[bool]) -> bool {
    use parse::IntToken;
    let len = line.len();
    let mut i = 0;
    for (j, col) in cols.iter_mut().enumerate() {
        while i < len && parse::is_sep(line[i]) {
            i += 1;
        }
        if i == len {
            return false;
        }
        match col {
            Col::I32(v, nulls) => {
                let t = parse::int_token(line, &mut i, maxes[j]);
                if !push_int(v, nulls, t, |x| x as i32) {
                    return false;
                }
            }
            Col::I64(v, nulls) => {
                let t = parse::int_token(line, &mut i, maxes[j]);
                if !push_int(v, nulls, t, |x| x as i64) {
                    return false;
                }
            }
            Col::Check(Kind::Int32 | Kind::Int64) => {
                if parse::int_token(line, &mut i, maxes[j]) == IntToken::Other {
                    return false;
                }
            }
            Col::Str(offsets, bytes, nulls) => {
                let start = i;
                i = parse::token_end(line, i);
                let tok = &line[start..i];
                if tok == b"-" {
                    col.push_null();
                } else {
                    if is_ip[j] && !parse::is_ip(tok) {
                        return false;
                    }
                    parse::push_bytes(bytes, tok);
                    offsets.push(bytes.len() as i32);
                    nulls.append(true);
                }
            }
            Col::Check(Kind::Utf8) => {
                let start = i;
                i = parse::token_end(line, i);
                let tok = &line[start..i];
                if tok != b"-" && is_ip[j] && !parse::is_ip(tok) {
                    return false;
                }
            }
        }
    }
    // Nothing but separators after the last value (the line is trimmed: nothing at all).
    line[i..].iter().all(|&b| parse::is_sep(b))
}

/// Records an accepted line: its text and offset where those columns are wanted, and one more
/// row.
#[inline(always)]
fn accept(
    line: &[u8],
    offset: u64,
    original: &mut Option<Col>,
    offsets: &mut Option<Vec<i64>>,
    rows: &mut usize,
) {
    if let Some(orig) = original {
        orig.push_str(line);
    }
    if let Some(o) = offsets {
        o.push(offset as i64);
    }
    *rows += 1;
}

/// Parses the lines of `data` (a line-aligned range starting at byte `base_offset` of its source)
/// into one batch of the dataset schema `schema`.
///
/// The hot path of every conversion (each line of each input passes through its loop; measured
/// by `benches/parse.rs` and `benches/compare.sh`): kept as one function so the per-line loop,
/// its token spans and the column builders stay in one frame.
pub fn parse_chunk(
    data: &[u8],
    base_offset: u64,
    plan: &FilePlan,
    schema: &SchemaRef,
) -> ChunkOutput {
    parse_lines(data, base_offset, plan, schema, true)
}

/// [`parse_chunk`], with the direct path for fixed layouts allowed or not (the tests compare the
/// two). The hot path: see there.
#[inline(always)]
fn parse_lines(
    data: &[u8],
    base_offset: u64,
    plan: &FilePlan,
    schema: &SchemaRef,
    allow_direct: bool,
) -> ChunkOutput {
    // Reserve for the chunk's line count and let the string columns share the chunk's size; string
    // buffers are shrunk when finished, so a batch holds little unused memory.
    let ntok = plan.columns.len().max(1);
    let rows_cap = memchr::memchr_iter(b'\n', data).count() + 1;
    let bytes_cap = data.len() / ntok + 64;
    let mut cols: Vec<Col> = plan
        .kinds
        .iter()
        .enumerate()
        .map(|(j, &k)| match plan.keep.get(j) {
            Some(false) => Col::Check(k),
            _ => Col::new(k, rows_cap, bytes_cap),
        })
        .collect();
    let maxes: Vec<u64> = plan
        .kinds
        .iter()
        .zip(&plan.domains)
        .map(|(k, d)| max_for(*k, *d))
        .collect();
    let is_ip: Vec<bool> = plan.domains.iter().map(|d| *d == Domain::Ip).collect();
    let original_idx = schema.index_of(ORIGINAL_COLUMN).ok();
    let input_idx = schema.index_of(INPUT_COLUMN).ok();
    let offset_idx = schema.index_of(OFFSET_COLUMN).ok();
    let mut offsets_col = offset_idx.map(|_| Vec::<i64>::with_capacity(rows_cap));
    let mut original = original_idx.map(|_| Col::new(Kind::Utf8, rows_cap, data.len()));
    let mut out = ChunkOutput::default();
    let mut spans = [(0u32, 0u32); MAX_TOKENS];
    // A fixed layout maps column j to token j: its lines take the direct path first.
    let direct = allow_direct
        && !cols.is_empty()
        && matches!(&plan.mode, Mode::Fixed(lp) if lp.ntokens == cols.len()
            && lp.token_of_col.iter().enumerate().all(|(j, t)| *t == Some(j as u16)));
    let mut offset = base_offset;
    let mut rows = 0usize;

    for (line_no, raw) in chunk::lines(data).enumerate() {
        let line_offset = offset;
        offset += raw.len() as u64 + 1;
        out.lines += 1;
        if raw.len() > plan.max_line {
            out.records += 1;
            out.rejects.push(Reject {
                line_in_chunk: line_no as u64,
                offset: line_offset,
                reason: line_too_long(raw.len() as u64, plan.max_line),
                raw: raw[..plan.max_line].to_vec(),
            });
            continue;
        }
        let line = parse::trim_line(raw);
        if line.is_empty() {
            out.blank += 1;
            continue;
        }
        let reject = |out: &mut ChunkOutput, reason: String| {
            out.rejects.push(Reject {
                line_in_chunk: line_no as u64,
                offset: line_offset,
                reason,
                raw: raw.to_vec(),
            });
        };
        let unwrapped;
        let line = match crate::format::envelope::unwrap_message(line) {
            None => line,
            Some(Ok(inner)) => {
                unwrapped = inner;
                parse::trim_line(&unwrapped)
            }
            Some(Err(reason)) => {
                out.records += 1;
                reject(&mut out, reason);
                continue;
            }
        };
        if line.is_empty() {
            out.records += 1;
            reject(&mut out, "JSON envelope with an empty message".to_string());
            continue;
        }
        let line = if plan.leading_timestamp {
            match parse::strip_export_timestamp(line) {
                Some(rest) => rest,
                None => {
                    out.records += 1;
                    reject(
                        &mut out,
                        "no CloudWatch export timestamp before the record (the input's first lines had one)"
                            .to_string(),
                    );
                    continue;
                }
            }
        } else {
            line
        };
        if plan.header.as_deref() == Some(line) {
            out.headers += 1;
            continue;
        }
        out.records += 1;
        if let Err(e) = parse::check_utf8(line) {
            reject(
                &mut out,
                format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
            );
            continue;
        }
        if direct && parse_direct(line, &mut cols, &maxes, &is_ip) {
            accept(
                line,
                line_offset,
                &mut original,
                &mut offsets_col,
                &mut rows,
            );
            continue;
        }
        if direct {
            for c in &mut cols {
                c.truncate(rows);
            }
        }
        let n = parse::tokenize(line, &mut spans);
        if n > MAX_TOKENS {
            reject(
                &mut out,
                format!("{n} tokens; at most {MAX_TOKENS} are supported"),
            );
            continue;
        }
        let spans = &spans[..n];
        let lp = match &plan.mode {
            Mode::Fixed(lp) => {
                if n != lp.ntokens {
                    reject(
                        &mut out,
                        format!(
                            "{n} tokens, but the layout ({}) has {}",
                            plan.describe, lp.ntokens
                        ),
                    );
                    continue;
                }
                lp
            }
            Mode::Standard(plans) => match layout::match_standard(line, spans) {
                Ok(std) => match plans
                    .iter()
                    .find(|p| p.standard.is_some_and(|s| std::ptr::eq(s, std)))
                {
                    Some(lp) => lp,
                    None => {
                        if layout::Layout::detect_header(line).is_some() {
                            out.records -= 1;
                            out.headers += 1;
                            continue;
                        }
                        reject(
                            &mut out,
                            format!(
                                "fits the standard {} layout, but this header-less file's columns were fixed from its first lines ({}); convert it separately or give --fields",
                                std.name, plan.describe
                            ),
                        );
                        continue;
                    }
                },
                Err(reason) => {
                    if layout::Layout::detect_header(line).is_some() {
                        out.records -= 1;
                        out.headers += 1;
                        continue;
                    }
                    reject(&mut out, reason);
                    continue;
                }
            },
        };
        // Append each value as it is parsed; a bad value rolls the line back.
        let mut bad = None;
        for (j, col) in cols.iter_mut().enumerate() {
            let Some(t) = lp.token_of_col[j] else {
                col.push_null();
                continue;
            };
            let (s, e) = spans[t as usize];
            let tok = &line[s as usize..e as usize];
            if tok == b"-" {
                col.push_null();
                continue;
            }
            match col {
                Col::I32(v, nulls) => match parse::parse_uint(tok, maxes[j]) {
                    Ok(x) => {
                        v.push(x as i32);
                        nulls.append(true);
                    }
                    Err(err) => {
                        bad = Some(token_reason(&plan.names[j], err, tok));
                        break;
                    }
                },
                Col::I64(v, nulls) => match parse::parse_uint(tok, maxes[j]) {
                    Ok(x) => {
                        v.push(x as i64);
                        nulls.append(true);
                    }
                    Err(err) => {
                        bad = Some(token_reason(&plan.names[j], err, tok));
                        break;
                    }
                },
                Col::Str(offsets, bytes, nulls) => {
                    if is_ip[j] && !parse::is_ip(tok) {
                        bad = Some(token_reason(&plan.names[j], TokenError::NotIp, tok));
                        break;
                    }
                    parse::push_bytes(bytes, tok);
                    offsets.push(bytes.len() as i32);
                    nulls.append(true);
                }
                Col::Check(Kind::Utf8) => {
                    if is_ip[j] && !parse::is_ip(tok) {
                        bad = Some(token_reason(&plan.names[j], TokenError::NotIp, tok));
                        break;
                    }
                }
                Col::Check(_) => {
                    if let Err(err) = parse::parse_uint(tok, maxes[j]) {
                        bad = Some(token_reason(&plan.names[j], err, tok));
                        break;
                    }
                }
            }
        }
        if let Some(reason) = bad {
            for c in &mut cols {
                c.truncate(rows);
            }
            reject(&mut out, reason);
            continue;
        }
        accept(
            line,
            line_offset,
            &mut original,
            &mut offsets_col,
            &mut rows,
        );
    }
    out.rows = rows as u64;

    if rows > 0 {
        let mut arrays: Vec<Option<ArrayRef>> = vec![None; schema.fields().len()];
        for (j, c) in cols.into_iter().enumerate() {
            arrays[plan.columns[j]] = c.finish();
        }
        if let (Some(i), Some(orig)) = (original_idx, original) {
            arrays[i] = orig.finish();
        }
        if let (Some(i), Some(o)) = (offset_idx, offsets_col) {
            arrays[i] = Some(Arc::new(Int64Array::from(o)));
        }
        if let Some(i) = input_idx {
            arrays[i] = Some(Arc::new(StringArray::from_iter_values(
                std::iter::repeat_n(plan.input.as_str(), rows),
            )));
        }
        let arrays: Vec<ArrayRef> = arrays
            .into_iter()
            .zip(schema.fields())
            .map(|(a, f)| a.unwrap_or_else(|| new_null_array(f.data_type(), rows)))
            .collect();
        let opts = RecordBatchOptions::new().with_row_count(Some(rows));
        out.batch = Some(
            RecordBatch::try_new_with_options(schema.clone(), arrays, &opts)
                .expect("builders follow the schema's types"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;
    use proptest::prelude::*;

    const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport \
                          protocol packets bytes start end action log-status";

    /// Values for each of the 14 default columns: valid ones and every kind the direct path
    /// leaves to the general one.
    fn token(col: usize, pick: u8) -> String {
        let int_any = [
            "0",
            "7",
            "007",
            "-",
            "65535",
            "65536",
            "4294967295",
            "9223372036854775807",
            "9223372036854775808",
            "99999999999999999999",
            "00000000000000000000042",
            "+1",
            "-1",
            "1a",
            "x",
            "--",
            "1-",
        ];
        let ip = [
            "10.0.0.1",
            "-",
            "2001:db8::1",
            "10.0.0.256",
            "010.0.0.1",
            "::ffff:1.2.3.4",
            "1.2.3",
            "x",
            "fe80::1%eth0",
        ];
        let text = [
            "eni-0a1b",
            "-",
            "123456789012",
            "ACCEPT",
            "REJECT",
            "OK",
            "é",
        ];
        let pool: &[&str] = match col {
            1 | 2 | 12 | 13 => &text,
            3 | 4 => &ip,
            _ => &int_any,
        };
        pool[pick as usize % pool.len()].to_string()
    }

    fn line() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(any::<u8>(), 12..17),
            proptest::sample::select(vec![" ", " ", " ", "\t", "  ", " \t "]),
        )
            .prop_map(|(picks, sep)| {
                picks
                    .iter()
                    .enumerate()
                    .map(|(c, &p)| {
                        // Mostly values any column takes (the pools' first three), so that
                        // many lines are clean records.
                        token(c.min(13), if p < 240 { p % 3 } else { p })
                    })
                    .collect::<Vec<_>>()
                    .join(sep)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// The direct path gives exactly what the general one gives: the same rows, the same
        /// refused lines with the same reasons, the same counts, with any columns kept.
        #[test]
        fn the_direct_path_agrees_with_the_general_one(
            lines in proptest::collection::vec(line(), 1..40),
            keep in proptest::collection::vec(any::<bool>(), 14),
            keep_all in any::<bool>(),
        ) {
            let layout = Layout::from_names(HEADER).unwrap();
            let mut schema = DatasetSchema::default();
            let mut plan = FilePlan::fixed(&layout, None, "header".into(), &mut schema);
            if !keep_all {
                plan.keep = keep;
            }
            let arrow = schema.arrow();
            let data = lines.join("\n");
            let fast = parse_lines(data.as_bytes(), 100, &plan, &arrow, true);
            let slow = parse_lines(data.as_bytes(), 100, &plan, &arrow, false);
            prop_assert_eq!(&fast.batch, &slow.batch);
            let key = |o: &ChunkOutput| {
                o.rejects
                    .iter()
                    .map(|r| (r.line_in_chunk, r.offset, r.reason.clone(), r.raw.clone()))
                    .collect::<Vec<_>>()
            };
            prop_assert_eq!(key(&fast), key(&slow));
            prop_assert_eq!(
                (fast.lines, fast.records, fast.rows, fast.blank, fast.headers),
                (slow.lines, slow.records, slow.rows, slow.blank, slow.headers)
            );
        }
    }

    proptest! {
        /// Appends and roll-backs in any order give the validity a plain list of flags gives.
        #[test]
        fn validity_agrees_with_a_list_of_flags(
            ops in proptest::collection::vec((any::<bool>(), 0u8..8, 0usize..150), 0..120),
            capacity in 0usize..200,
        ) {
            let mut v = Validity::new(capacity);
            let mut want: Vec<bool> = Vec::new();
            for (valid, op, n) in ops {
                if op == 0 {
                    let rows = n.min(want.len());
                    v.truncate(rows);
                    want.truncate(rows);
                } else {
                    for _ in 0..(n % 70) {
                        v.append(valid);
                        want.push(valid);
                    }
                }
            }
            let got: Vec<bool> = match v.finish() {
                None => vec![true; want.len()],
                Some(b) => (0..want.len()).map(|i| b.is_valid(i)).collect(),
            };
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn the_direct_path_reads_a_clean_record() {
        let layout = Layout::from_names(HEADER).unwrap();
        let mut schema = DatasetSchema::default();
        let plan = FilePlan::fixed(&layout, None, "header".into(), &mut schema);
        let arrow = schema.arrow();
        let data = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1 2 ACCEPT OK\n\
                    2 123456789012 eni-1 - - - - - - - 1 2 - NODATA";
        let out = parse_chunk(data.as_bytes(), 0, &plan, &arrow);
        assert!(out.rejects.is_empty(), "{:?}", out.rejects);
        let b = out.batch.unwrap();
        assert_eq!(b.num_rows(), 2);
        let bytes = b.column(9).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!((bytes.value(0), bytes.is_null(1)), (840, true));
        let src = b.column(3).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((src.value(0), src.is_null(1)), ("10.0.0.1", true));
    }
}
