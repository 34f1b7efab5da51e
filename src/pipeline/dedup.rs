//! `convert --dedup`: records that overlapping flow logs repeat (a VPC-level and a subnet-level
//! flow log both capturing the same interface) are written once, in bounded memory.
//!
//! - **What is a repeat.** Two records are the same observation when they name the same
//!   interface (`interface_id`) — or, in Transit Gateway logs, the same attachment
//!   (`tgw_attachment_id`) — and agree on the identity fields [`IDENTITY`]: account, the five
//!   addresses and ports, protocol, packets, bytes, the capture window (`start`, `end`), action
//!   and log status. Fields only one of the formats carries (`vpc-id`, `tcp-flags`, …) don't
//!   count, so logs of different formats over the same interface are deduplicated too. A record
//!   naming neither an interface nor an attachment is a repeat only when every stored field but
//!   `version` is equal (two interfaces can see the same flow with the same counts). The first
//!   record seen is kept, in input order.
//! - **Memory.** Each record's identity is a 128-bit hash, kept in a set per window of
//!   [`WINDOW_SECONDS`] of `start`. Past `max_keys` keys in memory, the least recently used
//!   window's set is written sorted to a private temporary file and read back when a record of
//!   that window comes again; so memory stays bounded whatever the input size, and files read
//!   in any order are still deduplicated across the whole run.
//! - **Scope.** One run: a dataset resumed or extended by a later run is not checked against
//!   the rows earlier runs wrote.

use arrow::array::{Array, ArrayRef, BooleanArray, Int32Array, Int64Array, StringArray};
use arrow::compute::filter_record_batch;
use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufReader, BufWriter, Read, Write};

use crate::cleanup::{Access, TempPath};
use crate::error::Error;

/// Width of a window of `start`, seconds.
pub const WINDOW_SECONDS: i64 = 900;

/// Identity hashes held in memory before windows are set aside (16 bytes each, plus the sets'
/// overhead: about 300 MB).
pub const DEFAULT_MAX_KEYS: usize = 12 << 20;

/// The fields that identify an observation of an interface or attachment.
pub const IDENTITY: [&str; 15] = [
    "account_id",
    "interface_id",
    "tgw_id",
    "tgw_attachment_id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log_status",
];

/// Columns that are not fields of the record (where it was read, its text, enrichment).
fn is_record_field(name: &str) -> bool {
    use crate::batch::{INPUT_COLUMN, OFFSET_COLUMN, ORIGINAL_COLUMN};
    use crate::enrich::attribution::{AWS_COLUMNS, ENI_COLUMNS, HOLDER_COLUMNS};
    use crate::pipeline::plan::{LOG_GROUP_COLUMN, LOG_STREAM_COLUMN};
    name != "version"
        && ![
            INPUT_COLUMN,
            OFFSET_COLUMN,
            ORIGINAL_COLUMN,
            LOG_GROUP_COLUMN,
            LOG_STREAM_COLUMN,
        ]
        .contains(&name)
        && !ENI_COLUMNS.contains(&name)
        && !HOLDER_COLUMNS.contains(&name)
        && !AWS_COLUMNS.contains(&name)
}

/// A window's identities. They are hashes already, so the set only folds them with a secret
/// per-process seed (records can't be made to crowd one bucket) instead of hashing them again.
type Keys = HashSet<u128, KeySeed>;

/// The seed [`Keys`] folds identities with: random per process.
#[derive(Clone, Copy)]
struct KeySeed(u64);

impl Default for KeySeed {
    fn default() -> Self {
        static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        KeySeed(*SEED.get_or_init(|| {
            use std::hash::BuildHasher;
            std::collections::hash_map::RandomState::new().hash_one(0x5eedu64)
        }))
    }
}

impl std::hash::BuildHasher for KeySeed {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0)
    }
}

