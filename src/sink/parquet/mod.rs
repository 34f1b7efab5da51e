//! Parquet output with AWS's column names and types: zstd, page statistics, dictionary encoding
//! where it pays, and columns encoded in parallel.
//!
//! The writer keeps one Parquet column writer per column for the current row group. Each incoming
//! batch is split by column and the columns are encoded concurrently (rayon); when the row group is
//! full, the encoded column chunks are appended to the file in order. Only the current row group's
//! encoded (compressed) pages are held in memory.
//!
//! Text columns with a dictionary are encoded by our own writer (`dictionary.rs`) rather than
//! arrow-rs's column writer, which hashes every value again (that module says why and how); the
//! chunks of both kinds are appended to the row group in column order.
//!
//! Dictionary encoding is switched off for columns whose values are nearly unique per flow
//! (ephemeral ports, counters, ECS task/container ids): interning them costs more time than the
//! dictionary saves space. Addresses keep it: measured on 5M generated default records, plain
//! addresses save 11% of the time but make the file 50% larger (82 → 124 MB), and real VPCs
//! repeat their addresses more than the generator does. Low-cardinality columns (account,
//! interface, action, status, protocol, service ports, VPC/subnet ids, regions…) keep it too; the
//! writer falls back to plain pages by itself when a column's dictionary grows past its limit.

mod dictionary;
mod rle;

use std::io::Write;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnDescPtr, ColumnPath};
use rayon::prelude::*;

use super::sort::Sorter;
use crate::error::Error;

/// Parquet writer settings.
#[derive(Debug, Clone)]
pub struct ParquetOptions {
    /// zstd level (1 fastest … 22 smallest).
    pub zstd_level: i32,
    /// Rows per row group.
    pub row_group_rows: usize,
    /// Order the rows of each window of `cluster_rows` rows by this column (stable, nulls
    /// last), so equal values lie together: hash aggregates and `DISTINCT` over it touch the
    /// same entries row after row, pages of it get narrow min/max statistics, and it
    /// compresses better. The windows are cut by row count, so the output is the same whatever
    /// the batch sizes.
    pub cluster_by: Option<String>,
    /// Rows per clustering window (memory: one window of Arrow rows).
    pub cluster_rows: usize,
    /// Order all rows of the file by these columns (ascending, nulls last, the first column
    /// first; equal keys in input order), in bounded memory ([`super::sort`]), and record the
    /// order in each row group's `sorting_columns`, so readers (DataFusion among them) know it.
    pub sort_by: Vec<String>,
    /// Arrow bytes held before a run of the sort is set aside in a temporary file.
    pub sort_run_bytes: usize,
    /// A temporary file read back once by this program (a sort run): fast LZ4 pages, no
    /// dictionaries or statistics.
    pub scratch: bool,
    /// Text columns with a dictionary are encoded by our dictionary writer (the default);
    /// `false` leaves them to arrow-rs's, against which tests and benchmarks compare ours.
    pub own_dictionaries: bool,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            zstd_level: 1,
            row_group_rows: 1 << 20,
            cluster_by: None,
            cluster_rows: CLUSTER_ROWS,
            sort_by: Vec::new(),
            sort_run_bytes: super::sort::SORT_RUN_BYTES,
            scratch: false,
            own_dictionaries: true,
        }
    }
}

/// Default rows per clustering window: enough for long runs of repeated addresses, small
/// enough that a window of the widest layout stays in tens of megabytes.
pub const CLUSTER_ROWS: usize = 1 << 17;

/// About how many bytes of Arrow data make one byte of our Parquet (5M generated default
/// records: about 710 MB in Arrow, 82 MB of Parquet), for sizing files whose rows are still
/// held.
pub(crate) const ARROW_TO_PARQUET: usize = 8;

/// Columns whose values are close to unique per record: no dictionary.
const NO_DICTIONARY: &[&str] = &[
    "srcport",
    "packets",
    "bytes",
    "ecs_container_id",
    "ecs_second_container_id",
    "ecs_task_arn",
    "ecs_task_id",
    "ecs_container_instance_arn",
    "ecs_container_instance_id",
];

