//! `vpcflow alert`: its flags. Inputs are the positional arguments; rules are named only by
//! `--rule`, so nothing is guessed from a name.

use clap::{Parser, ValueEnum};

use crate::cli::common::{AttributionArgs, SelectArgs, ThreadsArgs, WindowArgs, parse_param};

const AFTER: &str = "A rule is a `.sql` file whose query returns the rows something is wrong \
with; it fires when it returns at least `-- threshold:` rows. Header lines: `-- severity:`, \
`-- recipients:`, `-- subject:` ({rows}, {name}), `-- threshold:`, `-- param:`. Shipped rules \
(`--list`) are named by name; `all` names every one. SMTP credentials: VPCFLOW_SMTP_USER, \
VPCFLOW_SMTP_PASSWORD.

Exit status: 0 nothing fired, 4 a rule fired, 1 an error (e.g. sending failed), 2 bad usage.

Examples:
  vpcflow alert logs/ --rule all
  vpcflow alert flows.parquet --rule rejected_spike --param min_rejects=500 --since 2026-12-01
  vpcflow alert 's3://bucket/AWSLogs/**/*.gz' --rule my_rule.sql --smtp smtp+starttls://mail:587 --to soc@example.org";

/// How firing rules are printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlertFormat {
    /// A heading and an aligned table per firing rule.
    Table,
    /// One JSON array with every rule's outcome.
    Json,
}

/// Evaluate alert rules over flows; print the ones that fire and, with --smtp, email them.
#[derive(Parser)]
#[command(after_help = AFTER)]
pub struct AlertArgs {
    /// Flow logs or Parquet (files, directories, globs, s3:// URLs, `-`), as for `query`.
    #[arg(help_heading = "Inputs")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub attribution: AttributionArgs,
    #[command(flatten)]
    pub window: WindowArgs,

    /// A rule: a `.sql` file, a shipped rule's name, or `all` (repeatable).
    #[arg(long, value_name = "RULE", help_heading = "Rules")]
    pub rule: Vec<String>,
    /// A rule parameter, `NAME=VALUE`, given to every rule that takes it (repeatable).
    #[arg(long = "param", value_parser = parse_param, value_name = "NAME=VALUE", help_heading = "Rules")]
    pub params: Vec<(String, String)>,
    /// List the shipped rules.
    #[arg(long, help_heading = "Rules")]
    pub list: bool,

    /// Send one email per firing rule: smtp://HOST[:PORT], smtp+starttls://…, smtps://…
    #[arg(long, value_name = "URL", help_heading = "E-mail")]
    pub smtp: Option<String>,
    /// Sender of the emails.
    #[arg(
        long,
        default_value = "vpcflow <vpcflow@localhost>",
        help_heading = "E-mail"
    )]
    pub from: String,
    /// Recipients, instead of the rules' own (repeatable).
    #[arg(long, help_heading = "E-mail")]
    pub to: Vec<String>,
    /// Seconds to wait for the SMTP server.
    #[arg(
        long,
        default_value_t = 30,
        value_name = "SECONDS",
        help_heading = "E-mail"
    )]
    pub smtp_timeout: u64,

    /// How firing rules are printed.
    #[arg(long, default_value = "table", help_heading = "Output")]
    pub format: AlertFormat,
    /// Print only firing rules (no per-rule summary on stderr).
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
    #[command(flatten)]
    pub perf: ThreadsArgs,
}
