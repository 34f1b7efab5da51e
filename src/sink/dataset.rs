//! Parquet datasets in a directory or below an `s3://` prefix (a [`Place`]): Hive-style
//! partitions (`date=2026-11-24/region=us-east-1/`), part files of a target size, and a manifest
//! that makes runs resumable.
//!
//! Rows are written in *units*: consecutive inputs whose rows go to part files that are not
//! visible yet (local: hidden temporary names, `.part-….parquet.….tmp`; S3: uploads not
//! completed). A unit is committed when it holds enough rows (and at the end): its files are
//! finished and synced, renamed to their final names (S3: their uploads completed), and only
//! then is one line appended to the manifest (`_vpcflow_manifest.jsonl`; S3: the object
//! replaced with one line more) naming the unit's inputs
//! (with size and mtime or ETag), their counts, and its files. The manifest is the truth: a run
//! killed at any moment leaves at most temporary files and renamed files of an unrecorded unit;
//! the next run removes both before it starts, skips the inputs the manifest records unchanged,
//! and converts the rest, so the dataset ends up exactly as one uninterrupted run makes it.
//! An input that changed since (size, mtime or ETag) takes its whole unit with it: the unit's
//! files are deleted and all its inputs converted again. One run at a time writes a dataset:
//! a locked file in the directory, a lease object below the prefix ([`crate::sink::s3`]).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use arrow::array::{Array, ArrayRef, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::parquet::{ParquetOptions, ParquetSink};
use super::place::{DatasetLock, Finished, LOCK, Pending, Place};
use crate::error::Error;
use crate::input::Input;
use crate::pipeline::InputDone;

/// The directory below a dataset where the tasks of a distributed conversion write, each into
/// a dataset of its own ([`DatasetSink::staged`]), until the coordinator moves their files
/// into place ([`publish`]); readers skip it (`_`), and the next run removes what a killed run
/// left there.
pub(crate) const STAGING: &str = "_staging";

/// The manifest's file name in the dataset directory.
pub(crate) const MANIFEST: &str = "_vpcflow_manifest.jsonl";
/// The directory name Hive, Spark, Trino and DuckDB use for a null (or empty) partition value.
pub(crate) const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";
/// Longest partition directory value kept as is (longer ones are cut and given a hash).
const MAX_VALUE_LEN: usize = 128;

/// One level of partitioning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartKey {
    /// `date=YYYY-MM-DD` of the record's `start` (UTC).
    Date,
    /// `hour=HH` of `start`.
    Hour,
    /// `year=YYYY` of `start`.
    Year,
    /// `month=MM` of `start`.
    Month,
    /// `day=DD` of `start`.
    Day,
    /// `<column>=<value>` of any column (`account_id`, `region`, `action`, …).
    Column(String),
}

impl PartKey {
    /// The directory level's name.
    pub fn name(&self) -> &str {
        match self {
            PartKey::Date => "date",
            PartKey::Hour => "hour",
            PartKey::Year => "year",
            PartKey::Month => "month",
            PartKey::Day => "day",
            PartKey::Column(c) => c,
        }
    }

    fn is_time(&self) -> bool {
        !matches!(self, PartKey::Column(_))
    }
}

/// Parses `--partition-by` values (repeatable, or comma-separated): `date`, `hour`, `year`,
/// `month`, `day`, or a column name (hyphens or underscores).
pub fn parse_partition_by(args: &[String]) -> Result<Vec<PartKey>, Error> {
    let mut out: Vec<PartKey> = Vec::new();
    for a in args {
        for part in a.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let key = match part.to_ascii_lowercase().as_str() {
                "date" => PartKey::Date,
                "hour" => PartKey::Hour,
                "year" => PartKey::Year,
                "month" => PartKey::Month,
                "day" => PartKey::Day,
                other => PartKey::Column(other.replace('-', "_")),
            };
            if out.contains(&key) {
                return Err(Error::Usage(format!(
                    "--partition-by names {} twice",
                    key.name()
                )));
            }
            out.push(key);
        }
    }
    Ok(out)
}

/// A partition value as a directory name that can only ever be one path segment below its
/// parent: bytes outside `[A-Za-z0-9_.-]` are percent-encoded (as Hive does; readers decode
/// them), a leading `.` too (no `.`, `..` or hidden directory), an empty value is the default
/// partition, and a value longer than 128 bytes is cut and given a hash of the whole value.
pub(crate) fn hive_escape(value: &str) -> String {
    if value.is_empty() {
        return DEFAULT_PARTITION.to_string();
    }
    let mut out = String::with_capacity(value.len());
    for (i, b) in value.bytes().enumerate() {
        let safe = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if safe {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > MAX_VALUE_LEN {
        use sha1::Digest;
        let digest = sha1::Sha1::digest(value.as_bytes());
        let mut cut = MAX_VALUE_LEN - 18;
        // Never cut inside a %XX escape.
        while out.as_bytes()[..cut]
            .iter()
            .rev()
            .take(2)
            .any(|&b| b == b'%')
        {
            cut -= 1;
        }
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        out = format!("{}~{hex}", &out[..cut]);
    }
    out
}

/// What identifies an input's content, to tell a re-run whether it changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Identity {
    /// Path or URL.
    pub name: String,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Modification time (nanoseconds since the epoch), for files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ns: Option<u64>,
    /// ETag, for S3 objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// The identity of an input; `None` for standard input, which is never skipped.
pub(crate) fn identity(input: &Input) -> Option<Identity> {
    match input {
        Input::Stdin => None,
        Input::Path(p) => {
            let meta = std::fs::metadata(p).ok();
            Some(Identity {
                name: p.display().to_string(),
                size: meta.as_ref().map(|m| m.len()),
                mtime_ns: meta
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos() as u64),
                etag: None,
            })
        }
        Input::S3(o) => Some(Identity {
            name: o.url.clone(),
            size: Some(o.size),
            mtime_ns: None,
            etag: o.etag.clone(),
        }),
    }
}

/// One input of a committed unit.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct InputRecord {
    /// Which input, as it was read.
    #[serde(flatten)]
    pub id: Identity,
    /// Records seen.
    pub records: u64,
    /// Rows written.
    pub rows: u64,
    /// Records refused.
    pub rejected: u64,
    /// Why it could not be read completely, if so (its rows up to the fault are in the unit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// Standard input: recorded, never skipped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stdin: bool,
}

