//! Any bytes through the chunk parser, in each mode a file can be read in (the first byte picks
//! one): a header layout, header-less standard-layout matching, and the same after CloudWatch
//! export timestamps, and with a 120-byte line limit. Checks: no panic, and every line is accounted for (rows + refused + blank +
//! headers = lines), the batch has as many rows as accepted lines.
#![no_main]

use std::sync::OnceLock;

use arrow::datatypes::SchemaRef;
use libfuzzer_sys::fuzz_target;
use vpcflow_fuzz::batch::{DatasetSchema, FilePlan, parse_chunk};
use vpcflow_fuzz::format::layout::{Layout, STANDARD};

fn plans() -> &'static (Vec<FilePlan>, SchemaRef) {
    static PLANS: OnceLock<(Vec<FilePlan>, SchemaRef)> = OnceLock::new();
    PLANS.get_or_init(|| {
        let mut schema = DatasetSchema::default();
        let header = Layout::from_fields_arg(
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status",
        )
        .unwrap();
        let mut plans = vec![FilePlan::fixed(
            &header,
            Some(b"version account-id".to_vec()),
            "header".into(),
            &mut schema,
        )];
        let all: Vec<_> = STANDARD.iter().collect();
        plans.push(FilePlan::standard(&all, &mut schema));
        let mut ts = FilePlan::standard(&all, &mut schema);
        ts.leading_timestamp = true;
        plans.push(ts);
        // A small line limit, so over-long lines are met often.
        let mut short = FilePlan::standard(&all, &mut schema);
        short.max_line = 120;
        plans.push(short);
        (plans, schema.arrow())
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    let (plans, arrow) = plans();
    let plan = &plans[pick as usize % plans.len()];
    let out = parse_chunk(data, 0, plan, arrow);
    let lines = vpcflow_fuzz::parse::chunk::lines(data).count() as u64;
    assert_eq!(out.lines, lines);
    assert_eq!(out.records, out.rows + out.rejects.len() as u64);
    assert_eq!(out.lines, out.records + out.blank + out.headers);
    assert_eq!(out.batch.as_ref().map_or(0, |b| b.num_rows() as u64), out.rows);
    for r in &out.rejects {
        assert!(r.raw.len() <= plan.max_line, "a refused line keeps at most the limit");
    }
});
