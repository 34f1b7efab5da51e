//! `vpcflow cluster scheduler|executor`: runs one process of a Ballista cluster until it is
//! stopped (the library's `query::cluster`; builds without the `cluster` feature say so).

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::ClusterCommand;

/// Runs the scheduler or an executor.
#[cfg(feature = "cluster")]
pub fn run(command: &ClusterCommand) -> Result<ExitCode> {
    use vpcflow::query::cluster::{ExecutorOptions, run_executor, run_scheduler};
    match command {
        ClusterCommand::Scheduler { bind } => run_scheduler(bind)?,
        ClusterCommand::Executor {
            scheduler,
            bind,
            grpc_port,
            concurrency,
        } => run_executor(&ExecutorOptions {
            scheduler: scheduler.clone(),
            bind: bind.clone(),
            grpc_port: *grpc_port,
            concurrency: *concurrency,
        })?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Says that this build has no cluster support.
#[cfg(not(feature = "cluster"))]
pub fn run(_command: &ClusterCommand) -> Result<ExitCode> {
    Err(crate::app::messages::usage(
        "this vpcflow was built without the `cluster` feature (cargo build --release --features cluster)",
    ))
}