/// A committed unit: one manifest line.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Unit {
    /// Unit number (part files carry it).
    pub unit: u64,
    /// Its inputs, in order.
    pub inputs: Vec<InputRecord>,
    /// Its files, relative to the dataset directory.
    pub files: Vec<String>,
    /// Rows in its files.
    pub rows: u64,
}

/// Dataset settings.
#[derive(Debug, Clone)]
pub struct DatasetOptions {
    /// Partition levels, outermost first.
    pub partition_by: Vec<PartKey>,
    /// A part file is finished when about this large.
    pub target_file_bytes: u64,
    /// Open part files at most (the least recently written is finished first).
    pub max_open_files: usize,
    /// A unit is committed once it holds at least this many rows (at an input boundary).
    pub commit_rows: u64,
    /// Parquet settings.
    pub parquet: ParquetOptions,
    /// Start over: remove what an earlier run wrote.
    pub force: bool,
    /// What must match between runs writing into one directory (partitioning, layout options).
    pub fingerprint: serde_json::Value,
    /// S3: seconds a run's lease on the prefix lasts unless renewed (a killed run's blocks the
    /// next run this long at most).
    pub lease_seconds: u64,
}

/// The default [`DatasetOptions::lease_seconds`].
pub const LEASE_SECONDS: u64 = 30;

/// What [`prepare`] found.
#[derive(Debug, Default)]
pub struct Resume {
    /// Inputs to convert now.
    pub todo: Vec<Input>,
    /// Inputs skipped: done in an earlier run and unchanged.
    pub skipped: u64,
    /// Of those, inputs recorded as failed (partly read) back then.
    pub skipped_failed: Vec<String>,
    /// Units dropped because an input in them changed.
    pub invalidated_units: u64,
    /// Inputs that changed since they were converted.
    pub changed_inputs: u64,
    /// Files of unrecorded units (runs killed before their commit) removed.
    pub orphans_removed: u64,
    /// Warnings (inputs of dropped units that are gone).
    pub warnings: Vec<String>,
    /// Rows already in the dataset (committed units kept).
    pub rows_before: u64,
    /// Number for this run's first unit.
    pub next_unit: u64,
    /// The directory's lock file or the prefix's lease, held while this run writes the dataset.
    pub lock: Option<DatasetLock>,
    /// The manifest's text as this run starts from it.
    pub manifest: Vec<u8>,
}

/// The last segment of a `/`-separated relative path.
fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

fn is_part_file(name: &str) -> bool {
    name.starts_with("part-u") && name.ends_with(".parquet")
}

fn is_temp_file(name: &str) -> bool {
    name.starts_with(".part-u") && name.ends_with(".tmp")
}

/// Reads the manifest: its header's options and its units (a torn last line — a run killed while
/// appending it — is ignored).
fn read_manifest(place: &Place) -> Result<Option<(serde_json::Value, Vec<Unit>)>, Error> {
    let Some(bytes) = place.read()? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let mut options = None;
    let mut units = Vec::new();
    let n = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let corrupt = |why: String| Error::Write {
            path: format!("{}:{}", place.name(), i + 1),
            reason: why,
        };
        if options.is_none() {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| corrupt(format!("not a vpcflow manifest header: {e}")))?;
            let Some(o) = v.get("vpcflow_dataset_options") else {
                return Err(corrupt("not a vpcflow manifest header".into()));
            };
            options = Some(o.clone());
            continue;
        }
        match serde_json::from_str::<Unit>(line) {
            Ok(u) => units.push(u),
            Err(_) if i + 1 == n => {} // torn last line: that unit was never committed
            Err(e) => return Err(corrupt(format!("unreadable manifest entry: {e}"))),
        }
    }
    Ok(options.map(|o| (o, units)))
}

/// The manifest's text: its header, then a line per unit.
fn manifest_text(options: &serde_json::Value, units: &[Unit]) -> Vec<u8> {
    let mut text =
        serde_json::to_string(&serde_json::json!({ "vpcflow_dataset_options": options }))
            .expect("JSON")
            + "\n";
    for u in units {
        text.push_str(&serde_json::to_string(u).expect("JSON"));
        text.push('\n');
    }
    text.into_bytes()
}

/// What a dataset holds, as its manifest says: its partition levels, its committed part files,
/// and the columns its files have.
#[derive(Debug)]
pub struct DatasetInfo {
    /// Partition levels, outermost first.
    pub partition_by: Vec<PartKey>,
    /// Committed part files, relative to the dataset (`date=…/part-….parquet`).
    pub files: Vec<String>,
    /// The columns of the part files: each commit's first file's, united in the order first
    /// seen (runs over inputs of other layouts add columns).
    pub schema: arrow::datatypes::Schema,
}

/// Reads what the dataset at `dir` holds (see [`DatasetInfo`]), without writing anything.
pub fn describe(dir: &Place) -> Result<DatasetInfo, Error> {
    let manifest = dir.join(MANIFEST);
    let Some((options, units)) = read_manifest(&manifest)? else {
        return Err(Error::Usage(format!(
            "{dir}: no {MANIFEST} there: not a vpcflow dataset (make one with `vpcflow convert … -o {dir}`)"
        )));
    };
    let keys: Vec<String> = options
        .get("partition_by")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let partition_by = parse_partition_by(&keys)?;
    let mut fields: Vec<arrow::datatypes::FieldRef> = Vec::new();
    for unit in &units {
        let Some(first) = unit.files.first() else {
            continue;
        };
        let file = dir.join(first);
        for f in
            crate::batch::parquet_in::footer_schema(&file.name(), |n| file.read_tail(n))?.fields()
        {
            if !fields.iter().any(|g| g.name() == f.name()) {
                fields.push(f.clone());
            }
        }
    }
    Ok(DatasetInfo {
        partition_by,
        files: units.into_iter().flat_map(|u| u.files).collect(),
        schema: arrow::datatypes::Schema::new(fields),
    })
}

