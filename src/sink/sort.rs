//! Orders a whole file's rows by key columns, in bounded memory (`convert --sort-by`).
//!
//! Batches are held until their Arrow size passes a budget; the held rows are then ordered (one
//! run) and, unless they are all the rows there are, written to a temporary Parquet file. At the
//! end the runs are merged: each run is read back batch by batch and the smallest current key
//! of all runs is taken next, so memory holds one batch per run, whatever the input size.
//!
//! The order is ascending with nulls last, compared column by column (the first key column
//! first); rows with equal keys keep their input order (runs are cut in input order and the
//! merge prefers the earlier run), so the output is fully determined by the input rows, not by
//! batch sizes, threads or the memory budget.
//!
//! Runs go to a private directory with a random name (`vpcflow-sort-XXXXXX`) in `TMPDIR`,
//! removed with its files when the sorter is dropped or the process is interrupted
//! ([`crate::cleanup`]).
//!
//! Keys are compared as byte strings made by Arrow's row format ([`RowConverter`]), which
//! orders them exactly as the columns order.

use std::cmp::Ordering;
use std::fs::File;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::SortOptions;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::row::{RowConverter, Rows, SortField};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use rayon::prelude::*;

use crate::cleanup::{Access, TempPath};
use crate::error::Error;

/// Default Arrow bytes held before a run is ordered and set aside.
pub const SORT_RUN_BYTES: usize = 128 << 20;

/// Rows per batch read back from a run, and per merged batch.
const MERGE_BATCH_ROWS: usize = 8192;

/// The key order: ascending, nulls last.
pub const ORDER: SortOptions = SortOptions {
    descending: false,
    nulls_first: false,
};

/// Writes an ordered run (`batch`, of `schema`) to a new Parquet file named `name` in errors.
/// The Parquet writer provides it, so this module needs nothing of the writer.
pub(crate) type WriteRun =
    fn(file: File, name: &str, schema: SchemaRef, batch: &RecordBatch) -> Result<(), Error>;

/// Collects a file's rows and hands them back ordered: see the module documentation.
pub(crate) struct Sorter {
    schema: SchemaRef,
    keys: Vec<usize>,
    converter: RowConverter,
    budget_bytes: usize,
    held: Vec<RecordBatch>,
    held_bytes: usize,
    /// Rows and Arrow bytes taken in all.
    taken_rows: usize,
    taken_bytes: usize,
    /// The temporary directory of the runs set aside (made at the first one).
    dir: Option<TempPath>,
    runs: Vec<TempPath>,
    /// Writes one ordered run to its file (the Parquet writer's scratch mode).
    write_run: WriteRun,
    /// The output's name, for errors.
    name: String,
}

fn sort_err(name: &str, e: impl std::fmt::Display) -> Error {
    Error::Write {
        path: name.to_string(),
        reason: format!("ordering rows: {e}"),
    }
}

impl Sorter {
    /// A sorter of rows of `schema` by columns `keys` (indices), holding about `budget_bytes`
    /// of Arrow data before setting a run aside with `write_run`. `name` names the output in
    /// errors.
    pub fn new(
        schema: SchemaRef,
        keys: Vec<usize>,
        budget_bytes: usize,
        name: &str,
        write_run: WriteRun,
    ) -> Result<Sorter, Error> {
        let fields = keys
            .iter()
            .map(|&k| SortField::new_with_options(schema.field(k).data_type().clone(), ORDER))
            .collect();
        let converter = RowConverter::new(fields).map_err(|e| sort_err(name, e))?;
        Ok(Sorter {
            schema,
            keys,
            converter,
            budget_bytes: budget_bytes.max(1),
            held: Vec::new(),
            held_bytes: 0,
            taken_rows: 0,
            taken_bytes: 0,
            dir: None,
            runs: Vec::new(),
            write_run,
            name: name.to_string(),
        })
    }

