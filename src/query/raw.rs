//! Raw flow logs as a DataFusion table of our own: [`RawLogTable`] (the `TableProvider` that
//! [`super::Engine::open`] registers for text inputs) and [`RawLogExec`] (the plan that scans it).
//!
//! This module owns how a scan of raw inputs is split and run, and what it reports:
//! - The inputs are split into partitions of whole files, balanced by size (see
//!   `split_by_size`); each partition is parsed by a [`Decoder`] of its own on a thread of its
//!   own, and its batches stream into DataFusion through a small bounded channel, so memory stays
//!   flat and a query that needs no more rows stops the parsing.
//! - Which inputs each partition reads is data, not the scan's own state: the scan's one child
//!   is a work list, an in-memory DataFusion source whose partition `p` holds the numbers of the
//!   inputs partition `p` parses. A distributed engine that hands each task a slice of the
//!   partitions (Ballista slices in-memory sources, not unknown plans) then gets each input
//!   read exactly once, by the task that owns its partition.
//! - Only the columns the query needs are built and leave the scan (projection pushdown into
//!   the parser: the other columns are still checked, so the same lines are refused).
//! - The first scan of the table that runs records what it met (counts summed over its
//!   partitions, refused lines in input order, failed inputs, warnings) in the [`ScanLog`];
//!   standard input (and any input that can be read only once) is scanned by the decoder planned
//!   at registration, in one partition, and only once.
//! - The table and its scan are described by serializable specs ([`RawTableSpec`],
//!   [`RawScanSpec`]), so that a plan can be shipped to another process (a scheduler, a remote
//!   executor) and run there: `to_bytes`/`from_bytes`, which [`super::codec`] calls.

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use arrow::array::new_null_array;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PhysicalExpr, PlanProperties,
    SendableRecordBatchStream, Statistics, StatisticsArgs,
};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::{ScanLog, lock};
use crate::format::layout::Layout;
use crate::input::Input;
use crate::pipeline::{Decoder, MaxRejects, Notice, Options, Stats};

/// The error a second scan of standard input meets (the text users saw before this module).
const STDIN_ONCE: &str = "standard input can be scanned only once, and this query reads the \
                          table twice: save the input to a file (or convert it to Parquet) and \
                          query that";

/// How many batches a partition's parser may be ahead of DataFusion.
const CHANNEL_BATCHES: usize = 4;

/// One input of a scan: where it is in the table's input list (refused lines are reported in
/// that order), and its size in bytes when known (what partitions are balanced by).
#[derive(Debug, Clone)]
struct RawFile {
    index: usize,
    input: Input,
    size: Option<u64>,
}

/// Whether an input can be read only once (standard input, a pipe, a FIFO): planning has read
/// its first bytes, so only the decoder planned at registration can scan it.
fn read_once(input: &Input) -> bool {
    match input {
        Input::Stdin => true,
        Input::Path(p) => std::fs::metadata(p).is_ok_and(|m| !m.is_file()),
        Input::S3(_) => false,
    }
}

fn size_of(input: &Input) -> Option<u64> {
    match input {
        Input::Path(p) => std::fs::metadata(p)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len()),
        Input::S3(o) => Some(o.size),
        Input::Stdin => None,
    }
}

/// Splits inputs into at most `target` groups of whole inputs balanced by size: largest first,
/// each into the group holding the fewest bytes so far (the earlier group on a tie; an unknown
/// size counts as 0). Each group lists its inputs in input order, and the groups are ordered by
/// their first input, so partition 0 starts with the first input.
pub(crate) fn split_by_size(sizes: &[Option<u64>], target: usize) -> Vec<Vec<usize>> {
    let n = target.clamp(1, sizes.len().max(1));
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    // Stable: equal sizes keep input order.
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i].unwrap_or(0)));
    let mut groups: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); n];
    for i in order {
        let lightest = (0..n).min_by_key(|&g| (groups[g].0, g)).unwrap_or(0);
        groups[lightest].0 += sizes[i].unwrap_or(0);
        groups[lightest].1.push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups
        .into_iter()
        .map(|(_, mut g)| {
            g.sort_unstable();
            g
        })
        .filter(|g| !g.is_empty())
        .collect();
    groups.sort_by_key(|g| g[0]);
    groups
}

/// What the table shares with every scan planned over it.
struct TableShared {
    /// The decoder planned at registration, used by the first single-partition scan (the only
    /// one possible when an input can be read once only).
    first: Mutex<Option<Decoder>>,
    /// Whether standard input is among the inputs (it can be scanned only once).
    stdin: bool,
    /// Scans started so far.
    scans: AtomicU32,
    keep_rejects: usize,
    log: Arc<Mutex<ScanLog>>,
}

/// How one partition of a scan ended, and what it met (kept only for the first scan).
struct Outcome {
    end: End,
    /// Refused lines, with the index of their input.
    rejects: Vec<(usize, String)>,
    failed: Vec<String>,
    warnings: Vec<String>,
}

enum End {
    Done(Stats),
    StoppedEarly,
    Failed,
}

