//! How a run decodes: threads, chunk and window sizes, the `--fields` layout, the line length
//! limit, extra columns (provenance, attribution), and when to give up on input that is not flow logs.

use crate::batch;
use crate::format::envelope;
use crate::format::layout::Layout;
use crate::input::read;

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
    /// Add the column `batch::ORIGINAL_COLUMN` with each record's text.
    pub keep_original: bool,
    /// Add the provenance columns `batch::INPUT_COLUMN` and `batch::OFFSET_COLUMN`.
    pub keep_provenance: bool,
    /// Stop the run with [`crate::Error::TooManyRejects`] past this many refused lines.
    pub max_rejects: Option<MaxRejects>,
    /// Lines longer than this are refused as too long without being held in memory; a JSON
    /// object of a CloudWatch Logs or Firehose input may hold 64 times as much.
    pub max_line_bytes: usize,
    /// Columns naming who is behind each address (ENI inventory, AWS ip-ranges), appended to
    /// every batch.
    pub attribution: Option<std::sync::Arc<crate::enrich::attribution::Attribution>>,
    /// Drop records repeated by overlapping flow logs ([`crate::pipeline::dedup`]), holding
    /// at most this many identities in memory.
    pub dedup: Option<usize>,
}

impl Options {
    /// Block and unit sizes for reading an input up to `boundary`.
    pub(crate) fn limits(&self, boundary: read::Boundary) -> read::Limits {
        // A skipped unit keeps as much of its head as the parser keeps of a refused one.
        let (max_unit, head) = match boundary {
            read::Boundary::Line => (self.max_line_bytes, self.max_line_bytes),
            read::Boundary::JsonObject => (self.max_object_bytes(), envelope::REFUSED_HEAD_BYTES),
        };
        read::Limits::new(self.window_bytes, max_unit, head)
    }

    /// The longest JSON object of a CloudWatch Logs or Firehose input (one payload holds many
    /// records).
    pub(crate) fn max_object_bytes(&self) -> usize {
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
            attribution: None,
            dedup: None,
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

    pub(crate) fn exceeded(self, rejected: u64, records: u64) -> bool {
        match self {
            MaxRejects::Count(n) => rejected > n,
            MaxRejects::Ratio(r) => records >= 1000 && rejected as f64 > r * records as f64,
        }
    }

    pub(crate) fn describe(self) -> String {
        match self {
            MaxRejects::Count(n) => format!("{n} lines"),
            MaxRejects::Ratio(r) => format!("{}% of records", r * 100.0),
        }
    }
}
