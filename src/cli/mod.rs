//! The command line's shape: clap definitions of every subcommand and its flags, grouped under
//! help headings, and the `resolve` step that turns flags into the library's options. Nothing
//! here runs anything (that is `app`).

pub mod alert;
pub mod common;
pub mod convert;
pub mod query;
pub mod report;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

const EXAMPLES: &str = "Examples:
  vpcflow convert 'AWSLogs/**/*.log.gz' -o flows.parquet
  vpcflow query flows.parquet --name top_talkers
  vpcflow report logs/ -o traffic.html
  vpcflow athena-ddl s3://lake/flows/ --table flows.vpc
  vpcflow alert logs/ --rule all --smtp smtp://mail.example.org
  vpcflow completions bash > /etc/bash_completion.d/vpcflow";

/// The whole command line.
#[derive(Parser)]
#[command(
    name = "vpcflow",
    version,
    about = "Turn AWS VPC and Transit Gateway flow logs into Parquet, ECS and SQL answers, fast",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Show what happens underneath on stderr (S3 credentials and requests, each input's
    /// plan); repeat for more detail (-vv), and for the libraries' own messages (-vvv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The AWS profile for s3:// inputs and outputs (instead of AWS_PROFILE): static keys,
    /// credential_process, assume-role, SSO or web identity, and its region.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
}

/// `vpcflow cluster …`.
#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Run the scheduler: it plans the queries clients send and hands their tasks to executors.
    Scheduler {
        /// Address to listen on for clients and executors.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
        bind: String,
    },
    /// Run an executor: it registers with the scheduler and runs the tasks it is given.
    Executor {
        /// The scheduler's address.
        #[arg(long, value_name = "HOST:PORT")]
        scheduler: String,
        /// Address to serve results and shuffle data on (clients and other executors fetch them).
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
        bind: String,
        /// Port the scheduler sends tasks to (default: the --bind port + 1).
        #[arg(long, value_name = "PORT")]
        grpc_port: Option<u16>,
        /// Tasks run at once (default: one per core).
        #[arg(long, default_value_t = 0, value_name = "N")]
        concurrency: usize,
    },
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Convert flow logs (files, directories, globs, s3://, `-`) into Parquet, a dataset,
    /// NDJSON, ECS documents or Elasticsearch bulk files.
    Convert(Box<convert::ConvertArgs>),
    /// Run SQL over flows (raw logs or Parquet): ad-hoc `--sql`, a canned `--name`, or a `--file`.
    Query(Box<query::QueryArgs>),
    /// Evaluate alert rules over flows; print the ones that fire and, with --smtp, email them.
    Alert(Box<alert::AlertArgs>),
    /// Write a self-contained HTML traffic report: charts of the summaries, their numbers and SQL.
    Report(Box<report::ReportArgs>),
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
    /// Run a Ballista cluster's scheduler or executor (builds with the `cluster` feature), for
    /// `query --cluster df://HOST:PORT`.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Print Athena's CREATE EXTERNAL TABLE (with partition projection) for a dataset that
    /// `convert -o DIR/` wrote.
    AthenaDdl {
        /// The dataset: `s3://bucket/prefix/`, or a local directory (with --location).
        dataset: String,
        /// The table's name (`table` or `database.table`).
        #[arg(long, default_value = "vpc_flow_logs")]
        table: String,
        /// Where Athena reads the files (default: the dataset's s3:// URL; other URLs, such as
        /// file:///…, for Hive or Spark).
        #[arg(long, value_name = "S3_URL")]
        location: Option<String>,
        /// S3-compatible endpoint to read the dataset from (default: AWS_ENDPOINT_URL, else
        /// AWS's own).
        #[arg(long, value_name = "URL")]
        endpoint_url: Option<String>,
    },
    /// List every known flow log field: AWS name, column, type, version.
    Fields {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff); `--out DIR` writes one page per subcommand there instead.
    Man {
        /// Write vpcflow.1 and vpcflow-SUBCOMMAND.1 into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}