/// One scan of the table: one [`RawLogExec`] made by [`RawLogTable::scan`], numbered when it
/// first runs (a plan may be made and never run, e.g. for EXPLAIN or when re-planned).
struct ScanState {
    table: Arc<TableShared>,
    number: OnceLock<u32>,
    outcomes: Mutex<Vec<Option<Outcome>>>,
}

impl ScanState {
    fn number(&self) -> u32 {
        *self.number.get_or_init(|| {
            let n = self.table.scans.fetch_add(1, Ordering::Relaxed) + 1;
            let mut l = lock(&self.table.log);
            l.scans = l.scans.max(n);
            n
        })
    }

    /// Records how partition `p` ended; once every partition has, the first scan's outcomes
    /// are summed into the log. Called before the partition's channel closes, so the log is
    /// complete when the query's results are.
    fn record(&self, p: usize, outcome: Outcome) {
        let mut outcomes = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = outcomes.get_mut(p) {
            *slot = Some(outcome);
        }
        if outcomes.iter().any(Option::is_none) {
            return;
        }
        let done: Vec<Outcome> = outcomes.iter_mut().filter_map(Option::take).collect();
        if done.iter().any(|o| matches!(o.end, End::Failed)) {
            // The query failed, and says why; the log stays as it was (as for one stream).
            return;
        }
        let mut stats = Stats::default();
        let mut stopped_early = false;
        let mut rejects = Vec::new();
        let mut failed = Vec::new();
        let mut warnings = Vec::new();
        for o in done {
            match &o.end {
                End::Done(s) => stats.add(s),
                End::StoppedEarly => stopped_early = true,
                End::Failed => {}
            }
            rejects.extend(o.rejects);
            failed.extend(o.failed);
            warnings.extend(o.warnings);
        }
        // Each partition kept its first refused lines, in input order within it: sorted by
        // input (stable), the first `keep_rejects` of them are the scan's first.
        rejects.sort_by_key(|(i, _)| *i);
        rejects.truncate(self.table.keep_rejects);
        let mut l = lock(&self.table.log);
        if stopped_early {
            l.stopped_early = true;
        } else {
            l.stats = Some(stats);
        }
        l.rejects = rejects.into_iter().map(|(_, r)| r).collect();
        l.failed = failed;
        l.warnings.extend(warnings);
    }
}

/// Raw flow logs (any layout, plain or gzip, local, S3 or standard input) as a table: each scan
/// parses the inputs again, in partitions of whole files.
pub struct RawLogTable {
    schema: SchemaRef,
    files: Vec<RawFile>,
    /// Some input can be read only once: every scan is one partition.
    once: bool,
    opts: Options,
    shared: Arc<TableShared>,
}

impl fmt::Debug for RawLogTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawLogTable")
            .field("inputs", &self.files.len())
            .field("columns", &self.schema.fields().len())
            .finish_non_exhaustive()
    }
}

impl RawLogTable {
    /// The table over `inputs`, whose schema is that of `decoder` (planned over the same inputs
    /// with `opts`; the first scan uses it). What the first scan meets goes to `log`, keeping up
    /// to `keep_rejects` refused lines in full.
    pub fn new(
        inputs: Vec<Input>,
        opts: Options,
        decoder: Decoder,
        keep_rejects: usize,
        log: Arc<Mutex<ScanLog>>,
    ) -> RawLogTable {
        let once = inputs.iter().any(read_once);
        let stdin = inputs.contains(&Input::Stdin);
        let files = inputs
            .into_iter()
            .enumerate()
            .map(|(index, input)| RawFile {
                index,
                size: size_of(&input),
                input,
            })
            .collect();
        RawLogTable {
            schema: decoder.schema(),
            files,
            once,
            opts,
            shared: Arc::new(TableShared {
                first: Mutex::new(Some(decoder)),
                stdin,
                scans: AtomicU32::new(0),
                keep_rejects,
                log,
            }),
        }
    }

    /// The plan scanning the table in up to `target_partitions` partitions.
    pub(crate) fn plan(
        &self,
        projection: Option<Vec<usize>>,
        target_partitions: usize,
    ) -> Result<RawLogExec> {
        let groups = if self.once {
            vec![(0..self.files.len()).collect()]
        } else {
            let sizes: Vec<Option<u64>> = self.files.iter().map(|f| f.size).collect();
            split_by_size(&sizes, target_partitions)
        };
        let mut groups: Vec<Vec<usize>> = groups;
        if groups.is_empty() {
            groups.push(Vec::new());
        }
        let n = groups.len();
        RawLogExec::new(
            self.files.clone(),
            work_list(&groups, None)?,
            self.opts.clone(),
            self.schema.clone(),
            projection,
            Some(Arc::new(ScanState {
                table: self.shared.clone(),
                number: OnceLock::new(),
                outcomes: Mutex::new((0..n).map(|_| None).collect()),
            })),
        )
    }
}

impl RawLogTable {
    /// The table as data another process can rebuild it from (the inputs, the decoder options
    /// and the united schema). Fails as [`RawLogExec::spec`] does.
    pub fn spec(&self) -> Result<RawTableSpec> {
        Ok(RawTableSpec {
            files: self.files.iter().map(FileSpec::of).collect::<Result<_>>()?,
            decode: DecodeSpec::of(&self.opts)?,
            columns: columns_of(&self.schema),
            keep_rejects: self.shared.keep_rejects,
        })
    }

