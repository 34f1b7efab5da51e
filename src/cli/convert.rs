//! `vpcflow convert`: its flags, and [`ConvertArgs::resolve`], which checks them against each
//! other and turns them into the library's options ([`ConvertSettings`]).

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Parser, ValueEnum};

use vpcflow::pipeline::{MaxRejects, Options};
use vpcflow::sink::OutputFormat;
use vpcflow::sink::dataset::{self, DatasetOptions};
use vpcflow::sink::parquet::ParquetOptions;
use vpcflow::sink::place::is_s3;

use crate::app::messages::usage;
use crate::cli::common::{AttributionArgs, SelectArgs};

const EXAMPLES: &str = "Examples:
  vpcflow convert 'AWSLogs/**/*.log.gz' -o flows.parquet
  vpcflow convert logs/ -o dataset/ --partition-by date,account_id
  vpcflow convert s3://bucket/AWSLogs/ -o flows.parquet --stats stats.json
  vpcflow convert s3://logs/AWSLogs/ -o s3://lake/flows/ --partition-by date
  vpcflow convert flows.log --to bulk --geoip geoip/ -o bulk.ndjson
  zcat flows.log.gz | vpcflow convert - --fields default -o - --to ndjson";

/// The formats `--to` names.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Apache Parquet (zstd), AWS's column names and types.
    Parquet,
    /// Flat NDJSON: one JSON object per row, Parquet column names and types.
    Ndjson,
    /// ECS documents as Elastic's AWS VPC Flow integration produces them, one per line.
    Ecs,
    /// Elasticsearch `_bulk` bodies of ECS documents, in numbered files of at most --bulk-bytes.
    Bulk,
    /// Parse and count only, write nothing (for measuring the parser).
    #[value(hide = true)]
    Null,
}

/// Convert flow logs (files, directories, globs, `s3://`, `-` for stdin; plain, gzip, JSON
/// envelopes or Parquet) into one Parquet file, dataset directory, NDJSON or ECS output.
#[derive(Parser)]
#[command(after_help = EXAMPLES)]
pub struct ConvertArgs {
    /// Input files, directories (walked recursively), globs or s3:// URLs; `-` reads standard input.
    #[arg(required = true, help_heading = "Inputs")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub attribution: AttributionArgs,

    /// Output file or `s3://bucket/key` (`-` for standard output), or a directory or
    /// `s3://bucket/prefix/` for a Parquet dataset (a name ending in `/`, an existing
    /// directory, or any name with --partition-by).
    #[arg(short, long, help_heading = "Output")]
    pub output: String,
    /// Output format (default: from the output's extension, else parquet).
    #[arg(long, help_heading = "Output")]
    pub to: Option<Format>,
    /// Write run statistics as JSON to this file (`-`: standard error).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub stats: Option<PathBuf>,
    /// No progress bar and no summary line.
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,

    /// Write records repeated by overlapping flow logs (a VPC-level and a subnet-level flow log
    /// over the same interface) once: the same interface (or Transit Gateway attachment),
    /// addresses, ports, protocol, counts, capture window, action and status. The first one read
    /// is kept; --stats counts the others as `duplicates`. Memory stays bounded (windows of
    /// `start` are set aside in TMPDIR).
    #[arg(long, help_heading = "Output")]
    pub dedup: bool,
    /// Identities --dedup holds in memory before setting windows aside (tuning and tests).
    #[arg(long, default_value_t = vpcflow::pipeline::dedup::DEFAULT_MAX_KEYS, hide = true)]
    pub dedup_keys: usize,

