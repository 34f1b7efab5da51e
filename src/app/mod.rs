//! The subcommands, one file each: they take the parsed flags, call the library, and tell
//! people what happened ([`messages`] holds every message and the exit codes).

pub mod alert;
pub mod cluster;
pub mod convert;
pub mod info;
pub mod messages;
pub mod outputs;
pub mod query;
pub mod report;
pub mod tracing_log;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::Command;

/// Runs a subcommand; its exit code (errors are returned, for [`messages::exit_code`]).
pub fn run(command: &Command) -> Result<ExitCode> {
    match command {
        Command::Convert(args) => convert::run(args),
        Command::Query(args) => query::run(args),
        Command::Alert(args) => alert::run(args),
        Command::Report(args) => report::run(args),
        Command::Show { file, rows } => info::show(file, *rows),
        Command::EsTemplate => info::es_template(),
        Command::Cluster(c) => cluster::run(c),
        Command::AthenaDdl {
            dataset,
            table,
            location,
            endpoint_url,
        } => info::athena_ddl(dataset, table, location.as_deref(), endpoint_url.as_deref()),
        Command::Fields { json } => info::fields(*json),
        Command::Completions { shell } => info::completions(*shell),
        Command::Man { out } => info::man(out.as_deref()),
    }
}