    /// Rows taken so far.
    pub(crate) fn rows_taken(&self) -> usize {
        self.taken_rows
    }

    /// Arrow bytes taken so far.
    pub(crate) fn bytes_taken(&self) -> usize {
        self.taken_bytes
    }

    /// Takes a batch; sets a run aside when the held rows pass the budget.
    pub fn push(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let bytes = batch.get_array_memory_size();
        self.held_bytes += bytes;
        self.taken_bytes += bytes;
        self.taken_rows += batch.num_rows();
        self.held.push(batch.clone());
        if self.held_bytes >= self.budget_bytes {
            self.spill()?;
        }
        Ok(())
    }

    /// Orders the held rows and writes them to a new run file.
    fn spill(&mut self) -> Result<(), Error> {
        let held = std::mem::take(&mut self.held);
        self.held_bytes = 0;
        if held.is_empty() {
            return Ok(());
        }
        let sorted = self.sort_run(&held)?;
        drop(held);
        if self.dir.is_none() {
            let base = std::env::temp_dir();
            let d = TempPath::dir_in(&base, "vpcflow-sort-").map_err(|e| {
                sort_err(
                    &self.name,
                    format!(
                        "creating a directory for sort runs in {}: {e}",
                        base.display()
                    ),
                )
            })?;
            self.dir = Some(d);
        }
        let dir = self.dir.as_ref().expect("made above").path();
        let (run, file) = TempPath::file_in(
            dir,
            &format!("run-{}-", self.runs.len()),
            ".parquet",
            Access::Private,
        )
        .map_err(|e| {
            sort_err(
                &self.name,
                format!("creating a sort run in {}: {e}", dir.display()),
            )
        })?;
        let name = run.path().display().to_string();
        (self.write_run)(file, &name, self.schema.clone(), &sorted)?;
        self.runs.push(run);
        Ok(())
    }

    /// The rows of `batches` as one batch, ordered by the keys (equal keys in input order).
    fn sort_run(&self, batches: &[RecordBatch]) -> Result<RecordBatch, Error> {
        order(batches, &self.keys, &self.converter).map_err(|e| sort_err(&self.name, e))
    }

    /// Hands every row to `out`, ordered, in batches; removes the run files.
    pub fn finish(
        mut self,
        out: &mut dyn FnMut(&[RecordBatch]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.runs.is_empty() {
            let held = std::mem::take(&mut self.held);
            if !held.is_empty() {
                let sorted = self.sort_run(&held)?;
                drop(held);
                out(&[sorted])?;
            }
            return Ok(());
        }
        self.spill()?;
        let mut cursors = Vec::with_capacity(self.runs.len());
        for run in &self.runs {
            let path = run.path();
            let name = path.display().to_string();
            let file = File::open(path).map_err(|e| sort_err(&name, e))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.with_batch_size(MERGE_BATCH_ROWS).build())
                .map_err(|e| sort_err(&name, e))?;
            let mut cursor = Cursor {
                reader,
                batch: RecordBatch::new_empty(self.schema.clone()),
                rows: self.converter.empty_rows(0, 0),
                at: 0,
                name,
            };
            if cursor.advance(&self.keys, &self.converter)? {
                cursors.push(cursor);
            }
        }
        // The merge runs on a thread of its own, a couple of batches ahead of `out` (which
        // encodes them), so merging and encoding overlap.
        let (schema, keys, converter) = (&self.schema, &self.keys, &self.converter);
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<RecordBatch>(2);
            let merger = scope.spawn(move || {
                merge(&mut cursors, schema, keys, converter, &mut |batches| {
                    for b in batches {
                        // A closed channel: `out` failed, and says why below.
                        if tx.send(b.clone()).is_err() {
                            return Err(sort_err("merged rows", "the output stopped"));
                        }
                    }
                    Ok(())
                })
            });
            let written = rx.into_iter().try_for_each(|b| out(&[b]));
            let merged = merger
                .join()
                .unwrap_or_else(|_| Err(sort_err("merged rows", "the merge panicked")));
            written.and(merged)
        })
    }
}

