//! Inputs → layouts → line-aligned chunks → rayon → ordered `RecordBatch`es, plus statistics.
//!
//! Two phases. Planning reads the start of every input to learn its layout (header line,
//! `--fields`, or the standard layouts its first lines fit) and unites all layouts into one
//! dataset schema. Decoding then reads each input block by block (a window of a memory-mapped
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
use crate::format::layout::{self, Layout, MAX_TOKENS};
use crate::input::Input;
use crate::input::read::{self, Blocks};
use crate::parse;

/// How to decode.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Target bytes per chunk (the unit of parallel work and of a batch).
    pub chunk_bytes: usize,
    /// Target bytes per block (how much of one input is in memory at once).
    pub window_bytes: usize,
    /// Layout for header-less inputs, from `--fields`.
    pub fields: Option<Layout>,
    /// How many leading bytes of an input are examined to detect its layout.
    pub sample_bytes: usize,
    /// Add the column [`batch::ORIGINAL_COLUMN`] with each record's text.
    pub keep_original: bool,
    /// Add the provenance columns [`batch::INPUT_COLUMN`] and [`batch::OFFSET_COLUMN`].
    pub keep_provenance: bool,
    /// Stop the run with [`Error::TooManyRejects`] past this many refused lines.
    pub max_rejects: Option<MaxRejects>,
    /// Lines longer than this are refused as too long without being held in memory; a JSON
    /// object of a CloudWatch Logs or Firehose input may hold 64 times as much.
    pub max_line_bytes: usize,
}

impl Options {
    /// Block and unit sizes for reading an input up to `boundary`.
    fn limits(&self, boundary: read::Boundary) -> read::Limits {
        // A skipped unit keeps as much of its head as the parser keeps of a refused one.
        let (max_unit, head) = match boundary {
            read::Boundary::Line => (self.max_line_bytes, self.max_line_bytes),
            read::Boundary::JsonObject => (self.max_object_bytes(), envelope::REFUSED_HEAD_BYTES),
        };
        read::Limits::new(self.window_bytes, max_unit, head)
    }

    /// The longest JSON object of a CloudWatch Logs or Firehose input (one payload holds many
    /// records).
    pub fn max_object_bytes(&self) -> usize {
        self.max_line_bytes.saturating_mul(64)
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: 0,
            chunk_bytes: 1 << 20,
            window_bytes: 8 << 20,
            fields: None,
            sample_bytes: 1 << 20,
            keep_original: false,
            keep_provenance: false,
            max_rejects: None,
            max_line_bytes: batch::DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// When to give up on input that is clearly not flow logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxRejects {
    /// More than this many refused lines.
    Count(u64),
    /// More than this fraction (0..1) of records refused, judged after at least 1,000 records.
    Ratio(f64),
}

impl MaxRejects {
    /// Parses `N` (a count) or `P%` (a percentage of records).
    pub fn parse(text: &str) -> Result<MaxRejects, String> {
        let t = text.trim();
        if let Some(p) = t.strip_suffix('%') {
            let v: f64 = p
                .trim()
                .parse()
                .map_err(|_| format!("'{text}' is not a percentage"))?;
            if !(0.0..=100.0).contains(&v) {
                return Err(format!("'{text}': a percentage between 0% and 100%"));
            }
            return Ok(MaxRejects::Ratio(v / 100.0));
        }
        t.parse()
            .map(MaxRejects::Count)
            .map_err(|_| format!("'{text}' is neither a count nor a percentage like 5%"))
    }

    fn exceeded(self, rejected: u64, records: u64) -> bool {
        match self {
            MaxRejects::Count(n) => rejected > n,
            MaxRejects::Ratio(r) => records >= 1000 && rejected as f64 > r * records as f64,
        }
    }

