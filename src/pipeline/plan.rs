//! Planning a run: what each input is (text, JSON envelopes, Parquet), its layout (header
//! line, `--fields`, or the standard layouts its first lines fit), and the one dataset schema
//! they all unite into. Reads only the start of each input (standard input and pipes are peeked
//! at and their reader kept for the run).

use crate::batch::{self, DatasetSchema, FilePlan};
use crate::error::Error;
use crate::format::envelope;
use crate::format::layout::{self, Layout, MAX_TOKENS};
use crate::input::Input;
use crate::input::read::{self, Blocks};
use crate::parse;
use crate::pipeline::options::Options;
use crate::pipeline::report::{Notice, Stats};

/// How an input is read.
pub(crate) enum Plan {
    /// Flow log text, parsed.
    Text(FilePlan),
    /// JSON objects (CloudWatch Logs payloads, concatenated Firehose records): their records are
    /// taken out ([`crate::format::envelope::extract`]), then parsed as text.
    Json(FilePlan),
    /// A Parquet file (local, or an S3 object copied to a temporary file): (source column,
    /// dataset column) pairs, and the file to read.
    Parquet(Vec<(usize, String)>, std::path::PathBuf),
}

impl Plan {
    /// How the input will be read, for `-v`.
    fn describe(&self) -> String {
        match self {
            Plan::Text(p) => format!("text, layout from {}", p.describe),
            Plan::Json(p) => format!("JSON envelopes, layout from {}", p.describe),
            Plan::Parquet(map, _) => format!("Parquet, {} columns mapped", map.len()),
        }
    }
}

/// An input planned for the run.
pub(crate) struct Planned {
    pub(crate) input: Input,
    pub(crate) name: String,
    pub(crate) plan: Plan,
    /// Standard input can be read once only: its reader, holding what planning peeked at.
    pub(crate) pending: Option<Blocks>,
    /// A downloaded copy of the input, removed when the input is done.
    pub(crate) temp: Option<crate::cleanup::TempPath>,
}

/// Every input planned: the ones usable, the dataset schema, the counts so far (inputs named,
/// inputs failed) and the notices planning gave.
pub(crate) struct Planning {
    pub(crate) planned: Vec<Planned>,
    pub(crate) schema: DatasetSchema,
    pub(crate) stats: Stats,
    pub(crate) early: Vec<Notice>,
}

/// Plans the inputs. Inputs that can't be opened or whose header is unusable are noted
/// ([`Notice::Failed`]) and left out; the others go on.
pub(crate) fn plan(inputs: Vec<Input>, opts: &Options) -> Planning {
    let mut schema = DatasetSchema::default();
    let mut planned = Vec::new();
    let mut early = Vec::new();
    let mut stats = Stats {
        inputs: inputs.len() as u64,
        ..Stats::default()
    };
    // S3 objects: their first bytes, fetched concurrently.
    let s3_objects: Vec<&crate::input::s3::S3Object> = inputs
        .iter()
        .filter_map(|i| match i {
            Input::S3(o) => Some(o),
            _ => None,
        })
        .collect();
    let mut s3_samples = crate::input::s3::samples(&s3_objects, opts.sample_bytes).into_iter();
    for input in inputs {
        let name = input.display();
        let mut pending = None;
        let mut temp = None;
        let sample = match &input {
            // Standard input, a pipe or a FIFO can be read once only: keep what planning
            // peeked at for the reader.
            Input::Stdin => peek_once(&input, opts, &mut pending),
            Input::Path(p) if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) => {
                peek_once(&input, opts, &mut pending)
            }
            Input::Path(_) => Blocks::sample(&input, opts.sample_bytes),
            Input::S3(_) => s3_samples.next().expect("one sample per object"),
        };
        let sample = match sample {
            Ok(s) => s,
            Err(e) => {
                stats.failed_inputs += 1;
                early.push(Notice::Failed(Error::Read {
                    input: name,
                    offset: 0,
                    source: e,
                }));
                continue;
            }
        };
        let plan = plan_kind(
            &input,
            &name,
            &sample,
            opts,
            &mut schema,
            &mut early,
            &mut temp,
        );
        match plan {
            Ok(plan) => {
                log::info!("{name}: {}", plan.describe());
                planned.push(Planned {
                    input,
                    name,
                    plan,
                    pending,
                    temp,
                });
            }
            Err(e) => {
                stats.failed_inputs += 1;
                early.push(Notice::Failed(e));
            }
        }
    }
    if schema.columns().is_empty() {
        // Nothing named any column (empty inputs only): use the v2 default columns, so even
        // an empty dataset has the schema readers expect.
        let std = layout::Standard::by_count(14).expect("the default layout has 14 fields");
        for c in &std.layout().columns {
            schema.add(c);
        }
    }
    if opts.keep_original {
        schema.add(&layout::Column::Unknown(batch::ORIGINAL_COLUMN.to_string()));
    }
    if opts.keep_provenance {
        schema.add(&layout::Column::Unknown(batch::INPUT_COLUMN.to_string()));
        schema.add(&layout::Column::Known(&crate::format::fields::OFFSET_FIELD));
    }
    Planning {
        planned,
        schema,
        stats,
        early,
    }
}

