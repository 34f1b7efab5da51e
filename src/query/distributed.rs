//! A conversion split into tasks another engine runs (`convert --cluster`): `ConvertExec`, a
//! DataFusion plan whose partition `p` converts the inputs its work list (the plan's child, as
//! for [`super::raw::RawLogExec`]) gives it into a dataset of its own below the output's
//! staging directory, and answers with one row: the unit it wrote and who wrote it. The
//! coordinator (`publish_rows`) then moves each unit's files into the dataset and records the
//! unit in the manifest, so part files appear only once their conversion is complete, and a run
//! that fails or is killed leaves nothing visible but staged files, which the next run removes.
//!
//! The plan is data (`ConvertSpec`): the physical codec ships it to executors, which read the
//! inputs (paths every node sees, or `s3://`) and write the output (a directory every node sees,
//! or `s3://`) themselves.

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PhysicalExpr, PlanProperties,
    SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::raw::{
    DecodeSpec, FileSpec, from_json, group_numbers, input_specs, to_json, work_list, work_schema,
};
use crate::input::Input;
use crate::pipeline::{Collected, Conversion, Decoder, Options, Stats};
use crate::sink::dataset::{self, DatasetOptions, DatasetSink, STAGING, Unit, parse_partition_by};
use crate::sink::parquet::ParquetOptions;
use crate::sink::place::{DatasetLock, Place};

/// Who a task ran on: an executor's name, which its session configuration carries (set by
/// `vpcflow cluster executor`; a plan run in this process says `local`).
#[derive(Debug, Clone)]
pub struct ExecutorName(pub String);

/// The dataset a distributed conversion writes, as data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetSpec {
    /// The dataset: a directory every node sees, or `s3://bucket/prefix`.
    pub place: String,
    /// `--endpoint-url` for an S3 dataset.
    pub endpoint: Option<String>,
    /// The staging directory of this run, relative to the dataset (below `_staging/`).
    pub staging: String,
    /// `--partition-by`, outermost first.
    pub partition_by: Vec<String>,
    target_file_bytes: u64,
    max_open_files: usize,
    zstd_level: i32,
    row_group_rows: usize,
    cluster_by: Option<String>,
    cluster_rows: usize,
    sort_by: Vec<String>,
    sort_run_bytes: usize,
    fingerprint: serde_json::Value,
}

impl DatasetSpec {
    /// The spec of writing `place` with `opts`, staging below `_staging/run`.
    pub fn new(place: &str, endpoint: Option<&str>, run: &str, opts: &DatasetOptions) -> Self {
        DatasetSpec {
            place: place.to_string(),
            endpoint: endpoint.map(str::to_string),
            staging: format!("{STAGING}/{run}"),
            partition_by: opts
                .partition_by
                .iter()
                .map(|k| k.name().to_string())
                .collect(),
            target_file_bytes: opts.target_file_bytes,
            max_open_files: opts.max_open_files,
            zstd_level: opts.parquet.zstd_level,
            row_group_rows: opts.parquet.row_group_rows,
            cluster_by: opts.parquet.cluster_by.clone(),
            cluster_rows: opts.parquet.cluster_rows,
            sort_by: opts.parquet.sort_by.clone(),
            sort_run_bytes: opts.parquet.sort_run_bytes,
            fingerprint: opts.fingerprint.clone(),
        }
    }

    fn options(&self) -> Result<DatasetOptions> {
        Ok(DatasetOptions {
            partition_by: parse_partition_by(&self.partition_by).map_err(external)?,
            target_file_bytes: self.target_file_bytes,
            max_open_files: self.max_open_files,
            commit_rows: u64::MAX,
            parquet: ParquetOptions {
                zstd_level: self.zstd_level,
                row_group_rows: self.row_group_rows,
                cluster_by: self.cluster_by.clone(),
                cluster_rows: self.cluster_rows,
                sort_by: self.sort_by.clone(),
                sort_run_bytes: self.sort_run_bytes,
                ..ParquetOptions::default()
            },
            force: false,
            fingerprint: self.fingerprint.clone(),
            lease_seconds: dataset::LEASE_SECONDS,
        })
    }