    /// The table rebuilt from its [`RawTableSpec`]: its scans plan their decoders themselves,
    /// and the first one reports to a [`ScanLog`] of its own (see [`RawLogTable::log`]).
    pub fn from_spec(spec: RawTableSpec) -> Result<RawLogTable> {
        let files: Vec<RawFile> = spec
            .files
            .into_iter()
            .map(FileSpec::into_file)
            .collect::<Result<_>>()?;
        Ok(RawLogTable {
            schema: schema_of(spec.columns)?,
            once: files.iter().any(|f| read_once(&f.input)),
            files,
            opts: spec.decode.into_options()?,
            shared: Arc::new(TableShared {
                first: Mutex::new(None),
                stdin: false,
                scans: AtomicU32::new(0),
                keep_rejects: spec.keep_rejects,
                log: Arc::new(Mutex::new(ScanLog::default())),
            }),
        })
    }

    /// The table as bytes (JSON of its [`RawTableSpec`]), as [`super::codec::LogicalCodec`]
    /// ships it from a client to a scheduler.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        to_json(&self.spec()?)
    }

    /// The table rebuilt from [`RawLogTable::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<RawLogTable> {
        RawLogTable::from_spec(from_json(bytes)?)
    }

    /// What the first scan of the table met.
    pub fn log(&self) -> Arc<Mutex<ScanLog>> {
        self.shared.log.clone()
    }
}

pub(crate) fn to_json<T: Serialize>(spec: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(spec).map_err(|e| DataFusionError::External(Box::new(e)))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| DataFusionError::External(Box::new(e)))
}

type ScanFuture<'a> = Pin<Box<dyn Future<Output = Result<Arc<dyn ExecutionPlan>>> + Send + 'a>>;

// `TableProvider::scan` is an `async_trait` method; this is its signature written out (planning
// a scan waits for nothing, so the future is ready at once).
impl TableProvider for RawLogTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn scan<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        state: &'life1 dyn Session,
        projection: Option<&'life2 Vec<usize>>,
        _filters: &'life3 [Expr],
        // DataFusion applies a query's LIMIT above the scan, and a scan whose rows are no
        // longer wanted stops parsing (its channel closes): the limit is not needed here.
        _limit: Option<usize>,
    ) -> ScanFuture<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: 'async_trait,
    {
        let target = state.config().target_partitions();
        let plan = self
            .plan(projection.cloned(), target)
            .map(|p| Arc::new(p) as Arc<dyn ExecutionPlan>);
        Box::pin(std::future::ready(plan))
    }
}

/// The schema of a work list: the numbers of the inputs a partition reads, and the partition's
/// own number in the whole plan (a distributed engine's task sees its slice of the partitions
/// numbered from 0).
/// With `specs`, each input's spec (JSON) too, for a plan whose tasks must learn their inputs
/// from their own slice of the list alone.
pub(crate) fn work_schema(specs: bool) -> SchemaRef {
    let mut fields = vec![
        Field::new("input", DataType::UInt32, false),
        Field::new("group", DataType::UInt32, false),
    ];
    if specs {
        fields.push(Field::new("spec", DataType::Utf8, false));
    }
    Arc::new(Schema::new(fields))
}

/// The work list of a plan (see the module documentation): partition `p` holds the input
/// numbers of `groups[p]`, each with `p` (and with `specs`, the input's spec).
pub(crate) fn work_list(
    groups: &[Vec<usize>],
    specs: Option<&[String]>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = work_schema(specs.is_some());
    let number = |i: usize| u32::try_from(i).map_err(|e| DataFusionError::Internal(e.to_string()));
    let partitions = groups
        .iter()
        .enumerate()
        .map(|(p, g)| {
            let numbers: Vec<u32> = g.iter().map(|&i| number(i)).collect::<Result<_>>()?;
            let group = vec![number(p)?; numbers.len()];
            let mut columns: Vec<arrow::array::ArrayRef> = vec![
                Arc::new(arrow::array::UInt32Array::from(numbers)),
                Arc::new(arrow::array::UInt32Array::from(group)),
            ];
            if let Some(specs) = specs {
                let mine: Vec<&str> = g.iter().map(|&i| specs[i].as_str()).collect();
                columns.push(Arc::new(arrow::array::StringArray::from(mine)));
            }
            Ok(vec![RecordBatch::try_new(schema.clone(), columns)?])
        })
        .collect::<Result<Vec<_>>>()?;
    let source = MemorySourceConfig::try_new(&partitions, schema, None)?;
    Ok(DataSourceExec::from_data_source(source))
}

/// The one child of a plan over a work list (its work list), from the children a plan is
/// rebuilt or decoded with; `node` names the plan in the error.
pub(crate) fn only_work_list(
    node: &str,
    children: &[Arc<dyn ExecutionPlan>],
) -> Result<Arc<dyn ExecutionPlan>> {
    match children {
        [work] => Ok(work.clone()),
        _ => Err(DataFusionError::Internal(format!(
            "{node} has one child (its work list), not {}",
            children.len()
        ))),
    }
}

