//! Choosing and opening an output: where it goes ([`Output`]: standard output, a file renamed
//! into place when complete, an S3 object uploaded, a dataset directory or S3 prefix, numbered
//! bulk files), in which format
//! ([`OutputFormat`]), and [`open`], the one place that turns those into a [`Sink`].

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;

use crate::error::Error;
use crate::pipeline::{Sink, Written};
use crate::sink::AtomicFile;
use crate::sink::dataset::{DatasetOptions, DatasetSink, Resume};
use crate::sink::ecs::{EcsOptions, EcsWriter, NumberedFiles};
use crate::sink::ndjson::NdjsonSink;
use crate::sink::parquet::{ParquetOptions, ParquetSink};
use crate::sink::place::Place;
use crate::sink::s3::{S3Place, Upload};

/// Bytes buffered in front of an output file or standard output.
const BUFFER_BYTES: usize = 1 << 20;

/// The formats an output can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Apache Parquet (zstd), AWS's column names and types.
    Parquet,
    /// Flat NDJSON: one JSON object per row.
    Ndjson,
    /// ECS documents as Elastic's AWS VPC Flow integration produces them, one per line.
    Ecs,
    /// Elasticsearch `_bulk` bodies of ECS documents.
    Bulk,
    /// Nothing: parse and count only.
    Null,
}

impl OutputFormat {
    /// The format a file name implies: NDJSON for `.ndjson`, `.json` and `.jsonl`, else Parquet.
    pub fn from_extension(path: &Path) -> OutputFormat {
        match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
            "ndjson" | "json" | "jsonl" => OutputFormat::Ndjson,
            _ => OutputFormat::Parquet,
        }
    }

    /// Whether documents are ECS (plain or bulk).
    pub fn is_ecs(self) -> bool {
        matches!(self, OutputFormat::Ecs | OutputFormat::Bulk)
    }
}

/// Where an output goes.
// Made once per run: the dataset variant's size doesn't matter.
#[allow(clippy::large_enum_variant)]
pub enum Output {
    /// Standard output.
    Stdout,
    /// One file, written under a temporary name and renamed into place when complete.
    File(PathBuf),
    /// One S3 object, uploaded in parts and completed (made visible) when complete.
    Object(S3Place),
    /// A dataset directory or S3 prefix, prepared by [`crate::sink::dataset::prepare`] (which
    /// decided the inputs still to convert and holds the dataset's lock).
    Dataset {
        /// The directory or prefix.
        dir: Place,
        /// Partitioning, file sizes, Parquet settings.
        options: DatasetOptions,
        /// What the directory holds already.
        resume: Resume,
    },
    /// A writer the caller owns ([`Target::writer`]).
    Target(Target),
    /// Numbered files of at most `limit` bytes beside `base` (bulk bodies).
    Numbered {
        /// The name the numbered files are made from (`bulk.ndjson` → `bulk-000001.ndjson`), a
        /// local path or an S3 URL.
        base: Place,
        /// Largest file, in bytes.
        limit: u64,
    },
}

/// Settings of the formats (each format reads its own).
#[derive(Default)]
pub struct SinkOptions<'g> {
    /// Parquet files (not datasets, which carry their own).
    pub parquet: ParquetOptions,
    /// ECS and bulk documents.
    pub ecs: EcsOptions<'g>,
}

/// Opens `output` for batches of `schema` in `format`.
pub fn open<'g>(
    output: Output,
    format: OutputFormat,
    schema: SchemaRef,
    opts: SinkOptions<'g>,
) -> Result<Box<dyn Sink + 'g>, Error> {
    if format == OutputFormat::Null {
        return Ok(Box::new(Discard));
    }
    let target = match output {
        Output::Dataset {
            dir,
            options,
            mut resume,
        } => {
            if format != OutputFormat::Parquet {
                return Err(Error::Usage(format!(
                    "a dataset directory ({dir}) holds Parquet only"
                )));
            }
            let lock = resume.lock.take();
            let sink = DatasetSink::new(&dir, schema, options, &resume)?;
            return Ok(Box::new(sink.holding(lock)));
        }
        Output::Numbered { base, limit } => {
            let name = base.name();
            let files = NumberedFiles::new(&base, limit);
            return Ok(Box::new(EcsWriter::new(files, &name, schema, opts.ecs)));
        }
        Output::Stdout => Target::stdout(),
        Output::Target(t) => t,
        Output::File(path) => Target::create(&path)?,
        Output::Object(place) => Target::upload(&place),
    };
    let name = target.name().to_string();
    Ok(match format {
        OutputFormat::Parquet => Box::new(ParquetSink::new(target, &name, schema, &opts.parquet)?),
        OutputFormat::Ndjson => Box::new(NdjsonSink::new(target, &name, schema)),
        OutputFormat::Ecs | OutputFormat::Bulk => {
            Box::new(EcsWriter::new(target, &name, schema, opts.ecs))
        }
        OutputFormat::Null => Box::new(Discard),
    })
}