    /// The dataset's place.
    fn dataset(&self) -> Result<Place> {
        Place::parse(&self.place, self.endpoint.as_deref()).map_err(external)
    }

    /// Where partition `p` writes its unit.
    fn staged(&self, p: usize) -> Result<Place> {
        Ok(self.dataset()?.join(&format!("{}/p{p:05}", self.staging)))
    }
}

/// Everything a [`ConvertExec`] needs but its work list (which carries the inputs, so a task's
/// plan names only its own: a run over millions of objects sends no task all of them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ConvertSpec {
    decode: DecodeSpec,
    dataset: DatasetSpec,
    /// Partition `p` writes unit `first_unit + p`.
    first_unit: u64,
}

fn external(e: impl std::error::Error + Send + Sync + 'static) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The rows a [`ConvertExec`] answers with: one per partition.
pub fn result_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("unit", DataType::UInt32, false),
        Field::new("executor", DataType::Utf8, false),
        Field::new("task", DataType::Utf8, false),
        Field::new("units", DataType::Utf8, false),
        Field::new("stats", DataType::Utf8, false),
    ]))
}

/// The distributed conversion's plan: see the module documentation.
pub struct ConvertExec {
    spec: ConvertSpec,
    work: Arc<dyn ExecutionPlan>,
    props: Arc<PlanProperties>,
}

impl fmt::Debug for ConvertExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConvertExec")
            .field("dataset", &self.spec.dataset.place)
            .finish_non_exhaustive()
    }
}

impl ConvertExec {
    /// Converts `inputs` in `units` (each a list of input numbers) into the dataset `dataset`
    /// describes, partition `p` writing unit `first_unit + p`.
    pub fn new(
        inputs: &[Input],
        units: &[Vec<usize>],
        decode: &Options,
        dataset: DatasetSpec,
        first_unit: u64,
    ) -> Result<ConvertExec> {
        let spec = ConvertSpec {
            decode: DecodeSpec::of(decode)?,
            dataset,
            first_unit,
        };
        let specs = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| to_json(&FileSpec::of_input(i, input)?))
            .map(|j| j.map(|b| String::from_utf8_lossy(&b).into_owned()))
            .collect::<Result<Vec<String>>>()?;
        ConvertExec::from_spec(spec, work_list(units, Some(&specs))?)
    }

    fn from_spec(spec: ConvertSpec, work: Arc<dyn ExecutionPlan>) -> Result<ConvertExec> {
        if work.schema() != work_schema(true) {
            return Err(DataFusionError::Internal(
                "ConvertExec's work list has other columns than its inputs".into(),
            ));
        }
        let partitions = work.properties().output_partitioning().partition_count();
        let props = PlanProperties::new(
            EquivalenceProperties::new(result_schema()),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Ok(ConvertExec {
            spec,
            work,
            props: Arc::new(props),
        })
    }

    /// The plan as bytes (without its work list, which travels as its child).
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>> {
        to_json(&self.spec)
    }

    /// The plan rebuilt from [`ConvertExec::to_bytes`] and its work list.
    pub(crate) fn from_bytes(bytes: &[u8], work: Arc<dyn ExecutionPlan>) -> Result<ConvertExec> {
        ConvertExec::from_spec(from_json(bytes)?, work)
    }
}

impl DisplayAs for ConvertExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ConvertExec: units={}, dataset={}",
            self.props.output_partitioning().partition_count(),
            self.spec.dataset.place
        )
    }
}