/// The units the manifest of the dataset at `dir` records (none if it has no manifest).
pub(crate) fn units(dir: &Place) -> Result<Vec<Unit>, Error> {
    Ok(read_manifest(&dir.join(MANIFEST))?
        .map(|(_, units)| units)
        .unwrap_or_default())
}

/// Records in the dataset at `dir` the `units` a task wrote below `staged`: each unit's files are
/// moved into place (renamed; on S3 copied and removed), then its manifest line is appended
/// (`manifest` is the manifest's text, which an S3 manifest is replaced with). Fails before
/// touching anything if `lock` says the dataset is no longer this run's.
pub(crate) fn publish(
    dir: &Place,
    staged: &Place,
    units: &[Unit],
    manifest: &mut Vec<u8>,
    lock: Option<&DatasetLock>,
) -> Result<(), Error> {
    for unit in units {
        if let Some(l) = lock {
            l.check()?;
        }
        for f in &unit.files {
            staged.join(f).move_to(&dir.join(f))?;
        }
        let line = serde_json::to_string(unit).expect("JSON") + "\n";
        manifest.extend_from_slice(line.as_bytes());
        dir.join(MANIFEST)
            .append(line.as_bytes(), || manifest.clone())?;
    }
    Ok(())
}

/// Gets `dir` ready for a run: checks the options match the dataset's, removes what killed runs
/// left, drops units whose inputs changed, and tells which inputs to convert.
pub fn prepare(dir: &Place, opts: &DatasetOptions, inputs: Vec<Input>) -> Result<Resume, Error> {
    dir.make_dir()?;
    let lock = dir.lock(opts.lease_seconds)?;
    let manifest_path = dir.join(MANIFEST);
    let mut files = dir.list_files()?;
    files.retain(|f| f != LOCK);
    let mut resume = Resume {
        lock: Some(lock),
        ..Resume::default()
    };
    let existing = if opts.force {
        None
    } else {
        read_manifest(&manifest_path)?
    };
    let fresh = existing.is_none();
    let mut units = match existing {
        Some((options, units)) => {
            if options != opts.fingerprint {
                return Err(Error::Usage(format!(
                    "{dir} holds a dataset written with other options ({options}; now {}): use --force to rebuild it, or another directory",
                    opts.fingerprint
                )));
            }
            units
        }
        None => {
            let ours = files.iter().any(|f| {
                let n = file_name(f);
                is_part_file(n) || is_temp_file(n)
            });
            if !opts.force && !ours && !files.is_empty() {
                return Err(Error::Usage(format!(
                    "{dir} is not empty and holds no vpcflow dataset: choose an empty or new directory"
                )));
            }
            Vec::new()
        }
    };
    // Inputs that changed drop their units.
    let current: HashMap<String, Option<Identity>> =
        inputs.iter().map(|i| (i.display(), identity(i))).collect();
    let mut redo: Vec<String> = Vec::new();
    // Files of dropped units (removed below, but not counted as left by killed runs).
    let mut dropped: HashSet<String> = HashSet::new();
    units.retain(|u| {
        let n = u
            .inputs
            .iter()
            .filter(|r| {
                !r.stdin && matches!(current.get(&r.id.name), Some(Some(now)) if *now != r.id)
            })
            .count();
        resume.changed_inputs += n as u64;
        let changed = n > 0;
        if changed {
            resume.invalidated_units += 1;
            dropped.extend(u.files.iter().cloned());
            redo.extend(
                u.inputs
                    .iter()
                    .filter(|r| !r.stdin)
                    .map(|r| r.id.name.clone()),
            );
        }
        !changed
    });
    let committed: HashSet<&str> = units
        .iter()
        .flat_map(|u| u.files.iter().map(String::as_str))
        .collect();
    // Files no committed unit names: temporary files, and part files of unrecorded or dropped units.
    for rel in &files {
        let name = file_name(rel);
        let staged = rel.starts_with(&format!("{STAGING}/"));
        let stale = (is_part_file(name) && !committed.contains(rel.as_str()))
            || is_temp_file(name)
            || staged
            || (opts.force && name == MANIFEST);
        if stale {
            dir.join(rel).remove()?;
            if is_part_file(name) && !dropped.contains(rel) && !staged {
                resume.orphans_removed += 1;
            }
        }
    }
    dir.remove_empty_dirs();
    // Rewritten when it is new, lost units, or ends in a line a killed run tore (the next
    // line appended would run on from it).
    resume.manifest = manifest_text(&opts.fingerprint, &units);
    if resume.invalidated_units > 0
        || fresh
        || manifest_path.read()?.as_deref() != Some(&resume.manifest[..])
    {
        manifest_path.replace(&resume.manifest)?;
    }
    let done: HashMap<&str, &InputRecord> = units
        .iter()
        .flat_map(|u| u.inputs.iter())
        .filter(|r| !r.stdin)
        .map(|r| (r.id.name.as_str(), r))
        .collect();
    resume.rows_before = units.iter().map(|u| u.rows).sum();
    resume.next_unit = units.iter().map(|u| u.unit + 1).max().unwrap_or(0);
    let named: HashSet<String> = current.keys().cloned().collect();
    for input in inputs {
        let name = input.display();
        match done.get(name.as_str()) {
            Some(r) if !redo.contains(&name) => {
                resume.skipped += 1;
                if let Some(f) = &r.failed {
                    resume.skipped_failed.push(format!("{name}: {f}"));
                }
            }
            _ => resume.todo.push(input),
        }
    }
    // Inputs of dropped units that this run doesn't name: read them again if they still exist.
    for name in redo {
        if named.contains(&name) || done.contains_key(name.as_str()) {
            continue;
        }
        match crate::input::expand(std::slice::from_ref(&name), &mut resume.warnings) {
            Ok(found) => resume.todo.extend(found),
            Err(_) => resume.warnings.push(format!(
                "{name} was converted in a unit that had to be redone, and is gone now: its rows are no longer in the dataset"
            )),
        }
    }
    Ok(resume)
}

