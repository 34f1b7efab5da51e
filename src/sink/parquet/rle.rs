//! Parquet's RLE / bit-packing hybrid encoding, for the dictionary keys and definition levels of
//! the pages [`super::dictionary`] writes.
//!
//! A run of 8 or more equal values becomes an RLE run (a varint header `count << 1` and the value
//! in `ceil(width / 8)` little-endian bytes); everything else is bit-packed in groups of 8 values
//! (a varint header `groups << 1 | 1`, then each group's values packed least significant bit
//! first into `width` bytes). A bit-packed run holds at most 63 groups, as other writers do, so
//! readers with that limit read it too. The last group is padded with zeros; the page header's
//! value count tells readers where the values end.

/// Values of a run longer than this are sent as an RLE run.
const MIN_RUN: usize = 8;
/// Groups of 8 values in one bit-packed run at most.
const MAX_GROUPS: usize = 63;

/// Appends `values` (each below `2^width`, `width` ≤ 32) to `out`, without a length prefix.
pub(crate) fn encode<T: Copy + Eq + Into<u32>>(values: &[T], width: u8, out: &mut Vec<u8>) {
    let n = values.len();
    // Start of the values waiting to be bit-packed (always a multiple of 8 values long, but at
    // the very end).
    let mut packed_from = 0;
    let mut i = 0;
    while i < n {
        let v = values[i];
        let run = values[i..].iter().take_while(|&&x| x == v).count();
        if run >= MIN_RUN {
            bit_packed(&values[packed_from..i], width, out);
            rle_run(v.into(), run, width, out);
            i += run;
            packed_from = i;
        } else {
            i = (i + 8).min(n);
        }
    }
    bit_packed(&values[packed_from..n], width, out);
}

/// Appends one RLE run of `count` times `value`.
pub(crate) fn rle_run(value: u32, count: usize, width: u8, out: &mut Vec<u8>) {
    varint((count as u64) << 1, out);
    out.extend_from_slice(&value.to_le_bytes()[..usize::from(width).div_ceil(8)]);
}

/// Appends `values` as bit-packed runs of at most [`MAX_GROUPS`] groups.
fn bit_packed<T: Copy + Into<u32>>(values: &[T], width: u8, out: &mut Vec<u8>) {
    for run in values.chunks(MAX_GROUPS * 8) {
        let groups = run.len().div_ceil(8);
        varint(((groups as u64) << 1) | 1, out);
        let mut acc: u64 = 0;
        let mut bits = 0u32;
        for &v in run {
            acc |= u64::from(v.into()) << bits;
            bits += u32::from(width);
            while bits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                bits -= 8;
            }
        }
        // Zero padding up to whole groups (8 values × width bits is whole bytes).
        let padded_bits = (groups * 8 - run.len()) as u32 * u32::from(width) + bits;
        for _ in 0..padded_bits.div_ceil(8) {
            out.push(acc as u8);
            acc >>= 8;
        }
    }
}

/// Appends `v` as a ULEB128 varint.
fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The bits needed for values up to `max`.
pub(crate) fn width_for(max: u32) -> u8 {
    (32 - max.leading_zeros()) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A plain reading of the hybrid encoding, written from the format's description.
    fn decode(mut b: &[u8], width: u8, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let bytes = usize::from(width).div_ceil(8);
        while out.len() < n {
            let mut header = 0u64;
            let mut shift = 0;
            loop {
                let byte = b[0];
                b = &b[1..];
                header |= u64::from(byte & 0x7f) << shift;
                shift += 7;
                if byte < 0x80 {
                    break;
                }
            }
            if header & 1 == 0 {
                let mut v = [0u8; 4];
                v[..bytes].copy_from_slice(&b[..bytes]);
                b = &b[bytes..];
                out.extend(std::iter::repeat_n(
                    u32::from_le_bytes(v),
                    (header >> 1) as usize,
                ));
            } else {
                let count = (header >> 1) as usize * 8;
                let len = count * usize::from(width) / 8;
                let packed = &b[..len];
                b = &b[len..];
                for k in 0..count {
                    let mut v = 0u32;
                    for bit in 0..usize::from(width) {
                        let at = k * usize::from(width) + bit;
                        v |= u32::from(packed[at / 8] >> (at % 8) & 1) << bit;
                    }
                    out.push(v);
                }
            }
        }
        assert!(b.is_empty(), "{} bytes left over", b.len());
        out.truncate(n);
        out
    }

    proptest! {
        #[test]
        fn decodes_back_to_the_values(
            width in 0u8..=32,
            runs in proptest::collection::vec((any::<u32>(), 1usize..40), 0..60),
        ) {
            let mask = if width == 32 { u32::MAX } else { (1u32 << width) - 1 };
            let values: Vec<u32> = runs
                .iter()
                .flat_map(|&(v, k)| std::iter::repeat_n(v & mask, k))
                .collect();
            let mut out = Vec::new();
            encode(&values, width, &mut out);
            prop_assert_eq!(decode(&out, width, values.len()), values);
        }
    }

    #[test]
    fn long_mixed_input_uses_several_bit_packed_runs_and_rle() {
        let values: Vec<u32> = (0..2000u32)
            .map(|i| if i < 1000 { i % 7 } else { 3 })
            .collect();
        let mut out = Vec::new();
        encode(&values, 3, &mut out);
        assert_eq!(decode(&out, 3, values.len()), values);
        // 1000 mixed values: at least two bit-packed runs of ≤ 504 values, then one RLE run.
        assert!(out.len() < 1000 * 3 / 8 + 20, "{} bytes", out.len());
    }

    #[test]
    fn widths_cover_the_maximum() {
        assert_eq!(width_for(0), 0);
        assert_eq!(width_for(1), 1);
        assert_eq!(width_for(255), 8);
        assert_eq!(width_for(256), 9);
        assert_eq!(width_for(u32::MAX), 32);
    }
}