impl ExecutionPlan for ConvertExec {
    fn name(&self) -> &str {
        "ConvertExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.work]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let work = super::raw::only_work_list("ConvertExec", &children)?;
        Ok(Arc::new(ConvertExec::from_spec(self.spec.clone(), work)?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let work = self.work.execute(partition, context.clone())?;
        let executor = context
            .session_config()
            .get_extension::<ExecutorName>()
            .map_or_else(|| "local".to_string(), |n| n.0.clone());
        let task = context.task_id().unwrap_or_default();
        let spec = self.spec.clone();
        let stream = futures::stream::once(async move {
            let listed: Vec<RecordBatch> = work.try_collect().await?;
            let inputs = listed
                .iter()
                .flat_map(input_specs)
                .map(|j| from_json::<FileSpec>(j.as_bytes())?.into_input())
                .collect::<Result<Vec<Input>>>()?;
            // The work unit's number in the whole plan (this task may see its partitions
            // numbered from 0).
            let unit = listed
                .iter()
                .flat_map(group_numbers)
                .next()
                .unwrap_or(partition);
            // The conversion blocks (and runs its own threads): off the async runtime.
            let (units, stats) =
                tokio::task::spawn_blocking(move || convert_unit(&spec, unit, inputs))
                    .await
                    .map_err(external)??;
            let row = RecordBatch::try_new(
                result_schema(),
                vec![
                    Arc::new(UInt32Array::from(vec![unit as u32])),
                    Arc::new(StringArray::from(vec![executor])),
                    Arc::new(StringArray::from(vec![task])),
                    Arc::new(StringArray::from(vec![
                        serde_json::to_string(&units).map_err(external)?,
                    ])),
                    Arc::new(StringArray::from(vec![
                        serde_json::to_string(&StatsSpec::of(&stats)).map_err(external)?,
                    ])),
                ],
            )?;
            Ok(row)
        })
        .boxed();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            result_schema(),
            stream,
        )))
    }
}

/// Converts work unit `group`'s inputs into its staging dataset; returns the unit it recorded
/// there, and its counts. A staging directory a failed attempt of the same task left is removed
/// first.
fn convert_unit(
    spec: &ConvertSpec,
    group: usize,
    inputs: Vec<Input>,
) -> Result<(Vec<Unit>, Stats)> {
    let staged = spec.dataset.staged(group)?;
    staged.remove_all().map_err(external)?;
    let opts = spec.decode.clone().into_options()?;
    let decoder = Decoder::new(inputs, opts).map_err(external)?;
    let sink = DatasetSink::staged(
        &staged,
        decoder.schema(),
        spec.dataset.options()?,
        spec.first_unit + group as u64,
    )
    .map_err(external)?;
    let mut seen = Collected {
        keep_rejects: 5,
        ..Collected::default()
    };
    let report = Conversion::new(decoder)
        .run(Box::new(sink), &mut seen)
        .map_err(external)?;
    // The executor's own log (its stderr) names what it refused; the caller gets the counts and
    // each failed input's reason through the unit's manifest record.
    for r in &seen.rejects {
        log::warn!("refused: {r}");
    }
    for f in &seen.failed {
        log::warn!("{f}");
    }
    log::debug!(
        "unit {}: {} records, {} rows, {} refused",
        spec.first_unit + group as u64,
        report.stats.records,
        report.stats.rows_written,
        report.stats.rejected
    );
    Ok((dataset::units(&staged).map_err(external)?, report.stats))
}

/// A task's counts, as its result row carries them.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StatsSpec {
    inputs: u64,
    failed_inputs: u64,
    records: u64,
    rows_written: u64,
    rejected: u64,
    bytes_read: u64,
    header_lines: u64,
    blank_lines: u64,
    control_messages: u64,
}

impl StatsSpec {
    fn of(s: &Stats) -> StatsSpec {
        StatsSpec {
            inputs: s.inputs,
            failed_inputs: s.failed_inputs,
            records: s.records,
            rows_written: s.rows_written,
            rejected: s.rejected,
            bytes_read: s.bytes_read,
            header_lines: s.header_lines,
            blank_lines: s.blank_lines,
            control_messages: s.control_messages,
        }
    }