/// An open part file.
struct Part {
    sink: ParquetSink<Pending>,
    rel: String,
    last_used: u64,
    /// The batch that last wrote to it.
    last_batch: u64,
    /// Rows gathered for the next encode.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

/// A part's gathered rows are encoded once they reach this many.
const GATHER_ROWS: usize = 65_536;
/// A part file no batch has written to for this many batches is finished.
const IDLE_BATCHES: u64 = 64;
/// Incoming batches are held until they have this many rows together, then split by partition
/// in one go: parsed batches are small (a chunk each), and splitting each on its own would leave
/// many partitions with pieces of a few hundred rows, each with its own copy and encode call.
const SPLIT_ROWS: usize = 1 << 17;
/// All parts' gathered rows are encoded once they reach this many together.
const MAX_GATHERED_ROWS: usize = 1 << 20;

/// A finished part file, waiting for its unit's commit.
struct Done {
    rel: String,
    file: Finished,
}

/// Where a key column's values come from.
enum KeySource {
    /// `start` seconds.
    Start(usize),
    Column(usize),
    /// A known field the dataset has no column for.
    Absent,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum KeyVal<'a> {
    Null,
    Int(i64),
    Str(&'a str),
}

/// A multiply-rotate hasher (the Fx scheme) for partition values: short keys that come from
/// our own data, where SipHash's protection against chosen keys buys nothing and costs a
/// measurable share of a partitioned run.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl Fx {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type FastHash = std::hash::BuildHasherDefault<Fx>;

/// One partition key's distinct values within a batch, in order of first appearance; a value's
/// code is its position.
struct KeyDict<'a> {
    values: Vec<KeyVal<'a>>,
    /// Values to codes, used from the 17th distinct value on (fewer are found by a scan).
    index: HashMap<KeyVal<'a>, u32, FastHash>,
}

impl<'a> KeyDict<'a> {
    /// An empty dictionary.
    fn new() -> Self {
        KeyDict {
            values: Vec::new(),
            index: HashMap::with_capacity_and_hasher(64, FastHash::default()),
        }
    }

    /// The code of `v`, which is added if it is new.
    #[inline]
    fn code_of(&mut self, v: KeyVal<'a>) -> u32 {
        let dict = &mut self.values;
        // Few distinct values (the usual case): a scan beats hashing.
        if dict.len() <= 16 {
            if let Some(p) = dict.iter().position(|d| *d == v) {
                return p as u32;
            }
            if dict.len() < 16 {
                dict.push(v);
                return (dict.len() - 1) as u32;
            }
            for (i, d) in dict.iter().enumerate() {
                self.index.insert(d.clone(), i as u32);
            }
        }
        *self.index.entry(v.clone()).or_insert_with(|| {
            dict.push(v);
            (dict.len() - 1) as u32
        })
    }
}

/// Fills `codes` with each row's code in `dict` for one partition key `k` read from `src`: a
/// time key from `start`, a column key from its column; every row is null when the source is
/// absent or of a type keys aren't taken from.
fn key_codes<'a>(
    k: &PartKey,
    src: &KeySource,
    batch: &'a RecordBatch,
    dict: &mut KeyDict<'a>,
    codes: &mut [u32],
) {
    let col = match src {
        KeySource::Absent => None,
        KeySource::Start(i) | KeySource::Column(i) => Some(batch.column(*i)),
    };
    match (src, col) {
        (KeySource::Start(_), Some(a)) => {
            let div = if *k == PartKey::Hour { 3600 } else { 86_400 };
            start_codes(a, div, dict, codes);
        }
        (KeySource::Column(_), Some(a)) => match a.data_type() {
            DataType::Utf8 => utf8_codes(a, dict, codes),
            DataType::Int32 | DataType::Int64 => int_codes(a, dict, codes),
            _ => {
                dict.code_of(KeyVal::Null);
            }
        },
        _ => {
            dict.code_of(KeyVal::Null);
        }
    }
}

/// Codes of a time key: each row's `start` seconds in whole hours or days (`div` seconds),
/// looked up only where the value differs from the row before (null when `start` is null or
/// not Int64).
fn start_codes<'a>(a: &ArrayRef, div: i64, dict: &mut KeyDict<'a>, codes: &mut [u32]) {
    let a = a.as_any().downcast_ref::<Int64Array>();
    let mut prev: Option<(Option<i64>, u32)> = None;
    for (r, c) in codes.iter_mut().enumerate() {
        let v = a
            .filter(|a| a.is_valid(r))
            .map(|a| a.value(r).div_euclid(div));
        *c = match prev {
            Some((p, code)) if p == v => code,
            _ => {
                let code = dict.code_of(v.map_or(KeyVal::Null, KeyVal::Int));
                prev = Some((v, code));
                code
            }
        };
    }
}

