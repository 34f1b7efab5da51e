//! `vpcflow query`: its flags.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::cli::common::{AttributionArgs, SelectArgs, ThreadsArgs, WindowArgs, parse_param};

const AFTER: &str = "The table is `flows`: the stored columns (AWS's names and types) plus \
`start_time`/`end_time` timestamps, and with --eni-inventory / --aws-ip-ranges the attribution \
columns (eni_type, eni_name, eni_instance_id, eni_security_groups, …, src_eni_id, \
dst_instance_id, src_aws_service, dst_aws_region, …). `vpcflow query --list` shows the canned \
queries.

IP functions:
  ip_in_cidr(addr, cidr)        address in prefix: ip_in_cidr(dstaddr, '10.0.0.0/8')
  is_private_ip(addr)           RFC 1918, 100.64.0.0/10, loopback, link-local, fc00::/7, fe80::/10
  ip_prefix(addr, bits)         network as text: ip_prefix('10.1.2.3', 24) = '10.1.2.0/24'
  ip_prefix(addr, v4, v6)       per family: ip_prefix(srcaddr, 24, 64)

Examples:
  vpcflow query logs/ --name top_talkers --param limit=20
  vpcflow query flows.parquet --sql 'SELECT action, count(*) FROM flows GROUP BY action'
  vpcflow query 's3://bucket/AWSLogs/**/*.log.gz' --name rejected_by_port --format csv
  vpcflow query dataset/ --since 2026-11-30 --until 2026-12-01 --file my.sql --format json
  vpcflow query /shared/logs/ --name top_talkers --cluster df://scheduler:50050
  vpcflow query logs/ --sql \"SELECT ip_prefix(srcaddr, 24) AS net, count(*) FROM flows WHERE NOT is_private_ip(srcaddr) GROUP BY net\"
  vpcflow query logs/ --eni-inventory enis.json --sql \"SELECT eni_name, action, count(*) FROM flows GROUP BY 1, 2\"";

/// How results are printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    /// Aligned columns for terminals.
    Table,
    /// CSV with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// Run SQL over flows (raw logs or Parquet): ad-hoc `--sql`, a canned `--name`, or a `--file`.
#[derive(Parser)]
#[command(after_help = AFTER)]
pub struct QueryArgs {
    /// Flow logs (files, directories, globs, s3:// URLs, `-`; plain or gzip) or Parquet
    /// files/directories.
    #[arg(help_heading = "Inputs")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub attribution: AttributionArgs,
    #[command(flatten)]
    pub window: WindowArgs,

    /// A SQL statement over the table `flows` (repeat for several; may start with `--` comments).
    #[arg(long, allow_hyphen_values = true, help_heading = "Queries")]
    pub sql: Vec<String>,
    /// A canned query by name (repeat for several; `--list` shows them).
    #[arg(long, help_heading = "Queries")]
    pub name: Vec<String>,
    /// A `.sql` file (same header as the canned queries; repeat for several).
    #[arg(long, help_heading = "Queries")]
    pub file: Vec<PathBuf>,
    /// A query parameter, `NAME=VALUE`, bound to `${NAME}` in the SQL (repeatable).
    #[arg(long = "param", value_parser = parse_param, value_name = "NAME=VALUE", help_heading = "Queries")]
    pub params: Vec<(String, String)>,
    /// Run on the Ballista cluster whose scheduler is at df://HOST:PORT (`vpcflow cluster`):
    /// the inputs must be paths every node sees, or s3:// URLs.
    #[arg(long, value_name = "df://HOST:PORT", help_heading = "Queries")]
    pub cluster: Option<String>,
    /// List the canned queries and their parameters.
    #[arg(long, help_heading = "Queries")]
    pub list: bool,
    /// Print the SQL that would run (parameters bound) instead of running it.
    #[arg(long, help_heading = "Queries")]
    pub print_sql: bool,

    /// How results are printed.
    #[arg(long, default_value = "table", help_heading = "Output")]
    pub format: OutFormat,
    /// How many refused lines of raw input are shown in full.
    #[arg(long, default_value_t = 5, value_name = "N", help_heading = "Output")]
    pub show_rejects: usize,
    /// Write the raw-input counts (records, rows, refused) as JSON to this file (`-`: stderr).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub stats: Option<PathBuf>,
    /// No summary lines on stderr.
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
    #[command(flatten)]
    pub perf: ThreadsArgs,
}