impl Drop for Sorter {
    fn drop(&mut self) {
        // The run files, then their directory (removing it would remove them anyway).
        self.runs.clear();
        self.dir = None;
    }
}

/// `batches`' rows as one batch ordered by columns `keys` (converted by `converter`), stable.
/// Each column is copied once, columns in parallel.
pub fn order(
    batches: &[RecordBatch],
    keys: &[usize],
    converter: &RowConverter,
) -> Result<RecordBatch, ArrowError> {
    let key_columns: Vec<ArrayRef> = keys
        .iter()
        .map(|&k| {
            let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(k).as_ref()).collect();
            arrow::compute::concat(&parts)
        })
        .collect::<Result<_, _>>()?;
    let rows = converter.convert_columns(&key_columns)?;
    // Each row's first 16 key bytes as a number decide most comparisons without touching the
    // rows (a shorter key is padded with zeros, which orders it as the full comparison does);
    // equal prefixes compare the whole keys, equal keys their input positions (stable).
    let mut keyed: Vec<(u128, u32)> = (0..rows.num_rows())
        .map(|i| {
            let r = rows.row(i);
            let r = r.as_ref();
            let mut b = [0u8; 16];
            let n = r.len().min(16);
            b[..n].copy_from_slice(&r[..n]);
            (u128::from_be_bytes(b), i as u32)
        })
        .collect();
    keyed.par_sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| rows.row(a.1 as usize).cmp(&rows.row(b.1 as usize)))
            .then(a.1.cmp(&b.1))
    });
    let order: Vec<u32> = keyed.into_iter().map(|(_, i)| i).collect();
    let mut starts = Vec::with_capacity(batches.len());
    let mut at = 0usize;
    for b in batches {
        starts.push(at);
        at += b.num_rows();
    }
    let pairs: Vec<(usize, usize)> = order
        .iter()
        .map(|&r| {
            let r = r as usize;
            let b = starts.partition_point(|&s| s <= r) - 1;
            (b, r - starts[b])
        })
        .collect();
    let schema = batches[0].schema();
    let columns = (0..schema.fields().len())
        .into_par_iter()
        .map(|c| {
            let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            arrow::compute::interleave(&arrays, &pairs)
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema, columns)
}

/// One run being merged: its current batch, that batch's keys, and the next row.
struct Cursor {
    reader: ParquetRecordBatchReader,
    batch: RecordBatch,
    rows: Rows,
    at: usize,
    name: String,
}

impl Cursor {
    /// Loads the run's next batch; false at the end of the run.
    fn advance(&mut self, keys: &[usize], converter: &RowConverter) -> Result<bool, Error> {
        loop {
            match self.reader.next() {
                None => return Ok(false),
                Some(Err(e)) => return Err(sort_err(&self.name, e)),
                Some(Ok(b)) if b.num_rows() == 0 => continue,
                Some(Ok(b)) => {
                    let cols: Vec<ArrayRef> = keys.iter().map(|&k| b.column(k).clone()).collect();
                    self.rows = converter
                        .convert_columns(&cols)
                        .map_err(|e| sort_err(&self.name, e))?;
                    self.batch = b;
                    self.at = 0;
                    return Ok(true);
                }
            }
        }
    }
}

/// Whether cursor `a`'s next row goes before cursor `b`'s (the earlier run first on a tie).
fn before(cursors: &[Cursor], a: usize, b: usize) -> bool {
    let (ca, cb) = (&cursors[a], &cursors[b]);
    match ca.rows.row(ca.at).cmp(&cb.rows.row(cb.at)) {
        Ordering::Less => true,
        Ordering::Greater => false,
        Ordering::Equal => a < b,
    }
}