/// Codes of a Utf8 key column (the values borrowed from the batch), looked up only where the
/// value differs from the row before.
fn utf8_codes<'a>(a: &'a ArrayRef, dict: &mut KeyDict<'a>, codes: &mut [u32]) {
    let a = a.as_any().downcast_ref::<StringArray>().expect("utf8");
    let mut prev: Option<(Option<&str>, u32)> = None;
    for (r, c) in codes.iter_mut().enumerate() {
        let v = a.is_valid(r).then(|| a.value(r));
        *c = match prev {
            Some((p, code)) if p == v => code,
            _ => {
                let code = dict.code_of(v.map_or(KeyVal::Null, KeyVal::Str));
                prev = Some((v, code));
                code
            }
        };
    }
}

/// Codes of an Int32 or Int64 key column (as i64), looked up only where the value differs from
/// the row before.
fn int_codes<'a>(a: &ArrayRef, dict: &mut KeyDict<'a>, codes: &mut [u32]) {
    let vals: Vec<Option<i64>> = match a.data_type() {
        DataType::Int32 => a
            .as_any()
            .downcast_ref::<Int32Array>()
            .expect("int32")
            .iter()
            .map(|v| v.map(i64::from))
            .collect(),
        _ => a
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("int64")
            .iter()
            .collect(),
    };
    let mut prev: Option<(Option<i64>, u32)> = None;
    for (c, v) in codes.iter_mut().zip(vals) {
        *c = match prev {
            Some((p, code)) if p == v => code,
            _ => {
                let code = dict.code_of(v.map_or(KeyVal::Null, KeyVal::Int));
                prev = Some((v, code));
                code
            }
        };
    }
}

/// Folds one key's `codes` (of `card` distinct values) into the combined `row_codes`, whose
/// keys so far have at most `cur_card` combinations; renumbers `row_codes` densely first when
/// the product could grow past 2^40, so it can't overflow.
fn combine_codes(row_codes: &mut [u64], cur_card: &mut u64, codes: &[u32], card: u64) {
    if cur_card.checked_mul(card).is_none_or(|p| p > 1 << 40) {
        // Renumber the codes so far densely, so the product can't overflow.
        let mut dense: HashMap<u64, u64, FastHash> = HashMap::default();
        for rc in row_codes.iter_mut() {
            let next = dense.len() as u64;
            *rc = *dense.entry(*rc).or_insert(next);
        }
        *cur_card = dense.len().max(1) as u64;
    }
    for (rc, c) in row_codes.iter_mut().zip(codes) {
        *rc = *rc * card + u64::from(*c);
    }
    *cur_card *= card;
}

/// Replaces each combined code in `row_codes` by its group number, groups numbered in order of
/// first appearance, and returns each group's key (taken from its first row through `dicts`
/// and `per_key`, the keys' dictionaries and row codes).
fn group_rows<'a>(
    row_codes: &mut [u64],
    dicts: &[Vec<KeyVal<'a>>],
    per_key: &[Vec<u32>],
) -> Vec<Vec<KeyVal<'a>>> {
    let mut keys = Vec::new();
    // A few groups (the usual case) are found by a scan; many through a hash map.
    let mut seen: HashMap<u64, u64, FastHash> =
        HashMap::with_capacity_and_hasher(64, FastHash::default());
    let mut few: Vec<u64> = Vec::new();
    for (r, rc) in row_codes.iter_mut().enumerate() {
        let found = if seen.is_empty() {
            few.iter().position(|c| c == rc).map(|g| g as u64)
        } else {
            seen.get(rc).copied()
        };
        let g = match found {
            Some(g) => g,
            None => {
                keys.push(
                    dicts
                        .iter()
                        .zip(per_key)
                        .map(|(d, codes)| d[codes[r] as usize].clone())
                        .collect::<Vec<_>>(),
                );
                let g = (keys.len() - 1) as u64;
                if seen.is_empty() && few.len() < 16 {
                    few.push(*rc);
                } else {
                    if seen.is_empty() {
                        seen.extend(few.iter().enumerate().map(|(i, c)| (*c, i as u64)));
                    }
                    seen.insert(*rc, g);
                }
                g
            }
        };
        *rc = g;
    }
    keys
}

/// Writes a directory dataset: see the module documentation.
pub(crate) struct DatasetSink {
    dir: Place,
    schema: SchemaRef,
    opts: DatasetOptions,
    keys: Vec<(PartKey, KeySource)>,
    open: HashMap<String, Part>,
    finished: Vec<Done>,
    unit: u64,
    seq: u64,
    tick: u64,
    unit_inputs: Vec<InputRecord>,
    unit_rows: u64,
    rows_since_input: u64,
    pending_rows: usize,
    /// Batches not yet split by partition.
    held: Vec<RecordBatch>,
    held_rows: usize,
    batches: u64,
    /// Files committed by this run.
    pub files_written: u64,
    /// Units committed by this run.
    pub units_committed: u64,
    /// The directory's lock or the prefix's lease, held until the sink is dropped.
    lock: Option<DatasetLock>,
    /// The manifest's text (an S3 manifest is replaced whole at each commit).
    manifest: Vec<u8>,
}

impl DatasetSink {
    /// A writer for `dir`, as [`prepare`] left it, with the dataset's `schema`.
    pub fn new(
        dir: &Place,
        schema: SchemaRef,
        opts: DatasetOptions,
        resume: &Resume,
    ) -> Result<DatasetSink, Error> {
        let mut keys = Vec::new();
        for k in &opts.partition_by {
            let src = if k.is_time() {
                // Inputs without `start` put their rows in the default partition.
                match schema.index_of("start") {
                    Ok(i) => KeySource::Start(i),
                    Err(_) => KeySource::Absent,
                }
            } else {
                match schema.index_of(k.name()) {
                    Ok(i) => KeySource::Column(i),
                    // A flow log field these inputs lack (a resumed run may have only inputs
                    // of another layout left): its rows go to the default partition.
                    Err(_)
                        if crate::format::fields::by_column(k.name()).is_some()
                            || k.name() == crate::pipeline::plan::LOG_GROUP_COLUMN
                            || k.name() == crate::pipeline::plan::LOG_STREAM_COLUMN =>
                    {
                        KeySource::Absent
                    }
                    Err(_) => {
                        return Err(super::no_such_column("--partition-by", k.name(), &schema));
                    }
                }
            };
            keys.push((k.clone(), src));
        }
        let unit = resume.next_unit;
        Ok(DatasetSink {
            dir: dir.clone(),
            schema,
            opts,
            keys,
            open: HashMap::new(),
            finished: Vec::new(),
            unit,
            seq: 0,
            tick: 0,
            unit_inputs: Vec::new(),
            unit_rows: 0,
            rows_since_input: 0,
            pending_rows: 0,
            held: Vec::new(),
            held_rows: 0,
            batches: 0,
            files_written: 0,
            units_committed: 0,
            lock: None,
            manifest: resume.manifest.clone(),
        })
    }