/// How one input is read, from its first bytes.
fn plan_kind(
    input: &Input,
    name: &str,
    sample: &[u8],
    opts: &Options,
    schema: &mut DatasetSchema,
    early: &mut Vec<Notice>,
    temp: &mut Option<crate::cleanup::TempPath>,
) -> Result<Plan, Error> {
    if crate::input::sniff::is_parquet(sample) {
        // Attribution columns of our own Parquet are derived data: left out (a list column
        // isn't a flow log field), and computed again when the run has an attribution.
        let mut left_out = Vec::new();
        let leave_out = |c: &str| crate::enrich::attribution::flag_for(c).is_some();
        let planned = match input {
            Input::Path(path) => {
                crate::batch::parquet_in::plan(name, path, schema, &leave_out, &mut left_out)
                    .map(|m| Plan::Parquet(m, path.clone()))
            }
            Input::S3(o) => match crate::input::s3::download(o) {
                Ok(t) => {
                    let path = t.path().to_path_buf();
                    *temp = Some(t);
                    crate::batch::parquet_in::plan(name, &path, schema, &leave_out, &mut left_out)
                        .map(|m| Plan::Parquet(m, path))
                }
                Err(e) => Err(Error::Read {
                    input: name.to_string(),
                    offset: 0,
                    source: e,
                }),
            },
            Input::Stdin => Err(Error::Parquet {
                input: name.to_string(),
                reason: "Parquet can't be read from standard input: name the file".into(),
            }),
        };
        if !left_out.is_empty() {
            early.push(Notice::Warning(format!(
                "{name}: its attribution columns ({}) are not carried over; --eni-inventory and \
                 --aws-ip-ranges compute them again",
                left_out.join(", ")
            )));
        }
        planned
    } else if envelope::classify(sample) == envelope::JsonInput::Objects {
        // Plan from the records inside the sample's complete objects.
        let end = crate::input::frame::object_boundary(sample).unwrap_or(sample.len());
        let mut counts = envelope::ExtractCounts::default();
        let mut text = Vec::new();
        let mut cloudwatch = memchr::memmem::find(sample, b"\"logEvents\"").is_some();
        for x in envelope::extract(&sample[..end], 0, usize::MAX, usize::MAX, &mut counts) {
            if let envelope::Extracted::Records(g) = x {
                cloudwatch |= g.log_group.is_some();
                text.extend_from_slice(&g.text);
            }
        }
        plan_input(name, &text, opts, schema, early).map(|mut p| {
            p.input = name.to_string();
            p.max_line = opts.max_line_bytes;
            if cloudwatch {
                schema.add(&layout::Column::Unknown(LOG_GROUP_COLUMN.to_string()));
                schema.add(&layout::Column::Unknown(LOG_STREAM_COLUMN.to_string()));
            }
            Plan::Json(p)
        })
    } else {
        plan_input(name, sample, opts, schema, early).map(|mut p| {
            p.input = name.to_string();
            p.max_line = opts.max_line_bytes;
            Plan::Text(p)
        })
    }
}

