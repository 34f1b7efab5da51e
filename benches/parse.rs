#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Criterion benchmarks: parse-to-Arrow on one thread (bytes/s) and end-to-end convert
//! (parallel parse + Parquet) on seeded, generated flow logs, each asserting its row count; and
//! the attribution lookups (ns per address).

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

/// Parquet encoding alone (`Throughput::Elements`, rows): 400,000 parsed default records written
/// to nowhere, all columns, and only the text columns (which our dictionary writer encodes:
/// dictionary building, keys, page bounds, zstd), on the calling thread's rayon pool.
fn parquet_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("parquet_encode");
    g.sample_size(10);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.log");
    std::fs::write(&path, default_lines(400_000, 7)).unwrap();
    let dec = Decoder::new(vec![Input::Path(path)], Options::default()).unwrap();
    let schema = dec.schema();
    let mut batches = Vec::new();
    dec.run(
        |b| {
            batches.push(b);
            Ok(())
        },
        &mut |_| {},
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap();
    let text: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| *schema.field(i).data_type() == arrow::datatypes::DataType::Utf8)
        .collect();
    let text_schema = std::sync::Arc::new(schema.project(&text).unwrap());
    let text_batches: Vec<_> = batches.iter().map(|b| b.project(&text).unwrap()).collect();
    g.throughput(Throughput::Elements(400_000));
    for (name, schema, batches) in [
        ("all_columns", schema, &batches),
        ("text_columns", text_schema, &text_batches),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut sink = ParquetSink::new(
                    std::io::sink(),
                    "bench",
                    schema.clone(),
                    &ParquetOptions::default(),
                )
                .unwrap();
                sink.write_all(batches).unwrap();
                sink.finish().unwrap();
            })
        });
    }
    g.finish();
}

/// Attribution lookups, per address (`Throughput::Elements`): the ip-ranges table at the size of
/// AWS's file (9,000 IPv4 and 2,500 IPv6 prefixes, nested and repeated like AWS's), and the
/// inventory's address map (10,000 interfaces); addresses half inside, half outside.
fn attribution_lookups(c: &mut Criterion) {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use vpcflow::enrich::inventory::{Inventory, SnapshotFile};
    use vpcflow::enrich::ip_ranges::AwsIpRanges;
    let mut rng = Rng(11);
    let mut v4 = Vec::new();
    for i in 0..9000 {
        let a = Ipv4Addr::from((rng.next() as u32) & 0xffff_ff00);
        let len = [16, 20, 22, 24][i % 4];
        let net = u32::from(a) & (u32::MAX << (32 - len));
        let service = ["AMAZON", "EC2", "S3"][i % 3];
        v4.push(format!(
            r#"{{"ip_prefix": "{}/{len}", "region": "us-east-1", "service": "{service}"}}"#,
            Ipv4Addr::from(net)
        ));
    }
    let v6: Vec<String> = (0..2500)
        .map(|_| {
            let a = Ipv6Addr::from(u128::from(rng.next()) << 64 & !((1u128 << 80) - 1));
            format!(r#"{{"ipv6_prefix": "{a}/48", "region": "eu-west-1", "service": "EC2"}}"#)
        })
        .collect();
    let doc = format!(
        r#"{{"prefixes": [{}], "ipv6_prefixes": [{}]}}"#,
        v4.join(","),
        v6.join(",")
    );
    let ranges = AwsIpRanges::parse("bench", doc.as_bytes()).unwrap();
    let probes: Vec<IpAddr> = (0..4096)
        .map(|_| IpAddr::V4(Ipv4Addr::from(rng.next() as u32)))
        .collect();
    let mut g = c.benchmark_group("attribution_lookup");
    g.throughput(Throughput::Elements(probes.len() as u64));
    g.bench_function("ip_ranges_ipv4", |b| {
        b.iter(|| {
            probes
                .iter()
                .filter(|&&ip| ranges.lookup_index(ip).is_some())
                .count()
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enis.json");
    let nics: Vec<String> = (0..10_000u32)
        .map(|i| {
            format!(
                r#"{{"NetworkInterfaceId": "eni-{i:017x}", "VpcId": "vpc-1", "PrivateIpAddress": "{}"}}"#,
                Ipv4Addr::from(0x0a00_0000 | (i * 2))
            )
        })
        .collect();
    std::fs::write(
        &path,
        format!(r#"{{"NetworkInterfaces": [{}]}}"#, nics.join(",")),
    )
    .unwrap();
    let inv = Inventory::load(&[SnapshotFile {
        path,
        time: Some(0),
    }])
    .unwrap();
    let held: Vec<IpAddr> = (0..4096u32)
        .map(|_| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | rng.below(20_000) as u32)))
        .collect();
    g.bench_function("inventory_address", |b| {
        b.iter(|| {
            held.iter()
                .filter(|&&ip| inv.holder_index(ip, Some(5), || None).is_some())
                .count()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    parse_single_thread,
    convert_end_to_end,
    parquet_encode,
    attribution_lookups
);
criterion_main!(benches);
