//! ECS documents as Elastic's "AWS VPC Flow" integration writes them, straight from Arrow columns.
//!
//! The mapping (../shared/conformance/ELASTIC-MAPPING.md, checked against Elastic's golden
//! documents) is written down once, in `EcsWriter::write_doc`. In short: times become
//! `@timestamp`/`event.start`/`event.end`; addresses, ports and counters become `source.*`,
//! `destination.*` and `network.*` (counters belong to the source); `action` gives
//! `event.action/outcome/type`; account, instance, region and zone go to `cloud.*`; the ECS task
//! fields go to `orchestrator.*`/`service.name`; `reject-reason` is `event.reason`; everything
//! else stays under `aws.vpcflow` as text (`tcp_flags` also as names in `tcp_flags_array`). The
//! attribution columns (`crate::enrich::attribution`) stay under `aws.vpcflow` by their names
//! (`eni_security_groups` as an array); where ECS has a home they also go there: the interface's
//! instance is `cloud.instance.id` when the record has no `instance-id`, and the interface's name
//! and the instances of the interface and of both addresses are `related.hosts`. A
//! value of `-` (null) leaves its field out, except `cloud.region`, `cloud.availability_zone`
//! and `network.direction`, which Elastic keeps as a literal `-`.
//!
//! Rows are formatted in parallel slices into reused buffers and written in order; there is no
//! per-document value tree.

use std::io::Write;

use arrow::array::{Array, Int32Array, Int64Array, ListArray, StringArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

pub use crate::enrich::GeoLookup;
use rayon::prelude::*;

use crate::batch::{INPUT_COLUMN, OFFSET_COLUMN, ORIGINAL_COLUMN};
use crate::enrich::community_id;
use crate::error::Error;
use crate::format::json::{Obj, Timestamps, push_json_str};

/// ECS output settings.
#[derive(Default)]
pub struct EcsOptions<'a> {
    /// Keep the record's text in `event.original` and tag `preserve_original_event`.
    pub preserve_original: bool,
    /// GeoIP/ASN enrichment of source and destination.
    pub geo: Option<&'a dyn GeoLookup>,
    /// Elasticsearch `_bulk` output: an action line before each document, and the data-stream
    /// fields the integration's index template expects.
    pub bulk: Option<BulkOptions>,
}

/// Settings of `_bulk` output.
#[derive(Debug, Clone)]
pub struct BulkOptions {
    /// Data stream namespace (`default`).
    pub namespace: String,
    /// Target index or data stream (default `logs-aws.vpcflow-<namespace>`).
    pub index: String,
    /// `@timestamp` of records with neither `end` nor `start` (a data stream refuses documents
    /// without one): the time of conversion, Unix seconds.
    pub now: i64,
}

impl BulkOptions {
    /// Bulk settings for a namespace, with an optional explicit index.
    pub fn new(namespace: &str, index: Option<&str>) -> Self {
        BulkOptions {
            namespace: namespace.to_string(),
            index: index.map_or_else(|| format!("logs-aws.vpcflow-{namespace}"), str::to_string),
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        }
    }
}

/// Where formatted documents go: whole documents (each ending in a line feed) with their end
/// offsets, so an output may split between documents but never inside one.
pub trait DocOut: Send {
    /// Takes `buf`, whose documents end at the offsets `ends`.
    fn put(&mut self, buf: &[u8], ends: &[usize]) -> std::io::Result<()>;
    /// Flushes (and completes) the output.
    fn done(&mut self) -> std::io::Result<()>;
}

impl<W: Write + Send> DocOut for W {
    fn put(&mut self, buf: &[u8], _ends: &[usize]) -> std::io::Result<()> {
        self.write_all(buf)
    }
    fn done(&mut self) -> std::io::Result<()> {
        self.flush()
    }
}

/// Numbered output files of at most `limit` bytes each (`bulk.ndjson` → `bulk-000001.ndjson`,
/// …), local or on S3, each appearing under its name only when complete (renamed into place, or
/// its upload completed). A document larger than the limit gets a file of its own.
pub struct NumberedFiles {
    /// Where the files go: the base name's directory or prefix.
    dir: crate::sink::place::Place,
    stem: String,
    ext: String,
    limit: u64,
    current: Option<(crate::sink::place::Pending, u64)>,
    /// The files completed so far (paths or URLs).
    pub written: Vec<String>,
}