/// The input numbers a work list's partition `p` holds, when the list is an in-memory source
/// (as [`work_list`] makes it, and as it comes back from the codec); None for any other plan.
fn listed(work: &Arc<dyn ExecutionPlan>, p: Option<usize>) -> Option<Vec<usize>> {
    let exec = work.downcast_ref::<DataSourceExec>()?;
    let source: &dyn std::any::Any = exec.data_source().as_ref();
    let memory = source.downcast_ref::<MemorySourceConfig>()?;
    let parts = memory.partitions();
    let chosen: Vec<&Vec<RecordBatch>> = match p {
        Some(p) => vec![parts.get(p)?],
        None => parts.iter().collect(),
    };
    Some(
        chosen
            .into_iter()
            .flatten()
            .flat_map(input_numbers)
            .collect(),
    )
}

/// The input numbers in a work-list batch.
pub(crate) fn input_numbers(batch: &RecordBatch) -> Vec<usize> {
    work_column(batch, 0)
}

/// The inputs' specs (JSON) in a work-list batch that carries them.
pub(crate) fn input_specs(batch: &RecordBatch) -> Vec<String> {
    batch
        .columns()
        .get(2)
        .and_then(|c| c.as_any().downcast_ref::<arrow::array::StringArray>())
        .map(|a| a.iter().flatten().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The group (the partition's number in the whole plan) of a work-list batch's inputs.
pub(crate) fn group_numbers(batch: &RecordBatch) -> Vec<usize> {
    work_column(batch, 1)
}

fn work_column(batch: &RecordBatch, i: usize) -> Vec<usize> {
    batch
        .column(i)
        .as_any()
        .downcast_ref::<arrow::array::UInt32Array>()
        .map(|a| a.values().iter().map(|&i| i as usize).collect())
        .unwrap_or_default()
}

/// The scan of raw flow logs: one partition per group of whole input files (as its work list
/// child says), each parsed by a [`Decoder`] of its own on a thread of its own.
pub struct RawLogExec {
    /// Every input of the table; the work list says which each partition reads.
    files: Vec<RawFile>,
    /// The work list (see the module documentation).
    work: Arc<dyn ExecutionPlan>,
    opts: Options,
    /// The table's (united) schema.
    schema: SchemaRef,
    /// The table's columns this scan outputs (all when none).
    projection: Option<Vec<usize>>,
    props: Arc<PlanProperties>,
    /// The scan's link to its table's log; none for a plan rebuilt from bytes, which reports
    /// nothing.
    scan: Option<Arc<ScanState>>,
}

impl fmt::Debug for RawLogExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawLogExec")
            .field("partitions", &self.partitions())
            .field("projection", &self.projection)
            .finish_non_exhaustive()
    }
}

impl RawLogExec {
    fn new(
        files: Vec<RawFile>,
        work: Arc<dyn ExecutionPlan>,
        opts: Options,
        schema: SchemaRef,
        projection: Option<Vec<usize>>,
        scan: Option<Arc<ScanState>>,
    ) -> Result<RawLogExec> {
        if work.schema() != work_schema(false) {
            return Err(DataFusionError::Internal(format!(
                "RawLogExec's work list has columns {}, not the input numbers",
                work.schema()
            )));
        }
        let projected = match &projection {
            Some(p) => Arc::new(schema.project(p)?),
            None => schema.clone(),
        };
        let partitions = work.properties().output_partitioning().partition_count();
        let props = PlanProperties::new(
            EquivalenceProperties::new(projected),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(RawLogExec {
            files,
            work,
            opts,
            schema,
            projection,
            props: Arc::new(props),
            scan,
        })
    }

    /// For a single-partition scan of the table: the decoder planned at registration if no
    /// scan has taken it yet, else the refusal to read standard input again. None: the
    /// partition plans a decoder of its own.
    fn preplanned(&self) -> Option<Result<Decoder>> {
        let scan = self.scan.as_ref().filter(|_| self.partitions() == 1)?;
        let first = scan
            .table
            .first
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match first {
            Some(d) => Some(Ok(d)),
            None if scan.table.stdin => {
                Some(Err(DataFusionError::Execution(STDIN_ONCE.to_string())))
            }
            None => None,
        }
    }

    /// How many partitions the scan has (its work list's).
    fn partitions(&self) -> usize {
        self.props.output_partitioning().partition_count()
    }

    /// What this scan does, as data another process can rebuild it from (with its work list,
    /// which travels as the plan's child). Fails for standard input (it can't be read
    /// elsewhere) and for paths that aren't UTF-8.
    pub fn spec(&self) -> Result<RawScanSpec> {
        Ok(RawScanSpec {
            files: self
                .files
                .iter()
                .map(FileSpec::of)
                .collect::<Result<Vec<_>>>()?,
            decode: DecodeSpec::of(&self.opts)?,
            columns: columns_of(&self.schema),
            projection: self.projection.clone(),
        })
    }

    /// The scan rebuilt from its [`RawScanSpec`] and its work list. It reports to no
    /// [`ScanLog`].
    pub fn from_spec(spec: RawScanSpec, work: Arc<dyn ExecutionPlan>) -> Result<RawLogExec> {
        let files = spec
            .files
            .into_iter()
            .map(FileSpec::into_file)
            .collect::<Result<Vec<_>>>()?;
        RawLogExec::new(
            files,
            work,
            spec.decode.into_options()?,
            schema_of(spec.columns)?,
            spec.projection,
            None,
        )
    }

    /// The scan as bytes (JSON of its [`RawScanSpec`]), as [`super::codec::PhysicalCodec`]
    /// ships it to remote executors. Fails as [`RawLogExec::spec`] does.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        to_json(&self.spec()?)
    }

    /// The scan rebuilt from [`RawLogExec::to_bytes`] and its work list (on an executor).
    pub fn from_bytes(bytes: &[u8], work: Arc<dyn ExecutionPlan>) -> Result<RawLogExec> {
        RawLogExec::from_spec(from_json(bytes)?, work)
    }

    /// The output schema (the projected table schema).
    fn projected(&self) -> &SchemaRef {
        self.props.eq_properties.schema()
    }
}

impl DisplayAs for RawLogExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files = self.files.len();
        let columns = self
            .projected()
            .fields()
            .iter()
            .map(|c| c.name().as_str())
            .collect::<Vec<_>>()
            .join(", ");
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => write!(
                f,
                "RawLogExec: partitions={}, inputs={files}, projection=[{columns}]",
                self.partitions()
            ),
            DisplayFormatType::TreeRender => {
                writeln!(f, "partitions={}", self.partitions())?;
                write!(f, "inputs={files}")
            }
        }
    }
}