    /// Write every refused line, verbatim, to this file (`-`: standard output).
    #[arg(long, value_name = "FILE", help_heading = "Refused lines")]
    pub rejects: Option<PathBuf>,
    /// Give up (exit 1, no output) once more lines are refused than this: a count (`1000`) or a
    /// share of records (`5%`, judged after 1,000 records). For input that is clearly not flow logs.
    #[arg(long, value_parser = MaxRejects::parse, help_heading = "Refused lines")]
    pub max_rejects: Option<MaxRejects>,
    /// Fail (exit 3, no output) if any line is refused.
    #[arg(long, help_heading = "Refused lines")]
    pub strict: bool,
    /// How many refused lines are shown in full on stderr before only counting them.
    #[arg(
        long,
        default_value_t = 20,
        value_name = "N",
        help_heading = "Refused lines"
    )]
    pub show_rejects: u64,

    /// Hive-style partition levels, outermost first: `date`, `hour`, `year`, `month`, `day`
    /// (of `start`, UTC) or any column (`account_id`, `region`, `action`…). Repeatable or
    /// comma-separated.
    #[arg(long, value_name = "KEYS", help_heading = "Dataset")]
    pub partition_by: Vec<String>,
    /// Finish a part file once it reaches about this many MB.
    #[arg(
        long,
        default_value_t = 128,
        value_name = "MB",
        help_heading = "Dataset"
    )]
    pub target_file_mb: u64,
    /// Part files open at once at most (the least recently written is finished).
    #[arg(long, default_value_t = 32, value_name = "N", help_heading = "Dataset")]
    pub max_open_files: usize,
    /// Commit (rename files, record inputs in the manifest) once this many rows are written,
    /// at the next input boundary. A killed run redoes at most the uncommitted inputs.
    #[arg(
        long,
        default_value_t = 5_000_000,
        value_name = "ROWS",
        help_heading = "Dataset"
    )]
    pub commit_rows: u64,
    /// Convert everything again, removing what earlier runs wrote to the directory.
    #[arg(long, help_heading = "Dataset")]
    pub force: bool,
    /// S3 datasets: seconds a run's lease on the prefix lasts unless renewed (tests).
    #[arg(long, default_value_t = dataset::LEASE_SECONDS, hide = true)]
    pub lease_seconds: u64,

    /// zstd compression level.
    #[arg(
        long,
        default_value_t = 1,
        value_name = "LEVEL",
        help_heading = "Parquet"
    )]
    pub zstd_level: i32,
    /// Rows per row group.
    #[arg(long, default_value_t = 1 << 20, value_name = "ROWS", help_heading = "Parquet")]
    pub row_group_rows: usize,
    /// Order each window of 131,072 rows by this column (e.g. srcaddr), so equal values lie
    /// together: faster GROUP BY / DISTINCT on it, tighter page statistics, smaller files. Row
    /// order then differs from the input's within each window.
    #[arg(long, value_name = "COLUMN", help_heading = "Parquet")]
    pub cluster_by: Option<String>,
    /// Order all rows of each file (each part file of a dataset) by these columns
    /// (comma-separated, e.g. srcaddr,dstaddr; ascending, nulls last), in bounded memory (runs
    /// set aside in TMPDIR), and record the order in the file, so DataFusion (`vpcflow query`)
    /// aggregates over them as a stream and readers can prune row groups by them.
    #[arg(
        long,
        value_name = "COLUMNS",
        value_delimiter = ',',
        help_heading = "Parquet"
    )]
    pub sort_by: Vec<String>,
    /// Arrow bytes held before a run of --sort-by is set aside (tuning and tests).
    #[arg(long, default_value_t = vpcflow::sink::sort::SORT_RUN_BYTES, hide = true)]
    pub sort_run_bytes: usize,
    /// Rows per --cluster-by window (tuning and tests).
    #[arg(long, default_value_t = vpcflow::sink::parquet::CLUSTER_ROWS, hide = true)]
    pub cluster_rows: usize,

    /// Keep each record's text in `event.original` and tag `preserve_original_event`.
    #[arg(long, help_heading = "ECS and bulk")]
    pub preserve_original: bool,
    /// Add source/destination `geo` and `as` from the MaxMind City and ASN databases (`.mmdb`)
    /// in this directory, as Elastic's geoip processor does.
    #[arg(long, value_name = "DIR", help_heading = "ECS and bulk")]
    pub geoip: Option<PathBuf>,
    /// Bulk: the data stream namespace (index `logs-aws.vpcflow-<namespace>`).
    #[arg(long, default_value = "default", help_heading = "ECS and bulk")]
    pub namespace: String,
    /// Bulk: index or data stream name to create documents in (overrides --namespace's).
    #[arg(long, help_heading = "ECS and bulk")]
    pub index: Option<String>,
    /// Bulk: largest file, in bytes (Elasticsearch refuses requests over 100 MB).
    #[arg(
        long,
        default_value_t = 90_000_000,
        value_name = "BYTES",
        help_heading = "ECS and bulk"
    )]
    pub bulk_bytes: u64,

    /// Run the conversion on the Ballista cluster whose scheduler is at df://HOST:PORT
    /// (`vpcflow cluster`): the inputs split into work units that executors convert, each into
    /// part files of the dataset -o names (a directory every node sees, or s3://…/), recorded
    /// here when all are done.
    #[arg(long, value_name = "df://HOST:PORT", help_heading = "Dataset")]
    pub cluster: Option<String>,

    /// Parser threads, and Parquet encoder threads (default: one each per core).
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        help_heading = "Performance"
    )]
    pub threads: usize,
    /// Bytes per parallel parsing chunk (tuning and tests).
    #[arg(long, default_value_t = 1 << 20, hide = true)]
    pub chunk_bytes: usize,
    /// Bytes of an input held in memory at once (tuning and tests).
    #[arg(long, default_value_t = 8 << 20, hide = true)]
    pub window_bytes: usize,
}