/// Writer properties for a flow log dataset with columns `schema`.
pub fn properties(opts: &ParquetOptions, schema: &SchemaRef) -> Result<WriterProperties, Error> {
    let level = ZstdLevel::try_new(opts.zstd_level)
        .map_err(|e| Error::Usage(format!("zstd level {}: {e}", opts.zstd_level)))?;
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_enabled(true)
        .set_created_by(format!("vpcflow {}", env!("CARGO_PKG_VERSION")));
    if !opts.sort_by.is_empty() {
        let columns = sort_columns(&opts.sort_by, schema)?
            .into_iter()
            .map(|i| SortingColumn {
                column_idx: i as i32,
                descending: false,
                nulls_first: false,
            })
            .collect();
        b = b.set_sorting_columns(Some(columns));
    }
    if opts.scratch {
        return Ok(b
            .set_compression(Compression::LZ4_RAW)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::None)
            .build());
    }
    for f in schema.fields() {
        if NO_DICTIONARY.contains(&f.name().as_str()) {
            b = b.set_column_dictionary_enabled(ColumnPath::from(f.name().as_str()), false);
        }
    }
    Ok(b.build())
}

/// The indices of the `--sort-by` columns.
fn sort_columns(names: &[String], schema: &SchemaRef) -> Result<Vec<usize>, Error> {
    names
        .iter()
        .map(|c| {
            schema
                .index_of(c)
                .map_err(|_| super::no_such_column("--sort-by", c, schema))
        })
        .collect()
}

/// Streams record batches into a Parquet file, encoding columns in parallel.
pub struct ParquetSink<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    writers: Option<Vec<ColumnEncoder>>,
    /// Per column, its descriptor if [`dictionary::DictColumn`] writes it.
    own: Vec<Option<ColumnDescPtr>>,
    props: WriterProperties,
    rows_in_group: usize,
    row_group_rows: usize,
    groups: usize,
    groups_rows: usize,
    name: String,
    /// The clustering column and window size, and the rows held for the current window.
    cluster: Option<(usize, usize)>,
    held: Vec<RecordBatch>,
    held_rows: usize,
    /// The whole file's rows, when they are to be ordered.
    sorter: Option<Sorter>,
}

fn write_err(name: &str, e: impl std::fmt::Display) -> Error {
    Error::Write {
        path: name.to_string(),
        reason: e.to_string(),
    }
}