impl ExecutionPlan for RawLogExec {
    fn name(&self) -> &str {
        "RawLogExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.work]
    }

    /// The work list's partitions are this scan's: no repartitioning between them.
    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    /// A new work list (a distributed engine's slice of the partitions): the same scan over
    /// the partitions it lists.
    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let work = only_work_list("RawLogExec", &children)?;
        let partitions = work.properties().output_partitioning().partition_count();
        // A scan planned here keeps its link to the table's log only over its own work list.
        let scan = self
            .scan
            .clone()
            .filter(|_| partitions == self.partitions());
        Ok(Arc::new(RawLogExec::new(
            self.files.clone(),
            work,
            self.opts.clone(),
            self.schema.clone(),
            self.projection.clone(),
            scan,
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition >= self.partitions() {
            return Err(DataFusionError::Internal(format!(
                "RawLogExec has {} partitions, not {}",
                self.partitions(),
                partition + 1
            )));
        }
        let work = self.work.execute(partition, context)?;
        let report = self
            .scan
            .as_ref()
            .filter(|s| s.number() == 1)
            .map(|s| (s.clone(), s.table.keep_rejects));
        let files = self.files.clone();
        let mut job = PartitionJob {
            partition,
            files: Vec::new(),
            schema: self.schema.clone(),
            projection: self.projection.clone(),
            projected: self.projected().clone(),
            report,
        };
        // Planning the partition's inputs reads their first bytes: that is done on the thread.
        let decoder = self.preplanned();
        // The partitions run at once: they share the parser threads asked for, rather than each
        // starting that many.
        let mut opts = self.opts.clone();
        let threads = match opts.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        opts.threads = (threads / self.partitions().max(1)).max(1);
        // First the work list's partition (which inputs), then the parsing thread.
        let stream = futures::stream::once(async move {
            let listed: Vec<RecordBatch> = work.try_collect().await?;
            for i in listed.iter().flat_map(input_numbers) {
                let file = files.get(i).ok_or_else(|| {
                    DataFusionError::Internal(format!(
                        "the work list names input {i} of {}",
                        files.len()
                    ))
                })?;
                job.files.push(file.clone());
            }
            start_partition(job, decoder, opts)
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.projected().clone(),
            stream,
        )))
    }

    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        // Rows are unknown until parsed; the input bytes (compressed for gzip) are a rough,
        // inexact measure of the data's size.
        let numbers = listed(&self.work, args.partition());
        let files: Vec<&RawFile> = match numbers {
            Some(n) => n.iter().filter_map(|&i| self.files.get(i)).collect(),
            None => self.files.iter().collect(),
        };
        let bytes: Option<u64> = files.iter().map(|f| f.size).sum();
        let mut stats = Statistics::new_unknown(self.projected());
        if let Some(b) = bytes.and_then(|b| usize::try_from(b).ok()) {
            stats = stats.with_total_byte_size(Precision::Inexact(b));
        }
        Ok(Arc::new(stats))
    }
}

/// What one partition's thread needs.
struct PartitionJob {
    partition: usize,
    files: Vec<RawFile>,
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    projected: SchemaRef,
    /// The scan to report to (the first scan only), and how many refused lines to keep.
    report: Option<(Arc<ScanState>, usize)>,
}

/// How a partition's batches become the scan's output batches.
enum Mapper {
    /// The partition's schema is the table's: project the batch.
    Project(Option<Vec<usize>>),
    /// The partition's inputs have fewer columns (or others, in other order) than the table:
    /// each output column by name, or null. `extra`: the partition has a column the table lacks.
    ByName {
        sources: Vec<Option<usize>>,
        extra: bool,
    },
}

/// The error when the inputs' columns differ from those the table was registered with.
fn changed() -> DataFusionError {
    DataFusionError::Execution(
        "the inputs changed while the query ran (their columns differ now)".into(),
    )
}

