//! What a run reports besides rows, counted in one place: [`Stats`] (the counts), refused lines
//! ([`RejectReport`]), failed inputs and warnings ([`Notice`]), progress; all of it goes to one
//! [`Observer`] the caller gives.

use arrow::record_batch::RecordBatch;

use crate::error::Error;
use crate::input::Input;

/// Counts for a run. `records == rows_written + rejected + duplicates` always holds.
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
    /// Records dropped as repeats (`--dedup`).
    pub duplicates: u64,
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

impl Stats {
    /// Counts what parsing one chunk saw (its rows are counted when they are written).
    pub(crate) fn count_chunk(&mut self, out: &crate::batch::ChunkOutput) {
        self.records += out.records;
        self.rejected += out.rejects.len() as u64;
        self.header_lines += out.headers;
        self.blank_lines += out.blank;
    }

    /// Adds another run's counts (several partitions of one scan, say) to these.
    pub fn add(&mut self, other: &Stats) {
        // Destructured so that a count added to `Stats` can't be forgotten here.
        let Stats {
            inputs,
            failed_inputs,
            records,
            rows_written,
            rejected,
            duplicates,
            bytes_read,
            header_lines,
            blank_lines,
            control_messages,
        } = other;
        self.inputs += inputs;
        self.failed_inputs += failed_inputs;
        self.records += records;
        self.rows_written += rows_written;
        self.rejected += rejected;
        self.duplicates += duplicates;
        self.bytes_read += bytes_read;
        self.header_lines += header_lines;
        self.blank_lines += blank_lines;
        self.control_messages += control_messages;
    }
}

/// Receives what a run meets besides rows, as it meets it, on the thread that parses.
pub trait Observer {
    /// A refused line (counted in [`Stats::rejected`] already).
    fn reject(&mut self, report: &RejectReport<'_>);
    /// An input that failed, or a warning.
    fn notice(&mut self, notice: Notice);
    /// Bytes read from the inputs so far (decompressed).
    fn progress(&mut self, _bytes_read: u64) {}
}

/// An [`Observer`] made of three closures, for callers that need no type of their own.
pub(crate) struct Callbacks<'a> {
    /// Called for each refused line.
    pub reject: &'a mut dyn FnMut(&RejectReport<'_>),
    /// Called for each failed input and warning.
    pub notice: &'a mut dyn FnMut(Notice),
    /// Called with the bytes read so far.
    pub progress: &'a mut dyn FnMut(u64),
}

impl Observer for Callbacks<'_> {
    fn reject(&mut self, report: &RejectReport<'_>) {
        (self.reject)(report);
    }
    fn notice(&mut self, notice: Notice) {
        (self.notice)(notice);
    }
    fn progress(&mut self, bytes_read: u64) {
        (self.progress)(bytes_read);
    }
}

/// An [`Observer`] that keeps what it is told: the first refused lines in full, failed inputs and
/// warnings as text.
#[derive(Debug, Default, Clone)]
pub struct Collected {
    /// How many refused lines [`Collected::rejects`] keeps.
    pub keep_rejects: usize,
    /// The first refused lines (`input:line: reason: text`).
    pub rejects: Vec<String>,
    /// Inputs that failed, with why.
    pub failed: Vec<String>,
    /// Warnings.
    pub warnings: Vec<String>,
}

impl Observer for Collected {
    fn reject(&mut self, report: &RejectReport<'_>) {
        if self.rejects.len() < self.keep_rejects {
            self.rejects.push(report.describe());
        }
    }
    fn notice(&mut self, notice: Notice) {
        match notice {
            Notice::Failed(e) => self.failed.push(e.to_string()),
            Notice::Warning(w) => self.warnings.push(w),
        }
    }
}

/// Passes everything on to another observer, keeping the failed inputs' messages in order.
pub(crate) struct Failures<'a> {
    inner: &'a mut dyn Observer,
    /// Every failure passed on so far.
    pub(crate) failed: Vec<String>,
}

impl<'a> Failures<'a> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: &'a mut dyn Observer) -> Failures<'a> {
        Failures {
            inner,
            failed: Vec::new(),
        }
    }
}

impl Observer for Failures<'_> {
    fn reject(&mut self, report: &RejectReport<'_>) {
        self.inner.reject(report);
    }
    fn notice(&mut self, notice: Notice) {
        if let Notice::Failed(e) = &notice {
            self.failed.push(e.to_string());
        }
        self.inner.notice(notice);
    }
    fn progress(&mut self, bytes_read: u64) {
        self.inner.progress(bytes_read);
    }
}
