//! `vpcflow report`: its flags.

use clap::Parser;

use crate::cli::common::{AttributionArgs, SelectArgs, ThreadsArgs, WindowArgs};

const EXAMPLES: &str = "Examples:
  vpcflow report logs/ -o traffic.html
  vpcflow report dataset/ --since 2026-11-01 --until 2026-12-01 --top 20 -o november.html";

/// Write a self-contained HTML traffic report: charts of the summaries, their numbers and SQL.
#[derive(Parser)]
#[command(after_help = EXAMPLES)]
pub struct ReportArgs {
    /// Flow logs (files, directories, globs, s3:// URLs, `-`; plain or gzip) or Parquet
    /// files/directories.
    #[arg(required = true, help_heading = "Inputs")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub attribution: AttributionArgs,
    #[command(flatten)]
    pub window: WindowArgs,

    /// The HTML file to write (`-` for standard output).
    #[arg(short, long, help_heading = "Output")]
    pub output: String,
    /// Rows in the "top" charts.
    #[arg(long, default_value_t = 10, value_name = "N", help_heading = "Output")]
    pub top: usize,
    /// The report's title.
    #[arg(
        long,
        default_value = "VPC flow log traffic report",
        help_heading = "Output"
    )]
    pub title: String,
    /// No summary line.
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
    #[command(flatten)]
    pub perf: ThreadsArgs,
}