impl Mapper {
    fn new(part: &Schema, job: &PartitionJob) -> Result<Mapper> {
        if *part == *job.schema {
            return Ok(Mapper::Project(job.projection.clone()));
        }
        let mut sources = Vec::new();
        for out in job.projected.fields() {
            match part.column_with_name(out.name()) {
                Some((i, f)) if f.data_type() == out.data_type() => sources.push(Some(i)),
                Some(_) => return Err(changed()),
                None => sources.push(None),
            }
        }
        let extra = part
            .fields()
            .iter()
            .any(|f| job.schema.column_with_name(f.name()).is_none());
        Ok(Mapper::ByName { sources, extra })
    }

    fn map(&self, batch: RecordBatch, out: &SchemaRef) -> Result<RecordBatch> {
        // The decoder built only the projected columns (`Decoder::keep_only`), but its batches
        // still have every column of the partition's layout: pick or place them here.
        match self {
            Mapper::Project(None) => Ok(batch),
            Mapper::Project(Some(p)) => Ok(batch.project(p)?),
            Mapper::ByName { sources, extra } => {
                let rows = batch.num_rows();
                if *extra && rows > 0 {
                    return Err(changed());
                }
                let columns = sources
                    .iter()
                    .zip(out.fields())
                    .map(|(s, f)| match s {
                        Some(i) => batch.column(*i).clone(),
                        None => new_null_array(f.data_type(), rows),
                    })
                    .collect();
                Ok(RecordBatch::try_new_with_options(
                    out.clone(),
                    columns,
                    &RecordBatchOptions::new().with_row_count(Some(rows)),
                )?)
            }
        }
    }
}

/// Starts a partition's parsing thread; its batches arrive through the returned stream.
fn start_partition(
    job: PartitionJob,
    decoder: Option<Result<Decoder>>,
    opts: Options,
) -> Result<impl futures::Stream<Item = Result<RecordBatch>>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(CHANNEL_BATCHES);
    std::thread::Builder::new()
        .name(format!("vpcflow-scan-{}", job.partition))
        .spawn(move || {
            let decoder = decoder
                .unwrap_or_else(|| {
                    let inputs = job.files.iter().map(|f| f.input.clone()).collect();
                    Decoder::new(inputs, opts).map_err(|e| DataFusionError::External(Box::new(e)))
                })
                .map(|mut d| {
                    // Projection pushed into the parser: only the columns the query needs are
                    // built (the others are still checked).
                    if job.projection.is_some() {
                        let names: Vec<&str> = job
                            .projected
                            .fields()
                            .iter()
                            .map(|f| f.name().as_str())
                            .collect();
                        d.keep_only(&names);
                    }
                    d
                });
            scan_partition(job, decoder, tx)
        })
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    Ok(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// Runs one partition's decoder, sending its batches to DataFusion; the first scan's
/// partitions record what they met before their channel closes.
fn scan_partition(
    job: PartitionJob,
    decoder: Result<Decoder>,
    tx: tokio::sync::mpsc::Sender<Result<RecordBatch>>,
) {
    let fail = |e: DataFusionError| {
        if let Some((scan, _)) = &job.report {
            scan.record(
                job.partition,
                Outcome {
                    end: End::Failed,
                    rejects: Vec::new(),
                    failed: Vec::new(),
                    warnings: Vec::new(),
                },
            );
        }
        let _ = tx.blocking_send(Err(e));
    };
    let decoder = match decoder {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let mapper = match Mapper::new(&decoder.schema(), &job) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    // The receiver went away: the query needed no more rows (not a failure).
    let closed = AtomicBool::new(false);
    // A batch could not be mapped; the error has been sent.
    let refused = AtomicBool::new(false);
    let send = |b: RecordBatch| {
        let b = mapper.map(b, &job.projected).map_err(|e| {
            refused.store(true, Ordering::Relaxed);
            let _ = tx.blocking_send(Err(e));
            crate::Error::Internal("the scan's columns differ from the table's".into())
        })?;
        tx.blocking_send(Ok(b)).map_err(|_| {
            closed.store(true, Ordering::Relaxed);
            crate::Error::Internal("the query needed no more rows".into())
        })
    };
    let keep = job.report.as_ref().map_or(0, |(_, k)| *k);
    let index_of: HashMap<String, usize> = job
        .files
        .iter()
        .rev()
        .map(|f| (f.input.display(), f.index))
        .collect();
    let first_index = job.files.first().map_or(0, |f| f.index);
    let mut rejects = Vec::new();
    let mut failed = Vec::new();
    let mut warnings = Vec::new();
    let result = decoder.run(
        send,
        &mut |r| {
            if rejects.len() < keep {
                let i = index_of.get(r.input).copied().unwrap_or(first_index);
                rejects.push((i, r.describe()));
            }
        },
        &mut |n| match n {
            Notice::Failed(e) => failed.push(e.to_string()),
            Notice::Warning(w) => warnings.push(w),
        },
        &mut |_| {},
    );
    let end = match result {
        Ok(stats) => End::Done(stats),
        Err(_) if closed.load(Ordering::Relaxed) => End::StoppedEarly,
        Err(_) if refused.load(Ordering::Relaxed) => End::Failed,
        Err(e) => {
            let _ = tx.blocking_send(Err(DataFusionError::External(Box::new(e))));
            End::Failed
        }
    };
    if let Some((scan, _)) = &job.report {
        scan.record(
            job.partition,
            Outcome {
                end,
                rejects,
                failed,
                warnings,
            },
        );
    }
}

/// Everything a [`RawLogExec`] needs, as data: what the physical extension codec shipping plans
/// to remote executors will carry. Serialized by [`RawLogExec::to_bytes`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RawScanSpec {
    /// Every input of the table, in input order (the work list says which each partition
    /// reads).
    files: Vec<FileSpec>,
    decode: DecodeSpec,
    /// The table's columns.
    columns: Vec<ColumnSpec>,
    /// The table's columns the scan outputs (all when none).
    projection: Option<Vec<usize>>,
}

/// Everything a [`RawLogTable`] needs, as data: what [`super::codec::LogicalCodec`] carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RawTableSpec {
    /// The inputs, in input order.
    files: Vec<FileSpec>,
    decode: DecodeSpec,
    /// The table's (united) columns.
    columns: Vec<ColumnSpec>,
    /// How many refused lines the first scan keeps in full.
    keep_rejects: usize,
}