impl NumberedFiles {
    /// Files named after `base`, a local path or an `s3://` URL (its stem, a 6-digit number,
    /// its extension).
    pub fn new(base: &crate::sink::place::Place, limit: u64) -> Self {
        let (dir, name) = base.split_name();
        let path = std::path::Path::new(&name);
        let stem = path
            .file_stem()
            .map_or_else(|| "bulk".to_string(), |s| s.to_string_lossy().into_owned());
        let ext = path.extension().map_or_else(
            || "ndjson".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        NumberedFiles {
            dir,
            stem,
            ext,
            limit: limit.max(1),
            current: None,
            written: Vec::new(),
        }
    }

    /// The name of the `n`-th file (from 1), without its directory.
    pub fn file_name(&self, n: u64) -> String {
        format!("{}-{n:06}.{}", self.stem, self.ext)
    }

    /// The path of the `n`-th file (from 1) for a local base name.
    pub fn path(base: &std::path::Path, n: u64) -> std::path::PathBuf {
        let files = NumberedFiles::new(&crate::sink::place::Place::Local(base.into()), 1);
        base.with_file_name(files.file_name(n))
    }

    fn close_current(&mut self) -> std::io::Result<()> {
        if let Some((file, _)) = self.current.take() {
            let name = file.name();
            file.finish()
                .map_err(|e| std::io::Error::other(e.to_string()))?
                .commit(true)?;
            self.written.push(name);
        }
        Ok(())
    }
}

impl DocOut for NumberedFiles {
    fn put(&mut self, buf: &[u8], ends: &[usize]) -> std::io::Result<()> {
        let mut start = 0;
        for &end in ends {
            let doc = &buf[start..end];
            start = end;
            if let Some((_, size)) = &self.current
                && *size > 0
                && *size + doc.len() as u64 > self.limit
            {
                self.close_current()?;
            }
            if self.current.is_none() {
                let name = self.file_name(self.written.len() as u64 + 1);
                let file = self
                    .dir
                    .join(&name)
                    .create()
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                self.current = Some((file, 0));
            }
            if let Some((w, size)) = &mut self.current {
                w.write_all(doc)?;
                *size += doc.len() as u64;
            }
        }
        Ok(())
    }

    fn done(&mut self) -> std::io::Result<()> {
        self.close_current()
    }
}

/// Columns that become ECS fields outside `aws.vpcflow`, are renamed or reshaped inside it, or
/// are internal (the generic `aws.vpcflow.<column>` rule doesn't apply to them).
pub const MAPPED: &[&str] = &[
    crate::pipeline::plan::LOG_GROUP_COLUMN,
    crate::pipeline::plan::LOG_STREAM_COLUMN,
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "region",
    "az_id",
    "flow_direction",
    "reject_reason",
    "ecs_cluster_arn",
    "ecs_cluster_name",
    "ecs_container_instance_arn",
    "ecs_container_instance_id",
    "ecs_service_name",
    "sublocation_type",
    "sublocation_id",
    "pkt_src_aws_service",
    "pkt_dst_aws_service",
    "tcp_flags",
    ORIGINAL_COLUMN,
    INPUT_COLUMN,
    OFFSET_COLUMN,
];

/// Attribution columns whose values name hosts: `related.hosts`, in this order, each once.
const RELATED_HOSTS: [&str; 4] = [
    "eni_name",
    "eni_instance_id",
    "src_instance_id",
    "dst_instance_id",
];

#[derive(Clone, Copy)]
enum Col<'a> {
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    Str(&'a StringArray),
    /// A list of text (`eni_security_groups`): the list and its values.
    StrList(&'a ListArray, &'a StringArray),
}

impl<'a> Col<'a> {
    #[inline(always)]
    fn int(self, r: usize) -> Option<i64> {
        match self {
            Col::I32(a) => a.is_valid(r).then(|| i64::from(a.value(r))),
            Col::I64(a) => a.is_valid(r).then(|| a.value(r)),
            Col::Str(a) => a.is_valid(r).then(|| a.value(r).parse().ok()).flatten(),
            Col::StrList(..) => None,
        }
    }
    #[inline(always)]
    fn str(self, r: usize) -> Option<&'a str> {
        match self {
            Col::Str(a) => a.is_valid(r).then(|| a.value(r)),
            _ => None,
        }
    }
}

/// A batch's columns, looked up by name once.
struct Cols<'a> {
    all: Vec<(&'a str, Col<'a>)>,
}

