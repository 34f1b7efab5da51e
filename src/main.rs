//! The `vpcflow` command line: a thin layer of clap, messages and exit codes over the library.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use vpcflow::format::fields::FIELDS;
use vpcflow::format::layout::{Layout, STANDARD};
use vpcflow::pipeline::decode::{Notice, RejectReport};
use vpcflow::sink::AtomicFile;
use vpcflow::sink::parquet::{ParquetOptions, ParquetSink};
use vpcflow::sink::{dataset, ecs};
use vpcflow::{Decoder, Options, Stats};

/// Exit status when an input or the output failed.
const EXIT_FAILED: u8 = 1;
/// Exit status for bad usage, also when found after the arguments were parsed.
const EXIT_USAGE: u8 = 2;
/// Exit status when `--strict` meets a refused line.
const EXIT_STRICT: u8 = 3;
/// Exit status of `alert` when at least one rule fired (and nothing failed).
const EXIT_FIRED: u8 = 4;

/// A usage error found after parsing the arguments (exit status 2).
fn usage(message: impl Into<String>) -> anyhow::Error {
    vpcflow::Error::Usage(message.into()).into()
}

/// The exit status for an error: the one place that maps error kinds to exit codes.
fn exit_status(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(e) = cause.downcast_ref::<vpcflow::Error>() {
            return if e.is_usage() {
                EXIT_USAGE
            } else {
                EXIT_FAILED
            };
        }
        if let Some(e) = cause.downcast_ref::<vpcflow::query::QueryError>() {
            return if e.is_usage() {
                EXIT_USAGE
            } else {
                EXIT_FAILED
            };
        }
        if cause
            .downcast_ref::<vpcflow::query::canned::QueryFileError>()
            .is_some()
        {
            return EXIT_USAGE;
        }
    }
    EXIT_FAILED
}