/// One input of a [`RawScanSpec`] or [`RawTableSpec`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileSpec {
    /// Position in the table's input list.
    index: usize,
    size: Option<u64>,
    source: SourceSpec,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum SourceSpec {
    /// A local file.
    Path(String),
    /// An S3 object, as listed.
    S3 {
        url: String,
        etag: Option<String>,
        endpoint: Option<String>,
    },
}

impl FileSpec {
    /// The spec of input number `index`.
    pub(crate) fn of_input(index: usize, input: &Input) -> Result<FileSpec> {
        FileSpec::of(&RawFile {
            index,
            input: input.clone(),
            size: size_of(input),
        })
    }

    /// The input a spec names.
    pub(crate) fn into_input(self) -> Result<Input> {
        Ok(self.into_file()?.input)
    }

    fn of(f: &RawFile) -> Result<FileSpec> {
        let source = match &f.input {
            // Absolute: the process that reads it may run in another directory.
            Input::Path(p) => SourceSpec::Path(
                std::path::absolute(p)
                    .map_err(|e| DataFusionError::External(Box::new(e)))?
                    .to_str()
                    .ok_or_else(|| {
                        DataFusionError::NotImplemented(format!(
                            "{}: a path that isn't UTF-8 can't be sent to another process",
                            p.display()
                        ))
                    })?
                    .to_string(),
            ),
            Input::S3(o) => SourceSpec::S3 {
                url: o.url.clone(),
                etag: o.etag.clone(),
                endpoint: o.endpoint().map(str::to_string),
            },
            Input::Stdin => {
                return Err(DataFusionError::NotImplemented(
                    "standard input can't be read by another process: save it to a file".into(),
                ));
            }
        };
        Ok(FileSpec {
            index: f.index,
            size: f.size,
            source,
        })
    }

    fn into_file(self) -> Result<RawFile> {
        let input = match self.source {
            SourceSpec::Path(p) => Input::Path(p.into()),
            SourceSpec::S3 {
                url,
                etag,
                endpoint,
            } => Input::S3(
                crate::input::s3::S3Object::from_listing(
                    &url,
                    self.size.unwrap_or(0),
                    etag,
                    endpoint.as_deref(),
                )
                .map_err(|e| DataFusionError::External(Box::new(e)))?,
            ),
        };
        Ok(RawFile {
            index: self.index,
            input,
            size: self.size,
        })
    }
}

/// The decoder options of a [`RawScanSpec`] ([`Options`], with `--fields` as the names it
/// parses from).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DecodeSpec {
    threads: usize,
    chunk_bytes: usize,
    window_bytes: usize,
    fields: Option<String>,
    sample_bytes: usize,
    keep_original: bool,
    keep_provenance: bool,
    max_rejects: Option<MaxRejectsSpec>,
    max_line_bytes: usize,
}

impl DecodeSpec {
    pub(crate) fn of(o: &Options) -> Result<DecodeSpec> {
        let fields = match &o.fields {
            Some(layout) => {
                let text = layout.header_line();
                let again = Layout::from_names(&text)
                    .map_err(|e| DataFusionError::Internal(format!("--fields {text}: {e}")))?;
                if again.columns != layout.columns {
                    return Err(DataFusionError::Internal(format!(
                        "--fields {text} does not describe its layout again"
                    )));
                }
                Some(text)
            }
            None => None,
        };
        Ok(DecodeSpec {
            threads: o.threads,
            chunk_bytes: o.chunk_bytes,
            window_bytes: o.window_bytes,
            fields,
            sample_bytes: o.sample_bytes,
            keep_original: o.keep_original,
            keep_provenance: o.keep_provenance,
            max_rejects: o.max_rejects.map(|m| match m {
                MaxRejects::Count(n) => MaxRejectsSpec::Count(n),
                MaxRejects::Ratio(r) => MaxRejectsSpec::Ratio(r),
            }),
            max_line_bytes: o.max_line_bytes,
        })
    }