/// The bytes of a single-file output: standard output, a file put in place when committed, or
/// any writer the caller owns.
pub struct Target {
    name: String,
    kind: TargetKind,
}

enum TargetKind {
    Stdout(BufWriter<std::io::Stdout>),
    File(BufWriter<File>, AtomicFile),
    Upload(Upload),
    Writer(Box<dyn Write + Send>),
}

impl Target {
    /// Standard output.
    pub fn stdout() -> Target {
        Target {
            name: "<stdout>".into(),
            kind: TargetKind::Stdout(BufWriter::with_capacity(BUFFER_BYTES, std::io::stdout())),
        }
    }

    /// A new file at `path`, written under a temporary name until [`Target::close`] commits it.
    /// A device or a pipe already at `path` (`-o /dev/null`, a FIFO) is written in place instead:
    /// renaming a file over it would replace it (and nothing could be withheld from it anyway).
    pub fn create(path: &Path) -> Result<Target, Error> {
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::Write {
                    path: path.display().to_string(),
                    reason: format!("opening it: {e}"),
                })?;
            return Ok(Target::writer(
                &path.display().to_string(),
                Box::new(BufWriter::with_capacity(BUFFER_BYTES, file)),
            ));
        }
        let (atomic, file) = AtomicFile::create(path).map_err(|e| Error::Write {
            path: path.display().to_string(),
            reason: format!("creating it: {e}"),
        })?;
        Ok(Target {
            name: path.display().to_string(),
            kind: TargetKind::File(BufWriter::with_capacity(BUFFER_BYTES, file), atomic),
        })
    }

    /// A new S3 object, visible only when [`Target::close`] commits it.
    pub fn upload(place: &S3Place) -> Target {
        Target {
            name: place.url(),
            kind: TargetKind::Upload(place.upload()),
        }
    }

    /// A writer the caller owns (a scratch file, a buffer), named `name` in errors.
    pub fn writer(name: &str, writer: Box<dyn Write + Send>) -> Target {
        Target {
            name: name.to_string(),
            kind: TargetKind::Writer(writer),
        }
    }

    /// The output's name in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Flushes, and with `commit` puts a file in place (without, the file is removed).
    pub fn close(self, commit: bool) -> Result<Written, Error> {
        let failed = |e: std::io::Error| Error::Write {
            path: self.name.clone(),
            reason: e.to_string(),
        };
        match self.kind {
            TargetKind::Stdout(mut w) => {
                w.flush().map_err(failed)?;
                Ok(Written::Stdout)
            }
            TargetKind::Writer(mut w) => {
                w.flush().map_err(failed)?;
                Ok(Written::Nothing)
            }
            TargetKind::File(mut w, atomic) => {
                w.flush().map_err(failed)?;
                drop(w);
                if !commit {
                    return Ok(Written::Nothing);
                }
                let dest = atomic.dest().to_path_buf();
                atomic.commit().map_err(|e| Error::Write {
                    path: self.name.clone(),
                    reason: format!("renaming the finished output into place: {e}"),
                })?;
                Ok(Written::File(dest))
            }
            TargetKind::Upload(u) => {
                if !commit {
                    // Dropped uncommitted: aborted, never visible.
                    return Ok(Written::Nothing);
                }
                u.finish().and_then(|r| r.complete()).map_err(failed)?;
                Ok(Written::Object(self.name))
            }
        }
    }
}

impl Write for Target {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.kind {
            TargetKind::Stdout(w) => w.write(buf),
            TargetKind::File(w, _) => w.write(buf),
            TargetKind::Upload(w) => w.write(buf),
            TargetKind::Writer(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.kind {
            TargetKind::Stdout(w) => w.write_all(buf),
            TargetKind::File(w, _) => w.write_all(buf),
            TargetKind::Upload(w) => w.write_all(buf),
            TargetKind::Writer(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.kind {
            TargetKind::Stdout(w) => w.flush(),
            TargetKind::File(w, _) => w.flush(),
            TargetKind::Upload(w) => w.flush(),
            TargetKind::Writer(w) => w.flush(),
        }
    }
}

/// Counts rows and writes nothing (`--to null`, for measuring the parser).
struct Discard;

impl Sink for Discard {
    fn write(&mut self, _batch: &arrow::record_batch::RecordBatch) -> Result<(), Error> {
        Ok(())
    }

    fn finish(self: Box<Self>, _commit: bool) -> Result<Written, Error> {
        Ok(Written::Nothing)
    }
}
