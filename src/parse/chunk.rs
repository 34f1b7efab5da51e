//! Splitting bytes into line-aligned ranges for parallel parsing.
//!
//! A chunk owns every line whose first byte it holds: boundaries are moved forward to the byte
//! after the next line feed, so no line is split and none is seen twice. A final line without a
//! trailing newline belongs to the last chunk.

use std::ops::Range;

/// Splits `data` into line-aligned ranges of roughly `target` bytes (at least one line each).
/// The ranges are contiguous, in order, and cover `data` exactly.
pub fn split(data: &[u8], target: usize) -> Vec<Range<usize>> {
    let target = target.max(1);
    let mut out = Vec::with_capacity(data.len() / target + 1);
    let mut start = 0;
    while start < data.len() {
        let want = start.saturating_add(target);
        let end = if want >= data.len() {
            data.len()
        } else {
            // The chunk ends after the line feed at or after position want-1.
            match memchr::memchr(b'\n', &data[want - 1..]) {
                Some(i) => want + i,
                None => data.len(),
            }
        };
        out.push(start..end);
        start = end;
    }
    out
}

/// Iterates the lines of `data` (without their `\n`), a final unterminated line included.
pub fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match memchr::memchr(b'\n', rest) {
            Some(i) => {
                let line = &rest[..i];
                rest = &rest[i + 1..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = &[];
                Some(line)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn chunks_are_line_aligned_and_cover_everything(data in "[ab\n]{0,200}", target in 1usize..50) {
            let data = data.as_bytes();
            let ranges = split(data, target);
            let mut pos = 0;
            for r in &ranges {
                prop_assert_eq!(r.start, pos);
                prop_assert!(r.end > r.start);
                prop_assert!(r.start == 0 || data[r.start - 1] == b'\n');
                pos = r.end;
            }
            prop_assert_eq!(pos, data.len());
            // Lines of all chunks together are the lines of the whole, as a naive split sees them.
            let ours: Vec<&[u8]> = ranges.iter().flat_map(|r| lines(&data[r.clone()])).collect();
            let mut naive: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
            if data.last() == Some(&b'\n') || data.is_empty() {
                naive.pop();
            }
            prop_assert_eq!(ours, naive);
        }
    }
}
