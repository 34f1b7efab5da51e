//! Running a planned decode: inputs → line-aligned chunks → rayon → ordered `RecordBatch`es.
//!
//! Planning ([`crate::pipeline::plan`]) has read the start of every input to learn its layout
//! and united all layouts into one dataset schema. Decoding then reads each input block by block (a window of a memory-mapped
//! file or of a stream), splits a block into chunks, parses the chunks in parallel, and hands
//! batches, refused lines and progress to the caller in input order. Only one block per input
//! is in memory at a time, plus the batches the consumer has not taken yet.

use std::sync::mpsc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use crate::batch::{self, ChunkOutput, DatasetSchema, FilePlan};
use crate::error::Error;
use crate::format::envelope;
use crate::input::Input;
use crate::input::read::{self, Blocks};
use crate::pipeline::options::Options;
use crate::pipeline::plan::{LOG_GROUP_COLUMN, LOG_STREAM_COLUMN, Plan, Planned, Planning, plan};
use crate::pipeline::report::{
    Callbacks, Event, Failures, InputDone, Notice, Observer, RejectReport, Stats,
};

/// Blocks a reader thread may have read ahead of the parser, per input.
const READ_AHEAD_BLOCKS: usize = 2;
/// Reader threads at most (inputs read at once); readers stay at most this many inputs ahead.
const MAX_READERS: usize = 4;
/// Reader threads when inputs include S3 objects.
const MAX_REMOTE_READERS: usize = 8;

/// An input to consume: its name, plan, the channel its blocks arrive on (text and JSON inputs),
/// and the temporary copy to remove when done.
type Work = (
    String,
    Plan,
    Option<mpsc::Receiver<Fetched>>,
    Option<crate::cleanup::TempPath>,
    Input,
);

/// What a reader thread hands over.
enum Fetched {
    /// The input's next block.
    Block(read::Block),
    /// The input could not be opened or read further; nothing follows.
    Failed(std::io::Error),
}

/// One input for a reader thread: open it (or take the stream planning opened) and send its
/// blocks in order until the end, an error, or the parser hanging up.
struct ReadJob {
    input: Input,
    boundary: read::Boundary,
    pending: Option<Blocks>,
    limits: read::Limits,
    tx: mpsc::SyncSender<Fetched>,
}

impl ReadJob {
    fn run(self) {
        let ReadJob {
            input,
            boundary,
            pending,
            limits,
            tx,
        } = self;
        let mut blocks = match pending {
            Some(mut b) => {
                b.set_boundary(boundary);
                b
            }
            None => match read::open_with(&input, limits, boundary) {
                Ok(b) => b,
                Err(e) => {
                    let _ = tx.send(Fetched::Failed(e));
                    return;
                }
            },
        };
        loop {
            match blocks.next_block() {
                Ok(Some(b)) => {
                    if tx.send(Fetched::Block(b)).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = tx.send(Fetched::Failed(e));
                    return;
                }
            }
        }
    }
}

/// A planned decode: every input's layout and the dataset schema.
pub struct Decoder {
    planned: Vec<Planned>,
    schema: DatasetSchema,
    /// The batches the parser builds.
    arrow: SchemaRef,
    /// The batches handed on: `arrow` with the attribution columns, if any.
    out: SchemaRef,
    /// The schema the batches handed on really have: `out`, or `out` with the attribution's text
    /// columns as dictionaries ([`Decoder::dictionary_text`]).
    batches: SchemaRef,
    opts: Options,
    pool: rayon::ThreadPool,
    stats: Stats,
    early: Vec<Notice>,
}