    pub(crate) fn into_options(self) -> Result<Options> {
        let fields = match self.fields {
            Some(text) => Some(Layout::from_names(&text).map_err(|e| {
                DataFusionError::Execution(format!("the scan's --fields {text}: {e}"))
            })?),
            None => None,
        };
        Ok(Options {
            threads: self.threads,
            chunk_bytes: self.chunk_bytes,
            window_bytes: self.window_bytes,
            fields,
            sample_bytes: self.sample_bytes,
            keep_original: self.keep_original,
            keep_provenance: self.keep_provenance,
            max_rejects: self.max_rejects.map(|m| match m {
                MaxRejectsSpec::Count(n) => MaxRejects::Count(n),
                MaxRejectsSpec::Ratio(r) => MaxRejects::Ratio(r),
            }),
            max_line_bytes: self.max_line_bytes,
            // Remote decoders add no attribution (refused with a cluster).
            attribution: None,
            dedup: None,
        })
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum MaxRejectsSpec {
    Count(u64),
    Ratio(f64),
}

/// A column of a [`RawScanSpec`]: its type as Arrow writes it (`Int64`, `Utf8`…), parsed back
/// with `DataType::from_str`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ColumnSpec {
    name: String,
    data_type: String,
    nullable: bool,
}

fn columns_of(schema: &Schema) -> Vec<ColumnSpec> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnSpec {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            nullable: f.is_nullable(),
        })
        .collect()
}

fn schema_of(columns: Vec<ColumnSpec>) -> Result<SchemaRef> {
    let fields = columns
        .into_iter()
        .map(|c| {
            let t = DataType::from_str(&c.data_type)
                .map_err(|e| DataFusionError::Execution(format!("column {}: {e}", c.name)))?;
            Ok(Field::new(c.name, t, c.nullable))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::context::{SessionConfig, SessionContext};
    use datafusion::physical_plan::collect_partitioned;

    fn testdata(rel: &str) -> Input {
        Input::Path(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata")
                .join(rel),
        )
    }

    fn table(inputs: Vec<Input>) -> (RawLogTable, Arc<Mutex<ScanLog>>) {
        let opts = Options {
            threads: 2,
            ..Options::default()
        };
        let decoder = Decoder::new(inputs.clone(), opts.clone()).unwrap();
        let log = Arc::new(Mutex::new(ScanLog::default()));
        (
            RawLogTable::new(inputs, opts, decoder, 10, log.clone()),
            log,
        )
    }

    #[test]
    fn splits_balance_bytes_and_keep_input_order() {
        let s = |v: &[u64]| v.iter().map(|&b| Some(b)).collect::<Vec<_>>();
        assert_eq!(
            split_by_size(&s(&[5, 1, 1, 1, 4]), 2),
            // 5 → A, 4 → B, 1 → B (5), 1 → A (tie: the earlier), 1 → B.
            vec![vec![0, 2], vec![1, 3, 4]]
        );
        assert_eq!(
            split_by_size(&s(&[1, 2, 3]), 8),
            vec![vec![0], vec![1], vec![2]]
        );
        assert_eq!(split_by_size(&s(&[1, 2, 3]), 1), vec![vec![0, 1, 2]]);
        assert_eq!(
            split_by_size(&s(&[3, 3, 2, 2]), 2),
            vec![vec![0, 2], vec![1, 3]]
        );
        assert_eq!(split_by_size(&[None, None], 0), vec![vec![0, 1]]);
        assert!(split_by_size(&[], 4).is_empty());
    }

    #[test]
    fn a_scan_round_trips_through_bytes_and_reads_the_same_batches() {
        let inputs = vec![
            testdata("query/logs/vpc-all.log"),
            testdata("query/logs/hot.log"),
            testdata("bad-lines.log"),
        ];
        let (table, log) = table(inputs);
        let exec = table.plan(Some(vec![0, 3, 4]), 2).unwrap();
        assert_eq!(exec.partitions(), 2);
        let bytes = exec.to_bytes().unwrap();
        let again = RawLogExec::from_bytes(&bytes, exec.work.clone()).unwrap();
        assert_eq!(again.to_bytes().unwrap(), bytes);
        assert_eq!(again.schema(), exec.schema());
        assert_eq!(again.schema().fields().len(), 3);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
        let run = |e: RawLogExec| {
            rt.block_on(collect_partitioned(Arc::new(e), ctx.task_ctx()))
                .unwrap()
        };
        let a = run(exec);
        let b = run(again);
        assert_eq!(a.len(), 2);
        assert!(a.iter().flatten().map(RecordBatch::num_rows).sum::<usize>() > 0);
        assert_eq!(a, b);
        // The table's scan reported; the one rebuilt from bytes did not.
        let l = lock(&log).clone();
        assert_eq!(l.scans, 1);
        let stats = l.stats.unwrap();
        assert_eq!(stats.inputs, 3);
        assert!(stats.rejected > 0 && !l.rejects.is_empty());
        assert_eq!(
            stats.rows_written,
            a.iter().flatten().map(|b| b.num_rows() as u64).sum::<u64>()
        );
    }

    #[test]
    fn standard_input_is_not_serializable() {
        let file = RawFile {
            index: 0,
            input: Input::Stdin,
            size: None,
        };
        assert!(FileSpec::of(&file).is_err());
    }
}
