//! Running on an Apache DataFusion Ballista cluster (feature `cluster`): the scheduler and
//! executor processes `vpcflow cluster` starts, and the remote session `query --cluster` plans
//! through. Every process uses vpcflow's codecs ([`super::codec`]) in front of Ballista's own, so
//! the raw-log table travels from a client to the scheduler and its scan from the scheduler to
//! the executors, which parse their share of the inputs themselves (local paths every node
//! sees, or `s3://` objects each node reads with its own AWS credentials). [`convert`] runs a
//! conversion as tasks on the executors ([`super::distributed`]) and publishes what they wrote.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::PhysicalExtensionCodec;

use super::QueryError;
use super::codec::{LogicalCodec, PhysicalCodec};
use super::distributed::{ConvertExec, DatasetSpec, ExecutorName, TaskResult};
use crate::input::Input;
use crate::pipeline::{Options, Stats};
use crate::sink::dataset::{DatasetOptions, Resume};

/// How often executors tell the scheduler they are alive.
const HEARTBEAT_SECONDS: u64 = 5;
/// How long without a heartbeat an executor is declared dead.
const DEAD_AFTER_SECONDS: u64 = 20;

/// The largest gRPC message any process of ours sends or takes (Ballista's default, 16 MiB, is
/// a plan naming about 100,000 inputs).
const GRPC_MESSAGE_BYTES: u32 = 256 << 20;

/// `config` with the client's gRPC message limit raised to [`GRPC_MESSAGE_BYTES`].
fn with_message_limit(mut config: SessionConfig) -> Result<SessionConfig, QueryError> {
    config.options_mut().set(
        ballista_core::config::BALLISTA_CLIENT_GRPC_MAX_MESSAGE_SIZE,
        &GRPC_MESSAGE_BYTES.to_string(),
    )?;
    Ok(config)
}

/// Ours in front of Ballista's logical codec.
fn logical_codec() -> Arc<dyn LogicalExtensionCodec> {
    Arc::new(LogicalCodec::wrapping(Arc::new(
        BallistaLogicalExtensionCodec::default(),
    )))
}

/// Ours in front of Ballista's physical codec.
fn physical_codec() -> Arc<dyn PhysicalExtensionCodec> {
    Arc::new(PhysicalCodec::wrapping(Arc::new(
        BallistaPhysicalExtensionCodec::default(),
    )))
}

/// A runtime for a cluster process: Ballista's servers and their I/O.
fn runtime(name: &str) -> Result<tokio::runtime::Runtime, QueryError> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|e| QueryError::Input(format!("cannot start the {name} runtime: {e}")))
}

/// `HOST:PORT` as a socket address (the host a name or an address).
fn socket_addr(what: &str, s: &str) -> Result<SocketAddr, QueryError> {
    use std::net::ToSocketAddrs;
    s.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| QueryError::Usage(format!("{what} {s}: expected HOST:PORT")))
}

/// `HOST:PORT` split (the port a number).
fn host_port(what: &str, s: &str) -> Result<(String, u16), QueryError> {
    let bad = || QueryError::Usage(format!("{what} {s}: expected HOST:PORT"));
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}

fn ballista_error(what: &str, e: impl std::fmt::Display) -> QueryError {
    QueryError::Input(format!("{what}: {e}"))
}

/// Runs a scheduler on `bind` (`HOST:PORT`) until the process is stopped.
pub fn run_scheduler(bind: &str) -> Result<(), QueryError> {
    let addr = socket_addr("--bind", bind)?;
    let (host, _) = host_port("--bind", bind)?;
    let config = SchedulerConfig {
        bind_host: addr.ip().to_string(),
        bind_port: addr.port(),
        external_host: host,
        // An executor that stops answering (killed) is declared dead after 20 s, and its tasks
        // are run again elsewhere: executors beat every 5 s (Ballista's defaults, 60 s beats
        // and 180 s, would hold a job for minutes).
        executor_timeout_seconds: DEAD_AFTER_SECONDS,
        expire_dead_executor_interval_seconds: 5,
        no_executors_grace_period_seconds: DEAD_AFTER_SECONDS,
        grpc_server_max_decoding_message_size: GRPC_MESSAGE_BYTES,
        grpc_server_max_encoding_message_size: GRPC_MESSAGE_BYTES,
        grpc_client_max_message_size: GRPC_MESSAGE_BYTES,
        override_logical_codec: Some(logical_codec()),
        override_physical_codec: Some(physical_codec()),
        ..Default::default()
    };
    runtime("vpcflow-scheduler")?.block_on(async move {
        let cluster = BallistaCluster::new_from_config(&config)
            .await
            .map_err(|e| ballista_error("starting the scheduler", e))?;
        log::info!("scheduler listening on {addr}");
        start_server(cluster, addr, Arc::new(config))
            .await
            .map_err(|e| ballista_error("the scheduler", e))
    })
}