impl Decoder {
    /// Plans the inputs ([`crate::pipeline::plan`]). Inputs that can't be opened or whose header
    /// is unusable are reported (as [`Notice::Failed`] when the run starts) and left out; the
    /// others go on.
    pub fn new(inputs: Vec<Input>, opts: Options) -> Result<Decoder, Error> {
        let threads = if opts.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            opts.threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("vpcflow-parse-{i}"))
            .build()
            .map_err(|e| Error::Internal(format!("cannot start {threads} threads: {e}")))?;
        let Planning {
            planned,
            schema,
            stats,
            early,
        } = plan(inputs, &opts);
        let arrow = schema.arrow();
        let out = match &opts.attribution {
            Some(a) => a.extend_schema(&arrow),
            None => arrow.clone(),
        };
        Ok(Decoder {
            planned,
            schema,
            arrow,
            batches: out.clone(),
            out,
            opts,
            pool,
            stats,
            early,
        })
    }

    /// The Arrow schema of the batches handed on (the dataset's columns, then the
    /// attribution's).
    pub fn schema(&self) -> SchemaRef {
        self.out.clone()
    }

    /// With `yes`, the attribution's text columns are handed on as dictionary arrays
    /// (`Dictionary(UInt32, Utf8)`: keys into the inventory's or ranges' values, no string
    /// copied) rather than as [`Decoder::schema`]'s `Utf8`, for a sink that takes them
    /// ([`crate::pipeline::Sink::takes_dictionaries`]).
    pub fn dictionary_text(&mut self, yes: bool) {
        self.batches = match (&self.opts.attribution, yes) {
            (Some(a), true) => a.dictionary_schema(&self.out),
            _ => self.out.clone(),
        };
    }

    /// `b` with the attribution columns, if the options ask for them.
    fn attributed(&self, b: RecordBatch) -> Result<RecordBatch, Error> {
        attribute(self.opts.attribution.as_deref(), &self.batches, b)
    }

    /// The dataset's columns.
    pub fn columns(&self) -> &DatasetSchema {
        &self.schema
    }

    /// Builds values only for the dataset columns named in `wanted` (a query's projection); the
    /// others are still checked, so the same lines are refused for the same reasons and the
    /// counts don't change, but their batch columns are all null. Text and JSON inputs only:
    /// Parquet inputs map their columns as before.
    pub fn keep_only(&mut self, wanted: &[&str]) {
        let keep: Vec<bool> = self
            .schema
            .columns()
            .iter()
            .map(|c| wanted.contains(&c.name()))
            .collect();
        for p in &mut self.planned {
            if let Plan::Text(fp) | Plan::Json(fp) = &mut p.plan {
                fp.keep = fp.columns.iter().map(|&c| keep[c]).collect();
            }
        }
    }

    /// Decodes every input. `on_batch` receives batches in input order, on a thread of its own
    /// (so writing overlaps parsing); an error from it stops the run. `on_reject` receives refused
    /// lines, `on_notice` failed inputs and warnings, `on_progress` the bytes read so far.
    pub fn run<B>(
        self,
        mut on_batch: B,
        on_reject: &mut dyn FnMut(&RejectReport<'_>),
        on_notice: &mut dyn FnMut(Notice),
        on_progress: &mut dyn FnMut(u64),
    ) -> Result<Stats, Error>
    where
        B: FnMut(RecordBatch) -> Result<(), Error> + Send,
    {
        let mut observer = Callbacks {
            reject: on_reject,
            notice: on_notice,
            progress: on_progress,
        };
        self.run_events(
            move |e| match e {
                Event::Batch(b) => on_batch(b),
                Event::InputDone(_) => Ok(()),
            },
            &mut observer,
        )
    }

    /// [`Decoder::run`], telling the consumer also where each input's batches end
    /// ([`Event::InputDone`], after its last batch), for outputs that record what is done.
    pub(crate) fn run_events<B>(
        mut self,
        on_event: B,
        observer: &mut dyn Observer,
    ) -> Result<Stats, Error>
    where
        B: FnMut(Event) -> Result<(), Error> + Send,
    {
        for n in self.early.drain(..) {
            observer.notice(n);
        }
        let mut stats = self.stats.clone();
        let (tx, rx) = mpsc::sync_channel::<Event>(64);
        std::thread::scope(|scope| {
            let mut dedup = self
                .opts
                .dedup
                .map(|keys| crate::pipeline::dedup::Dedup::new(&self.out, keys));
            let writer = scope.spawn(move || {
                let mut on_event = on_event;
                let mut rows = 0u64;
                for mut e in rx {
                    if let (Event::Batch(b), Some(d)) = (&mut e, &mut dedup) {
                        *b = d.filter(std::mem::replace(b, RecordBatch::new_empty(b.schema())))?;
                        if b.num_rows() == 0 {
                            continue;
                        }
                    }
                    if let Event::Batch(b) = &e {
                        rows += b.num_rows() as u64;
                    }
                    on_event(e)?;
                }
                Ok::<(u64, u64), Error>((rows, dedup.map_or(0, |d| d.duplicates)))
            });
            let produced = self.produce(&tx, &mut stats, observer);
            drop(tx);
            let written = writer
                .join()
                .map_err(|_| Error::Internal("the writer thread panicked".into()))?;
            // A writer error is the root cause when both failed (parsing stops when it can't send).
            let (rows, duplicates) = written?;
            produced?;
            stats.rows_written = rows;
            stats.duplicates = duplicates;
            Ok(stats)
        })
    }

    fn produce(
        &mut self,
        tx: &mpsc::SyncSender<Event>,
        stats: &mut Stats,
        observer: &mut dyn Observer,
    ) -> Result<(), Error> {
        // Reader threads open and read (decompress, download) the next inputs while the parser
        // works on the current one; each hands its blocks over through a channel of its own.
        let planned = std::mem::take(&mut self.planned);
        let mut jobs = Vec::with_capacity(planned.len());
        let mut work = Vec::with_capacity(planned.len());
        for p in planned {
            let boundary = match &p.plan {
                Plan::Text(_) => Some(read::Boundary::Line),
                Plan::Json(_) => Some(read::Boundary::JsonObject),
                Plan::Parquet(..) => None,
            };
            let rx = boundary.map(|boundary| {
                let (btx, brx) = mpsc::sync_channel(READ_AHEAD_BLOCKS);
                jobs.push(std::sync::Mutex::new(Some(ReadJob {
                    input: p.input.clone(),
                    boundary,
                    pending: p.pending,
                    limits: self.opts.limits(boundary),
                    tx: btx,
                })));
                brx
            });
            if rx.is_none() {
                jobs.push(std::sync::Mutex::new(None));
            }
            work.push((p.name, p.plan, rx, p.temp, p.input));
        }
        // Object stores answer each GET after a round trip: read more objects at once there.
        let remote = jobs.iter().any(|j| {
            matches!(
                j.lock().expect("read job").as_ref().map(|j| &j.input),
                Some(Input::S3(_))
            )
        });
        let readers = if remote {
            MAX_REMOTE_READERS
        } else {
            self.pool.current_num_threads().clamp(1, MAX_READERS)
        };
        log::debug!(
            "{} inputs: {readers} reader threads, {} parser threads, {} byte chunks, {} byte windows",
            work.len(),
            self.pool.current_num_threads(),
            self.opts.chunk_bytes,
            self.opts.window_bytes
        );
        let next = std::sync::atomic::AtomicUsize::new(0);
        // The input the parser is on (usize::MAX once it's done): readers start an input only
        // while it is at most `readers` inputs ahead, so memory stays bounded however many
        // small inputs there are.
        let gate = (std::sync::Mutex::new(0usize), std::sync::Condvar::new());
        std::thread::scope(|scope| {
            for k in 0..readers {
                let (jobs, next, gate) = (&jobs, &next, &gate);
                std::thread::Builder::new()
                    .name(format!("vpcflow-read-{k}"))
                    .spawn_scoped(scope, move || {
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let Some(job) = jobs.get(i) else { break };
                            let mut at = gate.0.lock().expect("reader gate");
                            while *at != usize::MAX && i > *at + readers {
                                at = gate.1.wait(at).expect("reader gate");
                            }
                            if *at == usize::MAX {
                                break;
                            }
                            drop(at);
                            let job = job.lock().expect("read job").take();
                            if let Some(job) = job {
                                job.run();
                            }
                        }
                    })
                    .expect("start a reader thread");
            }
            let mut advance = |k: usize| {
                *gate.0.lock().expect("reader gate") = k;
                gate.1.notify_all();
            };
            let result = self.consume(work, &mut advance, tx, stats, observer);
            advance(usize::MAX);
            result
        })
    }

    fn consume(
        &self,
        work: Vec<Work>,
        advance: &mut dyn FnMut(usize),
        tx: &mpsc::SyncSender<Event>,
        stats: &mut Stats,
        observer: &mut dyn Observer,
    ) -> Result<(), Error> {
        let sent_failed = || Error::Internal("output closed early".to_string());
        let mut observer = Failures::new(observer);
        for (k, (name, plan, rx, _temp, input)) in work.into_iter().enumerate() {
            advance(k);
            let before = stats.clone();
            let failures_before = observer.failed.len();
            'input: {
                let plan = match (plan, rx) {
                    (Plan::Text(plan), Some(rx)) => (plan, rx),
                    (Plan::Json(plan), Some(rx)) => {
                        self.produce_json(&name, &plan, rx, tx, stats, &mut observer)?;
                        break 'input;
                    }
                    (Plan::Parquet(map, path), _) => {
                        let path = &path;
                        let schema = self.arrow.clone();
                        let mut send = |b: RecordBatch| {
                            stats.records += b.num_rows() as u64;
                            let b = self.attributed(b)?;
                            tx.send(Event::Batch(b)).map_err(|_| sent_failed())
                        };
                        match crate::batch::parquet_in::read(&name, path, &map, &schema, &mut send)
                        {
                            Ok(_) => {
                                stats.bytes_read += std::fs::metadata(path).map_or(0, |m| m.len());
                                observer.progress(stats.bytes_read);
                            }
                            Err(e @ Error::Parquet { .. }) => {
                                stats.failed_inputs += 1;
                                observer.notice(Notice::Failed(e));
                            }
                            Err(e) => return Err(e),
                        }
                        break 'input;
                    }
                    (_, None) => unreachable!("text and JSON inputs have a reader"),
                };
                let (plan, rx) = plan;
                let mut line_base = 0u64;
                let mut offset = 0u64;
                loop {
                    let Some(block) = next_block(&rx, &name, offset, stats, &mut observer) else {
                        break;
                    };
                    let data = block.bytes();
                    let ranges = crate::parse::chunk::split(data, self.opts.chunk_bytes);
                    let schema = &self.arrow;
                    let plan = &plan;
                    let (attribution, schema_out) =
                        (self.opts.attribution.as_deref(), &self.batches);
                    let outputs: Vec<Result<ChunkOutput, Error>> = self.pool.install(|| {
                        ranges
                            .par_iter()
                            .map(|r| {
                                let mut out = batch::parse_chunk(
                                    &data[r.clone()],
                                    block.offset + r.start as u64,
                                    plan,
                                    schema,
                                );
                                out.batch = out
                                    .batch
                                    .map(|b| attribute(attribution, schema_out, b))
                                    .transpose()?;
                                Ok(out)
                            })
                            .collect()
                    });
                    for out in outputs {
                        let out = out?;
                        stats.count_chunk(&out);
                        for r in &out.rejects {
                            observer.reject(&RejectReport {
                                input: &name,
                                line: line_base + r.line_in_chunk + 1,
                                offset: r.offset,
                                reason: &r.reason,
                                raw: &r.raw,
                            });
                        }
                        if let Some(last) = out.rejects.last() {
                            let line = line_base + last.line_in_chunk + 1;
                            self.check_rejects(stats, &name, line, &last.reason)?;
                        }
                        line_base += out.lines;
                        if let Some(b) = out.batch {
                            tx.send(Event::Batch(b)).map_err(|_| sent_failed())?;
                        }
                    }
                    if let Some(o) = &block.oversized {
                        line_base += 1;
                        let reason = batch::line_too_long(o.len, self.opts.max_line_bytes);
                        self.refuse_one(
                            stats,
                            &mut observer,
                            &RejectReport {
                                input: &name,
                                line: line_base,
                                offset: o.offset,
                                reason: &reason,
                                raw: &o.head,
                            },
                        )?;
                    }
                    offset = block.end();
                    stats.bytes_read += block.end() - block.offset;
                    observer.progress(stats.bytes_read);
                }
            }
            let failed = (stats.failed_inputs > before.failed_inputs).then(|| {
                observer.failed[failures_before..]
                    .last()
                    .cloned()
                    .unwrap_or_default()
            });
            tx.send(Event::InputDone(InputDone {
                input,
                name,
                records: stats.records - before.records,
                rejected: stats.rejected - before.rejected,
                failed,
            }))
            .map_err(|_| sent_failed())?;
        }
        Ok(())
    }

    /// Reads a JSON input object by object: records are taken out of their envelopes, parsed in
    /// parallel like text, and given their log group and stream. Refused records are numbered by
    /// their position among the input's records and located by their JSON object's offset.
    fn produce_json(
        &self,
        name: &str,
        plan: &FilePlan,
        rx: mpsc::Receiver<Fetched>,
        tx: &mpsc::SyncSender<Event>,
        stats: &mut Stats,
        observer: &mut dyn Observer,
    ) -> Result<(), Error> {
        let schema = &self.arrow;
        let group_idx = schema.index_of(LOG_GROUP_COLUMN).ok();
        let stream_idx = schema.index_of(LOG_STREAM_COLUMN).ok();
        let offset_idx = schema.index_of(batch::OFFSET_COLUMN).ok();
        let mut counts = envelope::ExtractCounts::default();
        let mut offset = 0u64;
        loop {
            let Some(block) = next_block(&rx, name, offset, stats, observer) else {
                break;
            };
            let data = block.bytes();
            let items = envelope::extract(
                data,
                block.offset,
                self.opts.chunk_bytes,
                self.opts.max_object_bytes(),
                &mut counts,
            );
            // Every group's chunks, parsed in parallel.
            let work: Vec<(usize, std::ops::Range<usize>)> = items
                .iter()
                .enumerate()
                .filter_map(|(i, x)| match x {
                    envelope::Extracted::Records(g) => Some((i, g)),
                    _ => None,
                })
                .flat_map(|(i, g)| {
                    crate::parse::chunk::split(&g.text, self.opts.chunk_bytes)
                        .into_iter()
                        .map(move |r| (i, r))
                })
                .collect();
            let outputs: Vec<ChunkOutput> = self.pool.install(|| {
                work.par_iter()
                    .map(|(i, r)| {
                        let envelope::Extracted::Records(g) = &items[*i] else {
                            unreachable!("work holds groups only")
                        };
                        batch::parse_chunk(&g.text[r.clone()], r.start as u64, plan, schema)
                    })
                    .collect()
            });
            let mut outputs = work.iter().map(|(i, _)| *i).zip(outputs).peekable();
            for (i, item) in items.iter().enumerate() {
                let g = match item {
                    envelope::Extracted::Refused {
                        record,
                        offset,
                        reason,
                        raw,
                    } => {
                        let reason = format!("{reason} (JSON object at byte {offset})");
                        self.refuse_one(
                            stats,
                            observer,
                            &RejectReport {
                                input: name,
                                line: record + 1,
                                offset: *offset,
                                reason: &reason,
                                raw,
                            },
                        )?;
                        continue;
                    }
                    envelope::Extracted::Records(g) => g,
                };
                while let Some((_, out)) = outputs.next_if(|(j, _)| *j == i) {
                    stats.count_chunk(&out);
                    for r in &out.rejects {
                        let k = g.record_at(r.offset);
                        let line = g.first_record + k as u64 + 1;
                        let reason = format!("{} (JSON object at byte {})", r.reason, g.origins[k]);
                        observer.reject(&RejectReport {
                            input: name,
                            line,
                            offset: g.origins[k],
                            reason: &reason,
                            raw: &r.raw,
                        });
                        self.check_rejects(stats, name, line, &reason)?;
                    }
                    if let Some(b) = out.batch {
                        let b = with_envelope_columns(b, g, group_idx, stream_idx, offset_idx)?;
                        let b = self.attributed(b)?;
                        tx.send(Event::Batch(b))
                            .map_err(|_| Error::Internal("output closed early".to_string()))?;
                    }
                }
            }
            if let Some(o) = &block.oversized {
                let record = counts.records;
                counts.records += 1;
                let reason = format!(
                    "{} (JSON object at byte {})",
                    envelope::object_too_long(o.len, self.opts.max_object_bytes()),
                    o.offset
                );
                self.refuse_one(
                    stats,
                    observer,
                    &RejectReport {
                        input: name,
                        line: record + 1,
                        offset: o.offset,
                        reason: &reason,
                        raw: &o.head,
                    },
                )?;
            }
            offset = block.end();
            stats.bytes_read += block.end() - block.offset;
            observer.progress(stats.bytes_read);
        }
        stats.control_messages += counts.control_messages;
        Ok(())
    }

    /// Counts and reports a record refused outside a parsed chunk (too long, an unusable JSON
    /// object), then applies `--max-rejects`.
    fn refuse_one(
        &self,
        stats: &mut Stats,
        observer: &mut dyn Observer,
        r: &RejectReport<'_>,
    ) -> Result<(), Error> {
        stats.records += 1;
        stats.rejected += 1;
        observer.reject(r);
        self.check_rejects(stats, r.input, r.line, r.reason)
    }

    fn check_rejects(
        &self,
        stats: &Stats,
        name: &str,
        line: u64,
        reason: &str,
    ) -> Result<(), Error> {
        match self.opts.max_rejects {
            Some(limit) if limit.exceeded(stats.rejected, stats.records) => {
                Err(Error::TooManyRejects {
                    rejected: stats.rejected,
                    records: stats.records,
                    limit: limit.describe(),
                    input: name.to_string(),
                    line,
                    reason: reason.to_string(),
                })
            }
            _ => Ok(()),
        }
    }
}