    fn describe(self) -> String {
        match self {
            MaxRejects::Count(n) => format!("{n} lines"),
            MaxRejects::Ratio(r) => format!("{}% of records", r * 100.0),
        }
    }
}

/// Counts for a run. `records == rows_written + rejected` always holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Inputs named (after walking directories).
    pub inputs: u64,
    /// Inputs that could not be read (or only partly).
    pub failed_inputs: u64,
    /// Records seen: non-blank lines other than header lines.
    pub records: u64,
    /// Rows handed to the sink.
    pub rows_written: u64,
    /// Records refused.
    pub rejected: u64,
    /// Bytes read from inputs (decompressed).
    pub bytes_read: u64,
    /// Header lines skipped.
    pub header_lines: u64,
    /// Blank lines skipped.
    pub blank_lines: u64,
    /// CloudWatch Logs `CONTROL_MESSAGE` payloads skipped.
    pub control_messages: u64,
}

/// What the consumer of a decode receives, in order.
#[derive(Debug)]
pub enum Event {
    /// Rows.
    Batch(RecordBatch),
    /// An input's last batch has been sent.
    InputDone(InputDone),
}

/// One input finished (inputs that failed while planning, before any row, send none).
#[derive(Debug, Clone)]
pub struct InputDone {
    /// The input.
    pub input: Input,
    /// Its name in messages.
    pub name: String,
    /// Records seen in it.
    pub records: u64,
    /// Records refused in it.
    pub rejected: u64,
    /// Why it could not be read completely (the rows read before the fault were sent).
    pub failed: Option<String>,
}

/// A refused line, as reported to the caller.
#[derive(Debug, Clone)]
pub struct RejectReport<'a> {
    /// The input's name.
    pub input: &'a str,
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line in the (decompressed) input.
    pub offset: u64,
    /// Why it was refused.
    pub reason: &'a str,
    /// The line as it was.
    pub raw: &'a [u8],
}

impl RejectReport<'_> {
    /// `input:line: reason: text` for messages, the text cut after 300 bytes (marked `…`).
    pub fn describe(&self) -> String {
        let raw = String::from_utf8_lossy(&self.raw[..self.raw.len().min(300)]);
        let more = if self.raw.len() > 300 { "…" } else { "" };
        format!("{}:{}: {}: {raw}{more}", self.input, self.line, self.reason)
    }
}

/// Something the caller should know about an input that is not a refused line.
#[derive(Debug)]
pub enum Notice {
    /// The input could not be read (or not completely); the run goes on with the others.
    Failed(Error),
    /// A warning (unknown field names, a layout that fits nothing…).
    Warning(String),
}

/// How an input is read.
enum Plan {
    /// Flow log text, parsed.
    Text(FilePlan),
    /// JSON objects (CloudWatch Logs payloads, concatenated Firehose records): their records are
    /// taken out ([`crate::format::envelope::extract`]), then parsed as text.
    Json(FilePlan),
    /// A Parquet file (local, or an S3 object copied to a temporary file): (source column,
    /// dataset column) pairs, and the file to read.
    Parquet(Vec<(usize, String)>, std::path::PathBuf),
}

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

struct Planned {
    input: Input,
    name: String,
    plan: Plan,
    /// Standard input can be read once only: its reader, holding what planning peeked at.
    pending: Option<Blocks>,
    /// A downloaded copy of the input, removed when the input is done.
    _temp: Option<crate::cleanup::TempPath>,
}

/// A planned decode: every input's layout and the dataset schema.
pub struct Decoder {
    planned: Vec<Planned>,
    schema: DatasetSchema,
    arrow: SchemaRef,
    opts: Options,
    pool: rayon::ThreadPool,
    stats: Stats,
    early: Vec<Notice>,
}

fn strip_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
}