/// How `-o` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Standard output.
    Stdout,
    /// One file, renamed into place when complete.
    File,
    /// A dataset directory.
    Dataset,
    /// Numbered bulk files beside the name given.
    Numbered,
}

/// `convert`'s flags, checked and turned into library options.
pub struct ConvertSettings {
    /// The inputs as named.
    pub inputs: Vec<String>,
    /// `-o` as given.
    pub output: String,
    /// How `-o` is written.
    pub kind: OutputKind,
    /// The output format.
    pub format: OutputFormat,
    /// Decoder options.
    pub decode: Options,
    /// Parquet settings (a dataset's part files take them too).
    pub parquet: ParquetOptions,
    /// Dataset settings, for a dataset directory.
    pub dataset: Option<DatasetOptions>,
    /// Which files of walked directories and globs are inputs.
    pub select: vpcflow::input::Select,
}

impl ConvertArgs {
    /// Checks the flags against each other and builds the library's options.
    pub fn resolve(&self) -> Result<ConvertSettings> {
        if !is_s3(&self.output) {
            vpcflow::sink::clobber::refuse_url("-o", &self.output)?;
        }
        let format = match self.to {
            Some(Format::Parquet) => OutputFormat::Parquet,
            Some(Format::Ndjson) => OutputFormat::Ndjson,
            Some(Format::Ecs) => OutputFormat::Ecs,
            Some(Format::Bulk) => OutputFormat::Bulk,
            Some(Format::Null) => OutputFormat::Null,
            None => OutputFormat::from_extension(Path::new(&self.output)),
        };
        for (set, flag) in [
            (self.cluster_by.is_some(), "--cluster-by"),
            (!self.sort_by.is_empty(), "--sort-by"),
        ] {
            if set && format != OutputFormat::Parquet {
                return Err(usage(format!(
                    "{flag} applies to Parquet output (files and datasets)"
                )));
            }
        }
        let dataset = !self.partition_by.is_empty()
            || self.output.ends_with('/')
            || (!is_s3(&self.output) && Path::new(&self.output).is_dir());
        let kind = if self.output == "-" {
            OutputKind::Stdout
        } else if dataset {
            OutputKind::Dataset
        } else if format == OutputFormat::Bulk {
            OutputKind::Numbered
        } else {
            OutputKind::File
        };
        if kind == OutputKind::Stdout && self.rejects.as_deref() == Some(Path::new("-")) {
            return Err(usage(
                "--rejects - writes refused lines to standard output, which -o - already writes to",
            ));
        }
        if self.cluster.is_some() {
            if kind != OutputKind::Dataset {
                return Err(usage(
                    "--cluster writes a dataset: give -o a directory every node sees, or s3://bucket/prefix/",
                ));
            }
            if !self.attribution.eni_inventory.is_empty()
                || self.attribution.aws_ip_ranges.is_some()
            {
                return Err(usage(
                    "--eni-inventory and --aws-ip-ranges are not available with --cluster: the executors would need the files",
                ));
            }
            if self.dedup {
                return Err(usage(
                    "--dedup is not available with --cluster: each executor would see only its own inputs",
                ));
            }
            if self.rejects.is_some() {
                return Err(usage(
                    "--rejects with --cluster: refused lines stay with the executors that read them (their counts are reported)",
                ));
            }
        }
        if kind != OutputKind::Dataset && self.force {
            return Err(usage("--force applies to dataset directories"));
        }
        let parquet = ParquetOptions {
            zstd_level: self.zstd_level,
            row_group_rows: self.row_group_rows,
            cluster_by: self.cluster_by.clone(),
            cluster_rows: self.cluster_rows,
            sort_by: self.sort_by.clone(),
            sort_run_bytes: self.sort_run_bytes,
            ..ParquetOptions::default()
        };
        let attribution = self.attribution.load()?;
        let dataset = if kind == OutputKind::Dataset {
            if format != OutputFormat::Parquet {
                return Err(usage(format!(
                    "a dataset directory ({}) holds Parquet only",
                    self.output
                )));
            }
            if self.strict {
                return Err(usage(
                    "--strict writes one file or nothing; it can't be combined with a dataset directory",
                ));
            }
            Some(self.dataset_options(&parquet, attribution.as_deref())?)
        } else {
            None
        };
        let decode = Options {
            chunk_bytes: self.chunk_bytes.max(1),
            window_bytes: self.window_bytes.max(1),
            keep_original: format.is_ecs() && self.preserve_original,
            keep_provenance: format == OutputFormat::Bulk,
            max_rejects: self.max_rejects,
            attribution,
            dedup: self.dedup.then_some(self.dedup_keys),
            ..self.select.decode_options(self.threads)?
        };
        Ok(ConvertSettings {
            inputs: self.inputs.clone(),
            output: self.output.clone(),
            kind,
            format,
            decode,
            parquet,
            dataset,
            select: self.select.select()?,
        })
    }

    fn dataset_options(
        &self,
        parquet: &ParquetOptions,
        attribution: Option<&vpcflow::enrich::attribution::Attribution>,
    ) -> Result<DatasetOptions> {
        let partition_by = dataset::parse_partition_by(&self.partition_by)?;
        let max_open_files = self.max_open_files.max(1);
        let mut fingerprint = serde_json::json!({
            "partition_by": partition_by.iter().map(|k| k.name().to_string()).collect::<Vec<_>>(),
            "fields": self.select.fields,
        });
        if let Some(a) = attribution {
            // Part files with and without attribution columns don't mix (the key is absent
            // without them, so datasets written before it existed still resume).
            fingerprint["attribution"] = serde_json::json!(a.column_names());
        }
        Ok(DatasetOptions {
            fingerprint,
            partition_by,
            target_file_bytes: self.target_file_mb.max(1) * 1_000_000,
            max_open_files,
            commit_rows: self.commit_rows.max(1),
            parquet: ParquetOptions {
                // Each open part file orders its own rows: the memory is shared among them.
                sort_run_bytes: (self.sort_run_bytes / max_open_files).max(1),
                ..parquet.clone()
            },
            force: self.force,
            lease_seconds: self.lease_seconds,
        })
    }
}
