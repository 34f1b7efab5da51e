//! `vpcflow report`: raw inputs are parsed once into a scratch Parquet file, the report's
//! summaries run over it (or over the Parquet inputs as they are), and the page is written
//! into place.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};

use vpcflow::present::report::{ReportOptions, build};
use vpcflow::query::scratch;
use vpcflow::query::{Engine, Inputs, QueryOptions, classify};
use vpcflow::sink::Target;

use crate::app::messages::{Console, EXIT_FAILED, info, warn};
use crate::app::outputs;
use crate::cli::convert::OutputKind;
use crate::cli::report::ReportArgs;

/// Refused lines shown in full while parsing raw inputs.
const SHOWN_REJECTS: u64 = 5;

/// Runs `vpcflow report`.
pub fn run(args: &ReportArgs) -> Result<ExitCode> {
    let started = Instant::now();
    vpcflow::sink::clobber::refuse_url("-o", &args.output)?;
    if args.output != "-" {
        outputs::check(
            &outputs::local_inputs(&args.inputs, &args.select),
            Some((args.output.as_str(), OutputKind::File)),
            &[],
        )?;
    }
    let window = args.window.resolve()?;
    let decode = args.select.decode_options(args.perf.threads)?;
    let mut walk_warnings = Vec::new();
    let classified = classify(&args.inputs, &args.select.select()?, &mut walk_warnings)?;
    walk_warnings.iter().for_each(warn);
    let mut refused = 0;
    let mut failed = 0;
    let (inputs, scratch) = match classified {
        Inputs::Parquet(_) => (args.inputs.clone(), None),
        Inputs::Raw(raw) => {
            let mut console = Console::new(SHOWN_REJECTS, None, None)?;
            let (guard, report) = scratch::parse_once(raw, decode.clone(), &mut console)?;
            console.finish()?;
            let s = &report.stats;
            refused = s.rejected;
            failed = report.failed.len();
            if !args.quiet {
                info(format_args!(
                    "read {} records: {} rows, {} refused",
                    s.records, s.rows_written, s.rejected
                ));
            }
            (vec![guard.path().display().to_string()], Some(guard))
        }
    };
    let opts = QueryOptions {
        decode,
        threads: args.perf.threads,
        keep_rejects: 5,
        filter: window.filter(),
        select: args.select.select()?,
        // Raw inputs were parsed once above.
        parse_once: false,
        cluster: None,
        attribution: args.attribution.load()?,
    };
    let engine = Engine::open(&inputs, &opts)?;
    let mut subtitle = args.inputs.join(", ");
    if let Some(s) = window.since {
        subtitle += &format!(" · since {s}");
    }
    if let Some(u) = window.until {
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
    drop(scratch);
    let mut target = if args.output == "-" {
        Target::stdout()
    } else {
        Target::create(Path::new(&args.output))?
    };
    target
        .write_all(html.as_bytes())
        .with_context(|| format!("writing {}", args.output))?;
    target.close(true)?;
    if !args.quiet && args.output != "-" {
        info(format_args!(
            "report ({} kB) in {:.2} s -> {}",
            html.len() / 1000,
            started.elapsed().as_secs_f64(),
            args.output
        ));
    }
    if failed > 0 {
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}