/// Chooses an input's layout from its first bytes.
fn plan_input(
    name: &str,
    sample: &[u8],
    opts: &Options,
    schema: &mut DatasetSchema,
    notices: &mut Vec<Notice>,
) -> Result<FilePlan, Error> {
    let mut first = None;
    for (i, raw) in crate::parse::chunk::lines(sample).enumerate() {
        let t = parse::trim_line(raw);
        if !t.is_empty() {
            first = Some((i as u64 + 1, t));
            break;
        }
    }
    if let Some((line_no, line)) = first
        && let Some(header) = Layout::detect_header(strip_bom(line))
    {
        let layout = header.map_err(|reason| Error::Header {
            input: name.to_string(),
            line: line_no,
            reason,
        })?;
        if !layout.unknown.is_empty() {
            notices.push(Notice::Warning(format!(
                "{name}: header names fields vpcflow doesn't know, kept as text columns: {}",
                layout.unknown.join(", ")
            )));
        }
        return Ok(FilePlan::fixed(
            &layout,
            Some(line.to_vec()),
            "header".to_string(),
            schema,
        ));
    }
    // CloudWatch Logs exports put a timestamp before each record.
    let leading_timestamp =
        first.is_some_and(|(_, line)| parse::strip_export_timestamp(line).is_some());
    if let Some(layout) = &opts.fields {
        let mut plan = FilePlan::fixed(layout, None, "--fields".to_string(), schema);
        plan.leading_timestamp = leading_timestamp;
        return Ok(plan);
    }
    // Header-less: which standard layouts do the first lines fit?
    let mut seen: Vec<&'static layout::Standard> = Vec::new();
    let mut spans = [(0u32, 0u32); MAX_TOKENS];
    for raw in crate::parse::chunk::lines(sample).take(1000) {
        let line = parse::trim_line(raw);
        let inner;
        let line = match crate::format::envelope::unwrap_message(line) {
            Some(Ok(m)) => {
                inner = m;
                parse::trim_line(&inner)
            }
            Some(Err(_)) => continue,
            None => line,
        };
        let line = if leading_timestamp {
            match parse::strip_export_timestamp(line) {
                Some(rest) => rest,
                None => continue,
            }
        } else {
            line
        };
        let n = parse::tokenize(line, &mut spans);
        if n == 0 || n > MAX_TOKENS {
            continue;
        }
        if let Ok(std) = layout::match_standard(line, &spans[..n])
            && !seen.iter().any(|s| std::ptr::eq(*s, std))
        {
            seen.push(std);
        }
    }
    if seen.is_empty() && first.is_some() {
        notices.push(Notice::Warning(format!(
            "{name}: no header line, no --fields, and its first lines fit no standard layout; every record will be refused"
        )));
    }
    let mut plan = FilePlan::standard(&seen, schema);
    plan.leading_timestamp = leading_timestamp;
    if leading_timestamp {
        plan.describe
            .push_str(", after CloudWatch export timestamps");
    }
    Ok(plan)
}

/// Opens an input that can be read only once and peeks at its first bytes; the open reader,
/// holding them, goes to `pending`.
fn peek_once(
    input: &Input,
    opts: &Options,
    pending: &mut Option<Blocks>,
) -> std::io::Result<Vec<u8>> {
    let mut blocks = read::open(input, opts.limits(read::Boundary::Line))?;
    let sample = blocks.peek(opts.sample_bytes)?;
    *pending = Some(blocks);
    Ok(sample)
}

/// Names of the columns that hold a CloudWatch Logs payload's log group and stream.
pub const LOG_GROUP_COLUMN: &str = "log_group";
/// See [`LOG_GROUP_COLUMN`].
pub const LOG_STREAM_COLUMN: &str = "log_stream";

