//! How vpcflow's own plan nodes travel to other processes: DataFusion extension codecs that
//! serialize the raw-log table ([`RawLogTable`], in logical plans a client sends to a scheduler),
//! its scan ([`RawLogExec`], in physical plans a scheduler sends to executors) and a distributed
//! conversion (`ConvertExec`).
//!
//! Each codec wraps another one (DataFusion's default, or a distributed engine's own) and handles
//! only payloads it recognises: ours start with a tag naming the node and the version of its
//! encoding, so a payload of another codec is never mistaken for ours, and a payload of a newer
//! vpcflow is refused with a clear error rather than misread. Everything else goes to the
//! wrapped codec.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::{DefaultLogicalExtensionCodec, LogicalExtensionCodec};
use datafusion_proto::physical_plan::{
    DefaultPhysicalExtensionCodec, PhysicalExtensionCodec, PhysicalProtoConverterExtension,
};

use super::distributed::ConvertExec;
use super::raw::{RawLogExec, RawLogTable, only_work_list};

/// The start of every payload of ours: `vpcflow:`, the node, `/`, the encoding's version, NUL.
const PREFIX: &[u8] = b"vpcflow:";
/// The raw-log scan's tag.
const SCAN_TAG: &[u8] = b"vpcflow:raw-log-scan/1\0";
/// The raw-log table's tag.
const TABLE_TAG: &[u8] = b"vpcflow:raw-log-table/1\0";
/// A distributed conversion's tag.
const CONVERT_TAG: &[u8] = b"vpcflow:convert/1\0";

/// Which of `tags` `buf` carries, and the payload after it, if `buf` is ours; an error if it is
/// ours but of a version or node this build does not know (among `tags`, the ones the asking
/// method decodes); `None` if it is not ours.
fn ours<'a>(buf: &'a [u8], tags: &[&'static [u8]]) -> Result<Option<(&'static [u8], &'a [u8])>> {
    for &tag in tags {
        if let Some(rest) = buf.strip_prefix(tag) {
            return Ok(Some((tag, rest)));
        }
    }
    if buf.starts_with(PREFIX) {
        let end = buf
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(buf.len())
            .min(64);
        let known: Vec<String> = tags
            .iter()
            .map(|t| format!("{:?}", String::from_utf8_lossy(&t[..t.len() - 1])))
            .collect();
        return Err(DataFusionError::NotImplemented(format!(
            "a plan node encoded as {:?}, which this vpcflow does not know (expected {}): \
             run the same vpcflow version on every node",
            String::from_utf8_lossy(&buf[..end]),
            known.join(" or "),
        )));
    }
    Ok(None)
}

fn tagged(tag: &[u8], payload: Vec<u8>, buf: &mut Vec<u8>) {
    buf.extend_from_slice(tag);
    buf.extend_from_slice(&payload);
}

/// The physical extension codec: [`RawLogExec`] by us, any other node by the wrapped codec.
#[derive(Clone)]
pub struct PhysicalCodec {
    inner: Arc<dyn PhysicalExtensionCodec>,
}

impl PhysicalCodec {
    /// Ours, in front of `inner` (e.g. a distributed engine's default codec).
    pub fn wrapping(inner: Arc<dyn PhysicalExtensionCodec>) -> PhysicalCodec {
        PhysicalCodec { inner }
    }
}

impl Default for PhysicalCodec {
    /// Ours, in front of DataFusion's default codec.
    fn default() -> PhysicalCodec {
        PhysicalCodec::wrapping(Arc::new(DefaultPhysicalExtensionCodec {}))
    }
}

