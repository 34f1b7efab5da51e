//! Any bytes through the JSON envelope readers: the per-line `message` unwrapper, the input
//! classifier, the object splitter and the CloudWatch/Firehose record extractor. Checks: no
//! panic; boundaries fall inside the input; records are numbered densely from 0; every record's
//! origin offset lies within the input; text holds one line per record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vpcflow_fuzz::format::envelope::{self, Extracted, ExtractCounts};
use vpcflow_fuzz::input::frame;

fuzz_target!(|data: &[u8]| {
    let _ = envelope::unwrap_message(data);
    let _ = envelope::classify(data);
    if let Some(end) = frame::object_boundary(data) {
        assert!(end <= data.len());
    }
    // Skipping an over-long piece in two slices ends it where the splitter does.
    let (pieces, _) = frame::scan(data, false);
    for p in pieces {
        let (frame::Piece::Object(s, e) | frame::Piece::Stray(s, e)) = p;
        let mid = s + (e - s) / 2;
        let mut end = frame::PieceEnd::default();
        let got = end
            .feed(&data[s..mid])
            .or_else(|| end.feed(&data[mid..]).map(|k| k + mid - s));
        assert_eq!(got, Some(e - s));
    }
    let mut counts = ExtractCounts::default();
    let base = 1000;
    let items = envelope::extract(data, base, 64, 512, &mut counts);
    let mut next = 0u64;
    for item in &items {
        match item {
            Extracted::Records(g) => {
                assert_eq!(g.first_record, next);
                let n = g.line_starts.len() as u64;
                assert_eq!(g.origins.len() as u64, n);
                assert_eq!(memchr::memchr_iter(b'\n', &g.text).count() as u64, n);
                for &o in &g.origins {
                    assert!(o >= base && o < base + data.len() as u64);
                }
                next += n;
            }
            Extracted::Refused { record, offset, .. } => {
                assert_eq!(*record, next);
                assert!(*offset >= base && *offset <= base + data.len() as u64);
                next += 1;
            }
        }
    }
    assert_eq!(next, counts.records);
});
