//! Dictionary-encoded text columns, written without arrow-rs's per-value interning.
//!
//! arrow-rs's column writer hashes and compares every value of a dictionary column, and compares
//! every value again for page statistics; for flow logs, whose text columns repeat few values,
//! that was a quarter of a conversion's CPU. [`DictColumn`] keeps its own dictionary for the row
//! group (a table keyed by a short hash of the bytes), takes the keys of Arrow dictionary arrays
//! (the attribution columns) by looking up each distinct value once, computes page minimums and
//! maximums over the distinct values of a page, and encodes the keys itself ([`super::rle`]).
//! The column chunk it produces is what arrow-rs would write: a PLAIN dictionary page, then
//! RLE_DICTIONARY data pages (v1, definition levels RLE), zstd-compressed, with chunk statistics,
//! column index and offset index; past the dictionary size limit the rest of the row group is
//! written as PLAIN pages, as arrow-rs falls back too.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, GenericStringArray, StringViewArray,
};
use arrow::datatypes::{DataType, UInt32Type};
use bytes::Bytes;
use parquet::basic::{BoundaryOrder, Compression, Encoding, PageType, Type as PhysicalType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{
    ColumnChunkMetaData, ColumnIndexBuilder, LevelHistogram, OffsetIndexBuilder, PageEncodingStats,
};
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use super::rle;

/// Whether [`DictColumn`] writes column `descr` under `props`: an optional or required text
/// column (no repetition) with dictionary encoding on and zstd pages.
pub(crate) fn applies(descr: &ColumnDescPtr, field: &DataType, props: &WriterProperties) -> bool {
    let path = descr.path();
    matches!(
        field,
        DataType::Utf8 | DataType::Utf8View | DataType::Dictionary(_, _)
    ) && descr.physical_type() == PhysicalType::BYTE_ARRAY
        && descr.max_rep_level() == 0
        && descr.max_def_level() <= 1
        && props.dictionary_enabled(path)
        && matches!(props.compression(path), Compression::ZSTD(_))
}

/// One text column of one row group, encoded with a dictionary of its own.
pub(crate) struct DictColumn {
    descr: ColumnDescPtr,
    compression: Compression,
    compressor: zstd::bulk::Compressor<'static>,
    /// Room for one compressed page.
    scratch: Vec<u8>,
    page_rows: usize,
    page_bytes: usize,
    dict_bytes: usize,
    dict: Dict,
    /// Past the dictionary size limit: the rest of the row group is written PLAIN.
    plain: bool,
    page: PageState,
    /// Per dictionary entry, the last page (number + 1) whose bounds looked at it.
    seen: Vec<u32>,
    pages: Vec<Encoded>,
    rows: usize,
    /// The values array of the last dictionary array written and our key of each of its keys
    /// (`UNSEEN` until met): batches of one column share their values (the inventory's), so
    /// each distinct value is looked up once a row group.
    known: Option<(ArrayRef, Vec<u32>)>,
}

/// In [`DictColumn::known`]: a key not met yet, and a key whose value is null.
const UNSEEN: u32 = u32::MAX;
const NULL: u32 = u32::MAX - 1;

/// The rows of the page being filled.
#[derive(Default)]
struct PageState {
    rows: usize,
    nulls: usize,
    /// Definition levels, kept only once the page has a null (until then every row is 1).
    levels: Vec<u8>,
    /// The keys of the non-null values (dictionary pages).
    keys: Vec<u32>,
    /// PLAIN-encoded values (fallback pages), with their minimum and maximum.
    values: Vec<u8>,
    min: Option<Vec<u8>>,
    max: Option<Vec<u8>>,
    /// Bytes of the values of a PLAIN page (size statistics; a dictionary page's are summed
    /// from its keys).
    value_bytes: i64,
}

/// A finished data page and what the page index needs of it.
struct Encoded {
    page: CompressedPage,
    rows: usize,
    nulls: usize,
    value_bytes: i64,
    /// Minimum and maximum value, if the page has a non-null one.
    bounds: Option<(Vec<u8>, Vec<u8>)>,
}

impl DictColumn {
    /// A writer for column `descr` (see [`applies`]).
    pub(crate) fn new(descr: ColumnDescPtr, props: &WriterProperties) -> Result<DictColumn> {
        let path = descr.path();
        let compression = props.compression(path);
        let Compression::ZSTD(level) = compression else {
            return Err(ParquetError::General(format!(
                "dictionary writer for {path}: zstd pages only"
            )));
        };
        Ok(DictColumn {
            compressor: zstd::bulk::Compressor::new(level.compression_level())?,
            compression,
            scratch: Vec::new(),
            page_rows: props.data_page_row_count_limit().max(1),
            page_bytes: props.column_data_page_size_limit(path),
            dict_bytes: props.column_dictionary_page_size_limit(path),
            dict: Dict::default(),
            plain: false,
            page: PageState::default(),
            seen: Vec::new(),
            pages: Vec::new(),
            rows: 0,
            known: None,
            descr,
        })
    }

    /// About how many bytes the chunk takes so far: finished pages and the dictionary.
    pub(crate) fn estimated_bytes(&self) -> usize {
        let pages: usize = self.pages.iter().map(|p| p.page.compressed_size()).sum();
        pages + self.dict.plain_bytes + self.page.keys.len() + self.page.values.len()
    }

    /// Appends the values of `array`: text (`Utf8`, `LargeUtf8`, `Utf8View`) or a dictionary of
    /// text (with `UInt32` keys, read key by key; any other, cast to text first).
    pub(crate) fn write(&mut self, array: &dyn Array) -> Result<()> {
        match array.data_type() {
            DataType::Utf8 => self.write_text(array.as_string::<i32>()),
            DataType::LargeUtf8 => self.write_text(array.as_string::<i64>()),
            DataType::Utf8View => self.write_view(array.as_string_view()),
            DataType::Dictionary(k, v) if **k == DataType::UInt32 && **v == DataType::Utf8 => {
                self.write_dictionary(array.as_dictionary::<UInt32Type>())
            }
            // Other dictionaries (other key types) as the text they stand for.
            DataType::Dictionary(..) => {
                let text = arrow::compute::cast(array, &DataType::Utf8)?;
                self.write_text(text.as_string::<i32>());
            }
            other => {
                return Err(ParquetError::General(format!(
                    "dictionary writer for {}: unexpected {other}",
                    self.descr.path()
                )));
            }
        }
        Ok(())
    }

    /// The values' slots are looked up [`AHEAD`] rows in advance, so that the table's cache
    /// misses overlap instead of coming one after another.
    fn write_text<O: arrow::array::OffsetSizeTrait>(&mut self, a: &GenericStringArray<O>) {
        let offsets = a.value_offsets();
        let data = a.value_data();
        let value = |i: usize| &data[offsets[i].as_usize()..offsets[i + 1].as_usize()];
        let hashed = |i: usize| {
            let v = value(i);
            let head = head(v);
            (head, hash(&head, v))
        };
        let mut ring = [(Head::default(), 0u64); AHEAD];
        for (i, r) in ring.iter_mut().enumerate().take(a.len()) {
            *r = hashed(i);
            self.dict.prefetch(r.1);
        }
        for i in 0..a.len() {
            let (head, h) = ring[i % AHEAD];
            if i + AHEAD < a.len() {
                let next = hashed(i + AHEAD);
                self.dict.prefetch(next.1);
                ring[i % AHEAD] = next;
            }
            if a.is_null(i) {
                self.push_null();
            } else if self.plain {
                self.push(value(i));
            } else {
                self.push_key(|d| d.intern_hashed(value(i), head, h));
            }
        }
    }

    fn write_view(&mut self, a: &StringViewArray) {
        for i in 0..a.len() {
            if a.is_null(i) {
                self.push_null();
            } else {
                self.push(a.value(i).as_bytes());
            }
        }
    }

    /// Each distinct value of the array's dictionary is looked up once; the rows then cost a
    /// table lookup of their key each.
    fn write_dictionary(&mut self, a: &DictionaryArray<UInt32Type>) {
        let values = a.values().as_string::<i32>();
        let keys = a.keys().values();
        let mut ours = match self.known.take() {
            Some((v, ours)) if Arc::ptr_eq(&v, a.values()) => ours,
            _ => vec![UNSEEN; values.len()],
        };
        let mut i = 0;
        while i < a.len() {
            if self.plain {
                // Past the dictionary limit: value by value.
                let k = keys[i] as usize;
                if a.is_null(i) || values.is_null(k) {
                    self.push_null();
                } else {
                    self.push(values.value(k).as_bytes());
                }
                i += 1;
                continue;
            }
            let end = (i + self.page_rows - self.page.rows).min(a.len());
            // The keys first met in this stretch are looked up first; a dictionary that grows
            // past its limit ends the stretch (and the page) at that row.
            let mut j = end;
            let mut overflow = false;
            for (at, &k) in keys.iter().enumerate().take(end).skip(i) {
                let k = k as usize;
                if ours[k] == UNSEEN {
                    ours[k] = if values.is_null(k) {
                        NULL
                    } else {
                        self.dict.intern(values.value(k).as_bytes())
                    };
                    if self.dict.plain_bytes > self.dict_bytes || self.dict.full() {
                        (j, overflow) = (at + 1, true);
                        break;
                    }
                }
            }
            let p = &mut self.page;
            p.levels.resize(p.rows, 1);
            let valid = a.nulls();
            let before = p.keys.len();
            for (at, &k) in keys.iter().enumerate().take(j).skip(i) {
                let key = ours[k as usize];
                let present = key != NULL && valid.is_none_or(|v| v.is_valid(at));
                p.levels.push(u8::from(present));
                if present {
                    p.keys.push(key);
                }
            }
            p.nulls += (j - i) - (p.keys.len() - before);
            p.rows += j - i;
            i = j;
            if overflow {
                self.go_plain();
            } else if self.page.rows >= self.page_rows {
                self.flush_page();
            }
        }
        if !self.plain {
            self.known = Some((a.values().clone(), ours));
        }
    }

    /// Appends a value.
    fn push(&mut self, v: &[u8]) {
        if self.plain {
            self.push_plain(v);
        } else {
            self.push_key(|d| d.intern(v));
        }
    }

    /// Appends a value to a PLAIN page.
    fn push_plain(&mut self, v: &[u8]) {
        let p = &mut self.page;
        if p.nulls > 0 {
            p.levels.push(1);
        }
        p.rows += 1;
        p.value_bytes += v.len() as i64;
        p.values.extend_from_slice(&(v.len() as u32).to_le_bytes());
        p.values.extend_from_slice(v);
        if p.min.as_deref().is_none_or(|m| v < m) {
            p.min = Some(v.to_vec());
        }
        if p.max.as_deref().is_none_or(|m| v > m) {
            p.max = Some(v.to_vec());
        }
        if p.rows >= self.page_rows || p.values.len() >= self.page_bytes {
            self.flush_page();
        }
    }

    /// Appends a value to a dictionary page by its key, which `key` gives (interning it).
    #[inline]
    fn push_key(&mut self, key: impl FnOnce(&mut Dict) -> u32) {
        let k = key(&mut self.dict);
        let p = &mut self.page;
        if p.nulls > 0 {
            p.levels.push(1);
        }
        p.rows += 1;
        p.keys.push(k);
        if self.dict.plain_bytes > self.dict_bytes || self.dict.full() {
            self.go_plain();
        } else if p.rows >= self.page_rows {
            self.flush_page();
        }
    }

    /// The dictionary is full: the page being filled still refers to it, the next ones are
    /// PLAIN. Its lookup table goes (the values stay for the dictionary page).
    fn go_plain(&mut self) {
        self.flush_page();
        self.plain = true;
        self.dict.slots = Vec::new();
        self.known = None;
    }

    fn push_null(&mut self) {
        let p = &mut self.page;
        if p.nulls == 0 {
            p.levels.resize(p.rows, 1);
        }
        p.levels.push(0);
        p.rows += 1;
        p.nulls += 1;
        if p.rows >= self.page_rows {
            self.flush_page();
        }
    }

    /// Encodes and compresses the page being filled.
    fn flush_page(&mut self) {
        let p = std::mem::take(&mut self.page);
        if p.rows == 0 {
            return;
        }
        let mut buf = Vec::with_capacity(p.keys.len() * 2 + p.values.len() + 16);
        if self.descr.max_def_level() > 0 {
            buf.extend_from_slice(&[0; 4]);
            if p.nulls == 0 {
                rle::rle_run(1, p.rows, 1, &mut buf);
            } else {
                rle::encode(&p.levels, 1, &mut buf);
            }
            let len = (buf.len() - 4) as u32;
            buf[..4].copy_from_slice(&len.to_le_bytes());
        }
        let mut value_bytes = p.value_bytes;
        let (encoding, bounds) = if self.plain && p.keys.is_empty() {
            buf.extend_from_slice(&p.values);
            (Encoding::PLAIN, p.min.zip(p.max))
        } else {
            value_bytes = p.keys.iter().map(|&k| self.dict.len_of(k) as i64).sum();
            let width = rle::width_for(self.dict.len().saturating_sub(1) as u32);
            buf.push(width);
            rle::encode(&p.keys, width, &mut buf);
            (Encoding::RLE_DICTIONARY, self.key_bounds(&p.keys))
        };
        let page = Page::DataPage {
            buf: self.compress(&buf),
            num_values: p.rows as u32,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        self.pages.push(Encoded {
            page: CompressedPage::new(page, buf.len()),
            rows: p.rows,
            nulls: p.nulls,
            value_bytes,
            bounds,
        });
        self.rows += p.rows;
    }

    /// The smallest and largest value among `keys`, looking at each distinct key once. Values
    /// are compared by their first 8 bytes as a number first ([`Dict::prefixes`]); only equal
    /// prefixes compare the bytes.
    fn key_bounds(&mut self, keys: &[u32]) -> Option<(Vec<u8>, Vec<u8>)> {
        let stamp = self.pages.len() as u32 + 1;
        self.seen.resize(self.dict.len(), 0);
        let d = &self.dict;
        let mut bounds: Option<(u32, u64, u32, u64)> = None;
        for &k in keys {
            let seen = &mut self.seen[k as usize];
            if *seen == stamp {
                continue;
            }
            *seen = stamp;
            let pk = d.prefixes[k as usize];
            let Some((lo, plo, hi, phi)) = &mut bounds else {
                bounds = Some((k, pk, k, pk));
                continue;
            };
            if pk < *plo || (pk == *plo && less(d.value(k), d.value(*lo))) {
                (*lo, *plo) = (k, pk);
            }
            if pk > *phi || (pk == *phi && less(d.value(*hi), d.value(k))) {
                (*hi, *phi) = (k, pk);
            }
        }
        let (lo, _, hi, _) = bounds?;
        Some((d.value(lo).to_vec(), d.value(hi).to_vec()))
    }

    /// `buf` compressed, in a buffer of its own size: the row group's pages are held until the
    /// chunk is written, so they must not keep the room compression needed.
    fn compress(&mut self, buf: &[u8]) -> Bytes {
        let scratch = &mut self.scratch;
        scratch.clear();
        scratch.reserve(zstd::zstd_safe::compress_bound(buf.len()));
        // A buffer of the bound always fits; the error case can't happen.
        self.compressor
            .compress_to_buffer(buf, scratch)
            .expect("zstd output buffer of compress_bound");
        Bytes::copy_from_slice(scratch)
    }

    /// The column chunk: its bytes (dictionary page first) and what the row group needs of it.
    pub(crate) fn close(mut self) -> Result<(Bytes, ColumnCloseResult)> {
        self.flush_page();
        if self.pages.is_empty() {
            // A chunk has at least one data page, even of no rows.
            self.page.rows = 0;
            let mut buf = Vec::new();
            if self.descr.max_def_level() > 0 {
                buf.extend_from_slice(&0u32.to_le_bytes());
            }
            let page = Page::DataPage {
                buf: self.compress(&buf),
                num_values: 0,
                encoding: Encoding::PLAIN,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            };
            self.pages.push(Encoded {
                page: CompressedPage::new(page, buf.len()),
                rows: 0,
                nulls: 0,
                value_bytes: 0,
                bounds: None,
            });
        }
        let uses_dictionary = self
            .pages
            .iter()
            .any(|p| p.page.encoding() == Encoding::RLE_DICTIONARY);
        let mut sink = TrackedWrite::new(Vec::new());
        let mut chunk = Chunk::default();
        {
            let mut writer = SerializedPageWriter::new(&mut sink);
            if uses_dictionary {
                let plain = self.dict.plain();
                let page = Page::DictionaryPage {
                    buf: self.compress(&plain),
                    num_values: self.dict.len() as u32,
                    encoding: Encoding::PLAIN,
                    is_sorted: false,
                };
                let spec = writer.write_page(CompressedPage::new(page, plain.len()))?;
                chunk.dictionary_offset = Some(spec.offset as i64);
                chunk.add(&spec);
                chunk.count(PageType::DICTIONARY_PAGE, Encoding::PLAIN);
            }
            for p in std::mem::take(&mut self.pages) {
                let encoding = p.page.encoding();
                let spec = writer.write_page(p.page)?;
                chunk.data_offset.get_or_insert(spec.offset as i64);
                chunk.add(&spec);
                chunk.count(PageType::DATA_PAGE, encoding);
                chunk.page(&spec, p.rows, p.nulls, p.value_bytes, p.bounds);
            }
            writer.close()?;
        }
        let bytes: Bytes = sink.into_inner()?.into();
        let close = chunk.finish(self.descr, self.compression, self.rows, uses_dictionary)?;
        Ok((bytes, close))
    }
}

/// A data page's entry in the column index.
struct IndexEntry {
    /// Minimum and maximum, unless every value is null.
    bounds: Option<(Vec<u8>, Vec<u8>)>,
    rows: i64,
    nulls: i64,
}

/// What a column chunk's metadata gathers while its pages are written.
#[derive(Default)]
struct Chunk {
    dictionary_offset: Option<i64>,
    data_offset: Option<i64>,
    compressed: i64,
    uncompressed: i64,
    value_bytes: i64,
    nulls: u64,
    counts: Vec<PageEncodingStats>,
    offsets: OffsetIndexBuilder,
    pages: Vec<IndexEntry>,
    min: Option<Vec<u8>>,
    max: Option<Vec<u8>>,
}

impl Chunk {
    fn add(&mut self, spec: &parquet::column::page::PageWriteSpec) {
        self.compressed += spec.compressed_size as i64;
        self.uncompressed += spec.uncompressed_size as i64;
    }

    fn count(&mut self, page_type: PageType, encoding: Encoding) {
        match self
            .counts
            .iter_mut()
            .find(|c| c.page_type == page_type && c.encoding == encoding)
        {
            Some(c) => c.count += 1,
            None => self.counts.push(PageEncodingStats {
                page_type,
                encoding,
                count: 1,
            }),
        }
    }

    fn page(
        &mut self,
        spec: &parquet::column::page::PageWriteSpec,
        rows: usize,
        nulls: usize,
        value_bytes: i64,
        bounds: Option<(Vec<u8>, Vec<u8>)>,
    ) {
        self.offsets
            .append_offset_and_size(spec.offset as i64, spec.compressed_size as i32);
        self.offsets.append_row_count(rows as i64);
        self.offsets
            .append_unencoded_byte_array_data_bytes(Some(value_bytes));
        self.value_bytes += value_bytes;
        self.nulls += nulls as u64;
        let (rows, nulls) = (rows as i64, nulls as i64);
        self.pages.push(match bounds {
            Some((lo, hi)) => {
                if self.min.as_ref().is_none_or(|m| lo < *m) {
                    self.min = Some(lo.clone());
                }
                if self.max.as_ref().is_none_or(|m| hi > *m) {
                    self.max = Some(hi.clone());
                }
                IndexEntry {
                    bounds: Some((lo, hi)),
                    rows,
                    nulls,
                }
            }
            None => IndexEntry {
                bounds: None,
                rows,
                nulls,
            },
        });
    }

    fn finish(
        self,
        descr: ColumnDescPtr,
        compression: Compression,
        rows: usize,
        uses_dictionary: bool,
    ) -> Result<ColumnCloseResult> {
        let mut index = ColumnIndexBuilder::new(PhysicalType::BYTE_ARRAY);
        let (mut ascending, mut descending) = (true, true);
        let mut last: Option<&(Vec<u8>, Vec<u8>)> = None;
        // Definition levels per page and in all: nulls (0), values (1).
        let levels = |nulls: i64, rows: i64| {
            (descr.max_def_level() > 0).then(|| LevelHistogram::from(vec![nulls, rows - nulls]))
        };
        for p in &self.pages {
            if let Some(b) = &p.bounds {
                if let Some(l) = last {
                    ascending &= b.0 >= l.0 && b.1 >= l.1;
                    descending &= b.0 <= l.0 && b.1 <= l.1;
                }
                last = Some(b);
            }
            let (lo, hi) = p.bounds.clone().unwrap_or_default();
            index.append(p.bounds.is_none(), lo, hi, p.nulls);
            index.append_histograms(&None, &levels(p.nulls, p.rows));
        }
        index.set_boundary_order(match (ascending, descending) {
            (true, _) => BoundaryOrder::ASCENDING,
            (false, true) => BoundaryOrder::DESCENDING,
            (false, false) => BoundaryOrder::UNORDERED,
        });
        let mut encodings = Vec::new();
        if uses_dictionary || self.counts.iter().any(|c| c.encoding == Encoding::PLAIN) {
            encodings.push(Encoding::PLAIN);
        }
        if descr.max_def_level() > 0 {
            encodings.push(Encoding::RLE);
        }
        if uses_dictionary {
            encodings.push(Encoding::RLE_DICTIONARY);
        }
        let statistics = Statistics::byte_array(
            self.min.map(ByteArray::from),
            self.max.map(ByteArray::from),
            None,
            Some(self.nulls),
            false,
        );
        let metadata = ColumnChunkMetaData::builder(Arc::clone(&descr))
            .set_compression(compression)
            .set_encodings(encodings)
            .set_num_values(rows as i64)
            .set_total_compressed_size(self.compressed)
            .set_total_uncompressed_size(self.uncompressed)
            .set_data_page_offset(self.data_offset.unwrap_or(0))
            .set_dictionary_page_offset(self.dictionary_offset)
            .set_statistics(statistics)
            .set_page_encoding_stats(self.counts)
            .set_unencoded_byte_array_data_bytes(Some(self.value_bytes))
            .set_definition_level_histogram(levels(self.nulls as i64, rows as i64))
            .build()?;
        Ok(ColumnCloseResult {
            bytes_written: self.compressed as u64,
            rows_written: rows as u64,
            metadata,
            bloom_filter: None,
            column_index: Some(index.build()?),
            offset_index: Some(self.offsets.build()),
        })
    }
}

/// A row group's dictionary: the distinct values in order of first appearance, found again by
/// an open-addressing table whose slots hold the values' first 24 bytes, so that finding a value
/// of up to 24 bytes (addresses, ids, words) reads one slot and nothing else.
#[derive(Default)]
struct Dict {
    data: Vec<u8>,
    /// End of each value in `data` (a value starts where the one before ends).
    ends: Vec<u32>,
    /// Per value, its first 8 bytes (zeros past its end) as a big-endian number: a smaller
    /// prefix means a smaller value.
    prefixes: Vec<u64>,
    /// A power of two at least twice the number of values.
    slots: Vec<Slot>,
    /// Size of the PLAIN dictionary page: a 4-byte length and the bytes, per value.
    plain_bytes: usize,
}

/// One slot: a value's [`Head`], its length and its key + 1 (0: an empty slot). Two slots make
/// a cache line.
#[derive(Clone, Copy, Default)]
#[repr(C, align(32))]
struct Slot {
    head: Head,
    len: u32,
    key: u32,
}

/// A value of up to 24 bytes as three words that, with its length, determine it (each byte is
/// in some word at a place its length fixes); a longer value's first 24 bytes.
type Head = [u64; 3];

/// Rows between a slot's prefetch and its lookup ([`DictColumn::write_text`]).
const AHEAD: usize = 8;

/// Values up to this long are compared by their [`Head`] alone.
const HEAD_BYTES: usize = 24;

fn head(v: &[u8]) -> Head {
    let n = v.len();
    let w64 = |i: usize| u64::from_le_bytes(v[i..i + 8].try_into().expect("8 bytes"));
    let w32 = |i: usize| u64::from(u32::from_le_bytes(v[i..i + 4].try_into().expect("4 bytes")));
    match n {
        0 => [0; 3],
        1..=3 => [
            u64::from(v[0]) | u64::from(v[n / 2]) << 8 | u64::from(v[n - 1]) << 16,
            0,
            0,
        ],
        4..=7 => [w32(0) | w32(n - 4) << 32, 0, 0],
        8..=16 => [w64(0), w64(n - 8), 0],
        17..=24 => [w64(0), w64(8), w64(n - 8)],
        _ => [w64(0), w64(8), w64(16)],
    }
}

impl Dict {
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// No more room for a key: the column goes on without a dictionary.
    fn full(&self) -> bool {
        self.len() >= u32::MAX as usize - 1
    }

    /// The length of value `k`.
    fn len_of(&self, k: u32) -> usize {
        let k = k as usize;
        (self.ends[k] - if k == 0 { 0 } else { self.ends[k - 1] }) as usize
    }

    fn value(&self, k: u32) -> &[u8] {
        let k = k as usize;
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.data[start..self.ends[k] as usize]
    }

    /// The key of `v`, added if new.
    fn intern(&mut self, v: &[u8]) -> u32 {
        let head = head(v);
        self.intern_hashed(v, head, hash(&head, v))
    }

    /// Asks the CPU to bring the slot where a value of hash `h` is looked for into its cache.
    #[inline]
    fn prefetch(&self, h: u64) {
        if self.slots.is_empty() {
            return;
        }
        let at = &self.slots[h as usize & (self.slots.len() - 1)];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch has no effect but on caches, and `at` is a valid reference.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>((at as *const Slot).cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = at;
    }

    /// [`Dict::intern`] of `v` whose head and hash are known.
    fn intern_hashed(&mut self, v: &[u8], head: Head, h: u64) -> u32 {
        if (self.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut at = h as usize & mask;
        loop {
            let s = self.slots[at];
            if s.key == 0 {
                let k = self.len() as u32;
                self.data.extend_from_slice(v);
                self.ends.push(self.data.len() as u32);
                let mut prefix = [0u8; 8];
                let n = v.len().min(8);
                prefix[..n].copy_from_slice(&v[..n]);
                self.prefixes.push(u64::from_be_bytes(prefix));
                self.plain_bytes += 4 + v.len();
                self.slots[at] = Slot {
                    head,
                    len: v.len() as u32,
                    key: k + 1,
                };
                return k;
            }
            // Differences or'ed together: a chain of word comparisons is merged by the compiler
            // into a call to `memcmp`, which costs more than the comparison.
            let differ = (s.head[0] ^ head[0]) | (s.head[1] ^ head[1]) | (s.head[2] ^ head[2]);
            if differ == 0
                && s.len as usize == v.len()
                && (v.len() <= HEAD_BYTES || self.value(s.key - 1) == v)
            {
                return s.key - 1;
            }
            at = (at + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(1024);
        let mut slots = vec![Slot::default(); size];
        let mask = size - 1;
        for old in self.slots.iter().filter(|s| s.key != 0) {
            let v = self.value(old.key - 1);
            let mut at = hash(&old.head, v) as usize & mask;
            while slots[at].key != 0 {
                at = (at + 1) & mask;
            }
            slots[at] = *old;
        }
        self.slots = slots;
    }

    /// The values PLAIN-encoded: the dictionary page's contents.
    fn plain(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.plain_bytes);
        for k in 0..self.len() as u32 {
            let v = self.value(k);
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v);
        }
        out
    }
}

/// `a < b` in byte order, 8 bytes at a time inline (values are short: a call to `memcmp` costs
/// more than the comparison).
fn less(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    let word = |s: &[u8], i: usize| u64::from_be_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let mut i = 0;
    while i + 8 <= n {
        let (x, y) = (word(a, i), word(b, i));
        if x != y {
            return x < y;
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

/// A fast hash of a value from its [`Head`] (and, past 24 bytes, the rest, 8 bytes at a time):
/// each word mixed in by a multiplication, with a per-process seed and a final avalanche so the
/// low bits (the table slot) depend on every byte.
fn hash(head: &Head, v: &[u8]) -> u64 {
    const M: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = seed() ^ (v.len() as u64).wrapping_mul(M);
    for &w in head {
        h = (h ^ w).wrapping_mul(M).rotate_left(31);
    }
    if v.len() > HEAD_BYTES {
        for w in v[HEAD_BYTES..].chunks(8) {
            let mut b = [0u8; 8];
            b[..w.len()].copy_from_slice(w);
            h = (h ^ u64::from_le_bytes(b)).wrapping_mul(M).rotate_left(31);
        }
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// A per-process random seed, so input can't be made to collide on purpose.
fn seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringArray, UInt32Array};
    use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
    use parquet::basic::{LogicalType, Repetition, ZstdLevel};
    use parquet::file::metadata::PageIndexPolicy;
    use parquet::file::page_index::column_index::ColumnIndexMetaData;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::{SchemaDescriptor, Type};
    use proptest::prelude::*;

    /// A file of one optional text column, written by [`DictColumn`] from `pieces` (one row
    /// group), with pages of at most `page_rows` rows and a dictionary of at most `dict_bytes`.
    fn write(pieces: &[ArrayRef], page_rows: usize, dict_bytes: usize) -> Vec<u8> {
        let column = Type::primitive_type_builder("c", PhysicalType::BYTE_ARRAY)
            .with_repetition(Repetition::OPTIONAL)
            .with_logical_type(Some(LogicalType::String))
            .build()
            .unwrap();
        let schema = Arc::new(
            Type::group_type_builder("schema")
                .with_fields(vec![Arc::new(column)])
                .build()
                .unwrap(),
        );
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap()))
                .set_data_page_row_count_limit(page_rows)
                .set_dictionary_page_size_limit(dict_bytes)
                .build(),
        );
        let descr = SchemaDescriptor::new(schema.clone()).column(0);
        assert!(applies(&descr, &DataType::Utf8, &props));
        let mut out = Vec::new();
        let mut file = SerializedFileWriter::new(&mut out, schema, props.clone()).unwrap();
        let mut w = DictColumn::new(descr, &props).unwrap();
        for p in pieces {
            w.write(p.as_ref()).unwrap();
        }
        let (bytes, close) = w.close().unwrap();
        let mut rg = file.next_row_group().unwrap();
        rg.append_column(&bytes, close).unwrap();
        rg.close().unwrap();
        file.close().unwrap();
        out
    }

    /// The values read back by parquet's own reader, and the file's chunk statistics, page
    /// index (per page: first row, null page, min, max, null count) and encodings.
    #[allow(clippy::type_complexity)]
    fn read(
        file: Vec<u8>,
    ) -> (
        Vec<Option<String>>,
        Option<(Vec<u8>, Vec<u8>)>,
        u64,
        Vec<(usize, bool, Vec<u8>, Vec<u8>, i64)>,
        Vec<Encoding>,
    ) {
        let file = Bytes::from(file);
        let opts = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, opts).unwrap();
        let meta = builder.metadata().clone();
        let mut values = Vec::new();
        for b in builder.build().unwrap() {
            let b = b.unwrap();
            values.extend(
                b.column(0)
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.map(String::from)),
            );
        }
        let chunk = meta.row_group(0).column(0);
        let stats = chunk.statistics().unwrap();
        let bounds = stats
            .min_bytes_opt()
            .map(|lo| (lo.to_vec(), stats.max_bytes_opt().unwrap().to_vec()));
        let nulls = stats.null_count_opt().unwrap();
        let index = &meta.column_index().unwrap()[0][0];
        let offsets = &meta.offset_index().unwrap()[0][0];
        let ColumnIndexMetaData::BYTE_ARRAY(index) = index else {
            panic!("not a byte array index: {index:?}")
        };
        let pages = offsets
            .page_locations()
            .iter()
            .enumerate()
            .map(|(i, loc)| {
                let null_page = index.is_null_page(i);
                let bytes = |v: Option<&[u8]>| v.map_or_else(Vec::new, <[u8]>::to_vec);
                (
                    loc.first_row_index as usize,
                    null_page,
                    bytes(index.min_value(i)),
                    bytes(index.max_value(i)),
                    index.null_count(i).unwrap(),
                )
            })
            .collect();
        let encodings = chunk.encodings().collect();
        (values, bounds, nulls, pages, encodings)
    }

    /// Checks a written file against the rows it was written from: the values, the chunk's
    /// statistics, and each page's index entry against a plain scan of that page's rows.
    fn check(rows: &[Option<String>], file: Vec<u8>) -> Vec<Encoding> {
        let (values, bounds, nulls, pages, encodings) = read(file);
        assert_eq!(values, rows);
        let scan = |rows: &[Option<String>]| {
            let present: Vec<&[u8]> = rows.iter().flatten().map(|s| s.as_bytes()).collect();
            let lo = present.iter().min().map(|v| v.to_vec());
            let hi = present.iter().max().map(|v| v.to_vec());
            (lo.zip(hi), rows.iter().filter(|v| v.is_none()).count())
        };
        let (all, all_nulls) = scan(rows);
        assert_eq!(bounds, all);
        assert_eq!(nulls as usize, all_nulls);
        for (i, (first, null_page, lo, hi, page_nulls)) in pages.iter().enumerate() {
            let end = pages.get(i + 1).map_or(rows.len(), |p| p.0);
            let (b, n) = scan(&rows[*first..end]);
            assert_eq!(*page_nulls as usize, n, "page {i}");
            match b {
                Some((blo, bhi)) => {
                    assert!(!null_page, "page {i}");
                    assert_eq!((lo, hi), (&blo, &bhi), "page {i}");
                }
                None => assert!(null_page, "page {i}"),
            }
        }
        encodings
    }

    /// Values that share long prefixes and differ late, of lengths around the 8/16/24-byte
    /// boundaries of a slot's head, plus the empty string.
    fn pool() -> Vec<String> {
        let mut v = vec![String::new(), "a".into(), "ab".into(), "abc".into()];
        for n in [7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 40] {
            for last in ['x', 'y'] {
                let mut s = "p".repeat(n - 1);
                s.push(last);
                v.push(s);
            }
        }
        v.extend(
            [
                "10.0.0.1",
                "10.0.0.10",
                "eni-0123456789abcdef0",
                "ACCEPT",
                "REJECT",
            ]
            .map(String::from),
        );
        v
    }

    fn text(rows: &[Option<String>]) -> ArrayRef {
        Arc::new(rows.iter().map(|v| v.as_deref()).collect::<StringArray>())
    }

    /// The rows' values as the values of a dictionary array, and a null one after them.
    fn values_of(pool: &[String]) -> ArrayRef {
        let vals: Vec<Option<&str>> = pool
            .iter()
            .map(|s| Some(s.as_str()))
            .chain([None])
            .collect();
        Arc::new(vals.into_iter().collect::<StringArray>())
    }

    /// The same rows as a dictionary array over `values` ([`values_of`] the pool), with keys
    /// chosen so that some rows are null by key and some by a null value.
    fn dictionary(rows: &[Option<String>], pool: &[String], values: ArrayRef) -> ArrayRef {
        let keys: UInt32Array = rows
            .iter()
            .enumerate()
            .map(|(i, r)| match r {
                Some(s) => Some(pool.iter().position(|v| v == s).unwrap() as u32),
                None if i % 2 == 0 => None,
                None => Some(pool.len() as u32),
            })
            .collect();
        Arc::new(DictionaryArray::<UInt32Type>::try_new(keys, values).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any rows, cut into any pieces, as text or as dictionary arrays, with any page size
        /// and a dictionary limit that is often reached: parquet's reader reads back the rows,
        /// and the statistics and page index agree with a scan of them.
        #[test]
        fn reads_back_with_exact_statistics(
            picks in proptest::collection::vec(proptest::option::weighted(0.8, any::<proptest::sample::Index>()), 0..300),
            cuts in proptest::collection::vec(1usize..120, 1..8),
            page_rows in 1usize..70,
            dict_bytes in prop_oneof![Just(1usize << 20), 1usize..200],
            as_dictionary in any::<bool>(),
            shared_values in any::<bool>(),
        ) {
            let pool = pool();
            let rows: Vec<Option<String>> =
                picks.iter().map(|p| p.map(|i| pool[i.index(pool.len())].clone())).collect();
            let shared = values_of(&pool);
            let mut pieces = Vec::new();
            let mut at = 0;
            for c in cuts.iter().cycle() {
                if at >= rows.len() {
                    break;
                }
                let part = &rows[at..(at + c).min(rows.len())];
                pieces.push(if as_dictionary {
                    // Pieces over one values array (as the attribution's are) or each its own.
                    let values = if shared_values { shared.clone() } else { values_of(&pool) };
                    dictionary(part, &pool, values)
                } else {
                    text(part)
                });
                at += c;
            }
            check(&rows, write(&pieces, page_rows, dict_bytes));
        }
    }

    #[test]
    fn the_dictionary_limit_turns_the_rest_of_the_chunk_plain() {
        let rows: Vec<Option<String>> = (0..500).map(|i| Some(format!("value-{i}"))).collect();
        let encodings = check(&rows, write(&[text(&rows)], 64, 1000));
        assert!(
            encodings.contains(&Encoding::RLE_DICTIONARY),
            "{encodings:?}"
        );
        assert!(encodings.contains(&Encoding::PLAIN), "{encodings:?}");
        let encodings = check(&rows, write(&[text(&rows)], 64, 1 << 20));
        assert!(
            encodings.contains(&Encoding::RLE_DICTIONARY),
            "{encodings:?}"
        );
    }

    #[test]
    fn other_dictionaries_and_views_write_as_their_text() {
        let rows: Vec<Option<String>> = (0..300)
            .map(|i| (i % 5 != 0).then(|| format!("v{}", i % 17)))
            .collect();
        let int_keys: ArrayRef = Arc::new(
            rows.iter()
                .map(|v| v.as_deref())
                .collect::<DictionaryArray<arrow::datatypes::Int32Type>>(),
        );
        let views: ArrayRef = Arc::new(
            rows.iter()
                .map(|v| v.as_deref())
                .collect::<StringViewArray>(),
        );
        check(&rows, write(&[int_keys], 64, 1 << 20));
        check(&rows, write(&[views], 64, 1 << 20));
    }

    #[test]
    fn an_empty_or_all_null_chunk_is_a_valid_one() {
        check(&[], write(&[], 10, 1 << 20));
        let rows = vec![None; 25];
        check(&rows, write(&[text(&rows)], 10, 1 << 20));
    }

    proptest! {
        #[test]
        fn less_orders_as_slices_do(a in proptest::collection::vec(0u8..4, 0..20), b in proptest::collection::vec(0u8..4, 0..20)) {
            prop_assert_eq!(less(&a, &b), a < b);
        }
    }

    #[test]
    fn equal_values_get_one_key_whatever_their_length() {
        let mut d = Dict::default();
        let pool = pool();
        let keys: Vec<u32> = pool.iter().map(|v| d.intern(v.as_bytes())).collect();
        assert_eq!(keys, (0..pool.len() as u32).collect::<Vec<_>>());
        for (v, k) in pool.iter().zip(&keys) {
            assert_eq!(d.intern(v.as_bytes()), *k);
            assert_eq!(d.value(*k), v.as_bytes());
        }
        // Many more values than the first table holds: it grows and keeps every key.
        let many: Vec<String> = (0..5000)
            .map(|i| format!("10.{}.{}.{}", i % 7, i / 256, i % 256))
            .collect();
        let first: Vec<u32> = many.iter().map(|v| d.intern(v.as_bytes())).collect();
        let again: Vec<u32> = many.iter().map(|v| d.intern(v.as_bytes())).collect();
        assert_eq!(first, again);
    }
}