impl<'a> Cols<'a> {
    fn new(batch: &'a RecordBatch) -> Result<Self, String> {
        let schema = batch.schema_ref();
        let mut all = Vec::with_capacity(batch.num_columns());
        for (f, c) in schema.fields().iter().zip(batch.columns()) {
            let col = match f.data_type() {
                DataType::Int32 => c.as_any().downcast_ref::<Int32Array>().map(Col::I32),
                DataType::Int64 => c.as_any().downcast_ref::<Int64Array>().map(Col::I64),
                DataType::Utf8 => c.as_any().downcast_ref::<StringArray>().map(Col::Str),
                DataType::List(f) if *f.data_type() == DataType::Utf8 => {
                    c.as_any().downcast_ref::<ListArray>().and_then(|l| {
                        l.values()
                            .as_any()
                            .downcast_ref::<StringArray>()
                            .map(|v| Col::StrList(l, v))
                    })
                }
                _ => None,
            }
            .ok_or_else(|| {
                format!(
                    "column {} of type {} has no ECS form",
                    f.name(),
                    f.data_type()
                )
            })?;
            all.push((f.name().as_str(), col));
        }
        Ok(Cols { all })
    }
    /// Whether no text value of rows `rows` needs JSON escaping: one word-at-a-time pass over
    /// each string column's value bytes instead of a check per value written.
    fn clean(&self, rows: std::ops::Range<usize>) -> bool {
        self.all.iter().all(|(_, c)| match c {
            Col::Str(a) => {
                let o = a.value_offsets();
                let bytes = &a.value_data()[o[rows.start] as usize..o[rows.end] as usize];
                !crate::format::json::needs_escape(bytes)
            }
            Col::StrList(l, v) => {
                let (lo, hi) = (l.value_offsets()[rows.start], l.value_offsets()[rows.end]);
                let o = v.value_offsets();
                let bytes = &v.value_data()[o[lo as usize] as usize..o[hi as usize] as usize];
                !crate::format::json::needs_escape(bytes)
            }
            _ => true,
        })
    }

    fn get(&self, name: &str) -> Option<Col<'a>> {
        self.all.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
    }
}

/// How a column kept under `aws.vpcflow` is written: Elastic keeps those values as text, except
/// the `packets_lost_*` counters.
#[derive(Clone, Copy, PartialEq)]
enum Rest {
    Text,
    TextList,
    Number,
    NumberAsText,
}

/// Column handles a document needs, resolved once per batch.
struct Mapped<'a> {
    srcaddr: Option<Col<'a>>,
    dstaddr: Option<Col<'a>>,
    srcport: Option<Col<'a>>,
    dstport: Option<Col<'a>>,
    protocol: Option<Col<'a>>,
    packets: Option<Col<'a>>,
    bytes: Option<Col<'a>>,
    start: Option<Col<'a>>,
    end: Option<Col<'a>>,
    region: Option<Col<'a>>,
    az_id: Option<Col<'a>>,
    flow_direction: Option<Col<'a>>,
    reject_reason: Option<Col<'a>>,
    action: Option<Col<'a>>,
    account_id: Option<Col<'a>>,
    instance_id: Option<Col<'a>>,
    tcp_flags: Option<Col<'a>>,
    pkt_src_service: Option<Col<'a>>,
    pkt_dst_service: Option<Col<'a>>,
    sublocation_type: Option<Col<'a>>,
    sublocation_id: Option<Col<'a>>,
    cluster_arn: Option<Col<'a>>,
    cluster_name: Option<Col<'a>>,
    container_instance_arn: Option<Col<'a>>,
    container_instance_id: Option<Col<'a>>,
    service_name: Option<Col<'a>>,
    original: Option<Col<'a>>,
    log_group: Option<Col<'a>>,
    log_stream: Option<Col<'a>>,
    input: Option<Col<'a>>,
    offset: Option<Col<'a>>,
    eni_instance_id: Option<Col<'a>>,
    /// Attribution columns naming hosts, for `related.hosts`.
    hosts: Vec<Col<'a>>,
    /// Everything else, kept under `aws.vpcflow` by column name, with how each is written. The
    /// name comes from the data (a header or a Parquet column can be called anything), so it is
    /// escaped here, once per batch, as a ready `"name":`.
    rest: Vec<(Vec<u8>, Col<'a>, Rest)>,
}

