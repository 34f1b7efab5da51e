//! The `vpcflow` command line: a thin layer of clap, messages and exit codes over the library.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};

use vpcflow::decode::{Notice, RejectReport};
use vpcflow::fields::FIELDS;
use vpcflow::layout::{Layout, STANDARD};
use vpcflow::sink::AtomicFile;
use vpcflow::sink::ecs;
use vpcflow::sink::parquet::{ParquetOptions, ParquetSink};
use vpcflow::{Decoder, Options, Stats, source};

/// Exit status when `--strict` meets a refused line.
const EXIT_STRICT: u8 = 3;
/// Exit status when an input or the output failed.
const EXIT_FAILED: u8 = 1;

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
    /// Input files or directories (walked recursively); `-` reads standard input.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Output file (`-` for standard output).
    #[arg(short, long)]
    output: String,
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
    #[arg(long, value_parser = vpcflow::decode::MaxRejects::parse)]
    max_rejects: Option<vpcflow::decode::MaxRejects>,
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
    /// Flow logs (files, directories, `-`; plain or gzip) or Parquet files/directories.
    inputs: Vec<String>,
    /// A SQL statement over the table `flows` (repeat for several).
    #[arg(long)]
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

fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(args) => convert(*args),
        Command::Query(args) => query(*args),
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
            ExitCode::from(EXIT_FAILED)
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
    out.write_all(vpcflow::sink::table::render(&schema, &batches, rows)?.as_bytes())?;
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
    file: Option<BufWriter<File>>,
    error: Option<std::io::Error>,
}

impl Rejects {
    fn report(&mut self, r: &RejectReport<'_>) {
        if self.shown < self.limit {
            let raw = String::from_utf8_lossy(&r.raw[..r.raw.len().min(300)]);
            let more = if r.raw.len() > 300 { "…" } else { "" };
            eprintln!(
                "vpcflow: refused {}:{}: {}: {raw}{more}",
                r.input, r.line, r.reason
            );
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
        "seconds": (seconds * 1000.0).round() / 1000.0,
    })
}

fn convert(args: ConvertArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let format = format_for(&args)?;
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
    let inputs = source::expand(&args.inputs)?;
    if inputs
        .iter()
        .filter(|i| **i == source::Input::Stdin)
        .count()
        > 1
    {
        bail!("standard input ('-') can be named only once");
    }
    let total_bytes: u64 = inputs
        .iter()
        .filter_map(|i| match i {
            source::Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            source::Input::Stdin => None,
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
        file: match &args.rejects {
            Some(p) => Some(BufWriter::new(
                File::create(p).with_context(|| format!("creating {}", p.display()))?,
            )),
            None => None,
        },
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

    let to_stdout = args.output == "-";
    let (atomic, out): (Option<AtomicFile>, Box<dyn Write + Send>) = if to_stdout {
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
    let stats = match format {
        Format::Parquet => {
            let popts = ParquetOptions {
                zstd_level: args.zstd_level,
                row_group_rows: args.row_group_rows,
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
        let text = serde_json::to_string_pretty(&stats_json(&stats, secs))? + "\n";
        std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
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
    use vpcflow::query::canned::{self, QueryFile};
    use vpcflow::query::{Engine, QueryOptions};
    use vpcflow::sink::results::{ResultFormat, ResultWriter};
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
        let q = canned::find(name).with_context(|| {
            format!("there is no canned query {name:?} (`vpcflow query --list` shows them)")
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
        bail!("nothing to run: give --sql, --name or --file (or --list)");
    }
    if args.print_sql {
        let mut out = std::io::stdout().lock();
        for (_, sql) in &queries {
            writeln!(out, "{}", sql.trim_end())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.inputs.is_empty() {
        bail!("no inputs: name flow log files, directories, Parquet files or `-`");
    }
    let fields = match &args.fields {
        Some(f) => Some(Layout::from_fields_arg(f).map_err(vpcflow::Error::Fields)?),
        None => None,
    };
    let opts = QueryOptions {
        decode: Options {
            threads: args.threads,
            fields,
            ..Options::default()
        },
        threads: args.threads,
        keep_rejects: args.show_rejects,
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
            let text =
                serde_json::to_string_pretty(&stats_json(stats, started.elapsed().as_secs_f64()))?
                    + "\n";
            std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
        }
    } else if log.stopped_early && !args.quiet {
        eprintln!("vpcflow: the query needed only part of the input; counts are not complete");
    }
    if !log.failed.is_empty() {
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}