/// An executor's settings (`vpcflow cluster executor`).
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's `HOST:PORT`.
    pub scheduler: String,
    /// Where this executor serves its results and shuffle files (Arrow Flight), `HOST:PORT`.
    pub bind: String,
    /// The port the scheduler sends tasks to (default: the Flight port + 1).
    pub grpc_port: Option<u16>,
    /// Tasks run at once (0: one per core).
    pub concurrency: usize,
}

/// Runs an executor until the process is stopped (or the scheduler tells it to stop).
pub fn run_executor(opts: &ExecutorOptions) -> Result<(), QueryError> {
    let (scheduler_host, scheduler_port) = host_port("--scheduler", &opts.scheduler)?;
    let addr = socket_addr("--bind", &opts.bind)?;
    let (host, port) = host_port("--bind", &opts.bind)?;
    let grpc_port = match opts.grpc_port {
        Some(p) => p,
        None => port.checked_add(1).ok_or_else(|| {
            QueryError::Usage(format!(
                "--bind {}: no port above it for --grpc-port",
                opts.bind
            ))
        })?,
    };
    // Shuffle and result files: a private directory removed when the process ends.
    let work = crate::cleanup::TempPath::dir_in(&std::env::temp_dir(), ".vpcflow-executor-")
        .map_err(|e| QueryError::Input(format!("creating the executor's work directory: {e}")))?;
    // Tasks learn which executor runs them (`convert --cluster` counts work per executor).
    let id = format!("{host}:{port}");
    let name = id.clone();
    let config = ExecutorProcessConfig {
        executor_id: id,
        bind_host: addr.ip().to_string(),
        // Advertised to the scheduler and clients; an unspecified address means "ask the
        // connection" (the scheduler uses the address this executor connects from).
        external_host: (!addr.ip().is_unspecified()).then_some(host),
        port,
        grpc_port,
        scheduler_host,
        scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        executor_heartbeat_interval_seconds: HEARTBEAT_SECONDS,
        grpc_max_decoding_message_size: GRPC_MESSAGE_BYTES,
        grpc_max_encoding_message_size: GRPC_MESSAGE_BYTES,
        vcores: if opts.concurrency == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            opts.concurrency
        },
        work_dir: Some(work.path().to_string_lossy().into_owned()),
        print_thread_info: false,
        override_config_producer: Some(Arc::new(move || {
            SessionConfig::new_with_ballista().with_extension(Arc::new(ExecutorName(name.clone())))
        })),
        override_logical_codec: Some(logical_codec()),
        override_physical_codec: Some(physical_codec()),
        ..Default::default()
    };
    log::info!(
        "executor {} serving on {addr} (tasks on port {grpc_port}), scheduler {}",
        config.executor_id,
        opts.scheduler
    );
    let result = runtime("vpcflow-executor")?
        .block_on(start_executor_process(Arc::new(config)))
        .map_err(|e| ballista_error("the executor", e));
    drop(work);
    result
}

/// Fails clearly unless something listens at the scheduler's address (the client connects only
/// when a query runs, and would report a transport error then).
fn reachable(url: &str, host: &str, port: u16) -> Result<(), QueryError> {
    use std::net::{TcpStream, ToSocketAddrs};
    let unreachable = |why: String| {
        QueryError::Input(format!(
            "--cluster {url}: no scheduler answers there ({why})"
        ))
    };
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| unreachable(e.to_string()))?
        .collect();
    let mut last = String::from("no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, std::time::Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(unreachable(last))
}

/// A session whose queries run on the cluster at `url` (`df://HOST:PORT`), with `config`'s
/// settings and vpcflow's codecs.
pub(crate) async fn remote_context(
    url: &str,
    config: SessionConfig,
) -> Result<SessionContext, QueryError> {
    let rest = url
        .strip_prefix("df://")
        .ok_or_else(|| QueryError::Usage(format!("--cluster {url}: expected df://HOST:PORT")))?;
    let (host, port) = host_port("--cluster", rest)?;
    reachable(url, &host, port)?;
    let config = with_message_limit(config.upgrade_for_ballista())?
        .with_ballista_logical_extension_codec(logical_codec())
        .with_ballista_physical_extension_codec(physical_codec())
        .with_ballista_job_name("vpcflow query");
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    SessionContext::remote_with_state(url, state)
        .await
        .map_err(|e| ballista_error(&format!("--cluster {url}"), e))
}

/// What one executor did in a distributed conversion.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ExecutorWork {
    /// Tasks (work units) it ran.
    pub tasks: u64,
    /// Inputs it converted.
    pub inputs: u64,
    /// Records it read.
    pub records: u64,
    /// Rows it wrote.
    pub rows: u64,
}

/// What a distributed conversion did.
#[derive(Debug, Clone, Default)]
pub struct ClusterConversion {
    /// The counts, summed over the tasks.
    pub stats: Stats,
    /// Per executor (by its `HOST:PORT`).
    pub executors: std::collections::BTreeMap<String, ExecutorWork>,
    /// Part files published.
    pub files: u64,
    /// Units recorded in the manifest.
    pub units: u64,
    /// Inputs that failed (partly read), each with why.
    pub failed: Vec<String>,
}