    fn into_stats(self) -> Stats {
        Stats {
            inputs: self.inputs,
            failed_inputs: self.failed_inputs,
            records: self.records,
            rows_written: self.rows_written,
            rejected: self.rejected,
            // Distributed conversions don't deduplicate (refused with --cluster).
            duplicates: 0,
            bytes_read: self.bytes_read,
            header_lines: self.header_lines,
            blank_lines: self.blank_lines,
            control_messages: self.control_messages,
        }
    }
}

/// What one task did, from its result row.
#[derive(Debug, Clone)]
pub struct TaskResult {
    /// The work unit it ran (its number among the plan's).
    pub partition: usize,
    /// The executor it ran on.
    pub executor: String,
    /// The engine's task id.
    pub task: String,
    /// The units it wrote (one, or none for a unit without inputs).
    pub(crate) units: Vec<Unit>,
    /// Its counts.
    pub stats: Stats,
}

/// The task results in `batch` (of [`result_schema`]).
pub fn task_results(batch: &RecordBatch) -> Result<Vec<TaskResult>> {
    let col = |i: usize| batch.column(i).as_any();
    let bad = || DataFusionError::Internal("a conversion task's row has other columns".into());
    let partition = col(0).downcast_ref::<UInt32Array>().ok_or_else(bad)?;
    let executor = col(1).downcast_ref::<StringArray>().ok_or_else(bad)?;
    let task = col(2).downcast_ref::<StringArray>().ok_or_else(bad)?;
    let units = col(3).downcast_ref::<StringArray>().ok_or_else(bad)?;
    let stats = col(4).downcast_ref::<StringArray>().ok_or_else(bad)?;
    (0..batch.num_rows())
        .map(|r| {
            Ok(TaskResult {
                partition: partition.value(r) as usize,
                executor: executor.value(r).to_string(),
                task: task.value(r).to_string(),
                units: serde_json::from_str(units.value(r)).map_err(external)?,
                stats: serde_json::from_str::<StatsSpec>(stats.value(r))
                    .map_err(external)?
                    .into_stats(),
            })
        })
        .collect()
}