/// Folds one `u128` identity with the seed.
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only u128 keys are hashed; other input still mixes in.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u128(&mut self, v: u128) {
        let x = (v as u64 ^ (v >> 64) as u64 ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 29);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A set of identities, in memory or set aside.
enum Window {
    Held { keys: Keys, used: u64 },
    SetAside(TempPath),
}

/// Drops repeated records from batches: see the module documentation.
pub struct Dedup {
    /// Column indexes of the identity fields present, and of every record field.
    identity: Vec<usize>,
    all: Vec<usize>,
    /// Indexes of `interface_id`, `tgw_attachment_id` and `start`.
    interface: Option<usize>,
    attachment: Option<usize>,
    start: Option<usize>,
    windows: HashMap<i64, Window>,
    held: usize,
    max_keys: usize,
    tick: u64,
    dir: Option<TempPath>,
    /// Records dropped as repeats so far.
    pub duplicates: u64,
    /// Windows set aside and read back so far.
    pub set_aside: u64,
}

/// Typed access to one column's values.
enum Col<'a> {
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    Str(&'a StringArray),
    Other(&'a ArrayRef),
}

impl Col<'_> {
    fn hash(&self, r: usize, h: &mut DefaultHasher) {
        match self {
            Col::I32(a) if a.is_valid(r) => (1u8, i64::from(a.value(r))).hash(h),
            Col::I64(a) if a.is_valid(r) => (1u8, a.value(r)).hash(h),
            Col::Str(a) if a.is_valid(r) => (2u8, a.value(r)).hash(h),
            Col::Other(a) if a.is_valid(r) => {
                // Not a flow log type (a list): its bytes.
                let s = arrow::util::display::array_value_to_string(a, r).unwrap_or_default();
                (3u8, s).hash(h)
            }
            _ => 0u8.hash(h),
        }
    }
}

impl Dedup {
    /// A deduplicator for batches of `schema`, holding at most about `max_keys` identities in
    /// memory.
    pub fn new(schema: &Schema, max_keys: usize) -> Dedup {
        let index = |n: &str| schema.index_of(n).ok();
        Dedup {
            identity: IDENTITY.iter().filter_map(|n| index(n)).collect(),
            all: (0..schema.fields().len())
                .filter(|&i| is_record_field(schema.field(i).name()))
                .collect(),
            interface: index("interface_id"),
            attachment: index("tgw_attachment_id"),
            start: index("start"),
            windows: HashMap::new(),
            held: 0,
            max_keys: max_keys.max(1),
            tick: 0,
            dir: None,
            duplicates: 0,
            set_aside: 0,
        }
    }

    /// `batch` without the records seen before.
    pub fn filter(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error> {
        let cols: Vec<Col<'_>> = batch
            .columns()
            .iter()
            .map(|c| {
                if let Some(a) = c.as_any().downcast_ref::<Int32Array>() {
                    Col::I32(a)
                } else if let Some(a) = c.as_any().downcast_ref::<Int64Array>() {
                    Col::I64(a)
                } else if let Some(a) = c.as_any().downcast_ref::<StringArray>() {
                    Col::Str(a)
                } else {
                    Col::Other(c)
                }
            })
            .collect();
        let valid = |i: Option<usize>, r: usize| i.is_some_and(|i| batch.column(i).is_valid(r));
        let start = self
            .start
            .and_then(|i| batch.column(i).as_any().downcast_ref::<Int64Array>());
        // The identities are hashed in parallel (on rayon's global pool, which the encoders
        // share); only the set lookups are sequential, in input order.
        let (identity, all) = (&self.identity, &self.all);
        let (interface, attachment) = (self.interface, self.attachment);
        let keys: Vec<(i64, u128)> = (0..batch.num_rows())
            .into_par_iter()
            .with_min_len(1024)
            .map(|r| {
                let observed = valid(interface, r) || valid(attachment, r);
                let fields = if observed { identity } else { all };
                let mut key = [0u64; 2];
                for (k, seed) in key.iter_mut().zip([0x5eed_0001u64, 0x5eed_0002]) {
                    let mut h = DefaultHasher::new();
                    (seed, observed).hash(&mut h);
                    for &i in fields {
                        cols[i].hash(r, &mut h);
                    }
                    *k = h.finish();
                }
                let window = match start {
                    Some(s) if s.is_valid(r) => s.value(r).div_euclid(WINDOW_SECONDS),
                    _ => i64::MIN,
                };
                (window, (u128::from(key[0]) << 64) | u128::from(key[1]))
            })
            .collect();
        let mut keep = Vec::with_capacity(batch.num_rows());
        let mut dropped = 0u64;
        for (window, key) in keys {
            let fresh = self.insert(window, key)?;
            if !fresh {
                dropped += 1;
            }
            keep.push(fresh);
        }
        self.duplicates += dropped;
        if dropped == 0 {
            return Ok(batch);
        }
        filter_record_batch(&batch, &BooleanArray::from(keep))
            .map_err(|e| Error::Internal(format!("--dedup: {e}")))
    }

    /// Records `key` in `window`; whether it was new.
    fn insert(&mut self, window: i64, key: u128) -> Result<bool, Error> {
        self.tick += 1;
        let tick = self.tick;
        if let Some(Window::SetAside(_)) = self.windows.get(&window) {
            self.read_back(window)?;
        }
        let w = self.windows.entry(window).or_insert_with(|| Window::Held {
            keys: Keys::default(),
            used: tick,
        });
        let Window::Held { keys, used } = w else {
            unreachable!("read back above")
        };
        *used = tick;
        if !keys.insert(key) {
            return Ok(false);
        }
        self.held += 1;
        if self.held > self.max_keys {
            self.set_aside_least_recent(window)?;
        }
        Ok(true)
    }

    /// Writes the least recently used windows other than `current` to files until the keys
    /// held fit the budget (the current window stays, however large).
    fn set_aside_least_recent(&mut self, current: i64) -> Result<(), Error> {
        while self.held > self.max_keys {
            let oldest = self
                .windows
                .iter()
                .filter_map(|(&w, win)| match win {
                    Window::Held { used, .. } if w != current => Some((*used, w)),
                    _ => None,
                })
                .min();
            let Some((_, w)) = oldest else { break };
            let Some(Window::Held { keys, .. }) = self.windows.remove(&w) else {
                unreachable!("found above")
            };
            self.held -= keys.len();
            let file = self.write_keys(w, &keys)?;
            self.windows.insert(w, Window::SetAside(file));
            self.set_aside += 1;
        }
        Ok(())
    }

    fn write_keys(&mut self, window: i64, keys: &Keys) -> Result<TempPath, Error> {
        let fail = |what: &str, e: std::io::Error| Error::Write {
            path: "--dedup".into(),
            reason: format!("{what}: {e}"),
        };
        if self.dir.is_none() {
            let base = std::env::temp_dir();
            let d = TempPath::dir_in(&base, "vpcflow-dedup-")
                .map_err(|e| fail(&format!("creating a directory in {}", base.display()), e))?;
            self.dir = Some(d);
        }
        let dir = self.dir.as_ref().expect("made above").path();
        let (path, file) =
            TempPath::file_in(dir, &format!("window-{window}-"), ".keys", Access::Private)
                .map_err(|e| fail(&format!("setting a window aside in {}", dir.display()), e))?;
        let mut out = BufWriter::new(file);
        for k in keys {
            out.write_all(&k.to_le_bytes())
                .map_err(|e| fail(&path.path().display().to_string(), e))?;
        }
        out.flush()
            .map_err(|e| fail(&path.path().display().to_string(), e))?;
        Ok(path)
    }

    fn read_back(&mut self, window: i64) -> Result<(), Error> {
        let Some(Window::SetAside(path)) = self.windows.remove(&window) else {
            return Ok(());
        };
        let p = path.path().to_path_buf();
        let fail = |e: std::io::Error| Error::io(&p, e);
        let file = std::fs::File::open(&p).map_err(fail)?;
        let len = file.metadata().map_err(fail)?.len() as usize;
        let mut keys = Keys::with_capacity_and_hasher(len / 16, KeySeed::default());
        let mut input = BufReader::new(file);
        let mut buf = [0u8; 16];
        for _ in 0..len / 16 {
            input.read_exact(&mut buf).map_err(fail)?;
            keys.insert(u128::from_le_bytes(buf));
        }
        drop(path); // removes the file
        self.held += keys.len();
        self.set_aside += 1;
        self.windows.insert(
            window,
            Window::Held {
                keys,
                used: self.tick,
            },
        );
        self.set_aside_least_recent(window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field};
    use std::sync::Arc;

    fn schema(extra: bool) -> Arc<Schema> {
        let mut f = vec![
            Field::new("version", DataType::Int32, true),
            Field::new("interface_id", DataType::Utf8, true),
            Field::new("srcaddr", DataType::Utf8, true),
            Field::new("packets", DataType::Int64, true),
            Field::new("start", DataType::Int64, true),
        ];
        if extra {
            f.push(Field::new("vpc_id", DataType::Utf8, true));
        }
        Arc::new(Schema::new(f))
    }

    /// version, interface_id, srcaddr, packets, start, vpc_id.
    type Row<'a> = (i32, Option<&'a str>, &'a str, i64, i64, Option<&'a str>);

    fn batch(rows: &[Row<'_>]) -> RecordBatch {
        RecordBatch::try_new(
            schema(true),
            vec![
                Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.3))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.4))),
                Arc::new(StringArray::from_iter(rows.iter().map(|r| r.5))),
            ],
        )
        .unwrap()
    }

    fn kept(d: &mut Dedup, b: RecordBatch) -> Vec<i64> {
        let out = d.filter(b).unwrap();
        let p = out.column(3).as_any().downcast_ref::<Int64Array>().unwrap();
        p.values().to_vec()
    }

    #[test]
    fn repeats_of_an_interface_are_dropped_across_formats() {
        let mut d = Dedup::new(&schema(true), 1000);
        // The same observation from a v2 log (no vpc_id) and a v5 log (vpc_id): one row.
        let a = batch(&[
            (2, Some("eni-1"), "10.0.0.1", 5, 100, None),
            (2, Some("eni-1"), "10.0.0.1", 6, 100, None),
        ]);
        let b = batch(&[
            (5, Some("eni-1"), "10.0.0.1", 5, 100, Some("vpc-1")),
            (5, Some("eni-2"), "10.0.0.1", 5, 100, Some("vpc-1")),
        ]);
        assert_eq!(kept(&mut d, a), vec![5, 6]);
        assert_eq!(kept(&mut d, b), vec![5]);
        assert_eq!(d.duplicates, 1);
    }

    #[test]
    fn records_without_an_interface_need_every_field_equal() {
        let mut d = Dedup::new(&schema(true), 1000);
        let b = batch(&[
            (5, None, "10.0.0.1", 5, 100, Some("vpc-1")),
            (5, None, "10.0.0.1", 5, 100, Some("vpc-2")),
            (5, None, "10.0.0.1", 5, 100, Some("vpc-1")),
            (2, None, "10.0.0.1", 5, 100, Some("vpc-1")),
        ]);
        assert_eq!(kept(&mut d, b), vec![5, 5]);
        assert_eq!(d.duplicates, 2);
    }

    #[test]
    fn a_tiny_budget_sets_windows_aside_and_finds_the_same_repeats() {
        // Rows spread over 40 windows, then the same rows again in reverse order, with a few
        // new ones: every repeat is found whatever the budget.
        let rows: Vec<Row<'_>> = (0..400)
            .map(|i| {
                (
                    2,
                    Some("eni-1"),
                    "10.0.0.1",
                    i,
                    (i % 40) * WINDOW_SECONDS + i,
                    None,
                )
            })
            .collect();
        let mut again: Vec<_> = rows.iter().rev().cloned().collect();
        again.push((2, Some("eni-9"), "10.0.0.1", 1, 0, None));
        for budget in [1, 7, 100, 10_000] {
            let mut d = Dedup::new(&schema(true), budget);
            assert_eq!(kept(&mut d, batch(&rows)).len(), 400);
            assert_eq!(kept(&mut d, batch(&again)), vec![1], "budget {budget}");
            assert_eq!(d.duplicates, 400);
            assert!(d.held <= budget.max(11), "budget {budget}: {} held", d.held);
            if budget < 400 {
                assert!(d.set_aside > 0);
            }
        }
    }
}