impl<'a> Mapped<'a> {
    fn new(cols: &Cols<'a>) -> Self {
        let g = |n: &str| cols.get(n);
        Mapped {
            srcaddr: g("srcaddr"),
            dstaddr: g("dstaddr"),
            srcport: g("srcport"),
            dstport: g("dstport"),
            protocol: g("protocol"),
            packets: g("packets"),
            bytes: g("bytes"),
            start: g("start"),
            end: g("end"),
            region: g("region"),
            az_id: g("az_id"),
            flow_direction: g("flow_direction"),
            reject_reason: g("reject_reason"),
            action: g("action"),
            account_id: g("account_id"),
            instance_id: g("instance_id"),
            tcp_flags: g("tcp_flags"),
            pkt_src_service: g("pkt_src_aws_service"),
            pkt_dst_service: g("pkt_dst_aws_service"),
            sublocation_type: g("sublocation_type"),
            sublocation_id: g("sublocation_id"),
            cluster_arn: g("ecs_cluster_arn"),
            cluster_name: g("ecs_cluster_name"),
            container_instance_arn: g("ecs_container_instance_arn"),
            container_instance_id: g("ecs_container_instance_id"),
            service_name: g("ecs_service_name"),
            original: g(ORIGINAL_COLUMN),
            log_group: g(crate::pipeline::plan::LOG_GROUP_COLUMN),
            log_stream: g(crate::pipeline::plan::LOG_STREAM_COLUMN),
            input: g(INPUT_COLUMN),
            offset: g(OFFSET_COLUMN),
            eni_instance_id: g("eni_instance_id"),
            hosts: RELATED_HOSTS.iter().filter_map(|n| g(n)).collect(),
            rest: cols
                .all
                .iter()
                .filter(|(n, _)| !MAPPED.contains(n))
                .map(|&(n, c)| {
                    let how = match c {
                        Col::Str(_) => Rest::Text,
                        Col::StrList(..) => Rest::TextList,
                        _ if n.starts_with("packets_lost_") => Rest::Number,
                        _ => Rest::NumberAsText,
                    };
                    (crate::format::json::member_name(n), c, how)
                })
                .collect(),
        }
    }
}

/// `network.transport` for an IANA protocol number: Elastic's fixed 11-entry table.
pub(crate) fn transport(proto: i64) -> Option<&'static str> {
    Some(match proto {
        0 => "hopopt",
        1 => "icmp",
        2 => "igmp",
        6 => "tcp",
        8 => "egp",
        17 => "udp",
        47 => "gre",
        50 => "esp",
        58 => "ipv6-icmp",
        112 => "vrrp",
        132 => "sctp",
        _ => return None,
    })
}

/// Bulk provenance of a record read from an S3 object, as Elastic's aws-s3 input writes it
/// (ELASTIC-MAPPING.md §0), rendered once per input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct S3Provenance {
    /// The value of `aws.s3`: `{"bucket":{"arn":…,"name":…},"object":{"key":…}}`.
    pub aws_s3: Vec<u8>,
    /// `log.file.path`, the object's HTTPS URL, as a JSON string literal.
    pub url: Vec<u8>,
    /// `cloud.region` (when the record has no `region` field), as a JSON string literal.
    pub region: Vec<u8>,
}

impl S3Provenance {
    /// The provenance of input `input` if it names an S3 object (`s3://bucket/key`, as the
    /// decoder names S3 inputs in its provenance column), in region `region`.
    pub fn of(input: &str, region: &str) -> Option<Self> {
        let (bucket, key) = input.strip_prefix("s3://")?.split_once('/')?;
        if bucket.is_empty() {
            return None;
        }
        let mut aws_s3 = Vec::new();
        {
            let mut s3 = Obj::open(&mut aws_s3, false);
            let mut b = s3.child("bucket");
            b.str("arn", &format!("arn:aws:s3:::{bucket}"));
            b.str("name", bucket);
            b.close();
            let mut o = s3.child("object");
            o.str("key", key);
            o.close();
            s3.close();
        }
        let mut url = Vec::new();
        push_json_str(&mut url, &crate::input::s3::object_url(bucket, region, key));
        let mut reg = Vec::new();
        push_json_str(&mut reg, region);
        Some(S3Provenance {
            aws_s3,
            url,
            region: reg,
        })
    }
}

/// The provenance of the input last seen by one formatting slice (a batch's rows mostly come
/// from one input), so it is rendered once per input rather than per row.
#[derive(Default)]
struct ProvenanceCache {
    input: String,
    s3: Option<S3Provenance>,
}

impl ProvenanceCache {
    fn s3(&mut self, input: &str) -> Option<&S3Provenance> {
        if self.input != input {
            self.input.clear();
            self.input.push_str(input);
            self.s3 = input
                .starts_with("s3://")
                .then(|| S3Provenance::of(input, crate::input::s3::region()))
                .flatten();
        }
        self.s3.as_ref()
    }
}

const TCP_FLAG_NAMES: [(i64, &str); 6] = [
    (0x01, "fin"),
    (0x02, "syn"),
    (0x04, "rst"),
    (0x08, "psh"),
    (0x10, "ack"),
    (0x20, "urg"),
];

/// Streams record batches as ECS NDJSON.
pub struct EcsWriter<'g, W: DocOut> {
    out: W,
    opts: EcsOptions<'g>,
    action: Vec<u8>,
    bufs: Vec<(Vec<u8>, Vec<usize>)>,
    name: String,
}

