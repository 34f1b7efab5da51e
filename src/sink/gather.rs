//! Splitting the rows of several batches into groups (a dataset's partitions): one pass over
//! each column that reads it in order and appends each value to its group's array — a radix
//! scatter. Reading a column once, in order, instead of once per group keeps the copy bound by
//! memory bandwidth when rows of many partitions are interleaved. Short strings are copied with
//! [`crate::parse::push_bytes`].

use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, StringArray, UInt32Array};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use arrow::error::ArrowError;

/// Where a source's rows go.
#[derive(Clone, Copy, Debug)]
pub enum Dest<'a> {
    /// Every row to this group.
    All(u32),
    /// Row r to group `rows[r]`.
    Rows(&'a [u32]),
    /// Nowhere (the caller hands these rows on by other means).
    Skip,
}

/// Rows per group for sources of `(length, destination)`, checking every destination is below
/// `groups` and every row list is as long as its source.
pub fn counts(dests: &[(usize, Dest<'_>)], groups: usize) -> Result<Vec<usize>, ArrowError> {
    let mut counts = vec![0usize; groups];
    let out_of_range =
        || ArrowError::InvalidArgumentError("scatter: a destination is out of range".into());
    for (len, d) in dests {
        match d {
            Dest::All(g) => *counts.get_mut(*g as usize).ok_or_else(out_of_range)? += len,
            Dest::Rows(r) => {
                if r.len() != *len {
                    return Err(out_of_range());
                }
                for &g in *r {
                    *counts.get_mut(g as usize).ok_or_else(out_of_range)? += 1;
                }
            }
            Dest::Skip => {}
        }
    }
    Ok(counts)
}

/// Splits the rows of `sources` (one column of successive batches, all of one data type) into
/// one array per group, keeping their order; `counts` is what [`counts`] gives for these
/// destinations (the same for every column of the batches, so it is computed once). Groups
/// that receive no rows get empty arrays.
pub(crate) fn scatter(
    sources: &[(&dyn Array, Dest<'_>)],
    counts: &[usize],
) -> Result<Vec<ArrayRef>, ArrowError> {
    let Some((first, _)) = sources.first() else {
        return Err(ArrowError::InvalidArgumentError(
            "scatter: no sources".into(),
        ));
    };
    if let Some((a, _)) = sources
        .iter()
        .find(|(a, _)| a.data_type() != first.data_type())
    {
        return Err(ArrowError::InvalidArgumentError(format!(
            "scatter: sources of different types ({} and {})",
            first.data_type(),
            a.data_type()
        )));
    }
    let dests: Vec<(usize, Dest<'_>)> = sources.iter().map(|(a, d)| (a.len(), *d)).collect();
    let arrays: Vec<ArrayRef> = match first.data_type() {
        DataType::Int32 => primitive::<Int32Type>(sources, counts, nulls(sources, counts)),
        DataType::Int64 => primitive::<Int64Type>(sources, counts, nulls(sources, counts)),
        DataType::Utf8 => strings(sources, counts, nulls(sources, counts))?,
        _ => by_take(sources, counts.len())?,
    };
    // Counts that don't belong to these destinations show here (never as bad memory access:
    // every index above is checked).
    if arrays.iter().map(|a| a.len()).ne(counts.iter().copied()) || dests.is_empty() {
        return Err(ArrowError::InvalidArgumentError(
            "scatter: counts do not match the destinations".into(),
        ));
    }
    Ok(arrays)
}

/// Each group's validity, or None for all groups when no source has nulls. Bits are set
/// straight into 64-bit words.
fn nulls(sources: &[(&dyn Array, Dest<'_>)], counts: &[usize]) -> Vec<Option<NullBuffer>> {
    if sources.iter().all(|(a, _)| a.null_count() == 0) {
        return vec![None; counts.len()];
    }
    let mut words: Vec<Vec<u64>> = counts.iter().map(|n| vec![0u64; n.div_ceil(64)]).collect();
    let mut pos = vec![0usize; counts.len()];
    let mut set = |g: usize, valid: bool| {
        let p = pos[g];
        words[g][p >> 6] |= u64::from(valid) << (p & 63);
        pos[g] = p + 1;
    };
    for (a, d) in sources {
        let valid = |i: usize| a.nulls().is_none_or(|n| n.is_valid(i));
        match d {
            Dest::All(g) => {
                for i in 0..a.len() {
                    set(*g as usize, valid(i));
                }
            }
            Dest::Rows(r) => {
                for (i, &g) in r.iter().enumerate() {
                    set(g as usize, valid(i));
                }
            }
            Dest::Skip => {}
        }
    }
    // Lengths are the bits set (they equal `counts` when the counts are right).
    words
        .into_iter()
        .zip(pos)
        .map(|(w, n)| {
            let bits = BooleanBuffer::new(Buffer::from_vec(w), 0, n);
            let nb = NullBuffer::new(bits);
            (nb.null_count() > 0).then_some(nb)
        })
        .collect()
}

fn primitive<T: ArrowPrimitiveType>(
    sources: &[(&dyn Array, Dest<'_>)],
    counts: &[usize],
    nulls: Vec<Option<NullBuffer>>,
) -> Vec<ArrayRef> {
    let mut out: Vec<Vec<T::Native>> = counts.iter().map(|&n| Vec::with_capacity(n)).collect();
    for (a, d) in sources {
        let v = a
            .as_any()
            .downcast_ref::<PrimitiveArray<T>>()
            .expect("type checked by scatter")
            .values();
        match d {
            Dest::All(g) => out[*g as usize].extend_from_slice(v),
            Dest::Rows(r) => {
                for (x, &g) in v.iter().zip(r.iter()) {
                    out[g as usize].push(*x);
                }
            }
            Dest::Skip => {}
        }
    }
    out.into_iter()
        .zip(nulls)
        .map(|(v, n)| std::sync::Arc::new(PrimitiveArray::<T>::new(v.into(), n)) as ArrayRef)
        .collect()
}

fn strings(
    sources: &[(&dyn Array, Dest<'_>)],
    counts: &[usize],
    nulls: Vec<Option<NullBuffer>>,
) -> Result<Vec<ArrayRef>, ArrowError> {
    let arrays: Vec<&StringArray> = sources
        .iter()
        .map(|(a, _)| {
            a.as_any()
                .downcast_ref::<StringArray>()
                .expect("type checked by scatter")
        })
        .collect();
    let mut bytes = vec![0usize; counts.len()];
    for (s, (_, d)) in arrays.iter().zip(sources) {
        let o = s.value_offsets();
        match d {
            Dest::All(g) => bytes[*g as usize] += (o[s.len()] - o[0]) as usize,
            Dest::Rows(r) => {
                for (w, &g) in o.windows(2).zip(r.iter()) {
                    bytes[g as usize] += (w[1] - w[0]) as usize;
                }
            }
            Dest::Skip => {}
        }
    }
    if let Some(&b) = bytes.iter().find(|&&b| b > i32::MAX as usize) {
        return Err(ArrowError::OffsetOverflowError(b));
    }
    let mut offsets: Vec<Vec<i32>> = counts
        .iter()
        .map(|&n| {
            let mut o = Vec::with_capacity(n + 1);
            o.push(0);
            o
        })
        .collect();
    let mut data: Vec<Vec<u8>> = bytes.iter().map(|&b| Vec::with_capacity(b)).collect();
    for (s, (_, d)) in arrays.iter().zip(sources) {
        let o = s.value_offsets();
        let v = s.value_data();
        match d {
            Dest::All(g) => {
                let (offs, dat) = (&mut offsets[*g as usize], &mut data[*g as usize]);
                let shift = dat.len() as i32 - o[0];
                dat.extend_from_slice(&v[o[0] as usize..o[s.len()] as usize]);
                offs.extend(o[1..].iter().map(|x| x + shift));
            }
            Dest::Rows(r) => {
                for (w, &g) in o.windows(2).zip(r.iter()) {
                    let dat = &mut data[g as usize];
                    crate::parse::push_bytes(dat, &v[w[0] as usize..w[1] as usize]);
                    offsets[g as usize].push(dat.len() as i32);
                }
            }
            Dest::Skip => {}
        }
    }
    Ok(offsets
        .into_iter()
        .zip(data)
        .zip(nulls)
        .map(|((o, d), n)| {
            let offsets = OffsetBuffer::new(ScalarBuffer::from(o));
            // SAFETY: `d` is whole values of valid StringArrays copied back to back, so every
            // value is valid UTF-8; the offsets start at 0, grow by each value's length and
            // end at `d.len()` (at most i32::MAX, checked above); the null buffer, when
            // present, has one bit per value.
            let a = unsafe { StringArray::new_unchecked(offsets, d.into(), n) };
            std::sync::Arc::new(a) as ArrayRef
        })
        .collect())
}

/// Any other type: each group's rows taken from each source, then joined.
fn by_take(sources: &[(&dyn Array, Dest<'_>)], groups: usize) -> Result<Vec<ArrayRef>, ArrowError> {
    let mut out = Vec::with_capacity(groups);
    for g in 0..groups as u32 {
        let mut pieces: Vec<ArrayRef> = Vec::new();
        for (a, d) in sources {
            let idx: Vec<u32> = match d {
                Dest::All(x) if *x == g => (0..a.len() as u32).collect(),
                Dest::Rows(r) => (0..r.len() as u32)
                    .filter(|&i| r[i as usize] == g)
                    .collect(),
                _ => continue,
            };
            pieces.push(arrow::compute::take(*a, &UInt32Array::from(idx), None)?);
        }
        if pieces.is_empty() {
            out.push(arrow::array::new_empty_array(sources[0].0.data_type()));
        } else {
            let refs: Vec<&dyn Array> = pieces.iter().map(|p| p.as_ref()).collect();
            out.push(arrow::compute::concat(&refs)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BooleanArray, Int32Array, Int64Array};

    /// A small deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn equals_taking_each_groups_rows_for_every_type_with_and_without_nulls() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..300 {
            let with_nulls = round % 2 == 0;
            let groups = 1 + (rng.next() % 6) as usize;
            let nsrc = 1 + (rng.next() % 4) as usize;
            let mut cols: Vec<Vec<ArrayRef>> = vec![Vec::new(); 4];
            let mut dests: Vec<(u8, u32, Vec<u32>)> = Vec::new();
            for _ in 0..nsrc {
                let n = (rng.next() % 60) as usize;
                let mut a = Vec::new();
                let mut b = Vec::new();
                let mut c = Vec::new();
                let mut d = Vec::new();
                for _ in 0..n {
                    let null = with_nulls && rng.next().is_multiple_of(5);
                    let x = rng.next();
                    a.push((!null).then_some(x as i64));
                    b.push((!null).then_some(x as i32));
                    // Short and long values (the block copy and the fallback).
                    c.push((!null).then(|| "é-xyz".repeat((x % 12) as usize)));
                    d.push((!null).then_some(x.is_multiple_of(2)));
                }
                // Sliced sources (offsets not starting at zero) too.
                let off = usize::from(n > 2);
                let len = n - off;
                cols[0]
                    .push((std::sync::Arc::new(Int64Array::from(a)) as ArrayRef).slice(off, len));
                cols[1]
                    .push((std::sync::Arc::new(Int32Array::from(b)) as ArrayRef).slice(off, len));
                cols[2]
                    .push((std::sync::Arc::new(StringArray::from(c)) as ArrayRef).slice(off, len));
                cols[3]
                    .push((std::sync::Arc::new(BooleanArray::from(d)) as ArrayRef).slice(off, len));
                let kind = (rng.next() % 3) as u8;
                let all = (rng.next() % groups as u64) as u32;
                let rows = (0..len)
                    .map(|_| (rng.next() % groups as u64) as u32)
                    .collect();
                dests.push((kind, all, rows));
            }
            for col in &cols {
                let sources: Vec<(&dyn Array, Dest<'_>)> = col
                    .iter()
                    .zip(&dests)
                    .map(|(a, (kind, all, rows))| {
                        let d = match kind {
                            0 => Dest::All(*all),
                            1 => Dest::Rows(rows),
                            _ => Dest::Skip,
                        };
                        (a.as_ref(), d)
                    })
                    .collect();
                let dests: Vec<(usize, Dest<'_>)> =
                    sources.iter().map(|(a, d)| (a.len(), *d)).collect();
                let got = scatter(&sources, &counts(&dests, groups).unwrap()).unwrap();
                assert_eq!(got.len(), groups);
                // The oracle: arrow's interleave of each group's (source, row) pairs.
                let values: Vec<&dyn Array> = sources.iter().map(|(a, _)| *a).collect();
                for (g, got) in got.iter().enumerate() {
                    let mut pairs = Vec::new();
                    for (s, (a, d)) in sources.iter().enumerate() {
                        for r in 0..a.len() {
                            let to = match d {
                                Dest::All(x) => Some(*x),
                                Dest::Rows(rows) => Some(rows[r]),
                                Dest::Skip => None,
                            };
                            if to == Some(g as u32) {
                                pairs.push((s, r));
                            }
                        }
                    }
                    let want = arrow::compute::interleave(&values, &pairs).unwrap();
                    assert_eq!(got.as_ref(), want.as_ref(), "round {round} group {g}");
                }
            }
        }
    }

    #[test]
    fn bad_destinations_and_mixed_types_are_refused() {
        let a = Int64Array::from(vec![1, 2]);
        let b = StringArray::from(vec!["x", "y"]);
        assert!(scatter(&[(&a, Dest::All(0)), (&b, Dest::All(0))], &[4]).is_err());
        assert!(counts(&[(2, Dest::All(1))], 1).is_err());
        assert!(counts(&[(2, Dest::Rows(&[0]))], 1).is_err());
        assert!(counts(&[(2, Dest::Rows(&[0, 2]))], 2).is_err());
        assert!(scatter(&[(&a, Dest::All(0))], &[3]).is_err());
        assert!(scatter(&[], &[1]).is_err());
    }
}