/// Moves the tasks' files into the dataset and records their units (see the module
/// documentation), then removes the run's staging directory. `manifest` is the manifest's text
/// as the run found it ([`dataset::Resume::manifest`]).
pub fn publish_rows(
    spec: &DatasetSpec,
    results: &[TaskResult],
    manifest: &mut Vec<u8>,
    lock: Option<&DatasetLock>,
) -> Result<()> {
    let dataset = spec.dataset()?;
    let mut results: Vec<&TaskResult> = results.iter().collect();
    results.sort_by_key(|r| r.partition);
    for r in results {
        let staged = spec.staged(r.partition)?;
        dataset::publish(&dataset, &staged, &r.units, manifest, lock).map_err(external)?;
    }
    dataset.join(&spec.staging).remove_all().map_err(external)?;
    dataset.remove_empty_dirs();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    fn testdata(rel: &str) -> Input {
        Input::Path(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata")
                .join(rel),
        )
    }

    /// The rows of every part file of a dataset, each as its non-null `column=value`s, sorted.
    fn dataset_rows(dir: &std::path::Path) -> Vec<String> {
        let mut out = Vec::new();
        for u in dataset::units(&Place::Local(dir.to_path_buf())).unwrap() {
            for f in u.files {
                let file = std::fs::File::open(dir.join(&f)).unwrap();
                let reader =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 1024)
                        .unwrap();
                for b in reader {
                    let b = b.unwrap();
                    let options = arrow::util::display::FormatOptions::default();
                    let cols: Vec<_> = b
                        .columns()
                        .iter()
                        .map(|c| {
                            arrow::util::display::ArrayFormatter::try_new(c, &options).unwrap()
                        })
                        .collect();
                    // By column name, nulls left out: units of inputs of other layouts have
                    // other columns (readers unite them by name).
                    for r in 0..b.num_rows() {
                        let mut row: Vec<String> = b
                            .schema()
                            .fields()
                            .iter()
                            .zip(&cols)
                            .zip(b.columns())
                            .filter(|(_, a)| a.is_valid(r))
                            .map(|((f, c), _)| format!("{}={}", f.name(), c.value(r)))
                            .collect();
                        row.sort();
                        out.push(row.join("|"));
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The plan run here (one process, as DataFusion runs it) and published writes the same
    /// rows as one conversion into a dataset, units numbered from the first given, nothing
    /// left in staging; and it survives the trip through bytes.
    #[test]
    fn a_distributed_conversion_run_here_writes_the_dataset_one_conversion_writes() {
        let inputs = vec![
            testdata("query/logs/vpc-all.log"),
            testdata("query/logs/hot.log"),
            testdata("bad-lines.log"),
            testdata("sample-default.log"),
        ];
        let tmp = tempfile::tempdir().unwrap();
        let opts = DatasetOptions {
            partition_by: parse_partition_by(&["date".into()]).unwrap(),
            target_file_bytes: 1 << 30,
            max_open_files: 8,
            commit_rows: 1,
            parquet: ParquetOptions::default(),
            force: false,
            fingerprint: serde_json::json!({"partition_by": ["date"]}),
            lease_seconds: 30,
        };
        // One conversion, the reference.
        let one = tmp.path().join("one");
        let one_place = Place::Local(one.clone());
        let mut resume = dataset::prepare(&one_place, &opts, inputs.clone()).unwrap();
        let todo = std::mem::take(&mut resume.todo);
        let decoder = Decoder::new(todo, Options::default()).unwrap();
        let sink = DatasetSink::new(&one_place, decoder.schema(), opts.clone(), &resume).unwrap();
        Conversion::new(decoder)
            .run(Box::new(sink), &mut Collected::default())
            .unwrap();
        // The same, split into three units run as a plan.
        let split = tmp.path().join("split");
        let place = Place::Local(split.clone());
        let mut resume = dataset::prepare(&place, &opts, inputs.clone()).unwrap();
        let spec = DatasetSpec::new(split.to_str().unwrap(), None, "run1", &opts);
        let units = vec![vec![0], vec![1, 2], vec![3]];
        let plan = ConvertExec::new(&inputs, &units, &Options::default(), spec.clone(), 7).unwrap();
        let again = ConvertExec::from_bytes(&plan.to_bytes().unwrap(), plan.work.clone()).unwrap();
        assert_eq!(again.to_bytes().unwrap(), plan.to_bytes().unwrap());
        let ctx = SessionContext::new();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let batches = rt
            .block_on(datafusion::physical_plan::collect(
                Arc::new(again),
                ctx.task_ctx(),
            ))
            .unwrap();
        let results: Vec<TaskResult> = batches
            .iter()
            .flat_map(|b| task_results(b).unwrap())
            .collect();
        assert_eq!(results.len(), 3);
        assert!(results.iter().all(|r| r.executor == "local"));
        assert!(
            std::fs::read_dir(&split)
                .unwrap()
                .flatten()
                .all(|e| !e.file_name().to_string_lossy().starts_with("part")),
            "nothing published before the coordinator does"
        );
        publish_rows(&spec, &results, &mut resume.manifest, None).unwrap();
        assert!(!split.join(STAGING).exists(), "staging removed");
        let recorded = dataset::units(&place).unwrap();
        assert_eq!(
            recorded.iter().map(|u| u.unit).collect::<Vec<_>>(),
            vec![7, 8, 9]
        );
        let names: Vec<String> = recorded
            .iter()
            .flat_map(|u| u.inputs.iter().map(|i| i.id.name.clone()))
            .collect();
        assert_eq!(names.len(), 4);
        assert_eq!(dataset_rows(&split), dataset_rows(&one));
        // A re-run (once this one let go of the directory) finds every input done.
        drop(resume);
        let resume = dataset::prepare(&place, &opts, inputs).unwrap();
        assert!(resume.todo.is_empty());
        assert_eq!(resume.skipped, 4);
    }
}