impl<'g, W: DocOut> EcsWriter<'g, W> {
    /// Starts an ECS stream on `out` (named `name` in errors).
    pub fn new(out: W, name: &str, _schema: SchemaRef, opts: EcsOptions<'g>) -> Self {
        let mut action = Vec::new();
        if let Some(b) = &opts.bulk {
            action.extend_from_slice(b"{\"create\":{\"_index\":");
            push_json_str(&mut action, &b.index);
            action.extend_from_slice(b"}}\n");
        }
        EcsWriter {
            out,
            opts,
            action,
            bufs: Vec::new(),
            name: name.to_string(),
        }
    }

    /// Appends one document per row of `batch`.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        let cols = Cols::new(batch).map_err(|reason| Error::Write {
            path: self.name.clone(),
            reason,
        })?;
        let m = Mapped::new(&cols);
        const SLICE: usize = 2048;
        let n = batch.num_rows();
        let parts = n.div_ceil(SLICE);
        self.bufs
            .resize_with(parts.max(self.bufs.len()), Default::default);
        let opts = &self.opts;
        let action = &self.action;
        self.bufs[..parts]
            .par_iter_mut()
            .enumerate()
            .for_each(|(p, (buf, ends))| {
                buf.clear();
                ends.clear();
                let rows = p * SLICE..((p + 1) * SLICE).min(n);
                let clean = cols.clean(rows.clone());
                let mut ts = Timestamps::default();
                let mut prov = ProvenanceCache::default();
                for r in rows {
                    buf.extend_from_slice(action);
                    Self::write_doc(opts, &m, clean, &mut ts, &mut prov, r, buf);
                    buf.push(b'\n');
                    ends.push(buf.len());
                }
            });
        for (buf, ends) in &self.bufs[..parts] {
            self.out
                .put(buf, ends)
                .map_err(|e| Error::io(std::path::Path::new(&self.name), e))?;
        }
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> Result<W, Error> {
        self.out
            .done()
            .map_err(|e| Error::io(std::path::Path::new(&self.name), e))?;
        Ok(self.out)
    }

    fn endpoint(
        doc: &mut Obj<'_>,
        key: &str,
        addr: Option<&str>,
        port: Option<i64>,
        counters: Option<(Option<i64>, Option<i64>)>,
        geo: Option<&dyn GeoLookup>,
    ) {
        let (bytes, packets) = counters.unwrap_or((None, None));
        if addr.is_none() && port.is_none() && bytes.is_none() && packets.is_none() {
            return;
        }
        let mut o = doc.child(key);
        if let Some(a) = addr {
            o.str("address", a);
            o.str("ip", a);
        }
        if let Some(p) = port {
            o.int("port", p);
        }
        if let Some(b) = bytes {
            o.int("bytes", b);
        }
        if let Some(p) = packets {
            o.int("packets", p);
        }
        if let (Some(a), Some(g)) = (addr, geo) {
            g.write_geo_members(a, o.out);
            o.first = false;
        }
        o.close();
    }

    /// The mapping: one row → one ECS document.
    /// One document for row `r`; `clean`: no text value of the row needs JSON escaping.
    ///
    /// The hot path of ECS output (once per row; measured by `benches/ecs.sh`): kept as one
    /// function, in the order of Elastic's pipeline, so each field is written straight into the
    /// buffer with no intermediate document.
    fn write_doc<'a>(
        opts: &EcsOptions<'_>,
        m: &Mapped<'a>,
        clean: bool,
        ts: &mut Timestamps,
        prov: &mut ProvenanceCache,
        r: usize,
        out: &mut Vec<u8>,
    ) {
        let get_s = |c: Option<Col<'a>>| c.and_then(|c| c.str(r));
        let get_i = |c: Option<Col<'a>>| c.and_then(|c| c.int(r));
        let src = get_s(m.srcaddr);
        let dst = get_s(m.dstaddr);
        let sport = get_i(m.srcport);
        let dport = get_i(m.dstport);
        let proto = get_i(m.protocol);
        let bytes = get_i(m.bytes);
        let packets = get_i(m.packets);
        let start = get_i(m.start);
        let end = get_i(m.end);
        let action = get_s(m.action);
        // Bulk documents of records read from S3 carry the object's provenance.
        let s3 = match (&opts.bulk, get_s(m.input)) {
            (Some(_), Some(input)) => prov.s3(input),
            _ => None,
        };

        let mut doc = Obj::open(out, clean);
        if let Some(t) = end.or(start).or(opts.bulk.as_ref().map(|b| b.now)) {
            ts.push(doc.key("@timestamp"), t);
        }

        // aws.vpcflow: what Elastic keeps there, as text.
        {
            let mut aws = doc.child("aws");
            let mut v = aws.child("vpcflow");
            for (name, col, how) in &m.rest {
                match (*col, *how) {
                    (Col::Str(a), _) if a.is_valid(r) => v.str_json_key(name, a.value(r)),
                    (Col::Str(_), _) => {}
                    (Col::StrList(l, values), _) if l.is_valid(r) => {
                        crate::sink::ndjson::push_str_list(v.key_json(name), l, values, r)
                    }
                    (Col::StrList(..), _) => {}
                    (col, Rest::Number) => {
                        if let Some(x) = col.int(r) {
                            v.int_json_key(name, x);
                        }
                    }
                    (col, _) => {
                        if let Some(x) = col.int(r) {
                            let mut b = itoa::Buffer::new();
                            v.str_json_key(name, b.format(x));
                        }
                    }
                }
            }
            v.opt_str("pkt_src_service", get_s(m.pkt_src_service));
            v.opt_str("pkt_dst_service", get_s(m.pkt_dst_service));
            if let Some(flags) = get_i(m.tcp_flags) {
                let mut b = itoa::Buffer::new();
                v.str("tcp_flags", b.format(flags));
                let arr = v.key("tcp_flags_array");
                arr.push(b'[');
                let mut first = true;
                for (bit, name) in TCP_FLAG_NAMES {
                    if flags & bit != 0 {
                        if !first {
                            arr.push(b',');
                        }
                        first = false;
                        push_json_str(arr, name);
                    }
                }
                arr.push(b']');
            }
            if m.sublocation_type.is_some() || m.sublocation_id.is_some() {
                let mut sub = v.child("sublocation");
                sub.opt_str("type", get_s(m.sublocation_type));
                sub.opt_str("id", get_s(m.sublocation_id));
                sub.close();
            }
            v.close();
            // Where a CloudWatch Logs subscription delivered the record, as Elastic's
            // aws-cloudwatch input names it.
            let (group, stream) = (get_s(m.log_group), get_s(m.log_stream));
            if group.is_some() || stream.is_some() {
                let mut cw = aws.child("cloudwatch");
                cw.opt_str("log_group", group);
                cw.opt_str("log_stream", stream);
                cw.close();
            }
            if let Some(p) = s3 {
                aws.key("s3").extend_from_slice(&p.aws_s3);
            }
            aws.close();
        }

        // cloud.*
        {
            let mut cloud = doc.child("cloud");
            if let Some(a) = get_s(m.account_id) {
                let mut acc = cloud.child("account");
                acc.str("id", a);
                acc.close();
            }
            if let Some(i) = get_s(m.instance_id).or_else(|| get_s(m.eni_instance_id)) {
                let mut inst = cloud.child("instance");
                inst.str("id", i);
                inst.close();
            }
            cloud.str("provider", "aws");
            if m.region.is_some() {
                cloud.str("region", get_s(m.region).unwrap_or("-"));
            } else if let Some(p) = s3 {
                // The aws-s3 input's region, which the pipeline keeps when the record has none.
                cloud.key("region").extend_from_slice(&p.region);
            }
            if m.az_id.is_some() {
                cloud.str("availability_zone", get_s(m.az_id).unwrap_or("-"));
            }
            cloud.close();
        }

        Self::endpoint(
            &mut doc,
            "source",
            src,
            sport,
            Some((bytes, packets)),
            opts.geo,
        );
        Self::endpoint(&mut doc, "destination", dst, dport, None, opts.geo);

        if let Some(b) = &opts.bulk {
            let mut ds = doc.child("data_stream");
            ds.str("dataset", "aws.vpcflow");
            ds.str("namespace", &b.namespace);
            ds.str("type", "logs");
            ds.close();
        }
        doc.raw("ecs", "{\"version\":\"8.11.0\"}");
        if opts.bulk.is_some() {
            if m.input.is_some() {
                let ty = if s3.is_some() { "aws-s3" } else { "log" };
                let mut input = doc.child("input");
                input.str("type", ty);
                input.close();
            }
            let path = get_s(m.input);
            let offset = get_i(m.offset);
            if path.is_some() || offset.is_some() {
                let mut log = doc.child("log");
                if let Some(p) = path {
                    let mut file = log.child("file");
                    match s3 {
                        Some(s3) => file.key("path").extend_from_slice(&s3.url),
                        None => file.str("path", p),
                    }
                    file.close();
                }
                if let Some(o) = offset {
                    log.int("offset", o);
                }
                log.close();
            }
        }

        // event.*
        {
            let mut ev = doc.child("event");
            ev.opt_str("action", action);
            ev.raw("category", "[\"network\"]");
            if opts.bulk.is_some() {
                ev.str("dataset", "aws.vpcflow");
                ev.str("module", "aws");
            }
            if let Some(e) = end {
                ts.push(ev.key("end"), e);
            }
            ev.str("kind", "event");
            if opts.preserve_original {
                ev.opt_str("original", get_s(m.original));
            }
            let outcome = match action {
                Some("ACCEPT") => Some(("success", "[\"connection\",\"allowed\"]")),
                Some("REJECT") => Some(("failure", "[\"connection\",\"denied\"]")),
                _ => None,
            };
            if let Some((o, _)) = outcome {
                ev.str("outcome", o);
            }
            ev.opt_str("reason", get_s(m.reject_reason));
            if let Some(s) = start {
                ts.push(ev.key("start"), s);
            }
            ev.raw("type", outcome.map_or("[\"connection\"]", |(_, t)| t));
            ev.close();
        }

        // network.*
        let has_network = bytes.is_some()
            || packets.is_some()
            || proto.is_some()
            || src.is_some()
            || m.flow_direction.is_some();
        if has_network {
            let mut net = doc.child("network");
            if let Some(b) = bytes {
                net.int("bytes", b);
            }
            if let (Some(s), Some(d), Some(p)) = (src, dst, proto)
                && let Ok(p8) = u8::try_from(p)
            {
                let port = |x: Option<i64>| x.and_then(|v| u16::try_from(v).ok());
                let (sp, dp) = community_id::flow_log_ports(p8, port(sport), port(dport));
                if let Some(id) = community_id::community_id_bytes(0, p8, s, d, sp, dp) {
                    let key = net.key("community_id");
                    key.push(b'"');
                    key.extend_from_slice(&id);
                    key.push(b'"');
                }
            }
            if m.flow_direction.is_some() {
                net.str("direction", get_s(m.flow_direction).unwrap_or("-"));
            }
            if let Some(p) = proto {
                let mut b = itoa::Buffer::new();
                net.str("iana_number", b.format(p));
                net.opt_str("transport", transport(p));
            }
            if let Some(p) = packets {
                net.int("packets", p);
            }
            if let Some(s) = src {
                let mut t = None;
                if s.contains('.') {
                    t = Some("ipv4");
                }
                if s.contains(':') {
                    t = Some("ipv6");
                }
                net.opt_str("type", t);
            }
            net.close();
        }

        // orchestrator.* and service.name (ECS tasks)
        let (c_arn, c_name, ci_arn, ci_id) = (
            get_s(m.cluster_arn),
            get_s(m.cluster_name),
            get_s(m.container_instance_arn),
            get_s(m.container_instance_id),
        );
        if c_arn.is_some() || c_name.is_some() || ci_arn.is_some() || ci_id.is_some() {
            let mut orch = doc.child("orchestrator");
            if c_arn.is_some() || c_name.is_some() {
                let mut cl = orch.child("cluster");
                cl.opt_str("id", c_arn);
                cl.opt_str("name", c_name);
                cl.close();
            }
            if ci_arn.is_some() || ci_id.is_some() {
                let mut res = orch.child("resource");
                res.opt_str("id", ci_id);
                res.opt_str("name", ci_arn);
                res.close();
            }
            orch.close();
        }
        let mut hosts: [Option<&str>; RELATED_HOSTS.len()] = [None; RELATED_HOSTS.len()];
        let mut n_hosts = 0;
        for h in m.hosts.iter().filter_map(|c| c.str(r)) {
            if !hosts[..n_hosts].contains(&Some(h)) {
                hosts[n_hosts] = Some(h);
                n_hosts += 1;
            }
        }
        let ips = src.zip(dst);
        if ips.is_some() || n_hosts > 0 {
            let mut rel = doc.child("related");
            if n_hosts > 0 {
                let list = rel.key("hosts");
                list.push(b'[');
                for (k, h) in hosts[..n_hosts].iter().flatten().enumerate() {
                    if k > 0 {
                        list.push(b',');
                    }
                    push_json_str(list, h);
                }
                list.push(b']');
            }
            if let Some((s, d)) = ips {
                let list = rel.key("ip");
                list.push(b'[');
                push_json_str(list, s);
                list.push(b',');
                push_json_str(list, d);
                list.push(b']');
            }
            rel.close();
        }
        if let Some(svc) = get_s(m.service_name) {
            let mut s = doc.child("service");
            s.str("name", svc);
            s.close();
        }
        if opts.preserve_original {
            doc.raw("tags", "[\"preserve_original_event\"]");
        }
        doc.close();
    }
}

