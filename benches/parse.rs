#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Criterion benchmarks: parse-to-Arrow on one thread (bytes/s) and end-to-end convert
//! (parallel parse + Parquet) on seeded, generated flow logs. Each asserts its row count.

use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vpcflow::batch::{self, DatasetSchema, FilePlan};
use vpcflow::format::layout::Layout;
use vpcflow::input::Input;
use vpcflow::sink::parquet::{ParquetOptions, ParquetSink};
use vpcflow::{Decoder, Options};

/// xorshift64*: a fixed seed gives the same bytes on every machine.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

/// `n` default-format records (about 120 bytes each), with a header line.
fn default_lines(n: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed);
    let mut out = Vec::with_capacity(n * 125);
    writeln!(out, "{HEADER}").unwrap();
    for _ in 0..n {
        let eni = r.below(4000);
        let src = format!("10.{}.{}.{}", r.below(16), r.below(256), r.below(256));
        let dst = format!(
            "{}.{}.{}.{}",
            [52, 54, 89, 198][r.below(4) as usize],
            r.below(256),
            r.below(256),
            r.below(256)
        );
        let start = 1_700_000_000 + r.below(86_400);
        if r.below(50) == 0 {
            writeln!(
                out,
                "2 1234567890{:02} eni-{eni:017x} - - - - - - - {start} {} - NODATA",
                r.below(8),
                start + 60
            )
            .unwrap();
            continue;
        }
        let packets = 1 + r.below(2000);
        writeln!(
            out,
            "2 1234567890{:02} eni-{eni:017x} {src} {dst} {} {} {} {packets} {} {start} {} {} OK",
            r.below(8),
            1024 + r.below(64_000),
            [443, 80, 22, 53, 3389][r.below(5) as usize],
            [6, 6, 6, 17, 1][r.below(5) as usize],
            packets * (40 + r.below(1400)),
            start + 60,
            if r.below(11) == 0 { "REJECT" } else { "ACCEPT" },
        )
        .unwrap();
    }
    out
}

fn all_fields_lines(min_bytes: usize) -> (Vec<u8>, usize) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/all-40-fields.log"
    ))
    .unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.collect();
    let mut out = format!("{header}\n").into_bytes();
    let mut n = 0;
    while out.len() < min_bytes {
        for l in &body {
            out.extend_from_slice(l.as_bytes());
            out.push(b'\n');
            n += 1;
        }
    }
    (out, n)
}

fn parse_single_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_to_arrow_1_thread");
    for (name, data, rows) in [("default", default_lines(100_000, 42), 100_000usize), {
        let (d, n) = all_fields_lines(12 << 20);
        ("all_40_fields", d, n)
    }] {
        let header_end = data.iter().position(|&b| b == b'\n').unwrap();
        let layout = Layout::from_names(std::str::from_utf8(&data[..header_end]).unwrap()).unwrap();
        let mut schema = DatasetSchema::default();
        let plan = FilePlan::fixed(&layout, None, "header".into(), &mut schema);
        let arrow = schema.arrow();
        let body = &data[header_end + 1..];
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let out = batch::parse_chunk(body, 0, &plan, &arrow);
                assert_eq!(out.rows as usize, rows);
                out
            })
        });
    }
    g.finish();
}

fn convert_end_to_end(c: &mut Criterion) {
    let mut g = c.benchmark_group("convert_to_parquet");
    g.sample_size(10);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.log");
    let data = default_lines(400_000, 7);
    std::fs::write(&path, &data).unwrap();
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("default_2_threads", |b| {
        b.iter(|| {
            let dec = Decoder::new(
                vec![Input::Path(path.clone())],
                Options {
                    threads: 2,
                    ..Options::default()
                },
            )
            .unwrap();
            let mut sink = ParquetSink::new(
                std::io::sink(),
                "bench",
                dec.schema(),
                &ParquetOptions::default(),
            )
            .unwrap();
            let stats = dec
                .run(|b| sink.write(&b), &mut |_| {}, &mut |_| {}, &mut |_| {})
                .unwrap();
            sink.finish().unwrap();
            assert_eq!(stats.rows_written, 400_000);
        })
    });
    g.finish();
}

criterion_group!(benches, parse_single_thread, convert_end_to_end);
criterion_main!(benches);