/// Restores the heap property below position `i` of `heap` (a binary min-heap of cursors).
fn sift_down(heap: &mut [usize], cursors: &[Cursor], mut i: usize) {
    loop {
        let l = 2 * i + 1;
        if l >= heap.len() {
            return;
        }
        let r = l + 1;
        let c = if r < heap.len() && before(cursors, heap[r], heap[l]) {
            r
        } else {
            l
        };
        if before(cursors, heap[c], heap[i]) {
            heap.swap(c, i);
            i = c;
        } else {
            return;
        }
    }
}

/// Merges the runs' rows in key order into batches for `out`.
fn merge(
    cursors: &mut [Cursor],
    schema: &SchemaRef,
    keys: &[usize],
    converter: &RowConverter,
    out: &mut dyn FnMut(&[RecordBatch]) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut heap: Vec<usize> = (0..cursors.len()).collect();
    for i in (0..heap.len() / 2).rev() {
        sift_down(&mut heap, cursors, i);
    }
    let mut pending: Vec<(usize, usize)> = Vec::with_capacity(MERGE_BATCH_ROWS);
    let flush = |cursors: &[Cursor],
                 pending: &mut Vec<(usize, usize)>,
                 out: &mut dyn FnMut(&[RecordBatch]) -> Result<(), Error>|
     -> Result<(), Error> {
        if pending.is_empty() {
            return Ok(());
        }
        // The current batches only (the readers are not shared between threads).
        let batches: Vec<&RecordBatch> = cursors.iter().map(|k| &k.batch).collect();
        let columns = (0..schema.fields().len())
            .into_par_iter()
            .map(|c| {
                let arrays: Vec<&dyn Array> =
                    batches.iter().map(|b| b.column(c).as_ref()).collect();
                arrow::compute::interleave(&arrays, pending)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| sort_err("merged rows", e))?;
        let batch = RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| sort_err("merged rows", e))?;
        pending.clear();
        out(&[batch])
    };
    while let Some(&top) = heap.first() {
        let c = &mut cursors[top];
        pending.push((top, c.at));
        c.at += 1;
        let exhausted = c.at == c.batch.num_rows();
        if exhausted || pending.len() == MERGE_BATCH_ROWS {
            // The pending rows point into current batches: write them before one is replaced.
            flush(cursors, &mut pending, out)?;
        }
        if exhausted && !cursors[top].advance(keys, converter)? {
            let last = heap.pop().expect("heap not empty");
            if heap.is_empty() {
                break;
            }
            heap[0] = last;
        }
        sift_down(&mut heap, cursors, 0);
    }
    flush(cursors, &mut pending, out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn sorter_of_five_runs() -> Sorter {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, true)]));
        // A budget of one byte: every batch is a run of its own.
        let mut s = Sorter::new(
            schema.clone(),
            vec![0],
            1,
            "out",
            crate::sink::parquet::write_sort_run,
        )
        .unwrap();
        for run in 0..5i64 {
            let keys = (0..20_000i64).map(|x| (x * 7919 + run) % 100_003);
            let b = RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int64Array::from_iter_values(keys))],
            )
            .unwrap();
            s.push(&b).unwrap();
        }
        s
    }

    #[test]
    fn the_merge_hands_out_every_row_in_order() {
        let mut keys = Vec::new();
        sorter_of_five_runs()
            .finish(&mut |batches| {
                for b in batches {
                    let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                    keys.extend(a.values().iter().copied());
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(keys.len(), 100_000);
        assert!(keys.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn an_output_error_during_the_merge_is_the_error_returned() {
        let mut calls = 0;
        let err = sorter_of_five_runs()
            .finish(&mut |_| {
                calls += 1;
                if calls == 2 {
                    Err(Error::Write {
                        path: "out".into(),
                        reason: "no space left on device".into(),
                    })
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert!(err.to_string().contains("no space left"), "{err}");
        assert_eq!(calls, 2, "nothing is handed out after the error");
    }
}