impl<W: Write + Send> ParquetSink<W> {
    /// Starts a Parquet stream on `out` (named `name` in errors).
    pub fn new(
        out: W,
        name: &str,
        schema: SchemaRef,
        opts: &ParquetOptions,
    ) -> Result<Self, Error> {
        // ArrowWriter sets up the Parquet schema and embeds the Arrow schema in the footer, so
        // readers get back exactly our types; its lower-level parts do the parallel writing.
        let props = properties(opts, &schema)?;
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(props.clone()))
            .map_err(|e| write_err(name, e))?;
        let (file, factory) = writer
            .into_serialized_writer()
            .map_err(|e| write_err(name, e))?;
        let own = if opts.own_dictionaries {
            own_columns(&schema, &file, &props)
        } else {
            vec![None; schema.fields().len()]
        };
        let cluster = match &opts.cluster_by {
            None => None,
            Some(c) => Some((
                schema
                    .index_of(c)
                    .map_err(|_| super::no_such_column("--cluster-by", c, &schema))?,
                opts.cluster_rows.max(1),
            )),
        };
        let sorter = if opts.sort_by.is_empty() {
            None
        } else {
            if cluster.is_some() {
                return Err(Error::Usage(
                    "--sort-by and --cluster-by can't be combined (--sort-by orders the whole file)"
                        .into(),
                ));
            }
            let keys = sort_columns(&opts.sort_by, &schema)?;
            Some(Sorter::new(
                schema.clone(),
                keys,
                opts.sort_run_bytes,
                name,
                write_sort_run,
            )?)
        };
        Ok(ParquetSink {
            sorter,
            file,
            factory,
            schema,
            writers: None,
            own,
            props,
            rows_in_group: 0,
            row_group_rows: opts.row_group_rows.max(1),
            groups: 0,
            groups_rows: 0,
            name: name.to_string(),
            cluster,
            held: Vec::new(),
            held_rows: 0,
        })
    }

    /// Appends a batch (split across row groups as needed).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        self.write_all(std::slice::from_ref(batch))
    }

    /// Appends batches in order, as if they were one (split across row groups as needed). The
    /// pieces go to the column encoders one after another, without being joined into one copy
    /// first.
    pub fn write_all(&mut self, batches: &[RecordBatch]) -> Result<(), Error> {
        if let Some(sorter) = &mut self.sorter {
            return batches.iter().try_for_each(|b| sorter.push(b));
        }
        let Some((_, window)) = self.cluster else {
            return self.write_rows(batches);
        };
        for batch in batches {
            let mut offset = 0;
            while offset < batch.num_rows() {
                let n = (window - self.held_rows).min(batch.num_rows() - offset);
                self.held.push(batch.slice(offset, n));
                self.held_rows += n;
                offset += n;
                if self.held_rows == window {
                    self.flush_window()?;
                }
            }
        }
        Ok(())
    }

    /// Writes the held window's rows ordered by the clustering column.
    fn flush_window(&mut self) -> Result<(), Error> {
        let Some((col, _)) = self.cluster else {
            return Ok(());
        };
        let held = std::mem::take(&mut self.held);
        self.held_rows = 0;
        if held.is_empty() {
            return Ok(());
        }
        let sorted = cluster(&held, col).map_err(|e| write_err(&self.name, e))?;
        self.write_rows(&[sorted])
    }

    fn write_rows(&mut self, batches: &[RecordBatch]) -> Result<(), Error> {
        let mut seg: Vec<RecordBatch> = Vec::new();
        let mut seg_rows = 0;
        for batch in batches {
            let mut offset = 0;
            while offset < batch.num_rows() {
                let room = self.row_group_rows - self.rows_in_group - seg_rows;
                let n = room.min(batch.num_rows() - offset);
                seg.push(if n == batch.num_rows() {
                    batch.clone()
                } else {
                    batch.slice(offset, n)
                });
                seg_rows += n;
                offset += n;
                if self.rows_in_group + seg_rows >= self.row_group_rows {
                    self.encode(&seg)?;
                    seg.clear();
                    seg_rows = 0;
                    self.flush_group()?;
                }
            }
        }
        if !seg.is_empty() {
            self.encode(&seg)?;
        }
        Ok(())
    }

    /// Encodes `pieces` (rows of the current row group): one task per column, each writing the
    /// column of every piece in order.
    fn encode(&mut self, pieces: &[RecordBatch]) -> Result<(), Error> {
        if self.writers.is_none() {
            let arrow = self
                .factory
                .create_column_writers(self.groups)
                .map_err(|e| write_err(&self.name, e))?;
            let writers = arrow
                .into_iter()
                .zip(&self.own)
                .map(|(w, own)| match own {
                    Some(descr) => dictionary::DictColumn::new(descr.clone(), &self.props)
                        .map(|d| ColumnEncoder::Own(Box::new(d))),
                    None => Ok(ColumnEncoder::Arrow(Box::new(w))),
                })
                .collect::<Result<_, _>>()
                .map_err(|e| write_err(&self.name, e))?;
            self.writers = Some(writers);
        }
        let writers = self.writers.as_mut().expect("created above");
        let fields = self.schema.fields();
        writers
            .par_iter_mut()
            .zip(fields.par_iter())
            .enumerate()
            .try_for_each(|(i, (w, field))| -> parquet::errors::Result<()> {
                for piece in pieces {
                    match w {
                        ColumnEncoder::Arrow(w) => {
                            let mut column = piece.column(i).clone();
                            if column.data_type() != field.data_type() {
                                column = arrow::compute::cast(&column, field.data_type())?;
                            }
                            for leaf in compute_leaves(field, &column)? {
                                w.write(&leaf)?;
                            }
                        }
                        ColumnEncoder::Own(d) => d.write(piece.column(i).as_ref())?,
                    }
                }
                Ok(())
            })
            .map_err(|e| write_err(&self.name, e))?;
        self.rows_in_group += pieces.iter().map(RecordBatch::num_rows).sum::<usize>();
        Ok(())
    }

    fn flush_group(&mut self) -> Result<(), Error> {
        let Some(writers) = self.writers.take() else {
            return Ok(());
        };
        let chunks = writers
            .into_par_iter()
            .map(|w| match w {
                ColumnEncoder::Arrow(w) => w.close().map(|c| Chunk::Arrow(Box::new(c))),
                ColumnEncoder::Own(d) => d.close().map(|c| Chunk::Own(Box::new(c))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| write_err(&self.name, e))?;
        let mut rg = self
            .file
            .next_row_group()
            .map_err(|e| write_err(&self.name, e))?;
        for c in chunks {
            match c {
                Chunk::Arrow(c) => c.append_to_row_group(&mut rg),
                Chunk::Own(c) => {
                    let (bytes, close) = *c;
                    rg.append_column(&bytes, close)
                }
            }
            .map_err(|e| write_err(&self.name, e))?;
        }
        rg.close().map_err(|e| write_err(&self.name, e))?;
        self.groups += 1;
        self.groups_rows += self.rows_in_group;
        self.rows_in_group = 0;
        Ok(())
    }

    /// Whether batches may hold dictionary arrays (`Dictionary(UInt32, Utf8)`) for text
    /// columns of the schema: when rows are neither sorted nor clustered (which compare rows by
    /// their Arrow types). Our dictionary writer takes their keys; a column arrow-rs writes gets
    /// them cast to text first.
    pub fn takes_dictionaries(&self) -> bool {
        self.sorter.is_none() && self.cluster.is_none()
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.groups_rows
            + self.rows_in_group
            + self.held_rows
            + self.sorter.as_ref().map_or(0, Sorter::rows_taken)
    }

    /// About how large the file is so far: bytes written plus the current row group's encoded
    /// pages; rows held for `sort_by` count as their Arrow size over [`ARROW_TO_PARQUET`].
    pub(crate) fn estimated_bytes(&self) -> usize {
        self.file.bytes_written()
            + self.writers.as_ref().map_or(0, |ws| {
                ws.iter()
                    .map(|w| match w {
                        ColumnEncoder::Arrow(w) => w.get_estimated_total_bytes(),
                        ColumnEncoder::Own(d) => d.estimated_bytes(),
                    })
                    .sum()
            })
            + self
                .sorter
                .as_ref()
                .map_or(0, |s| s.bytes_taken() / ARROW_TO_PARQUET)
    }

    /// Writes the last row group and the footer, and returns the underlying writer.
    pub fn finish(mut self) -> Result<W, Error> {
        if let Some(sorter) = self.sorter.take() {
            sorter.finish(&mut |batches| self.write_rows(batches))?;
        }
        self.flush_window()?;
        if self.rows_in_group > 0 {
            self.flush_group()?;
        }
        let name = self.name;
        self.file.into_inner().map_err(|e| write_err(&name, e))
    }
}

/// How one column of the current row group is encoded.
enum ColumnEncoder {
    Arrow(Box<ArrowColumnWriter>),
    Own(Box<dictionary::DictColumn>),
}

/// An encoded column chunk, to be appended to the row group.
enum Chunk {
    Arrow(Box<ArrowColumnChunk>),
    Own(Box<(bytes::Bytes, parquet::column::writer::ColumnCloseResult)>),
}

/// Per field of `schema`, the column descriptor when [`dictionary::DictColumn`] writes it: a
/// text field that is one leaf column with a dictionary (see [`dictionary::applies`]).
fn own_columns<W: Write + Send>(
    schema: &SchemaRef,
    file: &SerializedFileWriter<W>,
    props: &WriterProperties,
) -> Vec<Option<ColumnDescPtr>> {
    let leaves = file.schema_descr().columns();
    schema
        .fields()
        .iter()
        .map(|f| {
            let mut mine = leaves
                .iter()
                .filter(|c| c.path().parts().first() == Some(f.name()));
            match (mine.next(), mine.next()) {
                (Some(c), None)
                    if c.path().parts().len() == 1
                        && dictionary::applies(c, f.data_type(), props) =>
                {
                    Some(c.clone())
                }
                _ => None,
            }
        })
        .collect()
}

/// Writes one ordered run of `--sort-by` to a temporary file read back once by the merge:
/// fast LZ4 pages, no dictionaries or statistics ([`Sorter`]'s [`super::sort::WriteRun`]).
pub(crate) fn write_sort_run(
    file: std::fs::File,
    name: &str,
    schema: SchemaRef,
    batch: &RecordBatch,
) -> Result<(), Error> {
    let opts = ParquetOptions {
        row_group_rows: 1 << 16,
        scratch: true,
        ..ParquetOptions::default()
    };
    let mut sink = ParquetSink::new(file, name, schema, &opts)?;
    sink.write(batch)?;
    sink.finish()?;
    Ok(())
}

/// The rows of `batches` as one batch, ordered by column `col` (ascending, nulls last; rows with
/// equal values keep their order).
fn cluster(batches: &[RecordBatch], col: usize) -> Result<RecordBatch, arrow::error::ArrowError> {
    let field = arrow::row::SortField::new_with_options(
        batches[0].schema().field(col).data_type().clone(),
        super::sort::ORDER,
    );
    let converter = arrow::row::RowConverter::new(vec![field])?;
    super::sort::order(batches, &[col], &converter)
}

impl crate::pipeline::Sink for ParquetSink<crate::sink::Target> {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        ParquetSink::write(self, batch)
    }

    fn takes_dictionaries(&self) -> bool {
        ParquetSink::takes_dictionaries(self)
    }

    fn finish(self: Box<Self>, commit: bool) -> Result<crate::pipeline::Written, Error> {
        ParquetSink::finish(*self)?.close(commit)
    }
}