/// Work units (groups of whole inputs, balanced by size) for `inputs`: about one per 128 MB,
/// at least one per input up to 16, so that small runs still spread over the executors.
fn work_units(inputs: &[Input]) -> Vec<Vec<usize>> {
    let sizes: Vec<Option<u64>> = inputs
        .iter()
        .map(|i| match i {
            Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::S3(o) => Some(o.size),
            Input::Stdin => None,
        })
        .collect();
    let total: u64 = sizes.iter().flatten().sum();
    let n = ((total >> 27) as usize).max(16).min(inputs.len());
    super::raw::split_by_size(&sizes, n)
}

/// Converts `inputs` on the cluster at `url` (`df://HOST:PORT`) into the dataset at `dataset`
/// (a directory every node sees, or `s3://`), which [`crate::sink::dataset::prepare`] made ready
/// (`resume`: its lock, manifest and next unit number): each work unit a task on some executor,
/// then its files published and its unit recorded here.
pub fn convert(
    url: &str,
    inputs: Vec<Input>,
    decode: &Options,
    dataset: &str,
    endpoint: Option<&str>,
    options: &DatasetOptions,
    resume: &mut Resume,
) -> Result<ClusterConversion, QueryError> {
    let mut out = ClusterConversion::default();
    if inputs.is_empty() {
        return Ok(out);
    }
    let scheduler = url
        .strip_prefix("df://")
        .ok_or_else(|| QueryError::Usage(format!("--cluster {url}: expected df://HOST:PORT")))?;
    let (host, port) = host_port("--cluster", scheduler)?;
    reachable(url, &host, port)?;
    let run = format!(
        "{:x}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
        std::process::id()
    );
    let spec = DatasetSpec::new(dataset, endpoint, &run, options);
    let units = work_units(&inputs);
    let plan = ConvertExec::new(&inputs, &units, decode, spec.clone(), resume.next_unit)?;
    log::info!(
        "{} inputs in {} work units to the cluster at {url}",
        inputs.len(),
        units.len()
    );
    let codec = physical_codec();
    let config = with_message_limit(
        SessionConfig::new_with_ballista()
            .with_ballista_physical_extension_codec(codec.clone())
            .with_ballista_job_name("vpcflow convert"),
    )?;
    let ballista = config.ballista_config();
    let batches = runtime("vpcflow-convert")?.block_on(async {
        let stream = ballista_core::execution_plans::execute_physical_plan::<
            datafusion_proto::protobuf::PhysicalPlanNode,
        >(
            format!("http://{host}:{port}"),
            &ballista,
            Arc::new(plan),
            codec.as_ref(),
            format!("vpcflow-{run}"),
            config,
        )
        .await?;
        futures::TryStreamExt::try_collect::<Vec<_>>(stream).await
    })?;
    let mut results: Vec<TaskResult> = Vec::new();
    for b in &batches {
        results.extend(super::distributed::task_results(b)?);
    }
    super::distributed::publish_rows(&spec, &results, &mut resume.manifest, resume.lock.as_ref())?;
    for r in &results {
        let s = &r.stats;
        log::debug!(
            "{} on {}: {} inputs, {} rows",
            r.task,
            r.executor,
            s.inputs,
            s.rows_written
        );
        let w = out.executors.entry(r.executor.clone()).or_default();
        w.tasks += 1;
        w.inputs += s.inputs;
        w.records += s.records;
        w.rows += s.rows_written;
        let t = &mut out.stats;
        t.inputs += s.inputs;
        t.failed_inputs += s.failed_inputs;
        t.records += s.records;
        t.rows_written += s.rows_written;
        t.rejected += s.rejected;
        t.bytes_read += s.bytes_read;
        t.header_lines += s.header_lines;
        t.blank_lines += s.blank_lines;
        t.control_messages += s.control_messages;
        out.units += r.units.len() as u64;
        for u in &r.units {
            out.failed.extend(
                u.inputs
                    .iter()
                    .filter_map(|i| i.failed.as_ref().map(|why| format!("{}: {why}", i.id.name))),
            );
        }
        out.files += r.units.iter().map(|u| u.files.len() as u64).sum::<u64>();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_before_anything_starts() {
        assert_eq!(
            host_port("--bind", "127.0.0.1:50050").unwrap(),
            ("127.0.0.1".to_string(), 50050)
        );
        assert_eq!(
            host_port("--bind", "[::1]:7").unwrap(),
            ("::1".to_string(), 7)
        );
        for bad in ["127.0.0.1", ":50050", "host:port", "host:70000"] {
            assert!(host_port("--bind", bad).is_err(), "{bad}");
        }
        assert!(socket_addr("--bind", "127.0.0.1:0").is_ok());
        let rt = runtime("test").unwrap();
        let err = rt
            .block_on(remote_context("http://127.0.0.1:1", SessionConfig::new()))
            .err()
            .unwrap();
        assert!(err.to_string().contains("df://HOST:PORT"), "{err}");
    }
}
