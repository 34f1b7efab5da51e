//! What the command line tells people, in one place: warnings and errors on stderr, refused
//! lines (shown, counted, written to `--rejects`), the progress bar, `--stats` JSON, `-v`
//! logging, and the exit status each kind of error maps to.

use std::fmt::Display;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use vpcflow::pipeline::{Notice, Observer, RejectReport, Stats};

/// Exit status when an input or the output failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status for bad usage, also when found after the arguments were parsed.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when `--strict` meets a refused line.
pub const EXIT_STRICT: u8 = 3;
/// Exit status of `alert` when at least one rule fired (and nothing failed).
pub const EXIT_FIRED: u8 = 4;

/// A usage error found after parsing the arguments (exit status 2).
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    vpcflow::Error::Usage(message.into()).into()
}

/// Prints a warning.
pub fn warn(message: impl Display) {
    eprintln!("vpcflow: warning: {message}");
}

/// Prints an error that doesn't stop the run (a failed input, a rule that failed).
pub fn error(message: impl Display) {
    eprintln!("vpcflow: error: {message}");
}

/// Prints a line of information (summaries, notes).
pub fn info(message: impl Display) {
    eprintln!("vpcflow: {message}");
}

/// The process's exit code for a subcommand's outcome: errors are printed here, once, and
/// mapped to their documented status by kind. A closed standard output (`| head`) is success.
pub fn exit_code(result: Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            error(describe(&e));
            ExitCode::from(exit_status(&e))
        }
    }
}

/// The error and its causes, `: `-separated, leaving out a cause its effect already quotes (the
/// library's errors carry their source's text in their own message).
fn describe(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text += ": ";
            text += &c;
        }
    }
    text
}

/// The exit status for an error: 2 for usage errors (the library's typed errors say which they
/// are), else 1.
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

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

/// Shows what a run meets as it meets it: the first refused lines in full on stderr (then only
/// counted), every refused line in the `--rejects` file, failed inputs and warnings, and a
/// progress bar when stderr is a terminal.
pub struct Console {
    shown: u64,
    limit: u64,
    file: Option<Box<dyn Write>>,
    file_error: Option<std::io::Error>,
    progress: Option<indicatif::ProgressBar>,
}

impl Console {
    /// Shows `limit` refused lines in full, writes all of them to `rejects` (`-`: standard
    /// output), and with `progress_of` (total bytes) a progress bar on a terminal.
    pub fn new(limit: u64, rejects: Option<&Path>, progress_of: Option<u64>) -> Result<Console> {
        let file = rejects.map(open_rejects).transpose()?;
        let progress = progress_of
            .filter(|_| std::io::stderr().is_terminal())
            .map(|total| {
                let pb = indicatif::ProgressBar::new(total);
                pb.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                pb
            });
        Ok(Console {
            shown: 0,
            limit,
            file,
            file_error: None,
            progress,
        })
    }

    /// Clears the progress bar, completes the rejects file, and says how many refused lines
    /// were not shown.
    pub fn finish(mut self) -> Result<()> {
        if let Some(pb) = &self.progress {
            pb.finish_and_clear();
        }
        if let Some(mut f) = self.file.take() {
            f.flush().context("writing the rejects file")?;
        }
        if let Some(e) = self.file_error.take() {
            return Err(e).context("writing the rejects file");
        }
        more_refused(self.shown.saturating_sub(self.limit));
        Ok(())
    }
}

impl Observer for Console {
    fn reject(&mut self, r: &RejectReport<'_>) {
        if self.shown < self.limit {
            info(format_args!("refused {}", r.describe()));
        }
        self.shown += 1;
        if let Some(f) = &mut self.file
            && self.file_error.is_none()
            && let Err(e) = f.write_all(r.raw).and_then(|()| f.write_all(b"\n"))
        {
            self.file_error = Some(e);
        }
    }

    fn notice(&mut self, n: Notice) {
        match n {
            Notice::Failed(e) => error(e),
            Notice::Warning(w) => warn(w),
        }
    }

    fn progress(&mut self, bytes_read: u64) {
        if let Some(pb) = &self.progress {
            pb.set_position(bytes_read);
        }
    }
}

/// Says how many refused lines were counted but not shown, if any.
pub fn more_refused(hidden: u64) {
    if hidden > 0 {
        info(format_args!("… and {hidden} more refused lines"));
    }
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
pub fn write_stats(path: &Path, stats: &Stats, seconds: f64) -> Result<()> {
    write_stats_with(path, stats, seconds, serde_json::Map::new())
}

/// [`write_stats`] with more members (a cluster run's `executors`).
pub fn write_stats_with(
    path: &Path,
    stats: &Stats,
    seconds: f64,
    more: serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    let mut json = serde_json::json!({
        "inputs": stats.inputs,
        "failed_inputs": stats.failed_inputs,
        "records": stats.records,
        "rows_written": stats.rows_written,
        "rejected": stats.rejected,
        "duplicates": stats.duplicates,
        "bytes_read": stats.bytes_read,
        "header_lines": stats.header_lines,
        "blank_lines": stats.blank_lines,
        "control_messages": stats.control_messages,
        "seconds": (seconds * 1000.0).round() / 1000.0,
    });
    if let Some(o) = json.as_object_mut() {
        o.extend(more);
    }
    let text = serde_json::to_string_pretty(&json)? + "\n";
    if path == Path::new("-") {
        std::io::stderr().lock().write_all(text.as_bytes())?;
        return Ok(());
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `-v`: what happens underneath (credential source, S3 requests and retries, each input's
/// plan), through the `log` facade, to stderr. `-v` shows vpcflow's own notes and object_store's
/// S3 retries, `-vv` adds debug detail, `-vvv` the other libraries' too.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => log::LevelFilter::Info,
        2 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    static LOGGER: StderrLog = StderrLog;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
        STDERR_ALL.store(verbose >= 3, std::sync::atomic::Ordering::Relaxed);
        // object_store's retries are `tracing` events. Fails only if a subscriber is set
        // already, which then keeps them.
        let _ = tracing::subscriber::set_global_default(super::tracing_log::ToLog);
    }
}

static STDERR_ALL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
            && (m.target().starts_with("vpcflow")
                // S3 requests' retries and back-offs.
                || m.target().starts_with("object_store")
                || STDERR_ALL.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            let level = r.level().as_str().to_ascii_lowercase();
            eprintln!("vpcflow: {level}: {}: {}", r.target(), r.args());
        }
    }

    fn flush(&self) {}
}
