//! The library API: a conversion as a call (Decoder → Conversion → Sink → Report), any output
//! implementing the one `Sink` trait, and the same rows as the command line writes.

mod common;

use std::path::PathBuf;

use arrow::record_batch::RecordBatch;

use common::{read_parquet, render, testdata, vpcflow};
use vpcflow::input::Input;
use vpcflow::pipeline::{Collected, Conversion, Decoder, InputDone, Options, Sink, Written};
use vpcflow::sink::{Output, OutputFormat, SinkOptions};

/// What `Keep` saw when finished: rows, (input, records, refused) per input, and `commit`.
type Seen = (usize, Vec<(String, u64, u64)>, bool);

/// A sink of our own: keeps the rows and the order inputs finished in.
#[derive(Default)]
struct Keep {
    rows: usize,
    done: Vec<(String, u64, u64)>,
    finished: std::sync::Arc<std::sync::Mutex<Option<Seen>>>,
}

impl Sink for Keep {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), vpcflow::Error> {
        self.rows += batch.num_rows();
        Ok(())
    }

    fn input_done(&mut self, d: &InputDone) -> Result<(), vpcflow::Error> {
        self.done.push((d.name.clone(), d.records, d.rejected));
        Ok(())
    }

    fn finish(self: Box<Self>, commit: bool) -> Result<Written, vpcflow::Error> {
        *self.finished.lock().unwrap() = Some((self.rows, self.done.clone(), commit));
        Ok(Written::Nothing)
    }
}

fn inputs() -> Vec<Input> {
    ["sample-default.log", "bad-lines.log", "tgw-v6.log"]
        .iter()
        .map(|n| Input::Path(testdata(n)))
        .collect()
}

#[test]
fn any_sink_gets_every_row_and_every_input_in_order() {
    let decoder = Decoder::new(inputs(), Options::default()).unwrap();
    let sink = Keep::default();
    let finished = sink.finished.clone();
    let mut seen = Collected {
        keep_rejects: 3,
        ..Collected::default()
    };
    let report = Conversion::new(decoder)
        .strict(true)
        .run(Box::new(sink), &mut seen)
        .unwrap();
    let s = &report.stats;
    assert_eq!(s.records, s.rows_written + s.rejected);
    assert!(s.rejected > 0, "bad-lines.log has refused lines");
    let (rows, done, commit) = finished.lock().unwrap().clone().unwrap();
    assert_eq!(rows as u64, s.rows_written);
    assert!(
        !commit && report.withheld,
        "--strict withholds on refused lines"
    );
    assert_eq!(report.written, Written::Nothing);
    let names: Vec<PathBuf> = done.iter().map(|d| PathBuf::from(&d.0)).collect();
    let want: Vec<PathBuf> = inputs()
        .iter()
        .map(|i| PathBuf::from(i.display()))
        .collect();
    assert_eq!(names, want);
    assert_eq!(done.iter().map(|d| d.1).sum::<u64>(), s.records);
    assert_eq!(done.iter().map(|d| d.2).sum::<u64>(), s.rejected);
    assert_eq!(seen.rejects.len(), 3.min(s.rejected as usize));
    assert!(seen.failed.is_empty() && report.failed.is_empty());
}

#[test]
fn the_library_writes_what_the_command_line_writes() {
    let dir = tempfile::tempdir().unwrap();
    let lib_out = dir.path().join("lib.parquet");
    let decoder = Decoder::new(inputs(), Options::default()).unwrap();
    let sink = vpcflow::sink::open(
        Output::File(lib_out.clone()),
        OutputFormat::from_extension(&lib_out),
        decoder.schema(),
        SinkOptions::default(),
    )
    .unwrap();
    let report = Conversion::new(decoder)
        .run(sink, &mut Collected::default())
        .unwrap();
    assert_eq!(report.written, Written::File(lib_out.clone()));
    let cli_out = dir.path().join("cli.parquet");
    let names: Vec<String> = inputs().iter().map(|i| i.display()).collect();
    let mut args: Vec<&str> = vec!["convert"];
    args.extend(names.iter().map(String::as_str));
    args.extend(["-o", cli_out.to_str().unwrap(), "-q"]);
    let o = vpcflow(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (ls, lb) = read_parquet(&lib_out);
    let (cs, cb) = read_parquet(&cli_out);
    assert_eq!(render(&ls, &lb), render(&cs, &cb));
    let rows: usize = lb.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows as u64, report.stats.rows_written);
}

#[test]
fn an_output_that_fails_leaves_nothing_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.ndjson");
    let decoder = Decoder::new(inputs(), Options::default()).unwrap();
    let sink = vpcflow::sink::open(
        Output::File(out.clone()),
        OutputFormat::Ndjson,
        decoder.schema(),
        SinkOptions::default(),
    )
    .unwrap();
    // Withheld by --strict: the finished file is not put in place, no temporary is left.
    let report = Conversion::new(decoder)
        .strict(true)
        .run(sink, &mut Collected::default())
        .unwrap();
    assert!(report.withheld);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
