//! A conversion as a library call: a planned [`Decoder`] pushes its batches into one [`Sink`]
//! (every output implements it: Parquet file, dataset, NDJSON, ECS, bulk files), and the run
//! returns a [`Report`] of counts, failed inputs and what was written.
//!
//! ```
//! use vpcflow::input::Input;
//! use vpcflow::pipeline::{Collected, Conversion, Decoder, Options, Written};
//! use vpcflow::sink::{Output, OutputFormat, SinkOptions};
//!
//! # fn main() -> Result<(), vpcflow::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let out = dir.path().join("flows.parquet");
//! let input = Input::Path("testdata/sample-default.log".into());
//! let decoder = Decoder::new(vec![input], Options::default())?;
//! let output = Output::File(out.clone());
//! let sink = vpcflow::sink::open(output, OutputFormat::Parquet, decoder.schema(), SinkOptions::default())?;
//! let mut seen = Collected { keep_rejects: 10, ..Collected::default() };
//! let report = Conversion::new(decoder).run(sink, &mut seen)?;
//! assert_eq!(report.stats.records, report.stats.rows_written + report.stats.rejected);
//! assert_eq!((report.stats.rows_written, report.written), (40, Written::File(out)));
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::time::Instant;

use arrow::record_batch::RecordBatch;

use crate::error::Error;
use crate::pipeline::decode::Decoder;
use crate::pipeline::report::{Event, Failures, InputDone, Observer, Stats};

/// An output: takes the run's batches in input order, learns where each input ends, and is
/// finished once. Implemented by every output in `crate::sink`.
pub trait Sink: Send {
    /// Writes rows.
    fn write(&mut self, batch: &RecordBatch) -> Result<(), Error>;

    /// Whether text columns may come as dictionary arrays (`Dictionary(UInt32, Utf8)`) where the
    /// schema the sink was opened with says `Utf8` (the attribution's columns).
    fn takes_dictionaries(&self) -> bool {
        false
    }

    /// Every row of an input has been written (outputs that record what is done use it).
    fn input_done(&mut self, _done: &InputDone) -> Result<(), Error> {
        Ok(())
    }

    /// Completes the output. With `commit` false (`--strict` met a refused line) nothing that
    /// can still be withheld is put in place.
    fn finish(self: Box<Self>, commit: bool) -> Result<Written, Error>;
}

/// What a finished [`Sink`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Nothing (a parse-only run, or output withheld by `--strict`).
    Nothing,
    /// Standard output.
    Stdout,
    /// One file, in place.
    File(PathBuf),
    /// One S3 object (its URL), its upload completed.
    Object(String),
    /// Numbered files or objects (Elasticsearch bulk bodies), by path or URL.
    Files(Vec<String>),
    /// Part files of a dataset directory or S3 prefix, recorded in its manifest in `commits`
    /// commits.
    Dataset {
        /// The directory's path or the prefix's URL.
        dir: String,
        /// Part files written by this run.
        files: u64,
        /// Commits made by this run.
        commits: u64,
    },
}

/// What a conversion did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The counts (`records == rows_written + rejected`).
    pub stats: Stats,
    /// Inputs that failed, each with why (also given to the observer as they failed).
    pub failed: Vec<String>,
    /// What the sink wrote.
    pub written: Written,
    /// `--strict` met refused lines, so the output was withheld.
    pub withheld: bool,
    /// Wall-clock seconds the run took.
    pub seconds: f64,
}

/// A conversion: the decoder, and whether a refused line withholds the output.
pub struct Conversion {
    decoder: Decoder,
    strict: bool,
}

impl Conversion {
    /// A conversion of what `decoder` planned.
    pub fn new(decoder: Decoder) -> Conversion {
        Conversion {
            decoder,
            strict: false,
        }
    }

    /// With `strict`, any refused line withholds the output ([`Report::withheld`]).
    pub fn strict(mut self, strict: bool) -> Conversion {
        self.strict = strict;
        self
    }

    /// Runs the decode into `sink` and finishes it; refused lines, failed inputs, warnings and
    /// progress go to `observer` as they happen.
    pub fn run(
        self,
        mut sink: Box<dyn Sink + '_>,
        observer: &mut dyn Observer,
    ) -> Result<Report, Error> {
        let started = Instant::now();
        let mut observer = Failures::new(observer);
        let mut decoder = self.decoder;
        decoder.dictionary_text(sink.takes_dictionaries());
        let stats = decoder.run_events(
            |e| match e {
                Event::Batch(b) => sink.write(&b),
                Event::InputDone(d) => sink.input_done(&d),
            },
            &mut observer,
        )?;
        let withheld = self.strict && stats.rejected > 0;
        let written = sink.finish(!withheld)?;
        Ok(Report {
            stats,
            failed: observer.failed,
            written: if withheld { Written::Nothing } else { written },
            withheld,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}
