//! `vpcflow convert`: expands the inputs, checks the outputs, prepares a dataset directory,
//! runs the library's [`Conversion`] into the [`Sink`](vpcflow::pipeline::Sink) the settings
//! name, and reports.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};

use vpcflow::enrich::geoip::GeoIp;
use vpcflow::input::Input;
use vpcflow::pipeline::{Conversion, Decoder, Report, Written};
use vpcflow::sink::dataset::{self, DatasetOptions};
use vpcflow::sink::ecs::{BulkOptions, EcsOptions};
use vpcflow::sink::place::Place;
use vpcflow::sink::{Output, OutputFormat, SinkOptions};

use crate::app::messages::{self, Console, EXIT_FAILED, EXIT_STRICT, info, usage, warn};
use crate::app::outputs;
use crate::cli::convert::{ConvertArgs, ConvertSettings, OutputKind};

/// Runs `vpcflow convert`.
pub fn run(args: &ConvertArgs) -> Result<ExitCode> {
    let settings = args.resolve()?;
    if args.threads > 0 {
        // Parquet column encoding runs on rayon's global pool: bound it like the parser's.
        rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build_global()
            .context("starting the encoder threads")?;
    }
    let mut walk_warnings = Vec::new();
    let inputs =
        vpcflow::input::expand_selected(&settings.inputs, &settings.select, &mut walk_warnings)?;
    walk_warnings.iter().for_each(warn);
    if inputs.iter().filter(|i| **i == Input::Stdin).count() > 1 {
        return Err(usage("standard input ('-') can be named only once"));
    }
    outputs::check(
        &inputs,
        (settings.kind != OutputKind::Stdout).then_some((settings.output.as_str(), settings.kind)),
        &[
            ("--stats", args.stats.as_deref()),
            ("--rejects", args.rejects.as_deref()),
        ],
    )?;
    let (inputs, output) = output_for(&settings, inputs, args)?;
    let output = match (&args.cluster, output) {
        (
            Some(url),
            Output::Dataset {
                options, resume, ..
            },
        ) => {
            return on_cluster(url, &settings, args, inputs, &options, resume);
        }
        (_, output) => output,
    };
    let total_bytes = inputs.iter().filter_map(input_size).sum();
    let decoder = Decoder::new(inputs, settings.decode.clone())?;
    let geo = open_geoip(args, settings.format)?;
    let ecs = EcsOptions {
        preserve_original: args.preserve_original,
        geo: geo.as_ref().map(|g| g as &dyn vpcflow::enrich::GeoLookup),
        bulk: (settings.format == OutputFormat::Bulk)
            .then(|| BulkOptions::new(&args.namespace, args.index.as_deref())),
    };
    let sink = vpcflow::sink::open(
        output,
        settings.format,
        decoder.schema(),
        SinkOptions {
            parquet: settings.parquet.clone(),
            ecs,
        },
    )?;
    let mut console = Console::new(
        args.show_rejects,
        args.rejects.as_deref(),
        (!args.quiet).then_some(total_bytes),
    )?;
    let report = Conversion::new(decoder)
        .strict(args.strict)
        .run(sink, &mut console)?;
    console.finish()?;
    if let Some(p) = &args.stats {
        messages::write_stats(p, &report.stats, report.seconds)?;
    }
    if !args.quiet {
        summarize(&report);
    }
    if report.withheld {
        messages::error(format_args!(
            "--strict: {} lines refused; no output written",
            report.stats.rejected
        ));
        return Ok(ExitCode::from(EXIT_STRICT));
    }
    if !report.failed.is_empty() {
        messages::error(format_args!(
            "{} of {} inputs failed",
            report.failed.len(),
            report.stats.inputs
        ));
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

/// `convert --cluster`: the dataset's inputs converted by the cluster's executors, published
/// and recorded here.
#[cfg(feature = "cluster")]
fn on_cluster(
    url: &str,
    settings: &ConvertSettings,
    args: &ConvertArgs,
    inputs: Vec<Input>,
    options: &DatasetOptions,
    mut resume: dataset::Resume,
) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let done = vpcflow::query::cluster::convert(
        url,
        inputs,
        &settings.decode,
        &settings.output,
        settings.select.endpoint_url.as_deref(),
        options,
        &mut resume,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(p) = &args.stats {
        let mut more = serde_json::Map::new();
        more.insert("executors".into(), serde_json::to_value(&done.executors)?);
        messages::write_stats_with(p, &done.stats, seconds, more)?;
    }
    let s = &done.stats;
    if !args.quiet {
        info(format_args!(
            "{} records: {} rows written, {} rejected, in {:.2} s on {} executors -> {}: {} files in {} commits",
            s.records,
            s.rows_written,
            s.rejected,
            seconds,
            done.executors.len(),
            settings.output.trim_end_matches('/'),
            done.files,
            done.units
        ));
    }
    if s.failed_inputs > 0 {
        done.failed.iter().for_each(messages::error);
        messages::error(format_args!(
            "{} of {} inputs failed",
            s.failed_inputs, s.inputs
        ));
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

/// `convert --cluster` in a build without the cluster feature.
#[cfg(not(feature = "cluster"))]
fn on_cluster(
    _url: &str,
    _settings: &ConvertSettings,
    _args: &ConvertArgs,
    _inputs: Vec<Input>,
    _options: &DatasetOptions,
    _resume: dataset::Resume,
) -> Result<ExitCode> {
    Err(usage(
        "--cluster: this vpcflow was built without the `cluster` feature (cargo build --release --features cluster)",
    ))
}

/// The output `-o` names, and the inputs still to convert (a dataset skips those it holds).
fn output_for(
    settings: &ConvertSettings,
    inputs: Vec<Input>,
    args: &ConvertArgs,
) -> Result<(Vec<Input>, Output)> {
    let out = PathBuf::from(&settings.output);
    let place = Place::parse(&settings.output, settings.select.endpoint_url.as_deref())?;
    Ok(match settings.kind {
        OutputKind::Stdout => (inputs, Output::Stdout),
        OutputKind::File => match place {
            Place::S3(object) => (inputs, Output::Object(object)),
            Place::Local(_) => (inputs, Output::File(out)),
        },
        OutputKind::Numbered => (
            inputs,
            Output::Numbered {
                base: place,
                limit: args.bulk_bytes,
            },
        ),
        OutputKind::Dataset => {
            let options = settings
                .dataset
                .clone()
                .ok_or_else(|| anyhow!("internal error: a dataset without its options"))?;
            prepare_dataset(place, options, inputs, args.quiet)?
        }
    })
}

/// Reads what a dataset directory holds already and says what this run will redo or skip.
fn prepare_dataset(
    dir: Place,
    options: DatasetOptions,
    inputs: Vec<Input>,
    quiet: bool,
) -> Result<(Vec<Input>, Output)> {
    let mut resume = dataset::prepare(&dir, &options, inputs)?;
    let name = dir.name();
    let name = name.trim_end_matches('/');
    if !quiet {
        if resume.orphans_removed > 0 {
            info(format_args!(
                "{name}: removed {} part files of a run that was stopped before recording them",
                resume.orphans_removed
            ));
        }
        if resume.invalidated_units > 0 {
            info(format_args!(
                "{name}: {} inputs changed since they were converted; the {} commits holding them are converted again",
                resume.changed_inputs, resume.invalidated_units
            ));
        }
        if resume.skipped > 0 {
            info(format_args!(
                "{name}: {} inputs already converted and unchanged, skipped ({} rows in the dataset; --force redoes them)",
                resume.skipped, resume.rows_before
            ));
        }
    }
    resume.warnings.iter().for_each(warn);
    for f in &resume.skipped_failed {
        warn(format_args!(
            "skipped, recorded as failed when converted: {f}"
        ));
    }
    let todo = std::mem::take(&mut resume.todo);
    Ok((
        todo,
        Output::Dataset {
            dir,
            options,
            resume,
        },
    ))
}

/// An input's size in bytes, when known before reading it (for the progress bar).
fn input_size(input: &Input) -> Option<u64> {
    match input {
        Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
        Input::Stdin => None,
        Input::S3(o) => Some(o.size),
    }
}

/// The `--geoip` databases, for ECS output.
fn open_geoip(args: &ConvertArgs, format: OutputFormat) -> Result<Option<GeoIp>> {
    let Some(dir) = args.geoip.as_ref().filter(|_| format.is_ecs()) else {
        return Ok(None);
    };
    let g = GeoIp::open_dir(dir).map_err(|e| anyhow!("--geoip {}: {e}", dir.display()))?;
    if !args.quiet {
        info(format_args!("geoip: {g}"));
    }
    Ok(Some(g))
}

/// The summary line: counts, speed, and where the output went.
fn summarize(report: &Report) {
    let s = &report.stats;
    let mb = s.bytes_read as f64 / 1e6;
    let dest = match &report.written {
        Written::Nothing | Written::Stdout => String::new(),
        Written::File(p) => format!(" -> {}", p.display()),
        Written::Object(url) => format!(" -> {url}"),
        Written::Files(files) => format!(" -> {} bulk files", files.len()),
        Written::Dataset {
            dir,
            files,
            commits,
        } => format!(
            " -> {}: {files} files in {commits} commits",
            dir.trim_end_matches('/')
        ),
    };
    let duplicates = if s.duplicates > 0 {
        format!(", {} duplicates", s.duplicates)
    } else {
        String::new()
    };
    info(format_args!(
        "{} records: {} rows written, {} rejected{duplicates}; {mb:.1} MB in {:.2} s ({:.0} MB/s){dest}",
        s.records,
        s.rows_written,
        s.rejected,
        report.seconds,
        mb / report.seconds.max(1e-9),
    ));
}