impl crate::pipeline::Sink for EcsWriter<'_, crate::sink::Target> {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        EcsWriter::write(self, batch)
    }

    fn finish(self: Box<Self>, commit: bool) -> Result<crate::pipeline::Written, Error> {
        EcsWriter::finish(*self)?.close(commit)
    }
}

/// Bulk files are each complete when written: `--strict` can't withhold the ones before.
impl crate::pipeline::Sink for EcsWriter<'_, NumberedFiles> {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        EcsWriter::write(self, batch)
    }

    fn finish(self: Box<Self>, _commit: bool) -> Result<crate::pipeline::Written, Error> {
        Ok(crate::pipeline::Written::Files(
            EcsWriter::finish(*self)?.written,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};
    use serde_json::{Value, json};
    use std::sync::Arc;

    #[test]
    fn s3_inputs_map_to_bucket_key_arn_and_object_url() {
        for (bucket, key, region) in [
            (
                "elastic-package-aws-bucket-52602",
                "extra-samples.log",
                "us-east-1",
            ),
            (
                "logs.example",
                "AWSLogs/123/vpcflowlogs/a b/ü\"x\\.log.gz",
                "eu-central-1",
            ),
        ] {
            let p = S3Provenance::of(&format!("s3://{bucket}/{key}"), region).unwrap();
            let s3: Value = serde_json::from_slice(&p.aws_s3).unwrap();
            assert_eq!(
                s3,
                json!({"bucket": {"arn": format!("arn:aws:s3:::{bucket}"), "name": bucket},
                       "object": {"key": key}})
            );
            let url: String = serde_json::from_slice(&p.url).unwrap();
            assert_eq!(url, crate::input::s3::object_url(bucket, region, key));
            assert!(url.starts_with(&format!("https://{bucket}.s3.{region}.amazonaws.com/")));
            let r: String = serde_json::from_slice(&p.region).unwrap();
            assert_eq!(r, region);
        }
        for local in [
            "flows.log",
            "/data/s3:/x.log",
            "s3://",
            "s3:///key",
            "s3://bucket",
        ] {
            assert_eq!(S3Provenance::of(local, "us-east-1"), None, "{local}");
        }
    }

    fn bulk_docs(inputs: &[&str], region: Option<&str>) -> Vec<Value> {
        let mut fields = vec![
            Field::new("srcaddr", DataType::Utf8, true),
            Field::new(INPUT_COLUMN, DataType::Utf8, true),
            Field::new(OFFSET_COLUMN, DataType::Int64, true),
        ];
        let n = inputs.len();
        let mut cols: Vec<arrow::array::ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["10.0.0.1"; n])),
            Arc::new(StringArray::from(inputs.to_vec())),
            Arc::new(Int64Array::from_iter_values(0..n as i64)),
        ];
        if let Some(r) = region {
            fields.push(Field::new("region", DataType::Utf8, true));
            cols.push(Arc::new(StringArray::from(vec![r; n])));
        }
        let schema = Arc::new(Schema::new(fields));
        let b = RecordBatch::try_new(schema.clone(), cols).unwrap();
        let opts = EcsOptions {
            bulk: Some(BulkOptions::new("default", None)),
            ..Default::default()
        };
        let mut w = EcsWriter::new(Vec::new(), "t", schema, opts);
        w.write(&b).unwrap();
        let out = w.finish().unwrap();
        out.split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .skip(1)
            .step_by(2)
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    #[test]
    fn bulk_documents_carry_s3_provenance_and_keep_local_paths() {
        let inputs = [
            "s3://bkt/AWSLogs/x y/ü.log",
            "s3://bkt/AWSLogs/x y/ü.log",
            "flows/local.log",
            "s3://other/k.log",
        ];
        let region = crate::input::s3::region();
        for record_region in [None, Some("ap-south-1")] {
            let docs = bulk_docs(&inputs, record_region);
            for (i, (doc, input)) in docs.iter().zip(inputs).enumerate() {
                assert_eq!(doc["log"]["offset"], i as i64);
                match input.strip_prefix("s3://").and_then(|r| r.split_once('/')) {
                    Some((bucket, key)) => {
                        assert_eq!(doc["input"]["type"], "aws-s3");
                        assert_eq!(doc["aws"]["s3"]["bucket"]["name"], bucket);
                        assert_eq!(
                            doc["aws"]["s3"]["bucket"]["arn"],
                            format!("arn:aws:s3:::{bucket}")
                        );
                        assert_eq!(doc["aws"]["s3"]["object"]["key"], key);
                        assert_eq!(
                            doc["log"]["file"]["path"],
                            crate::input::s3::object_url(bucket, region, key)
                        );
                        assert_eq!(doc["cloud"]["region"], record_region.unwrap_or(region));
                    }
                    None => {
                        assert_eq!(doc["input"]["type"], "log");
                        assert_eq!(doc["log"]["file"]["path"], input);
                        assert!(doc["aws"].get("s3").is_none());
                        match record_region {
                            Some(r) => assert_eq!(doc["cloud"]["region"], r),
                            None => assert!(doc["cloud"].get("region").is_none()),
                        }
                    }
                }
            }
        }
    }
}