impl fmt::Debug for PhysicalCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhysicalCodec")
            .field("inner", &self.inner)
            .finish()
    }
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match ours(buf, &[SCAN_TAG, CONVERT_TAG])? {
            Some((SCAN_TAG, payload)) => Ok(Arc::new(RawLogExec::from_bytes(
                payload,
                only_work_list("RawLogExec", inputs)?,
            )?)),
            Some((_, payload)) => Ok(Arc::new(ConvertExec::from_bytes(
                payload,
                only_work_list("ConvertExec", inputs)?,
            )?)),
            None => self.inner.try_decode(buf, inputs, ctx, proto_converter),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(scan) = node.downcast_ref::<RawLogExec>() {
            tagged(SCAN_TAG, scan.to_bytes()?, buf);
            return Ok(());
        }
        if let Some(convert) = node.downcast_ref::<ConvertExec>() {
            tagged(CONVERT_TAG, convert.to_bytes()?, buf);
            return Ok(());
        }
        self.inner.try_encode(node, buf, proto_converter)
    }

    // Everything else is the wrapped codec's.
    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        // Our SQL functions, by name, on nodes whose sessions don't register them.
        match crate::query::functions::ip_function(name) {
            Some(f) => Ok(Arc::new(f)),
            None => self.inner.try_decode_udf(name, buf),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

/// The logical extension codec: [`RawLogTable`] by us, any other table or node by the wrapped
/// codec.
#[derive(Clone)]
pub struct LogicalCodec {
    inner: Arc<dyn LogicalExtensionCodec>,
}

impl LogicalCodec {
    /// Ours, in front of `inner` (e.g. a distributed engine's default codec).
    pub fn wrapping(inner: Arc<dyn LogicalExtensionCodec>) -> LogicalCodec {
        LogicalCodec { inner }
    }
}

impl Default for LogicalCodec {
    /// Ours, in front of DataFusion's default codec.
    fn default() -> LogicalCodec {
        LogicalCodec::wrapping(Arc::new(DefaultLogicalExtensionCodec {}))
    }
}

impl fmt::Debug for LogicalCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogicalCodec")
            .field("inner", &self.inner)
            .finish()
    }
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match ours(buf, &[TABLE_TAG])? {
            Some((_, payload)) => {
                let table = RawLogTable::from_bytes(payload)?;
                if table.schema().fields() != schema.fields() {
                    return Err(DataFusionError::Internal(format!(
                        "the raw-log table {table_ref} was sent with columns that differ from \
                         its plan's"
                    )));
                }
                Ok(Arc::new(table))
            }
            None => self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        match node.downcast_ref::<RawLogTable>() {
            Some(table) => {
                tagged(TABLE_TAG, table.to_bytes()?, buf);
                Ok(())
            }
            None => self.inner.try_encode_table_provider(table_ref, node, buf),
        }
    }

    // Everything else is the wrapped codec's (a distributed engine's file formats for COPY TO
    // and INSERT, its functions): the trait's defaults would drop them silently.
    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        // Our SQL functions, by name, on nodes whose sessions don't register them.
        match crate::query::functions::ip_function(name) {
            Some(f) => Ok(Arc::new(f)),
            None => self.inner.try_decode_udf(name, buf),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::input::Input;
    use crate::pipeline::{Decoder, Options};
    use crate::query::ScanLog;
    use arrow::record_batch::RecordBatch;
    use arrow::util::pretty::pretty_format_batches;
    use datafusion::execution::context::{SessionConfig, SessionContext};
    use datafusion::physical_plan::{collect, displayable};
    use datafusion_proto::bytes::{
        logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
        physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
    };

    /// Aggregates, a filter and an order: the plan holds the scan under several other nodes.
    const SQL: &str = "SELECT srcaddr, action, count(*) AS flows, sum(bytes) AS bytes \
                       FROM flow_logs WHERE dstport IS NOT NULL \
                       GROUP BY srcaddr, action ORDER BY flows DESC, srcaddr, action";

    fn testdata(rel: &str) -> Input {
        Input::Path(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata")
                .join(rel),
        )
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
    }

    fn session() -> SessionContext {
        SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2))
    }

    /// A session with `flow_logs` over three inputs (one with refused lines).
    fn registered() -> (SessionContext, Arc<Mutex<ScanLog>>) {
        let inputs = vec![
            testdata("query/logs/vpc-all.log"),
            testdata("query/logs/hot.log"),
            testdata("bad-lines.log"),
        ];
        let opts = Options {
            threads: 2,
            ..Options::default()
        };
        let decoder = Decoder::new(inputs.clone(), opts.clone()).unwrap();
        let log = Arc::new(Mutex::new(ScanLog::default()));
        let table = RawLogTable::new(inputs, opts, decoder, 10, log.clone());
        let ctx = session();
        ctx.register_table("flow_logs", Arc::new(table)).unwrap();
        (ctx, log)
    }

    fn text(batches: &[RecordBatch]) -> String {
        pretty_format_batches(batches).unwrap().to_string()
    }

    #[test]
    fn a_physical_plan_over_raw_logs_travels_and_gives_the_same_rows() {
        let rt = runtime();
        let (ctx, log) = registered();
        let plan = rt
            .block_on(async { ctx.sql(SQL).await?.create_physical_plan().await })
            .unwrap();
        let shown = displayable(plan.as_ref()).indent(true).to_string();
        assert!(shown.contains("RawLogExec: partitions=2"), "{shown}");

        let codec = PhysicalCodec::default();
        let bytes = physical_plan_to_bytes_with_extension_codec(plan.clone(), &codec).unwrap();
        // Decoded elsewhere: a session that has no table registered.
        let remote = session();
        let again =
            physical_plan_from_bytes_with_extension_codec(&bytes, &remote.task_ctx(), &codec)
                .unwrap();
        assert_eq!(
            displayable(again.as_ref()).indent(true).to_string(),
            shown,
            "the decoded plan is the same plan"
        );

        let here = rt.block_on(collect(plan, ctx.task_ctx())).unwrap();
        let there = rt.block_on(collect(again, remote.task_ctx())).unwrap();
        assert!(here.iter().map(RecordBatch::num_rows).sum::<usize>() > 3);
        assert_eq!(text(&here), text(&there));
        // Only the local scan reports to the table's log.
        assert_eq!(crate::query::lock(&log).scans, 1);
    }

    #[test]
    fn a_logical_plan_over_raw_logs_travels_and_gives_the_same_rows() {
        let rt = runtime();
        let (ctx, _) = registered();
        let df = rt.block_on(ctx.sql(SQL)).unwrap();
        let plan = df.logical_plan().clone();
        let codec = LogicalCodec::default();
        let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &codec).unwrap();
        let remote = session();
        let again =
            logical_plan_from_bytes_with_extension_codec(&bytes, &remote.task_ctx(), &codec)
                .unwrap();
        assert_eq!(
            again.display_indent().to_string(),
            plan.display_indent().to_string()
        );

        let here = rt.block_on(df.collect()).unwrap();
        let there = rt
            .block_on(async {
                let physical = remote.state().create_physical_plan(&again).await?;
                collect(physical, remote.task_ctx()).await
            })
            .unwrap();
        assert_eq!(text(&here), text(&there));
    }

    #[test]
    fn payloads_of_another_version_are_refused_and_others_go_to_the_wrapped_codec() {
        let ctx = session();
        let task = ctx.task_ctx();
        let converter = datafusion_proto::physical_plan::DefaultPhysicalProtoConverter {};
        let codec = PhysicalCodec::default();
        let newer = codec
            .try_decode(b"vpcflow:raw-log-scan/2\0{}", &[], &task, &converter)
            .unwrap_err()
            .to_string();
        assert!(
            newer.contains("vpcflow:raw-log-scan/2") && newer.contains("same vpcflow version"),
            "{newer}"
        );

        /// A codec that knows one payload, `mock`, as an empty plan.
        #[derive(Debug)]
        struct Mock;
        impl PhysicalExtensionCodec for Mock {
            fn try_decode(
                &self,
                buf: &[u8],
                _: &[Arc<dyn ExecutionPlan>],
                _: &TaskContext,
                _: &dyn PhysicalProtoConverterExtension,
            ) -> Result<Arc<dyn ExecutionPlan>> {
                assert_eq!(buf, b"mock");
                Ok(Arc::new(datafusion::physical_plan::empty::EmptyExec::new(
                    Arc::new(arrow::datatypes::Schema::empty()),
                )))
            }
            fn try_encode(
                &self,
                _: Arc<dyn ExecutionPlan>,
                buf: &mut Vec<u8>,
                _: &dyn PhysicalProtoConverterExtension,
            ) -> Result<()> {
                buf.extend_from_slice(b"mock");
                Ok(())
            }
        }
        let codec = PhysicalCodec::wrapping(Arc::new(Mock));
        let plan = codec.try_decode(b"mock", &[], &task, &converter).unwrap();
        assert_eq!(plan.name(), "EmptyExec");
        let mut buf = Vec::new();
        codec.try_encode(plan, &mut buf, &converter).unwrap();
        assert_eq!(buf, b"mock");

        // A table of another kind goes to the wrapped logical codec (DataFusion's default,
        // which refuses it).
        let logical = LogicalCodec::default();
        let empty = Arc::new(datafusion::datasource::empty::EmptyTable::new(Arc::new(
            arrow::datatypes::Schema::empty(),
        )));
        let mut buf = Vec::new();
        let err = logical
            .try_encode_table_provider(&TableReference::bare("t"), empty, &mut buf)
            .unwrap_err();
        assert!(matches!(err, DataFusionError::NotImplemented(_)), "{err}");
    }
}