fn strip_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
}

/// Chooses an input's layout from its first bytes.
fn plan_input(
    name: &str,
    sample: &[u8],
    opts: &Options,
    schema: &mut DatasetSchema,
    notices: &mut Vec<Notice>,
) -> Result<FilePlan, Error> {
    let mut first = None;
    for (i, raw) in crate::parse::chunk::lines(sample).enumerate() {
        let t = parse::trim_line(raw);
        if !t.is_empty() {
            first = Some((i as u64 + 1, t));
            break;
        }
    }
    if let Some((line_no, line)) = first
        && let Some(header) = Layout::detect_header(strip_bom(line))
    {
        let layout = header.map_err(|reason| Error::Header {
            input: name.to_string(),
            line: line_no,
            reason,
        })?;
        if !layout.unknown.is_empty() {
            notices.push(Notice::Warning(format!(
                "{name}: header names fields vpcflow doesn't know, kept as text columns: {}",
                layout.unknown.join(", ")
            )));
        }
        return Ok(FilePlan::fixed(
            &layout,
            Some(line.to_vec()),
            "header".to_string(),
            schema,
        ));
    }
    // CloudWatch Logs exports put a timestamp before each record.
    let leading_timestamp =
        first.is_some_and(|(_, line)| parse::strip_export_timestamp(line).is_some());
    if let Some(layout) = &opts.fields {
        let mut plan = FilePlan::fixed(layout, None, "--fields".to_string(), schema);
        plan.leading_timestamp = leading_timestamp;
        return Ok(plan);
    }
    // Header-less: which standard layouts do the first lines fit?
    let mut seen: Vec<&'static layout::Standard> = Vec::new();
    let mut spans = [(0u32, 0u32); MAX_TOKENS];
    for raw in crate::parse::chunk::lines(sample).take(1000) {
        let line = parse::trim_line(raw);
        let inner;
        let line = match crate::format::envelope::unwrap_message(line) {
            Some(Ok(m)) => {
                inner = m;
                parse::trim_line(&inner)
            }
            Some(Err(_)) => continue,
            None => line,
        };
        let line = if leading_timestamp {
            match parse::strip_export_timestamp(line) {
                Some(rest) => rest,
                None => continue,
            }
        } else {
            line
        };
        let n = parse::tokenize(line, &mut spans);
        if n == 0 || n > MAX_TOKENS {
            continue;
        }
        if let Ok(std) = layout::match_standard(line, &spans[..n])
            && !seen.iter().any(|s| std::ptr::eq(*s, std))
        {
            seen.push(std);
        }
    }
    if seen.is_empty() && first.is_some() {
        notices.push(Notice::Warning(format!(
            "{name}: no header line, no --fields, and its first lines fit no standard layout; every record will be refused"
        )));
    }
    let mut plan = FilePlan::standard(&seen, schema);
    plan.leading_timestamp = leading_timestamp;
    if leading_timestamp {
        plan.describe
            .push_str(", after CloudWatch export timestamps");
    }
    Ok(plan)
}

/// Opens an input that can be read only once and peeks at its first bytes; the open reader,
/// holding them, goes to `pending`.
fn peek_once(
    input: &Input,
    opts: &Options,
    pending: &mut Option<Blocks>,
) -> std::io::Result<Vec<u8>> {
    let mut blocks = read::open(input, opts.limits(read::Boundary::Line))?;
    let sample = blocks.peek(opts.sample_bytes)?;
    *pending = Some(blocks);
    Ok(sample)
}

/// Names of the columns that hold a CloudWatch Logs payload's log group and stream.
pub(crate) const LOG_GROUP_COLUMN: &str = "log_group";
/// See [`LOG_GROUP_COLUMN`].
pub(crate) const LOG_STREAM_COLUMN: &str = "log_stream";