    /// Each row's partition as a small number, column by column: per key, the distinct values
    /// of the batch in order of appearance (looked up only where a value differs from the row
    /// before), combined into one code per row. Returns the codes and each code's key.
    fn codes<'a>(&self, batch: &'a RecordBatch) -> (Vec<u64>, Vec<Vec<KeyVal<'a>>>) {
        let n = batch.num_rows();
        let mut row_codes = vec![0u64; n];
        let mut cur_card = 1u64;
        let mut per_key: Vec<Vec<u32>> = Vec::with_capacity(self.keys.len());
        let mut dicts: Vec<Vec<KeyVal<'a>>> = Vec::with_capacity(self.keys.len());
        for (k, src) in &self.keys {
            let mut dict = KeyDict::new();
            let mut codes = vec![0u32; n];
            key_codes(k, src, batch, &mut dict, &mut codes);
            let card = dict.values.len().max(1) as u64;
            combine_codes(&mut row_codes, &mut cur_card, &codes, card);
            per_key.push(codes);
            dicts.push(dict.values);
        }
        let keys = group_rows(&mut row_codes, &dicts, &per_key);
        (row_codes, keys)
    }

    fn path_of(&self, key: &[KeyVal<'_>]) -> String {
        let mut path = String::new();
        for ((k, _), v) in self.keys.iter().zip(key) {
            let value = match (k, v) {
                (_, KeyVal::Null) => DEFAULT_PARTITION.to_string(),
                (PartKey::Date, KeyVal::Int(d)) => {
                    let (y, m, d) = crate::format::calendar::civil_from_days(*d);
                    format!("{y:04}-{m:02}-{d:02}")
                }
                (PartKey::Year, KeyVal::Int(d)) => {
                    format!("{:04}", crate::format::calendar::civil_from_days(*d).0)
                }
                (PartKey::Month, KeyVal::Int(d)) => {
                    format!("{:02}", crate::format::calendar::civil_from_days(*d).1)
                }
                (PartKey::Day, KeyVal::Int(d)) => {
                    format!("{:02}", crate::format::calendar::civil_from_days(*d).2)
                }
                (PartKey::Hour, KeyVal::Int(h)) => format!("{:02}", h.rem_euclid(24)),
                (_, KeyVal::Int(i)) => i.to_string(),
                (_, KeyVal::Str(s)) => hive_escape(s),
            };
            path.push_str(&hive_escape(k.name()));
            path.push('=');
            path.push_str(&value);
            path.push('/');
        }
        path
    }

    /// Writes a batch's rows to their partitions' part files.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        self.rows_since_input += n as u64;
        self.unit_rows += n as u64;
        self.batches += 1;
        if self.batches.is_multiple_of(16) {
            // Partitions that stopped receiving rows (an hour that is over) are finished, so
            // their encoders' memory goes.
            let idle: Vec<String> = self
                .open
                .iter()
                .filter(|(_, p)| self.batches - p.last_batch > IDLE_BATCHES)
                .map(|(k, _)| k.clone())
                .collect();
            for k in idle {
                self.finish_part(&k)?;
            }
        }
        if self.keys.is_empty() {
            return self.write_to(String::new(), batch.clone());
        }
        self.held_rows += n;
        self.held.push(batch.clone());
        if self.held_rows >= SPLIT_ROWS {
            self.split_held()?;
        }
        Ok(())
    }

    /// Splits the held batches by partition and hands each partition its rows. A partition
    /// that owns only whole batches gets them as they are; the others get one copy of their
    /// rows ([`super::gather::scatter`], one pass per column, columns in parallel).
    fn split_held(&mut self) -> Result<(), Error> {
        use super::gather::{Dest, counts, scatter};
        let held = std::mem::take(&mut self.held);
        self.held_rows = 0;
        // Partitions numbered across the held batches by path; each batch's rows' partitions.
        let mut paths: Vec<String> = Vec::new();
        let mut group_of: HashMap<String, u32> = HashMap::new();
        let mut assign: Vec<Result<u32, Vec<u32>>> = Vec::with_capacity(held.len());
        for batch in &held {
            let (codes, keys) = self.codes(batch);
            let global: Vec<u32> = keys
                .iter()
                .map(|k| {
                    let path = self.path_of(k);
                    *group_of.entry(path.clone()).or_insert_with(|| {
                        paths.push(path);
                        (paths.len() - 1) as u32
                    })
                })
                .collect();
            assign.push(if global.len() == 1 {
                Ok(global[0])
            } else {
                Err(codes.iter().map(|&c| global[c as usize]).collect())
            });
        }
        // Partitions with rows in a mixed batch are copied; the rest take whole batches.
        let mut copied = vec![false; paths.len()];
        for a in &assign {
            if let Err(rows) = a {
                for &g in rows {
                    copied[g as usize] = true;
                }
            }
        }
        let ncols = self.schema.fields().len();
        let mut columns: Vec<Vec<ArrayRef>> = Vec::new();
        if copied.iter().any(|&c| c) {
            use rayon::prelude::*;
            let dests: Vec<(usize, Dest<'_>)> = held
                .iter()
                .zip(&assign)
                .map(|(b, a)| {
                    let d = match a {
                        Ok(g) if copied[*g as usize] => Dest::All(*g),
                        Ok(_) => Dest::Skip,
                        Err(rows) => Dest::Rows(rows),
                    };
                    (b.num_rows(), d)
                })
                .collect();
            let counts = counts(&dests, paths.len()).map_err(|e| Error::Internal(e.to_string()))?;
            columns = (0..ncols)
                .into_par_iter()
                .map(|c| {
                    let sources: Vec<(&dyn Array, Dest<'_>)> = held
                        .iter()
                        .zip(&dests)
                        .map(|(b, (_, d))| (b.column(c).as_ref(), *d))
                        .collect();
                    scatter(&sources, &counts)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::Internal(e.to_string()))?;
        }
        // Rows go to partitions in the order their first rows came.
        let mut whole: Vec<Vec<usize>> = vec![Vec::new(); paths.len()];
        for (b, a) in assign.iter().enumerate() {
            if let Ok(g) = a
                && !copied[*g as usize]
            {
                whole[*g as usize].push(b);
            }
        }
        for (g, path) in paths.into_iter().enumerate() {
            if copied[g] {
                let cols: Vec<ArrayRef> = columns
                    .iter_mut()
                    .map(|c| {
                        std::mem::replace(
                            &mut c[g],
                            arrow::array::new_null_array(&DataType::Null, 0),
                        )
                    })
                    .collect();
                // The batches' own schema: text columns may be dictionaries (see
                // `takes_dictionaries`), which the scatter keeps as they are.
                let part = RecordBatch::try_new(held[0].schema(), cols)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                self.write_to(path, part)?;
            } else {
                for &b in &whole[g] {
                    self.write_to(path.clone(), held[b].clone())?;
                }
            }
        }
        Ok(())
    }

    /// Writes `batch` to the part file of `rel_dir`. Rows are gathered and encoded together once
    /// there are enough (encoding has a cost per call); gathered pieces are never copied.
    fn write_to(&mut self, rel_dir: String, batch: RecordBatch) -> Result<(), Error> {
        self.tick += 1;
        let n = batch.num_rows();
        self.ensure_open(&rel_dir)?;
        let part = self.open.get_mut(&rel_dir).expect("opened above");
        part.last_used = self.tick;
        part.last_batch = self.batches;
        part.pending_rows += n;
        self.pending_rows += n;
        part.pending.push(batch);
        if part.pending_rows >= GATHER_ROWS {
            self.flush_part(&rel_dir)?;
        }
        if self.pending_rows >= MAX_GATHERED_ROWS {
            let keys: Vec<String> = self.open.keys().cloned().collect();
            for k in keys {
                self.flush_part(&k)?;
            }
        }
        Ok(())
    }

    /// Opens a new part file for `rel_dir` unless one is open (finishing the least recently
    /// written one when too many are).
    fn ensure_open(&mut self, rel_dir: &str) -> Result<(), Error> {
        if !self.open.contains_key(rel_dir) {
            if self.open.len() >= self.opts.max_open_files.max(1) {
                let lru = self
                    .open
                    .iter()
                    .min_by_key(|(_, p)| p.last_used)
                    .map(|(k, _)| k.clone())
                    .expect("open is not empty");
                self.finish_part(&lru)?;
            }
            self.dir.join(rel_dir).make_dir()?;
            let rel = format!("{rel_dir}part-u{:06}-{:05}.parquet", self.unit, self.seq);
            self.seq += 1;
            let file = self.dir.join(&rel).create()?;
            let name = file.name();
            let sink = ParquetSink::new(file, &name, self.schema.clone(), &self.opts.parquet)?;
            self.open.insert(
                rel_dir.to_string(),
                Part {
                    sink,
                    rel,
                    last_used: 0,
                    last_batch: self.batches,
                    pending: Vec::new(),
                    pending_rows: 0,
                },
            );
        }
        Ok(())
    }

    /// Encodes a part's gathered rows; finishes the file when it has reached its size.
    fn flush_part(&mut self, rel_dir: &str) -> Result<(), Error> {
        let Some(part) = self.open.get_mut(rel_dir) else {
            return Ok(());
        };
        if part.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut part.pending);
        self.pending_rows -= part.pending_rows;
        part.pending_rows = 0;
        part.sink.write_all(&pending)?;
        if part.sink.estimated_bytes() as u64 >= self.opts.target_file_bytes {
            self.finish_part(rel_dir)?;
        }
        Ok(())
    }

    fn finish_part(&mut self, rel_dir: &str) -> Result<(), Error> {
        self.flush_part(rel_dir)?;
        let Some(part) = self.open.remove(rel_dir) else {
            return Ok(());
        };
        let file = part.sink.finish()?.finish()?;
        self.finished.push(Done {
            rel: part.rel,
            file,
        });
        Ok(())
    }

    /// Records that an input's rows have all been written; commits the unit when it is big
    /// enough.
    pub(crate) fn input_done(&mut self, done: &InputDone) -> Result<(), Error> {
        let (id, stdin) = match identity(&done.input) {
            Some(id) => (id, false),
            None => (
                Identity {
                    name: done.name.clone(),
                    size: None,
                    mtime_ns: None,
                    etag: None,
                },
                true,
            ),
        };
        self.unit_inputs.push(InputRecord {
            id,
            records: done.records,
            rows: std::mem::take(&mut self.rows_since_input),
            rejected: done.rejected,
            failed: done.failed.clone(),
            stdin,
        });
        if self.unit_rows >= self.opts.commit_rows {
            self.commit()?;
        }
        Ok(())
    }

    /// Finishes the unit's files, renames them into place, then records the unit.
    fn commit(&mut self) -> Result<(), Error> {
        self.split_held()?;
        let open: Vec<String> = self.open.keys().cloned().collect();
        for k in open {
            self.finish_part(&k)?;
        }
        if self.unit_inputs.is_empty() && self.finished.is_empty() {
            return Ok(());
        }
        if let Some(lock) = &self.lock {
            lock.check()?;
        }
        let mut files = Vec::new();
        // Local: the directories whose entries changed, each renamed file's up to the dataset's
        // (partition directories may be new).
        let mut dirs = std::collections::BTreeSet::new();
        for f in self.finished.drain(..) {
            let name = f.file.name();
            f.file.commit(false).map_err(|e| Error::Write {
                path: name,
                reason: format!("putting it in place: {e}"),
            })?;
            if let Place::Local(base) = &self.dir {
                let dest = base.join(&f.rel);
                dirs.extend(
                    dest.ancestors()
                        .skip(1)
                        .take_while(|d| d.starts_with(base))
                        .map(Path::to_path_buf),
                );
            }
            files.push(f.rel);
        }
        // Deepest first, so a new directory's contents are durable before its name is.
        for d in dirs.iter().rev() {
            super::sync_dir(d).map_err(|e| Error::Write {
                path: d.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        let unit = Unit {
            unit: self.unit,
            inputs: std::mem::take(&mut self.unit_inputs),
            rows: self.unit_rows,
            files,
        };
        let line = serde_json::to_string(&unit).expect("JSON") + "\n";
        self.manifest.extend_from_slice(line.as_bytes());
        self.dir
            .join(MANIFEST)
            .append(line.as_bytes(), || self.manifest.clone())?;
        self.files_written += unit.files.len() as u64;
        self.units_committed += 1;
        self.unit += 1;
        self.seq = 0;
        self.unit_rows = 0;
        Ok(())
    }

    /// A sink for one task of a distributed conversion: `dir` (below the dataset's
    /// [`STAGING`]) becomes a dataset of its own, whose one unit, numbered `unit`, is committed
    /// when the sink finishes.
    pub(crate) fn staged(
        dir: &Place,
        schema: SchemaRef,
        mut opts: DatasetOptions,
        unit: u64,
    ) -> Result<DatasetSink, Error> {
        dir.make_dir()?;
        opts.commit_rows = u64::MAX;
        let manifest = manifest_text(&opts.fingerprint, &[]);
        dir.join(MANIFEST).replace(&manifest)?;
        let resume = Resume {
            next_unit: unit,
            manifest,
            ..Resume::default()
        };
        DatasetSink::new(dir, schema, opts, &resume)
    }

    /// The sink, holding the directory's lock (from [`Resume::lock`]) until it is dropped.
    pub fn holding(mut self, lock: Option<DatasetLock>) -> DatasetSink {
        self.lock = lock;
        self
    }

    /// Commits what is left. Rows after the last finished input (a run stopped by an error)
    /// are not committed.
    pub fn finish(mut self) -> Result<DatasetSink, Error> {
        self.commit()?;
        Ok(self)
    }
}

impl crate::pipeline::Sink for DatasetSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        DatasetSink::write(self, batch)
    }

    /// The attribution's text columns as dictionaries, unless rows are ordered (by their Arrow
    /// types) or a partition key is one of them (keys are read as text).
    fn takes_dictionaries(&self) -> bool {
        let p = &self.opts.parquet;
        p.sort_by.is_empty()
            && p.cluster_by.is_none()
            && self
                .opts
                .partition_by
                .iter()
                .all(|k| crate::enrich::attribution::flag_for(k.name()).is_none())
    }

    fn input_done(&mut self, done: &InputDone) -> Result<(), Error> {
        DatasetSink::input_done(self, done)
    }

    fn finish(self: Box<Self>, _commit: bool) -> Result<crate::pipeline::Written, Error> {
        let dir = self.dir.name();
        let done = DatasetSink::finish(*self)?;
        Ok(crate::pipeline::Written::Dataset {
            dir,
            files: done.files_written,
            commits: done.units_committed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_every_value_one_segment_below() {
        for v in [
            "..",
            ".",
            "../../etc",
            "a/b",
            "a\\b",
            "\0",
            "x\0y",
            ".hidden",
            "=",
            "%41",
            "é",
            "us-east-1",
            "",
        ] {
            let e = hive_escape(v);
            assert!(
                !e.contains('/') && !e.contains('\\') && !e.contains('\0'),
                "{v:?} → {e}"
            );
            assert!(!e.starts_with('.'), "{v:?} → {e}");
            assert!(!e.is_empty());
            let p = Path::new("base").join(format!("k={e}"));
            assert_eq!(p.components().count(), 2, "{v:?} → {e}");
        }
        assert_eq!(hive_escape("us-east-1"), "us-east-1");
        assert_eq!(hive_escape("123456789012"), "123456789012");
        assert_eq!(hive_escape(".."), "%2E.");
        assert_eq!(hive_escape("a/b"), "a%2Fb");
        assert_eq!(hive_escape(""), DEFAULT_PARTITION);
        let long = "x".repeat(10_000);
        let e = hive_escape(&long);
        assert!(e.len() <= MAX_VALUE_LEN, "{}", e.len());
        assert_ne!(
            e,
            hive_escape(&"x".repeat(9_999)),
            "distinct long values stay distinct"
        );
        let long_esc = "/".repeat(500);
        let e = hive_escape(&long_esc);
        assert!(e.len() <= MAX_VALUE_LEN);
        assert!(!e.split('~').next().unwrap().ends_with('%'));
    }

    #[test]
    fn partition_by_parsing() {
        let k = parse_partition_by(&["date,region".into(), "account-id".into()]).unwrap();
        assert_eq!(
            k,
            vec![
                PartKey::Date,
                PartKey::Column("region".into()),
                PartKey::Column("account_id".into())
            ]
        );
        assert!(parse_partition_by(&["date,date".into()]).is_err());
    }
}