impl Decoder {
    /// Plans the inputs. Inputs that can't be opened or whose header is unusable are reported
    /// (as [`Notice::Failed`] from [`Decoder::run`]) and left out; the others go on.
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
        let mut schema = DatasetSchema::default();
        let mut planned = Vec::new();
        let mut early = Vec::new();
        let mut stats = Stats {
            inputs: inputs.len() as u64,
            ..Stats::default()
        };
        // S3 objects: their first bytes, fetched concurrently.
        let s3_objects: Vec<&crate::input::s3::S3Object> = inputs
            .iter()
            .filter_map(|i| match i {
                Input::S3(o) => Some(o),
                _ => None,
            })
            .collect();
        let mut s3_samples = crate::input::s3::samples(&s3_objects, opts.sample_bytes).into_iter();
        for input in inputs {
            let name = input.display();
            let mut pending = None;
            let mut temp = None;
            let sample = match &input {
                // Standard input, a pipe or a FIFO can be read once only: keep what planning
                // peeked at for the reader.
                Input::Stdin => peek_once(&input, &opts, &mut pending),
                Input::Path(p) if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) => {
                    peek_once(&input, &opts, &mut pending)
                }
                Input::Path(_) => Blocks::sample(&input, opts.sample_bytes),
                Input::S3(_) => s3_samples.next().expect("one sample per object"),
            };
            let sample = match sample {
                Ok(s) => s,
                Err(e) => {
                    stats.failed_inputs += 1;
                    early.push(Notice::Failed(Error::Read {
                        input: name,
                        offset: 0,
                        source: e,
                    }));
                    continue;
                }
            };
            let plan = if crate::input::sniff::is_parquet(&sample) {
                match &input {
                    Input::Path(path) => crate::batch::parquet_in::plan(&name, path, &mut schema)
                        .map(|m| Plan::Parquet(m, path.clone())),
                    Input::S3(o) => match crate::input::s3::download(o) {
                        Ok(t) => {
                            let path = t.path().to_path_buf();
                            temp = Some(t);
                            crate::batch::parquet_in::plan(&name, &path, &mut schema)
                                .map(|m| Plan::Parquet(m, path))
                        }
                        Err(e) => Err(Error::Read {
                            input: name.clone(),
                            offset: 0,
                            source: e,
                        }),
                    },
                    Input::Stdin => Err(Error::Parquet {
                        input: name.clone(),
                        reason: "Parquet can't be read from standard input: name the file".into(),
                    }),
                }
            } else if envelope::classify(&sample) == envelope::JsonInput::Objects {
                // Plan from the records inside the sample's complete objects.
                let end = crate::input::frame::object_boundary(&sample).unwrap_or(sample.len());
                let mut counts = envelope::ExtractCounts::default();
                let mut text = Vec::new();
                let mut cloudwatch = memchr::memmem::find(&sample, b"\"logEvents\"").is_some();
                for x in envelope::extract(&sample[..end], 0, usize::MAX, usize::MAX, &mut counts) {
                    if let envelope::Extracted::Records(g) = x {
                        cloudwatch |= g.log_group.is_some();
                        text.extend_from_slice(&g.text);
                    }
                }
                plan_input(&name, &text, &opts, &mut schema, &mut early).map(|mut p| {
                    p.input = name.clone();
                    p.max_line = opts.max_line_bytes;
                    if cloudwatch {
                        schema.add(&layout::Column::Unknown(LOG_GROUP_COLUMN.to_string()));
                        schema.add(&layout::Column::Unknown(LOG_STREAM_COLUMN.to_string()));
                    }
                    Plan::Json(p)
                })
            } else {
                plan_input(&name, &sample, &opts, &mut schema, &mut early).map(|mut p| {
                    p.input = name.clone();
                    p.max_line = opts.max_line_bytes;
                    Plan::Text(p)
                })
            };
            match plan {
                Ok(plan) => {
                    planned.push(Planned {
                        input,
                        name,
                        plan,
                        pending,
                        _temp: temp,
                    });
                }
                Err(e) => {
                    stats.failed_inputs += 1;
                    early.push(Notice::Failed(e));
                }
            }
        }
        if schema.columns().is_empty() {
            // Nothing named any column (empty inputs only): use the v2 default columns, so even
            // an empty dataset has the schema readers expect.
            let std = layout::Standard::by_count(14).expect("the default layout has 14 fields");
            for c in &std.layout().columns {
                schema.add(c);
            }
        }
        if opts.keep_original {
            schema.add(&layout::Column::Unknown(batch::ORIGINAL_COLUMN.to_string()));
        }
        if opts.keep_provenance {
            schema.add(&layout::Column::Unknown(batch::INPUT_COLUMN.to_string()));
            schema.add(&layout::Column::Known(&crate::format::fields::OFFSET_FIELD));
        }
        let arrow = schema.arrow();
        Ok(Decoder {
            planned,
            schema,
            arrow,
            opts,
            pool,
            stats,
            early,
        })
    }

    /// The dataset's Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        self.arrow.clone()
    }

    /// The dataset's columns.
    pub fn columns(&self) -> &DatasetSchema {
        &self.schema
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
        self.run_events(
            move |e| match e {
                Event::Batch(b) => on_batch(b),
                Event::InputDone(_) => Ok(()),
            },
            on_reject,
            on_notice,
            on_progress,
        )
    }

    /// [`Decoder::run`], telling the consumer also where each input's batches end
    /// ([`Event::InputDone`], after its last batch), for outputs that record what is done.
    pub fn run_events<B>(
        mut self,
        on_event: B,
        on_reject: &mut dyn FnMut(&RejectReport<'_>),
        on_notice: &mut dyn FnMut(Notice),
        on_progress: &mut dyn FnMut(u64),
    ) -> Result<Stats, Error>
    where
        B: FnMut(Event) -> Result<(), Error> + Send,
    {
        for n in self.early.drain(..) {
            on_notice(n);
        }
        let mut stats = self.stats.clone();
        let (tx, rx) = mpsc::sync_channel::<Event>(64);
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || {
                let mut on_event = on_event;
                let mut rows = 0u64;
                for e in rx {
                    if let Event::Batch(b) = &e {
                        rows += b.num_rows() as u64;
                    }
                    on_event(e)?;
                }
                Ok::<u64, Error>(rows)
            });
            let produced = self.produce(&tx, &mut stats, on_reject, on_notice, on_progress);
            drop(tx);
            let written = writer
                .join()
                .map_err(|_| Error::Internal("the writer thread panicked".into()))?;
            // A writer error is the root cause when both failed (parsing stops when it can't send).
            let rows = written?;
            produced?;
            stats.rows_written = rows;
            Ok(stats)
        })
    }

    fn produce(
        &mut self,
        tx: &mpsc::SyncSender<Event>,
        stats: &mut Stats,
        on_reject: &mut dyn FnMut(&RejectReport<'_>),
        on_notice: &mut dyn FnMut(Notice),
        on_progress: &mut dyn FnMut(u64),
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
            work.push((p.name, p.plan, rx, p._temp, p.input));
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
            let result = self.consume(
                work,
                &mut advance,
                tx,
                stats,
                on_reject,
                on_notice,
                on_progress,
            );
            advance(usize::MAX);
            result
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn consume(
        &self,
        work: Vec<Work>,
        advance: &mut dyn FnMut(usize),
        tx: &mpsc::SyncSender<Event>,
        stats: &mut Stats,
        on_reject: &mut dyn FnMut(&RejectReport<'_>),
        on_notice: &mut dyn FnMut(Notice),
        on_progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let sent_failed = || Error::Internal("output closed early".to_string());
        let last_failure = std::cell::RefCell::new(None::<String>);
        let on_notice = &mut |n: Notice| {
            if let Notice::Failed(e) = &n {
                *last_failure.borrow_mut() = Some(e.to_string());
            }
            on_notice(n)
        };
        for (k, (name, plan, rx, _temp, input)) in work.into_iter().enumerate() {
            advance(k);
            let before = stats.clone();
            last_failure.borrow_mut().take();
            'input: {
                let plan = match (plan, rx) {
                    (Plan::Text(plan), Some(rx)) => (plan, rx),
                    (Plan::Json(plan), Some(rx)) => {
                        self.produce_json(
                            &name,
                            &plan,
                            rx,
                            tx,
                            stats,
                            on_reject,
                            on_notice,
                            on_progress,
                        )?;
                        break 'input;
                    }
                    (Plan::Parquet(map, path), _) => {
                        let path = &path;
                        let schema = self.arrow.clone();
                        let mut send = |b: RecordBatch| {
                            stats.records += b.num_rows() as u64;
                            tx.send(Event::Batch(b)).map_err(|_| sent_failed())
                        };
                        match crate::batch::parquet_in::read(&name, path, &map, &schema, &mut send)
                        {
                            Ok(_) => {
                                stats.bytes_read += std::fs::metadata(path).map_or(0, |m| m.len());
                                on_progress(stats.bytes_read);
                            }
                            Err(e @ Error::Parquet { .. }) => {
                                stats.failed_inputs += 1;
                                on_notice(Notice::Failed(e));
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
                    let Some(block) = next_block(&rx, &name, offset, stats, on_notice) else {
                        break;
                    };
                    let data = block.bytes();
                    let ranges = crate::parse::chunk::split(data, self.opts.chunk_bytes);
                    let schema = &self.arrow;
                    let plan = &plan;
                    let outputs: Vec<ChunkOutput> = self.pool.install(|| {
                        ranges
                            .par_iter()
                            .map(|r| {
                                batch::parse_chunk(
                                    &data[r.clone()],
                                    block.offset + r.start as u64,
                                    plan,
                                    schema,
                                )
                            })
                            .collect()
                    });
                    for out in outputs {
                        stats.records += out.records;
                        stats.rejected += out.rejects.len() as u64;
                        stats.header_lines += out.headers;
                        stats.blank_lines += out.blank;
                        for r in &out.rejects {
                            on_reject(&RejectReport {
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
                        stats.records += 1;
                        stats.rejected += 1;
                        let reason = batch::line_too_long(o.len, self.opts.max_line_bytes);
                        on_reject(&RejectReport {
                            input: &name,
                            line: line_base,
                            offset: o.offset,
                            reason: &reason,
                            raw: &o.head,
                        });
                        self.check_rejects(stats, &name, line_base, &reason)?;
                    }
                    offset = block.end();
                    stats.bytes_read += block.end() - block.offset;
                    on_progress(stats.bytes_read);
                }
            }
            let failed = (stats.failed_inputs > before.failed_inputs)
                .then(|| last_failure.borrow().clone().unwrap_or_default());
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
    #[allow(clippy::too_many_arguments)]
    fn produce_json(
        &self,
        name: &str,
        plan: &FilePlan,
        rx: mpsc::Receiver<Fetched>,
        tx: &mpsc::SyncSender<Event>,
        stats: &mut Stats,
        on_reject: &mut dyn FnMut(&RejectReport<'_>),
        on_notice: &mut dyn FnMut(Notice),
        on_progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let schema = &self.arrow;
        let group_idx = schema.index_of(LOG_GROUP_COLUMN).ok();
        let stream_idx = schema.index_of(LOG_STREAM_COLUMN).ok();
        let offset_idx = schema.index_of(batch::OFFSET_COLUMN).ok();
        let mut counts = envelope::ExtractCounts::default();
        let mut offset = 0u64;
        loop {
            let Some(block) = next_block(&rx, name, offset, stats, on_notice) else {
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
                        stats.records += 1;
                        stats.rejected += 1;
                        let reason = format!("{reason} (JSON object at byte {offset})");
                        on_reject(&RejectReport {
                            input: name,
                            line: record + 1,
                            offset: *offset,
                            reason: &reason,
                            raw,
                        });
                        self.check_rejects(stats, name, record + 1, &reason)?;
                        continue;
                    }
                    envelope::Extracted::Records(g) => g,
                };
                while let Some((_, out)) = outputs.next_if(|(j, _)| *j == i) {
                    stats.records += out.records;
                    stats.rejected += out.rejects.len() as u64;
                    stats.header_lines += out.headers;
                    stats.blank_lines += out.blank;
                    for r in &out.rejects {
                        let k = g.record_at(r.offset);
                        let line = g.first_record + k as u64 + 1;
                        let reason = format!("{} (JSON object at byte {})", r.reason, g.origins[k]);
                        on_reject(&RejectReport {
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
                        tx.send(Event::Batch(b))
                            .map_err(|_| Error::Internal("output closed early".to_string()))?;
                    }
                }
            }
            if let Some(o) = &block.oversized {
                let record = counts.records;
                counts.records += 1;
                stats.records += 1;
                stats.rejected += 1;
                let reason = format!(
                    "{} (JSON object at byte {})",
                    envelope::object_too_long(o.len, self.opts.max_object_bytes()),
                    o.offset
                );
                on_reject(&RejectReport {
                    input: name,
                    line: record + 1,
                    offset: o.offset,
                    reason: &reason,
                    raw: &o.head,
                });
                self.check_rejects(stats, name, record + 1, &reason)?;
            }
            offset = block.end();
            stats.bytes_read += block.end() - block.offset;
            on_progress(stats.bytes_read);
        }
        stats.control_messages += counts.control_messages;
        Ok(())
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
    on_notice: &mut dyn FnMut(Notice),
) -> Option<read::Block> {
    match rx.recv() {
        Ok(Fetched::Block(b)) => Some(b),
        Err(_) => None,
        Ok(Fetched::Failed(e)) => {
            stats.failed_inputs += 1;
            on_notice(Notice::Failed(Error::Read {
                input: name.to_string(),
                offset,
                source: e,
            }));
            None
        }
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
