//! Flags several subcommands share: which inputs are read and how (`SelectArgs`), the parse
//! settings (`--fields`, `--threads`), a time window (`--since`/`--until`), the attribution
//! files (`--eni-inventory`, `--aws-ip-ranges`), and `--param`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;

use vpcflow::enrich::attribution::Attribution;
use vpcflow::enrich::inventory::{self, SnapshotFile};
use vpcflow::enrich::ip_ranges::AwsIpRanges;

use vpcflow::format::layout::Layout;
use vpcflow::input::Select;
use vpcflow::pipeline::Options;

use crate::app::messages::{usage, warn};

/// Which files of walked directories and globs are read, and how.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Inputs")]
pub struct SelectArgs {
    /// Only files matching this glob (on the file name; with a `/`, on the path below the
    /// directory walked). Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Leave out files matching this glob (same matching as --include). Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// S3-compatible endpoint for s3:// inputs and outputs (default: AWS_ENDPOINT_URL, else AWS's own).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Layout of header-less input: `'${version} ${account-id} …'`, plain names, or `default`.
    /// A header line in a file takes precedence.
    #[arg(long, value_name = "LAYOUT")]
    pub fields: Option<String>,
    /// Refuse lines longer than this many bytes as "line too long", without holding them in
    /// memory (a JSON object of CloudWatch Logs/Firehose input may hold 64 times as much).
    #[arg(long, default_value_t = vpcflow::batch::DEFAULT_MAX_LINE_BYTES as u64, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_line_bytes: u64,
}

impl SelectArgs {
    /// The `--include`/`--exclude` selection and the S3 endpoint.
    pub fn select(&self) -> Result<Select> {
        let mut s = Select::new(&self.include, &self.exclude)?;
        s.endpoint_url = self.endpoint_url.clone();
        Ok(s)
    }

    /// The decoder's options these flags set, with `threads` parser threads.
    pub fn decode_options(&self, threads: usize) -> Result<Options> {
        Ok(Options {
            threads,
            fields: self.layout()?,
            max_line_bytes: usize::try_from(self.max_line_bytes).unwrap_or(usize::MAX),
            ..Options::default()
        })
    }

    /// The `--fields` layout, parsed once; names vpcflow doesn't know are warned about.
    fn layout(&self) -> Result<Option<Layout>> {
        let Some(text) = &self.fields else {
            return Ok(None);
        };
        let layout = Layout::from_fields_arg(text).map_err(vpcflow::Error::Fields)?;
        if !layout.unknown.is_empty() {
            warn(format_args!(
                "--fields names fields vpcflow doesn't know, kept as text: {}",
                layout.unknown.join(", ")
            ));
        }
        Ok(Some(layout))
    }
}

/// How many threads a query uses.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Performance")]
pub struct ThreadsArgs {
    /// Threads for parsing and for the query engine (default: one per core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
}

/// Only flows whose capture window starts in a time range.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Time window")]
pub struct WindowArgs {
    /// Only flows whose capture window starts at or after this time (Unix seconds or
    /// YYYY-MM-DD[THH:MM[:SS]], UTC).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only flows whose capture window starts before this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

/// A resolved time window: its bounds (Unix seconds) and the SQL condition on `start`.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Lower bound, inclusive.
    pub since: Option<i64>,
    /// Upper bound, exclusive.
    pub until: Option<i64>,
}

impl WindowArgs {
    /// Parses the bounds (a bad time is a usage error).
    pub fn resolve(&self) -> Result<Window> {
        let parse = |flag: &str, v: &Option<String>| {
            v.as_deref()
                .map(vpcflow::present::report::parse_time)
                .transpose()
                .map_err(|e| usage(format!("{flag}: {e}")))
        };
        Ok(Window {
            since: parse("--since", &self.since)?,
            until: parse("--until", &self.until)?,
        })
    }
}

impl Window {
    /// The condition the view `flows` keeps rows by, if any bound is set.
    pub fn filter(&self) -> Option<String> {
        match (self.since, self.until) {
            (None, None) => None,
            (Some(s), None) => Some(format!("start >= {s}")),
            (None, Some(u)) => Some(format!("start < {u}")),
            (Some(s), Some(u)) => Some(format!("start >= {s} AND start < {u}")),
        }
    }
}

/// Parses `NAME=VALUE` for `--param`.
pub fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

/// Who is behind each address: the ENI inventory and AWS's ip-ranges.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Attribution")]
pub struct AttributionArgs {
    /// The output of `aws ec2 describe-network-interfaces` (JSON, plain or gzip), or a directory
    /// of such snapshots: adds eni_type, eni_description, eni_name, eni_instance_id,
    /// eni_security_groups, eni_subnet_id, eni_vpc_id (for interface_id) and src_eni_id,
    /// dst_eni_id, src_instance_id, dst_instance_id (for the addresses, as held when each flow
    /// started). Repeatable.
    #[arg(long, value_name = "FILE|DIR")]
    pub eni_inventory: Vec<PathBuf>,
    /// When the --eni-inventory file in the same position was captured (Unix seconds or
    /// YYYY-MM-DD[THH:MM[:SS]], UTC); otherwise a date-time in the file's name
    /// (e.g. enis-2026-11-30T12-00-00Z.json), else its modification time.
    #[arg(long, value_name = "TIME")]
    pub eni_inventory_time: Vec<String>,
    /// AWS's published ip-ranges.json (plain or gzip): adds src_aws_service, src_aws_region,
    /// dst_aws_service, dst_aws_region (the longest matching prefix; a specific service wins
    /// over AMAZON).
    #[arg(long, value_name = "FILE")]
    pub aws_ip_ranges: Option<PathBuf>,
}

impl AttributionArgs {
    /// Loads the inventory and ranges the flags name (none: no attribution). A bad file is an
    /// error naming it and the place in it; nothing is applied.
    pub fn load(&self) -> Result<Option<Arc<Attribution>>> {
        if self.eni_inventory.is_empty() && !self.eni_inventory_time.is_empty() {
            return Err(usage("--eni-inventory-time needs --eni-inventory"));
        }
        if !self.eni_inventory_time.is_empty()
            && self.eni_inventory_time.len() != self.eni_inventory.len()
        {
            return Err(usage(format!(
                "--eni-inventory-time is given {} times for {} --eni-inventory: give one per inventory, in the same order",
                self.eni_inventory_time.len(),
                self.eni_inventory.len()
            )));
        }
        let mut files = Vec::new();
        for (k, path) in self.eni_inventory.iter().enumerate() {
            let time = self
                .eni_inventory_time
                .get(k)
                .map(|t| {
                    vpcflow::format::calendar::parse_time(t)
                        .map_err(|e| usage(format!("--eni-inventory-time: {e}")))
                })
                .transpose()?;
            if time.is_some() && path.is_dir() {
                return Err(usage(format!(
                    "--eni-inventory-time for the directory {}: its snapshots' times come from their names or modification times",
                    path.display()
                )));
            }
            for path in inventory::expand(path)? {
                files.push(SnapshotFile { path, time });
            }
        }
        let inventory = (!files.is_empty())
            .then(|| inventory::Inventory::load(&files))
            .transpose()?;
        let ranges = self
            .aws_ip_ranges
            .as_deref()
            .map(AwsIpRanges::load)
            .transpose()?;
        let attribution = Attribution::new(inventory, ranges);
        Ok((!attribution.is_empty()).then(|| Arc::new(attribution)))
    }
}