#[derive(Parser)]
#[command(
    name = "vpcflow",
    version,
    about = "Turn AWS VPC and Transit Gateway flow logs into Parquet, fast"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert flow logs (files, directories, `-` for stdin; plain or gzip) into one dataset.
    Convert(Box<ConvertArgs>),
    /// Run SQL over flows (raw logs or Parquet): ad-hoc `--sql`, a canned `--name`, or a `--file`.
    Query(Box<QueryArgs>),
    /// Evaluate alert rules over flows; print the ones that fire and, with --smtp, email them.
    /// Exit status: 0 nothing fired, 4 a rule fired, 1 an error (e.g. sending failed).
    Alert(Box<AlertArgs>),
    /// Write a self-contained HTML traffic report: charts of the summaries, their numbers and SQL.
    Report(Box<ReportArgs>),
    /// Print a Parquet file's schema, row count and first rows as a table.
    Show {
        /// The Parquet file.
        file: PathBuf,
        /// How many rows to print.
        #[arg(short = 'n', long, default_value_t = 20)]
        rows: usize,
    },
    /// Print the Elasticsearch index template for the ECS documents (`--to ecs`/`bulk`).
    EsTemplate,
    /// List every known flow log field: AWS name, column, type, version.
    Fields {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Which files of walked directories and globs are read, and how.
#[derive(clap::Args, Clone, Default)]
struct SelectArgs {
    /// Refuse lines longer than this many bytes as "line too long", without holding them in
    /// memory (a JSON object of CloudWatch Logs/Firehose input may hold 64 times as much).
    #[arg(long, default_value_t = vpcflow::batch::DEFAULT_MAX_LINE_BYTES as u64, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1..))]
    max_line_bytes: u64,
    /// Only files matching this glob (on the file name; with a `/`, on the path below the
    /// directory walked). Repeatable.
    #[arg(long)]
    include: Vec<String>,
    /// Leave out files matching this glob (same matching as --include). Repeatable.
    #[arg(long)]
    exclude: Vec<String>,
    /// S3-compatible endpoint for s3:// inputs (default: AWS_ENDPOINT_URL, else AWS's own).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
}

impl SelectArgs {
    fn select(&self) -> Result<vpcflow::input::Select> {
        let mut s = vpcflow::input::Select::new(&self.include, &self.exclude)?;
        s.endpoint_url = self.endpoint_url.clone();
        Ok(s)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
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

#[derive(Parser)]
struct ConvertArgs {
    /// Input files, directories (walked recursively) or globs; `-` reads standard input.
    #[arg(required = true)]
    inputs: Vec<String>,
    #[command(flatten)]
    select: SelectArgs,
    /// Output file (`-` for standard output), or a directory for a Parquet dataset (a path
    /// ending in `/`, an existing directory, or any path with --partition-by).
    #[arg(short, long)]
    output: String,
    /// Dataset: Hive-style partition levels, outermost first: `date`, `hour`, `year`, `month`,
    /// `day` (of `start`, UTC) or any column (`account_id`, `region`, `action`…). Repeatable or
    /// comma-separated.
    #[arg(long, value_name = "KEYS")]
    partition_by: Vec<String>,
    /// Dataset: finish a part file once it reaches about this many MB.
    #[arg(long, default_value_t = 128, value_name = "MB")]
    target_file_mb: u64,
    /// Dataset: part files open at once at most (the least recently written is finished).
    #[arg(long, default_value_t = 32)]
    max_open_files: usize,
    /// Dataset: commit (rename files, record inputs in the manifest) once this many rows are
    /// written, at the next input boundary. A killed run redoes at most the uncommitted inputs.
    #[arg(long, default_value_t = 5_000_000)]
    commit_rows: u64,
    /// Dataset: convert everything again, removing what earlier runs wrote to the directory.
    #[arg(long)]
    force: bool,
    /// Output format (default: from the output's extension, else parquet).
    #[arg(long)]
    to: Option<Format>,
    /// Layout of header-less input: `'${version} ${account-id} …'`, plain names, or `default`.
    /// A header line in a file takes precedence.
    #[arg(long)]
    fields: Option<String>,
    /// ECS output: keep each record's text in `event.original` and tag `preserve_original_event`.
    #[arg(long)]
    preserve_original: bool,
    /// ECS/bulk output: add source/destination `geo` and `as` from the MaxMind City and ASN
    /// databases (`.mmdb`) in this directory, as Elastic's geoip processor does.
    #[arg(long)]
    geoip: Option<PathBuf>,
    /// Bulk output: the data stream namespace (index `logs-aws.vpcflow-<namespace>`).
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Bulk output: index or data stream name to create documents in (overrides --namespace's).
    #[arg(long)]
    index: Option<String>,
    /// Bulk output: largest file, in bytes (Elasticsearch refuses requests over 100 MB).
    #[arg(long, default_value_t = 90_000_000)]
    bulk_bytes: u64,
    /// Write every refused line, verbatim, to this file.
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// Write run statistics as JSON to this file.
    #[arg(long)]
    stats: Option<PathBuf>,
    /// Parser threads, and Parquet encoder threads (default: one each per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Give up (exit 1, no output) once more lines are refused than this: a count (`1000`) or a
    /// share of records (`5%`, judged after 1,000 records). For input that is clearly not flow logs.
    #[arg(long, value_parser = vpcflow::pipeline::decode::MaxRejects::parse)]
    max_rejects: Option<vpcflow::pipeline::decode::MaxRejects>,
    /// Fail (exit 3, no output) if any line is refused.
    #[arg(long)]
    strict: bool,
    /// How many refused lines are shown in full on stderr before only counting them.
    #[arg(long, default_value_t = 20)]
    show_rejects: u64,
    /// zstd compression level for Parquet.
    #[arg(long, default_value_t = 1)]
    zstd_level: i32,
    /// Rows per Parquet row group.
    #[arg(long, default_value_t = 1 << 20)]
    row_group_rows: usize,
    /// Parquet: order each window of 131,072 rows by this column (e.g. srcaddr), so equal
    /// values lie together: faster GROUP BY / DISTINCT on it, tighter page statistics, smaller
    /// files. Row order then differs from the input's within each window.
    #[arg(long, value_name = "COLUMN")]
    cluster_by: Option<String>,
    /// Parquet: order all rows of each file (each part file of a dataset) by these columns
    /// (comma-separated, e.g. srcaddr,dstaddr; ascending, nulls last), in bounded memory (runs
    /// set aside in TMPDIR), and record the order in the file, so DataFusion (`vpcflow query`)
    /// aggregates over them as a stream and readers can prune row groups by them.
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    sort_by: Vec<String>,
    /// Arrow bytes held before a run of --sort-by is set aside (tuning and tests).
    #[arg(long, default_value_t = vpcflow::sink::sort::SORT_RUN_BYTES, hide = true)]
    sort_run_bytes: usize,
    /// Rows per --cluster-by window (tuning and tests).
    #[arg(long, default_value_t = vpcflow::sink::parquet::CLUSTER_ROWS, hide = true)]
    cluster_rows: usize,
    /// Bytes per parallel parsing chunk (tuning and tests).
    #[arg(long, default_value_t = 1 << 20, hide = true)]
    chunk_bytes: usize,
    /// Bytes of an input held in memory at once (tuning and tests).
    #[arg(long, default_value_t = 8 << 20, hide = true)]
    window_bytes: usize,
    /// No progress bar and no summary line.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutFormat {
    /// Aligned columns for terminals.
    Table,
    /// CSV with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

#[derive(Parser)]
#[command(
    after_help = "The table is `flows`: the stored columns (AWS's names and types) plus \
    `start_time`/`end_time` timestamps. `vpcflow query --list` shows the canned queries."
)]
struct QueryArgs {
    /// Flow logs (files, directories, globs, `-`; plain or gzip) or Parquet files/directories.
    inputs: Vec<String>,
    #[command(flatten)]
    select: SelectArgs,
    /// A SQL statement over the table `flows` (repeat for several; may start with `--` comments).
    #[arg(long, allow_hyphen_values = true)]
    sql: Vec<String>,
    /// A canned query by name (repeat for several; `--list` shows them).
    #[arg(long)]
    name: Vec<String>,
    /// A `.sql` file (same header as the canned queries; repeat for several).
    #[arg(long)]
    file: Vec<PathBuf>,
    /// A query parameter, `NAME=VALUE`, bound to `${NAME}` in the SQL (repeatable).
    #[arg(long = "param", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// How results are printed.
    #[arg(long, default_value = "table")]
    format: OutFormat,
    /// List the canned queries and their parameters.
    #[arg(long)]
    list: bool,
    /// Print the SQL that would run (parameters bound) instead of running it.
    #[arg(long)]
    print_sql: bool,
    /// Layout of header-less raw input (as for `convert`).
    #[arg(long)]
    fields: Option<String>,
    /// Threads for parsing and for the query engine (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// How many refused lines of raw input are shown in full.
    #[arg(long, default_value_t = 5)]
    show_rejects: usize,
    /// Write the raw-input counts (records, rows, refused) as JSON to this file.
    #[arg(long)]
    stats: Option<PathBuf>,
    /// No summary lines on stderr.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Parser)]
#[command(
    after_help = "A rule is a `.sql` file whose query returns the rows something is wrong \
    with; it fires when it returns at least `-- threshold:` rows. Header lines: `-- severity:`, \
    `-- recipients:`, `-- subject:` ({rows}, {name}), `-- threshold:`, `-- param:`. Shipped rules \
    (`--list`) are named by name; `all` names every one. SMTP credentials: VPCFLOW_SMTP_USER, \
    VPCFLOW_SMTP_PASSWORD."
)]
struct AlertArgs {
    /// Rules (`.sql` files, shipped rule names, or `all`), then the inputs (flow logs or
    /// Parquet, as for `query`). An argument that is neither a `.sql` file nor a rule name is
    /// an input.
    args: Vec<String>,
    /// A rule (file or shipped name), when it could be taken for an input.
    #[arg(long)]
    rule: Vec<String>,
    #[command(flatten)]
    select: SelectArgs,
    /// A rule parameter, `NAME=VALUE`, given to every rule that takes it (repeatable).
    #[arg(long = "param", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// Send one email per firing rule: smtp://HOST[:PORT], smtp+starttls://…, smtps://…
    #[arg(long)]
    smtp: Option<String>,
    /// Sender of the emails.
    #[arg(long, default_value = "vpcflow <vpcflow@localhost>")]
    from: String,
    /// Recipients, instead of the rules' own (repeatable).
    #[arg(long)]
    to: Vec<String>,
    /// Seconds to wait for the SMTP server.
    #[arg(long, default_value_t = 30)]
    smtp_timeout: u64,
    /// How firing rules are printed.
    #[arg(long, default_value = "table")]
    format: AlertFormat,
    /// List the shipped rules.
    #[arg(long)]
    list: bool,
    /// Layout of header-less raw input (as for `convert`).
    #[arg(long)]
    fields: Option<String>,
    /// Threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Print only firing rules (no per-rule summary on stderr).
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Parser)]
struct ReportArgs {
    /// Flow logs (files, directories, globs, `-`; plain or gzip) or Parquet files/directories.
    #[arg(required = true)]
    inputs: Vec<String>,
    #[command(flatten)]
    select: SelectArgs,
    /// The HTML file to write (`-` for standard output).
    #[arg(short, long)]
    output: String,
    /// Only flows whose capture window starts at or after this time (Unix seconds or
    /// YYYY-MM-DD[THH:MM[:SS]], UTC).
    #[arg(long)]
    since: Option<String>,
    /// Only flows whose capture window starts before this time.
    #[arg(long)]
    until: Option<String>,
    /// Rows in the "top" charts.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// The report's title.
    #[arg(long, default_value = "VPC flow log traffic report")]
    title: String,
    /// Layout of header-less raw input (as for `convert`).
    #[arg(long)]
    fields: Option<String>,
    /// Threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// No summary line.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AlertFormat {
    /// A heading and an aligned table per firing rule.
    Table,
    /// One JSON array with every rule's outcome.
    Json,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = vpcflow::cleanup::remove_on_signals() {
        eprintln!("vpcflow: warning: Ctrl-C will leave temporary files behind: {e}");
    }
    let result = match cli.command {
        Command::Convert(args) => convert(*args),
        Command::Query(args) => query(*args),
        Command::Alert(args) => alert(*args),
        Command::Report(args) => report(*args),
        Command::Show { file, rows } => show(&file, rows).map(|()| ExitCode::SUCCESS),
        Command::EsTemplate => (|| -> Result<ExitCode> {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &vpcflow::sink::template::index_template())?;
            writeln!(out)?;
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Fields { json } => print_fields(json).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("vpcflow: error: {e:#}");
            ExitCode::from(exit_status(&e))
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

fn print_fields(json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<serde_json::Value> = FIELDS
            .iter()
            .map(|f| {
                serde_json::json!({
                    "aws_name": f.aws, "column": f.column, "type": f.kind.name(),
                    "version": f.version, "scope": f.scope.name(), "description": f.description,
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<27} {:<27} {:<6} {:>3}  {:<8} description",
        "aws name", "column", "type", "ver", "scope"
    )?;
    for f in FIELDS {
        writeln!(
            out,
            "{:<27} {:<27} {:<6} {:>3}  {:<8} {}",
            f.aws,
            f.column,
            f.kind.name(),
            f.version,
            f.scope.name(),
            f.description
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Standard layouts tried on header-less input without --fields:"
    )?;
    for s in STANDARD {
        writeln!(out, "  {:<18} {}", s.name, s.description)?;
    }
    Ok(())
}

fn show(path: &Path, rows: usize) -> Result<()> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("reading {}", path.display()))?;
    let total = builder.metadata().file_metadata().num_rows();
    let schema = builder.schema().clone();
    let mut batches = Vec::new();
    let mut have = 0;
    for b in builder.with_batch_size(rows.clamp(1, 8192)).build()? {
        let b = b?;
        have += b.num_rows();
        batches.push(b);
        if have >= rows {
            break;
        }
    }
    let mut out = std::io::stdout().lock();
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect();
    writeln!(
        out,
        "{}: {total} rows; columns: {}",
        path.display(),
        cols.join(", ")
    )?;
    out.write_all(vpcflow::present::table::render(&schema, &batches, rows)?.as_bytes())?;
    Ok(())
}

fn format_for(args: &ConvertArgs) -> Result<Format> {
    if let Some(f) = args.to {
        return Ok(f);
    }
    let ext = Path::new(&args.output)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    match ext {
        "ndjson" | "json" | "jsonl" => Ok(Format::Ndjson),
        _ => Ok(Format::Parquet),
    }
}

struct Rejects {
    shown: u64,
    limit: u64,
    file: Option<Box<dyn Write>>,
    error: Option<std::io::Error>,
}

/// Where `--rejects` writes: the file, or standard output for `-`.
fn open_rejects(path: &Path) -> Result<Box<dyn Write>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufWriter::new(std::io::stdout())));
    }
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(Box::new(BufWriter::new(f)))
}

/// Writes `--stats` JSON to the file, or to standard error for `-` (standard output may carry
/// the data).
fn write_stats(path: &Path, stats: &Stats, seconds: f64) -> Result<()> {
    let text = serde_json::to_string_pretty(&stats_json(stats, seconds))? + "\n";
    if path == Path::new("-") {
        std::io::stderr().lock().write_all(text.as_bytes())?;
        return Ok(());
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Refuses, before anything is written, outputs that would overwrite an input or each other,
/// and outputs named by URLs. `main` is `-o` (None: standard output or nothing) and its kind;
/// `side` the other files written (`--stats`, `--rejects`; `-` is a standard stream).
fn check_outputs(
    inputs: &[vpcflow::input::Input],
    main: Option<(&Path, OutputKind)>,
    side: &[(&str, Option<&Path>)],
) -> Result<()> {
    use vpcflow::sink::clobber;
    if let Some((out, kind)) = main {
        match kind {
            OutputKind::File => clobber::refuse_input_file(inputs, "-o", out)?,
            OutputKind::Dataset => clobber::refuse_inputs_inside(inputs, out)?,
            OutputKind::Numbered => clobber::refuse_numbered_inputs(inputs, out, |n| {
                ecs::NumberedFiles::new(out, 1).path(n)
            })?,
        }
    }
    let side: Vec<(&str, &Path)> = side
        .iter()
        .filter_map(|(o, p)| p.filter(|p| *p != Path::new("-")).map(|p| (*o, p)))
        .collect();
    for (i, &(option, path)) in side.iter().enumerate() {
        clobber::refuse_url(option, &path.to_string_lossy())?;
        clobber::refuse_input_file(inputs, option, path)?;
        if let Some((out, OutputKind::File)) = main {
            clobber::refuse_same_output(("-o", out), (option, path))?;
        }
        for &other in &side[i + 1..] {
            clobber::refuse_same_output((option, path), other)?;
        }
    }
    Ok(())
}

/// The local files among the inputs named (S3 objects and standard input left out, errors
/// left to the run that reads them), for [`check_outputs`] before a query or report.
fn local_inputs(args: &[String], select: &SelectArgs) -> Vec<vpcflow::input::Input> {
    let local: Vec<String> = args
        .iter()
        .filter(|a| *a != "-" && !a.starts_with("s3://"))
        .cloned()
        .collect();
    select
        .select()
        .and_then(|s| {
            Ok(vpcflow::input::expand_selected(
                &local,
                &s,
                &mut Vec::new(),
            )?)
        })
        .unwrap_or_default()
}

/// How `-o` is written.
#[derive(Clone, Copy)]
enum OutputKind {
    /// One file, renamed into place when complete.
    File,
    /// A dataset directory.
    Dataset,
    /// Numbered bulk files beside the name given.
    Numbered,
}

impl Rejects {
    fn report(&mut self, r: &RejectReport<'_>) {
        if self.shown < self.limit {
            eprintln!("vpcflow: refused {}", r.describe());
        }
        self.shown += 1;
        if let Some(f) = &mut self.file
            && self.error.is_none()
            && let Err(e) = f.write_all(r.raw).and_then(|()| f.write_all(b"\n"))
        {
            self.error = Some(e);
        }
    }
}

fn stats_json(stats: &Stats, seconds: f64) -> serde_json::Value {
    serde_json::json!({
        "inputs": stats.inputs,
        "failed_inputs": stats.failed_inputs,
        "records": stats.records,
        "rows_written": stats.rows_written,
        "rejected": stats.rejected,
        "bytes_read": stats.bytes_read,
        "header_lines": stats.header_lines,
        "blank_lines": stats.blank_lines,
        "control_messages": stats.control_messages,
        "seconds": (seconds * 1000.0).round() / 1000.0,
    })
}

fn convert(args: ConvertArgs) -> Result<ExitCode> {
    let started = Instant::now();
    vpcflow::sink::clobber::refuse_url("-o", &args.output)?;
    let format = format_for(&args)?;
    if args.cluster_by.is_some() && format != Format::Parquet {
        return Err(usage(
            "--cluster-by applies to Parquet output (files and datasets)",
        ));
    }
    if !args.sort_by.is_empty() && format != Format::Parquet {
        return Err(usage(
            "--sort-by applies to Parquet output (files and datasets)",
        ));
    }
    if args.threads > 0 {
        // Parquet column encoding runs on rayon's global pool: bound it like the parser's.
        rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build_global()
            .context("starting the encoder threads")?;
    }
    let fields = match &args.fields {
        Some(f) => Some(Layout::from_fields_arg(f).map_err(vpcflow::Error::Fields)?),
        None => None,
    };
    if let Some(l) = &fields
        && !l.unknown.is_empty()
    {
        eprintln!(
            "vpcflow: warning: --fields names fields vpcflow doesn't know, kept as text: {}",
            l.unknown.join(", ")
        );
    }
    let mut walk_warnings = Vec::new();
    let inputs =
        vpcflow::input::expand_selected(&args.inputs, &args.select.select()?, &mut walk_warnings)?;
    for w in &walk_warnings {
        eprintln!("vpcflow: warning: {w}");
    }
    if inputs
        .iter()
        .filter(|i| **i == vpcflow::input::Input::Stdin)
        .count()
        > 1
    {
        return Err(usage("standard input ('-') can be named only once"));
    }
    let dataset = !args.partition_by.is_empty()
        || args.output.ends_with('/')
        || Path::new(&args.output).is_dir();
    let to_stdout = args.output == "-";
    if to_stdout && args.rejects.as_deref() == Some(Path::new("-")) {
        return Err(usage(
            "--rejects - writes refused lines to standard output, which -o - already writes to",
        ));
    }
    let kind = if dataset {
        OutputKind::Dataset
    } else if format == Format::Bulk {
        OutputKind::Numbered
    } else {
        OutputKind::File
    };
    check_outputs(
        &inputs,
        (!to_stdout).then(|| (Path::new(&args.output), kind)),
        &[
            ("--stats", args.stats.as_deref()),
            ("--rejects", args.rejects.as_deref()),
        ],
    )?;
    let mut dataset_opts = None;
    let inputs = if dataset {
        if format != Format::Parquet {
            return Err(usage(format!(
                "a dataset directory ({}) holds Parquet only",
                args.output
            )));
        }
        if args.strict {
            return Err(usage(
                "--strict writes one file or nothing; it can't be combined with a dataset directory",
            ));
        }
        let partition_by = dataset::parse_partition_by(&args.partition_by)?;
        let dopts = dataset::DatasetOptions {
            fingerprint: serde_json::json!({
                "partition_by": partition_by.iter().map(|k| k.name().to_string()).collect::<Vec<_>>(),
                "fields": args.fields,
            }),
            partition_by,
            target_file_bytes: args.target_file_mb.max(1) * 1_000_000,
            max_open_files: args.max_open_files.max(1),
            commit_rows: args.commit_rows.max(1),
            parquet: ParquetOptions {
                zstd_level: args.zstd_level,
                row_group_rows: args.row_group_rows,
                cluster_by: args.cluster_by.clone(),
                cluster_rows: args.cluster_rows,
                // Each open part file orders its own rows: the memory is shared among them.
                sort_by: args.sort_by.clone(),
                sort_run_bytes: (args.sort_run_bytes / args.max_open_files.max(1)).max(1),
                ..ParquetOptions::default()
            },
            force: args.force,
        };
        let dir = Path::new(&args.output);
        let mut resume = dataset::prepare(dir, &dopts, inputs)?;
        if !args.quiet {
            if resume.orphans_removed > 0 {
                eprintln!(
                    "vpcflow: {}: removed {} part files of a run that was stopped before recording them",
                    args.output, resume.orphans_removed
                );
            }
            if resume.invalidated_units > 0 {
                eprintln!(
                    "vpcflow: {}: {} inputs changed since they were converted; the {} commits holding them are converted again",
                    args.output, resume.changed_inputs, resume.invalidated_units
                );
            }
            if resume.skipped > 0 {
                eprintln!(
                    "vpcflow: {}: {} inputs already converted and unchanged, skipped ({} rows in the dataset; --force redoes them)",
                    args.output, resume.skipped, resume.rows_before
                );
            }
        }
        for w in &resume.warnings {
            eprintln!("vpcflow: warning: {w}");
        }
        for f in &resume.skipped_failed {
            eprintln!("vpcflow: warning: skipped, recorded as failed when converted: {f}");
        }
        let todo = std::mem::take(&mut resume.todo);
        dataset_opts = Some((dopts, resume));
        todo
    } else {
        if args.force {
            return Err(usage("--force applies to dataset directories"));
        }
        inputs
    };
    let total_bytes: u64 = inputs
        .iter()
        .filter_map(|i| match i {
            vpcflow::input::Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            vpcflow::input::Input::Stdin => None,
            vpcflow::input::Input::S3(o) => Some(o.size),
        })
        .sum();
    let opts = Options {
        threads: args.threads,
        chunk_bytes: args.chunk_bytes.max(1),
        window_bytes: args.window_bytes.max(1),
        fields,
        keep_original: matches!(format, Format::Ecs | Format::Bulk) && args.preserve_original,
        keep_provenance: format == Format::Bulk,
        max_rejects: args.max_rejects,
        max_line_bytes: usize::try_from(args.select.max_line_bytes).unwrap_or(usize::MAX),
        ..Options::default()
    };
    let decoder = Decoder::new(inputs, opts)?;
    let schema = decoder.schema();

    let progress = if !args.quiet && std::io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new(total_bytes);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(pb)
    } else {
        None
    };

    let mut rejects = Rejects {
        shown: 0,
        limit: args.show_rejects,
        file: args.rejects.as_deref().map(open_rejects).transpose()?,
        error: None,
    };
    let mut failed = Vec::new();
    let mut on_notice = |n: Notice| match n {
        Notice::Failed(e) => {
            eprintln!("vpcflow: error: {e}");
            failed.push(e.to_string());
        }
        Notice::Warning(w) => eprintln!("vpcflow: warning: {w}"),
    };
    let mut on_progress = |b: u64| {
        if let Some(pb) = &progress {
            pb.set_position(b);
        }
    };

    let (atomic, out): (Option<AtomicFile>, Box<dyn Write + Send>) = if dataset {
        (None, Box::new(std::io::sink()))
    } else if to_stdout {
        (
            None,
            Box::new(BufWriter::with_capacity(1 << 20, std::io::stdout())),
        )
    } else if format == Format::Bulk {
        // Numbered files, each completed on its own.
        (None, Box::new(std::io::sink()))
    } else {
        let dest = Path::new(&args.output);
        let (a, f) =
            AtomicFile::create(dest).with_context(|| format!("creating {}", dest.display()))?;
        (Some(a), Box::new(BufWriter::with_capacity(1 << 20, f)))
    };
    let mut bulk_files = Vec::new();
    let mut on_reject = |r: &RejectReport<'_>| rejects.report(r);
    type OnBatch<'s> =
        dyn FnMut(arrow::record_batch::RecordBatch) -> Result<(), vpcflow::Error> + Send + 's;
    let mut run = |decoder: Decoder, on_batch: &mut OnBatch<'_>| {
        decoder.run(on_batch, &mut on_reject, &mut on_notice, &mut on_progress)
    };
    let mut dataset_files = None;
    let stats = match format {
        Format::Parquet if dataset => {
            let dopts = dataset_opts.take().expect("dataset options");
            let (dopts, resume) = dopts;
            let mut sink =
                dataset::DatasetSink::new(Path::new(&args.output), schema, dopts, &resume)?;
            let stats = decoder.run_events(
                |e| match e {
                    vpcflow::pipeline::decode::Event::Batch(b) => sink.write(&b),
                    vpcflow::pipeline::decode::Event::InputDone(d) => sink.input_done(&d),
                },
                &mut on_reject,
                &mut on_notice,
                &mut on_progress,
            )?;
            let sink = sink.finish()?;
            dataset_files = Some((sink.files_written, sink.units_committed));
            stats
        }
        Format::Parquet => {
            let popts = ParquetOptions {
                zstd_level: args.zstd_level,
                row_group_rows: args.row_group_rows,
                cluster_by: args.cluster_by.clone(),
                cluster_rows: args.cluster_rows,
                sort_by: args.sort_by.clone(),
                sort_run_bytes: args.sort_run_bytes,
                ..ParquetOptions::default()
            };
            let mut sink = ParquetSink::new(out, &args.output, schema, &popts)?;
            let stats = run(decoder, &mut |b| sink.write(&b))?;
            let mut w = sink.finish()?;
            w.flush()
                .with_context(|| format!("writing {}", args.output))?;
            stats
        }
        Format::Ndjson => {
            let mut sink = vpcflow::sink::ndjson::NdjsonSink::new(out, &args.output, schema);
            let stats = run(decoder, &mut |b| sink.write(&b))?;
            sink.finish()?;
            stats
        }
        Format::Ecs | Format::Bulk => {
            let geo = match &args.geoip {
                Some(dir) => {
                    let g = vpcflow::enrich::geoip::GeoIp::open_dir(dir)
                        .map_err(|e| anyhow::anyhow!("--geoip {}: {e}", dir.display()))?;
                    if !args.quiet {
                        eprintln!("vpcflow: geoip: {g}");
                    }
                    Some(g)
                }
                None => None,
            };
            let eopts = ecs::EcsOptions {
                preserve_original: args.preserve_original,
                geo: geo.as_ref().map(|g| g as &dyn ecs::GeoLookup),
                bulk: (format == Format::Bulk)
                    .then(|| ecs::BulkOptions::new(&args.namespace, args.index.as_deref())),
            };
            if format == Format::Bulk && !to_stdout {
                let files = ecs::NumberedFiles::new(Path::new(&args.output), args.bulk_bytes);
                let mut sink = ecs::EcsWriter::new(files, &args.output, schema, eopts);
                let stats = run(decoder, &mut |b| sink.write(&b))?;
                bulk_files = sink.finish()?.written;
                stats
            } else {
                let mut sink = ecs::EcsWriter::new(out, &args.output, schema, eopts);
                let stats = run(decoder, &mut |b| sink.write(&b))?;
                sink.finish()?;
                stats
            }
        }
        Format::Null => run(decoder, &mut |_| Ok(()))?,
    };
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    if let Some(mut f) = rejects.file.take() {
        f.flush().context("writing the rejects file")?;
    }
    if let Some(e) = rejects.error {
        return Err(e).context("writing the rejects file");
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(p) = &args.stats {
        write_stats(p, &stats, secs)?;
    }
    if rejects.shown > rejects.limit {
        eprintln!(
            "vpcflow: … and {} more refused lines",
            rejects.shown - rejects.limit
        );
    }
    let strict_failed = args.strict && stats.rejected > 0;
    if !strict_failed && let Some(a) = atomic {
        a.commit()
            .with_context(|| format!("renaming the finished output to {}", args.output))?;
    }
    if !args.quiet {
        let mb = stats.bytes_read as f64 / 1e6;
        eprintln!(
            "vpcflow: {} records: {} rows written, {} rejected; {:.1} MB in {:.2} s ({:.0} MB/s){}",
            stats.records,
            stats.rows_written,
            stats.rejected,
            mb,
            secs,
            mb / secs.max(1e-9),
            if strict_failed || to_stdout {
                String::new()
            } else if format == Format::Bulk {
                format!(" -> {} bulk files", bulk_files.len())
            } else if let Some((files, units)) = dataset_files {
                format!(
                    " -> {}: {files} files in {units} commits",
                    args.output.trim_end_matches('/')
                )
            } else {
                format!(" -> {}", args.output)
            }
        );
    }
    if strict_failed {
        eprintln!(
            "vpcflow: error: --strict: {} lines refused; no output written",
            stats.rejected
        );
        return Ok(ExitCode::from(EXIT_STRICT));
    }
    if !failed.is_empty() {
        eprintln!(
            "vpcflow: error: {} of {} inputs failed",
            failed.len(),
            stats.inputs
        );
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

fn list_queries() -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let all = vpcflow::query::canned::canned();
    let width = all.iter().map(|q| q.name.len()).max().unwrap_or(0);
    for q in &all {
        writeln!(out, "{:<width$}  {}", q.name, q.description)?;
        for p in &q.params {
            let default = match &p.default {
                Some(d) => format!("default {d}"),
                None => "required".to_string(),
            };
            writeln!(
                out,
                "{:<width$}    --param {}=… ({}, {default}): {}",
                "",
                p.name,
                p.kind.name(),
                p.description
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn query(args: QueryArgs) -> Result<ExitCode> {
    use vpcflow::present::results::{ResultFormat, ResultWriter};
    use vpcflow::query::canned::{self, QueryFile};
    use vpcflow::query::{Engine, QueryOptions};
    if args.list {
        return list_queries();
    }
    let mut queries: Vec<(String, String)> = Vec::new();
    let mut bind = |q: QueryFile| -> Result<()> {
        let sql = q.bind(&args.params)?;
        queries.push((q.name, sql));
        Ok(())
    };
    for (i, sql) in args.sql.iter().enumerate() {
        bind(QueryFile::parse(&format!("--sql #{}", i + 1), sql)?)?;
    }
    for name in &args.name {
        let q = canned::find(name).ok_or_else(|| {
            usage(format!(
                "there is no canned query {name:?} (`vpcflow query --list` shows them)"
            ))
        })?;
        bind(q)?;
    }
    for path in &args.file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        bind(QueryFile::parse(&stem, &text)?)?;
    }
    if queries.is_empty() {
        return Err(usage(
            "nothing to run: give --sql, --name or --file (or --list)",
        ));
    }
    if args.print_sql {
        let mut out = std::io::stdout().lock();
        for (_, sql) in &queries {
            writeln!(out, "{}", sql.trim_end())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.inputs.is_empty() {
        return Err(usage(
            "no inputs: name flow log files, directories, Parquet files or `-`",
        ));
    }
    if args.stats.is_some() {
        check_outputs(
            &local_inputs(&args.inputs, &args.select),
            None,
            &[("--stats", args.stats.as_deref())],
        )?;
    }
    let opts = QueryOptions {
        decode: decode_options(&args.fields, args.threads, &args.select)?,
        threads: args.threads,
        keep_rejects: args.show_rejects,
        filter: None,
        select: args.select.select()?,
    };
    let started = Instant::now();
    let engine = Engine::open(&args.inputs, &opts)?;
    let format = match args.format {
        OutFormat::Table => ResultFormat::Table,
        OutFormat::Csv => ResultFormat::Csv,
        OutFormat::Json => ResultFormat::Json,
        OutFormat::Ndjson => ResultFormat::Ndjson,
    };
    let many = queries.len() > 1;
    for (i, (name, sql)) in queries.iter().enumerate() {
        let t = Instant::now();
        let stdout = std::io::stdout();
        if many && format == ResultFormat::Table {
            writeln!(stdout.lock(), "{}-- {name}", if i > 0 { "\n" } else { "" })?;
        }
        let mut writer: Option<ResultWriter<std::io::StdoutLock<'_>>> = None;
        let schema = engine
            .run(sql, &mut |b| {
                let w = writer
                    .get_or_insert_with(|| ResultWriter::new(format, stdout.lock(), b.schema()));
                w.write(b)
            })
            .with_context(|| format!("query {name}"))?;
        let rows = writer
            .unwrap_or_else(|| ResultWriter::new(format, stdout.lock(), schema))
            .finish()?;
        if !args.quiet {
            eprintln!(
                "vpcflow: {name}: {rows} rows in {:.3} s",
                t.elapsed().as_secs_f64()
            );
        }
    }
    let log = engine.scan_log();
    for w in &log.warnings {
        eprintln!("vpcflow: warning: {w}");
    }
    for f in &log.failed {
        eprintln!("vpcflow: error: {f}");
    }
    if let Some(stats) = &log.stats {
        for r in &log.rejects {
            eprintln!("vpcflow: refused {r}");
        }
        if stats.rejected > log.rejects.len() as u64 && !log.rejects.is_empty() {
            eprintln!(
                "vpcflow: … and {} more refused lines",
                stats.rejected - log.rejects.len() as u64
            );
        }
        if !args.quiet {
            eprintln!(
                "vpcflow: read {} records: {} rows queried, {} refused; {:.1} MB in {:.2} s",
                stats.records,
                stats.rows_written,
                stats.rejected,
                stats.bytes_read as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
        }
        if let Some(p) = &args.stats {
            write_stats(p, stats, started.elapsed().as_secs_f64())?;
        }
    } else if log.stopped_early && !args.quiet {
        eprintln!("vpcflow: the query needed only part of the input; counts are not complete");
    }
    if !log.failed.is_empty() {
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

fn decode_options(fields: &Option<String>, threads: usize, select: &SelectArgs) -> Result<Options> {
    let fields = match fields {
        Some(f) => Some(Layout::from_fields_arg(f).map_err(vpcflow::Error::Fields)?),
        None => None,
    };
    Ok(Options {
        threads,
        fields,
        max_line_bytes: usize::try_from(select.max_line_bytes).unwrap_or(usize::MAX),
        ..Options::default()
    })
}

fn alert(args: AlertArgs) -> Result<ExitCode> {
    use vpcflow::query::alert::{self, Outcome, Rule};
    use vpcflow::query::canned::QueryFile;
    use vpcflow::query::{Engine, QueryOptions};
    if args.list {
        let mut out = std::io::stdout().lock();
        for q in alert::shipped() {
            let r = Rule::from_query(q)?;
            writeln!(
                out,
                "{:<24} {:<8} {}",
                r.name(),
                r.severity,
                r.query.description
            )?;
            for p in &r.query.params {
                let d = p.default.as_deref().unwrap_or("required");
                writeln!(
                    out,
                    "{:<33} --param {}=… ({}, {d}): {}",
                    "",
                    p.name,
                    p.kind.name(),
                    p.description
                )?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut rules: Vec<Rule> = Vec::new();
    let mut inputs: Vec<String> = Vec::new();
    let add_rule = |spec: &str, rules: &mut Vec<Rule>| -> Result<bool> {
        if spec == "all" {
            for q in alert::shipped() {
                rules.push(Rule::from_query(q)?);
            }
            return Ok(true);
        }
        if spec.ends_with(".sql") && Path::new(spec).is_file() {
            let text = std::fs::read_to_string(spec).with_context(|| format!("reading {spec}"))?;
            let stem = Path::new(spec)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            rules.push(Rule::from_query(QueryFile::parse(&stem, &text)?)?);
            return Ok(true);
        }
        if let Some(q) = alert::find_shipped(spec) {
            rules.push(Rule::from_query(q)?);
            return Ok(true);
        }
        Ok(false)
    };
    for r in &args.rule {
        if !add_rule(r, &mut rules)? {
            return Err(usage(format!(
                "--rule {r}: neither a .sql file nor a shipped rule (`vpcflow alert --list`)"
            )));
        }
    }
    for a in &args.args {
        if !add_rule(a, &mut rules)? {
            if a.ends_with(".sql") {
                return Err(usage(format!("{a}: no such rule file")));
            }
            inputs.push(a.clone());
        }
    }
    if rules.is_empty() {
        return Err(usage(
            "no rules: name .sql files, shipped rules (`vpcflow alert --list`) or `all`",
        ));
    }
    if inputs.is_empty() {
        return Err(usage(
            "no inputs: name flow log files, directories, Parquet files or `-`",
        ));
    }
    for (k, _) in &args.params {
        if !rules.iter().any(|r| r.query.takes(k)) {
            return Err(usage(format!("--param {k}: no rule takes it")));
        }
    }
    let mailer = match &args.smtp {
        Some(u) => {
            let url = vpcflow::present::mail::SmtpUrl::parse(u)
                .map_err(|e| usage(format!("--smtp: {e}")))?;
            Some(
                vpcflow::present::mail::Mailer::new(
                    &url,
                    std::time::Duration::from_secs(args.smtp_timeout),
                )
                .map_err(anyhow::Error::msg)?,
            )
        }
        None => None,
    };
    let opts = QueryOptions {
        decode: decode_options(&args.fields, args.threads, &args.select)?,
        threads: args.threads,
        keep_rejects: 5,
        filter: None,
        select: args.select.select()?,
    };
    let engine = Engine::open(&inputs, &opts)?;
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut errors = 0usize;
    for rule in rules {
        let name = rule.name().to_string();
        match alert::evaluate(&engine, rule, &args.params) {
            Ok(o) => outcomes.push(o),
            Err(e) => {
                errors += 1;
                eprintln!("vpcflow: error: rule {name}: {e}");
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let mut json_rules = Vec::new();
    for o in &outcomes {
        let subject = o.rule.subject_for(o.rows);
        if args.format == AlertFormat::Json {
            let mut rows = Vec::new();
            let mut w = vpcflow::present::results::ResultWriter::new(
                vpcflow::present::results::ResultFormat::Json,
                &mut rows,
                o.schema.clone(),
            );
            for b in &o.batches {
                w.write(b)?;
            }
            w.finish()?;
            json_rules.push(serde_json::json!({
                "rule": o.rule.name(), "fired": o.fired(), "severity": o.rule.severity,
                "description": o.rule.query.description, "subject": subject,
                "recipients": if args.to.is_empty() { &o.rule.recipients } else { &args.to },
                "threshold": o.rule.threshold, "rows": o.rows,
                "result": serde_json::from_slice::<serde_json::Value>(&rows)?,
            }));
        } else if o.fired() {
            writeln!(
                out,
                "ALERT {} {}: {subject} ({} rows)",
                o.rule.severity.to_uppercase(),
                o.rule.name(),
                o.rows
            )?;
            out.write_all(
                vpcflow::present::table::render(&o.schema, &o.batches, alert::KEPT_ROWS)?
                    .as_bytes(),
            )?;
            if o.rows > alert::KEPT_ROWS as u64 {
                writeln!(out, "… {} more rows", o.rows - alert::KEPT_ROWS as u64)?;
            }
            writeln!(out)?;
        }
        if !args.quiet && !o.fired() {
            eprintln!(
                "vpcflow: rule {}: quiet ({} rows, fires at {})",
                o.rule.name(),
                o.rows,
                o.rule.threshold
            );
        }
    }
    if args.format == AlertFormat::Json {
        serde_json::to_writer_pretty(&mut out, &json_rules)?;
        writeln!(out)?;
    }
    out.flush()?;
    let fired: Vec<&Outcome> = outcomes.iter().filter(|o| o.fired()).collect();
    if let Some(m) = &mailer {
        for o in &fired {
            let mail = alert_mail(o, &args.from, &args.to)?;
            match m.send(&mail) {
                Ok(()) => {
                    if !args.quiet {
                        eprintln!(
                            "vpcflow: rule {}: emailed {}",
                            o.rule.name(),
                            mail.to.join(", ")
                        );
                    }
                }
                Err(e) => {
                    errors += 1;
                    eprintln!(
                        "vpcflow: error: rule {}: email not sent: {e}",
                        o.rule.name()
                    );
                }
            }
        }
    }
    let log = engine.scan_log();
    for f in &log.failed {
        errors += 1;
        eprintln!("vpcflow: error: {f}");
    }
    if let Some(s) = &log.stats
        && s.rejected > 0
    {
        eprintln!(
            "vpcflow: {} of {} records refused (see `vpcflow convert --rejects`)",
            s.rejected, s.records
        );
    }
    if errors > 0 {
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    if !fired.is_empty() {
        return Ok(ExitCode::from(EXIT_FIRED));
    }
    Ok(ExitCode::SUCCESS)
}

/// The email of a firing rule: the rows as a text table and as an HTML table, and the SQL.
fn alert_mail(
    o: &vpcflow::query::alert::Outcome,
    from: &str,
    to: &[String],
) -> Result<vpcflow::present::mail::Mail> {
    use vpcflow::present::html::escape;
    let kept: usize = o.batches.iter().map(|b| b.num_rows()).sum();
    let shown = if (kept as u64) < o.rows {
        format!("{} rows (the first {kept} below)", o.rows)
    } else {
        format!("{} rows", o.rows)
    };
    let table = vpcflow::present::table::render(&o.schema, &o.batches, usize::MAX)?;
    let text = format!(
        "vpcflow alert: {} (severity {})\n{}\n\n{shown}:\n\n{table}\nSQL:\n{}\n",
        o.rule.name(),
        o.rule.severity,
        o.rule.query.description,
        o.sql.trim_end()
    );
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>\
         body{{font-family:sans-serif}} table{{border-collapse:collapse}} \
         th,td{{border:1px solid #ccc;padding:2px 6px;font-family:monospace}} td.num{{text-align:right}}\
         </style></head><body><h2>vpcflow alert: {} <small>(severity {})</small></h2><p>{}</p>\
         <p>{}:</p>{}<h3>SQL</h3><pre>{}</pre></body></html>",
        escape(o.rule.name()),
        escape(&o.rule.severity),
        escape(&o.rule.query.description),
        escape(&shown),
        vpcflow::present::html::table(&o.schema, &o.batches, usize::MAX)?,
        escape(o.sql.trim_end())
    );
    Ok(vpcflow::present::mail::Mail {
        from: from.to_string(),
        to: if to.is_empty() {
            o.rule.recipients.clone()
        } else {
            to.to_vec()
        },
        subject: format!(
            "[vpcflow {}] {}",
            o.rule.severity,
            o.rule.subject_for(o.rows)
        ),
        text,
        html,
    })
}

fn report(args: ReportArgs) -> Result<ExitCode> {
    use vpcflow::present::report::{ReportOptions, build, parse_time};
    use vpcflow::query::{Engine, Inputs, QueryOptions, classify};
    let started = Instant::now();
    vpcflow::sink::clobber::refuse_url("-o", &args.output)?;
    if args.output != "-" {
        check_outputs(
            &local_inputs(&args.inputs, &args.select),
            Some((Path::new(&args.output), OutputKind::File)),
            &[],
        )?;
    }
    let since = args
        .since
        .as_deref()
        .map(parse_time)
        .transpose()
        .map_err(|e| usage(format!("--since: {e}")))?;
    let until = args
        .until
        .as_deref()
        .map(parse_time)
        .transpose()
        .map_err(|e| usage(format!("--until: {e}")))?;
    let filter = match (since, until) {
        (None, None) => None,
        (Some(s), None) => Some(format!("start >= {s}")),
        (None, Some(u)) => Some(format!("start < {u}")),
        (Some(s), Some(u)) => Some(format!("start >= {s} AND start < {u}")),
    };
    let decode = decode_options(&args.fields, args.threads, &args.select)?;
    // Raw text is parsed once into a temporary Parquet file that every section then reads
    // (instead of parsing the text once per section); memory stays flat either way.
    let mut temp: Option<vpcflow::cleanup::TempPath> = None;
    let mut failed = 0u64;
    let mut refused = 0u64;
    let mut walk_warnings = Vec::new();
    let classified = classify(&args.inputs, &args.select.select()?, &mut walk_warnings)?;
    for w in &walk_warnings {
        eprintln!("vpcflow: warning: {w}");
    }
    let inputs = match classified {
        Inputs::Parquet(_) => args.inputs.clone(),
        Inputs::Raw(raw) => {
            let tmpdir = std::env::temp_dir();
            let (guard, file) = vpcflow::cleanup::TempPath::file_in(
                &tmpdir,
                ".vpcflow-report-",
                ".parquet",
                vpcflow::cleanup::Access::Private,
            )
            .with_context(|| format!("creating a scratch file in {}", tmpdir.display()))?;
            let path = guard.path().to_path_buf();
            let decoder = Decoder::new(raw, decode.clone())?;
            let mut sink = ParquetSink::new(
                Box::new(BufWriter::with_capacity(1 << 20, file)) as Box<dyn Write + Send>,
                &path.display().to_string(),
                decoder.schema(),
                &ParquetOptions::default(),
            )?;
            let mut shown = 0;
            let stats = decoder.run(
                |b| sink.write(&b),
                &mut |r| {
                    if shown < 5 {
                        shown += 1;
                        eprintln!("vpcflow: refused {}", r.describe());
                    }
                },
                &mut |n| match n {
                    Notice::Failed(e) => {
                        failed += 1;
                        eprintln!("vpcflow: error: {e}");
                    }
                    Notice::Warning(w) => eprintln!("vpcflow: warning: {w}"),
                },
                &mut |_| {},
            )?;
            sink.finish()?.flush()?;
            refused = stats.rejected;
            if !args.quiet {
                eprintln!(
                    "vpcflow: read {} records: {} rows, {} refused",
                    stats.records, stats.rows_written, stats.rejected
                );
            }
            temp = Some(guard);
            vec![path.display().to_string()]
        }
    };
    let opts = QueryOptions {
        decode,
        threads: args.threads,
        keep_rejects: 5,
        filter: filter.clone(),
        select: args.select.select()?,
    };
    let engine = Engine::open(&inputs, &opts)?;
    let mut subtitle = args.inputs.join(", ");
    if let Some(s) = since {
        subtitle += &format!(" · since {s}");
    }
    if let Some(u) = until {
        subtitle += &format!(" · until {u}");
    }
    if refused > 0 {
        subtitle += &format!(" · {refused} lines refused");
    }
    let html = build(
        &engine,
        &ReportOptions {
            top: args.top,
            title: args.title.clone(),
            subtitle,
        },
    )?;
    drop(engine);
    drop(temp);
    if args.output == "-" {
        std::io::stdout().lock().write_all(html.as_bytes())?;
    } else {
        let dest = Path::new(&args.output);
        let (a, mut f) =
            AtomicFile::create(dest).with_context(|| format!("creating {}", dest.display()))?;
        f.write_all(html.as_bytes())
            .with_context(|| format!("writing {}", dest.display()))?;
        a.commit()
            .with_context(|| format!("renaming the finished report to {}", dest.display()))?;
        if !args.quiet {
            eprintln!(
                "vpcflow: report ({} kB) in {:.2} s -> {}",
                html.len() / 1000,
                started.elapsed().as_secs_f64(),
                args.output
            );
        }
    }
    if failed > 0 {
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}