/// The input's next block from its reader thread; `None` at its end, or when it failed (reported,
/// with the offset reached, and counted).
fn next_block(
    rx: &mpsc::Receiver<Fetched>,
    name: &str,
    offset: u64,
    stats: &mut Stats,
    observer: &mut dyn Observer,
) -> Option<read::Block> {
    match rx.recv() {
        Ok(Fetched::Block(b)) => Some(b),
        Err(_) => None,
        Ok(Fetched::Failed(e)) => {
            stats.failed_inputs += 1;
            observer.notice(Notice::Failed(Error::Read {
                input: name.to_string(),
                offset,
                source: e,
            }));
            None
        }
    }
}

/// `b` with the attribution columns in `schema` (the decoder's output schema), if there is an
/// attribution.
fn attribute(
    attribution: Option<&crate::enrich::attribution::Attribution>,
    schema: &SchemaRef,
    b: RecordBatch,
) -> Result<RecordBatch, Error> {
    match attribution {
        Some(a) => a.apply(&b, schema),
        None => Ok(b),
    }
}

/// A batch parsed from a group of envelope records, with the group's log group and stream and
/// each row's offset mapped back to its JSON object in the input.
fn with_envelope_columns(
    b: RecordBatch,
    g: &envelope::Group,
    group_idx: Option<usize>,
    stream_idx: Option<usize>,
    offset_idx: Option<usize>,
) -> Result<RecordBatch, Error> {
    use arrow::array::{Array, ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;
    let rows = b.num_rows();
    let mut cols: Vec<ArrayRef> = b.columns().to_vec();
    let constant = |v: &Option<String>| -> ArrayRef {
        match v {
            Some(s) => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                s.as_str(),
                rows,
            ))),
            None => Arc::new(StringArray::new_null(rows)),
        }
    };
    if let Some(i) = group_idx {
        cols[i] = constant(&g.log_group);
    }
    if let Some(i) = stream_idx {
        cols[i] = constant(&g.log_stream);
    }
    if let Some(i) = offset_idx
        && let Some(offsets) = cols[i].as_any().downcast_ref::<Int64Array>()
    {
        let mapped: Int64Array = offsets
            .iter()
            .map(|o| o.map(|o| g.origins[g.record_at(o as u64)] as i64))
            .collect();
        cols[i] = Arc::new(mapped);
    }
    RecordBatch::try_new(b.schema(), cols).map_err(|e| Error::Internal(e.to_string()))
}
