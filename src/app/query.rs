//! `vpcflow query`: binds the queries' parameters, opens the engine over the inputs, prints
//! each result as it comes, then what scanning raw inputs met.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};

use vpcflow::present::results::{ResultFormat, ResultWriter};
use vpcflow::query::canned::{self, QueryFile};
use vpcflow::query::{Engine, QueryOptions, ScanLog};

use crate::app::messages::{self, EXIT_FAILED, error, info, usage, warn};
use crate::app::outputs;
use crate::cli::query::{OutFormat, QueryArgs};

/// Runs `vpcflow query`.
pub fn run(args: &QueryArgs) -> Result<ExitCode> {
    if args.list {
        return list();
    }
    let queries = bind(args)?;
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
        outputs::check(
            &outputs::local_inputs(&args.inputs, &args.select),
            None,
            &[("--stats", args.stats.as_deref())],
        )?;
    }
    let opts = QueryOptions {
        decode: args.select.decode_options(args.perf.threads)?,
        threads: args.perf.threads,
        keep_rejects: args.show_rejects,
        filter: args.window.resolve()?.filter(),
        select: args.select.select()?,
        // Several queries read raw inputs once, not once each.
        parse_once: queries.len() > 1,
        cluster: args.cluster.clone(),
        attribution: args.attribution.load()?,
    };
    let started = Instant::now();
    let engine = Engine::open(&args.inputs, &opts)?;
    let format = match args.format {
        OutFormat::Table => ResultFormat::Table,
        OutFormat::Csv => ResultFormat::Csv,
        OutFormat::Json => ResultFormat::Json,
        OutFormat::Ndjson => ResultFormat::Ndjson,
    };
    for (i, (name, sql)) in queries.iter().enumerate() {
        let t = Instant::now();
        let stdout = std::io::stdout();
        if queries.len() > 1 && format == ResultFormat::Table {
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
            info(format_args!(
                "{name}: {rows} rows in {:.3} s",
                t.elapsed().as_secs_f64()
            ));
        }
    }
    let log = engine.scan_log();
    report_scan(&log, args.quiet, started)?;
    if let (Some(stats), Some(p)) = (&log.stats, &args.stats) {
        messages::write_stats(p, stats, started.elapsed().as_secs_f64())?;
    }
    if !log.failed.is_empty() {
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

/// The queries asked for, in order, their parameters bound: (name, SQL).
fn bind(args: &QueryArgs) -> Result<Vec<(String, String)>> {
    let mut queries = Vec::new();
    let mut add = |q: QueryFile| -> Result<()> {
        let sql = q.bind(&args.params)?;
        queries.push((q.name, sql));
        Ok(())
    };
    for (i, sql) in args.sql.iter().enumerate() {
        add(QueryFile::parse(&format!("--sql #{}", i + 1), sql)?)?;
    }
    for name in &args.name {
        add(canned::find(name).ok_or_else(|| {
            usage(format!(
                "there is no canned query {name:?} (`vpcflow query --list` shows them)"
            ))
        })?)?;
    }
    for path in &args.file {
        add(read_query_file(path)?)?;
    }
    if queries.is_empty() {
        return Err(usage(
            "nothing to run: give --sql, --name or --file (or --list)",
        ));
    }
    Ok(queries)
}

/// A `.sql` file with the canned queries' header, named after its stem.
pub fn read_query_file(path: &Path) -> Result<QueryFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(QueryFile::parse(&stem, &text)?)
}

/// What scanning raw inputs met: warnings, failed inputs, refused lines and the counts.
fn report_scan(log: &ScanLog, quiet: bool, started: Instant) -> Result<()> {
    log.warnings.iter().for_each(warn);
    log.failed.iter().for_each(error);
    if let Some(stats) = &log.stats {
        for r in &log.rejects {
            info(format_args!("refused {r}"));
        }
        if !log.rejects.is_empty() {
            messages::more_refused(stats.rejected.saturating_sub(log.rejects.len() as u64));
        }
        if !quiet {
            info(format_args!(
                "read {} records: {} rows queried, {} refused; {:.1} MB in {:.2} s",
                stats.records,
                stats.rows_written,
                stats.rejected,
                stats.bytes_read as f64 / 1e6,
                started.elapsed().as_secs_f64()
            ));
        }
    } else if log.stopped_early && !quiet {
        info("the query needed only part of the input; counts are not complete");
    }
    Ok(())
}

/// `--list`: the canned queries and their parameters.
fn list() -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let all = canned::canned();
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
