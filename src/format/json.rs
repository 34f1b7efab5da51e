//! Writing JSON text straight into byte buffers: string escaping (a word-at-a-time scan for the
//! bytes that need it), an object-members writer, and Elastic-style timestamps. Shared by the
//! NDJSON and ECS writers and the GeoIP enrichment; no value trees.

use std::io::Write;

/// Bytes that JSON strings must escape: controls, `"` and backslash.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Whether any byte of the word is a control character, `"` or backslash (exact as a yes/no
/// answer: the classic "has a zero byte" / "has a byte less than n" tests).
#[inline(always)]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let has_less_than_0x20 = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    has_less_than_0x20
        || has_zero(w ^ (ONES * u64::from(b'"')))
        || has_zero(w ^ (ONES * u64::from(b'\\')))
}

/// Position of the first byte at or after `from` that JSON must escape.
#[inline]
fn next_escape(bytes: &[u8], mut from: usize) -> Option<usize> {
    while let Some(word) = bytes.get(from..from + 8) {
        if word_needs_escape(u64::from_le_bytes(word.try_into().expect("8 bytes"))) {
            break;
        }
        from += 8;
    }
    bytes[from..]
        .iter()
        .position(|&b| NEEDS_ESCAPE[b as usize])
        .map(|k| from + k)
}

/// Whether any byte of `bytes` must be escaped in a JSON string.
pub(crate) fn needs_escape(bytes: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        let mut chunks = bytes.chunks_exact(16);
        // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are always
        // available; each load reads exactly the 16 bytes of a `chunks_exact(16)` chunk.
        let found = unsafe {
            let ctl = _mm_set1_epi8(0x1f);
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let mut any = 0;
            for c in &mut chunks {
                let x = _mm_loadu_si128(c.as_ptr().cast::<__m128i>());
                // max(x, 0x1f) == 0x1f exactly when x <= 0x1f (unsigned).
                let low = _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl);
                let special = _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash));
                any |= _mm_movemask_epi8(_mm_or_si128(low, special));
                if any != 0 {
                    break;
                }
            }
            any != 0
        };
        found || next_escape(chunks.remainder(), 0).is_some()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        next_escape(bytes, 0).is_some()
    }
}

pub use crate::parse::push_bytes;

use crate::format::calendar::civil_from_days;

/// Appends `s` with JSON string escaping, without quotes (controls, `"` and backslash escaped;
/// everything else, non-ASCII included, copied as UTF-8).
#[inline]
pub(crate) fn push_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(i) = next_escape(bytes, start) {
        out.extend_from_slice(&bytes[start..i]);
        match bytes[i] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
        }
        start = i + 1;
    }
    push_bytes(out, &bytes[start..]);
}

/// Appends `s` as a JSON string literal (quotes included).
#[inline]
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    push_escaped(out, s);
    out.push(b'"');
}

/// `"name":` with `name` escaped: a member name from data (a column name), made once per schema
/// or batch and written with [`Obj::key_json`].
pub(crate) fn member_name(name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 3);
    push_json_str(&mut k, name);
    k.push(b':');
    k
}

/// Writes one JSON object's members, handling the commas.
pub(crate) struct Obj<'b> {
    /// The output.
    pub out: &'b mut Vec<u8>,
    /// No member written yet.
    pub first: bool,
    /// Text values need no escaping (the caller checked them all).
    pub clean: bool,
}

impl<'b> Obj<'b> {
    /// Starts an object (`{`) on `out`.
    pub fn open(out: &'b mut Vec<u8>, clean: bool) -> Self {
        out.push(b'{');
        Obj {
            out,
            first: true,
            clean,
        }
    }
    /// Opens a nested object under key `k`.
    #[inline(always)]
    pub fn child(&mut self, k: &str) -> Obj<'_> {
        let clean = self.clean;
        Obj::open(self.key(k), clean)
    }
    /// Writes `"k":` (after a comma unless first) and returns the output for the value. `k` is
    /// written as is: it must be a constant that needs no escaping. A name that comes from data
    /// (a column name) goes through [`member_name`] once and then [`Obj::key_json`].
    #[inline(always)]
    pub fn key(&mut self, k: &str) -> &mut Vec<u8> {
        debug_assert!(!needs_escape(k.as_bytes()), "unescaped JSON key {k:?}");
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }
    /// Writes a member name made by [`member_name`] (a JSON string literal and `:`), after a
    /// comma unless first, and returns the output for the value.
    #[inline(always)]
    pub(crate) fn key_json(&mut self, name: &[u8]) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(name);
        self.out
    }
    /// Appends the string value `v`, escaped unless the object was opened as clean.
    #[inline(always)]
    fn push_str_value(out: &mut Vec<u8>, clean: bool, v: &str) {
        if clean {
            out.push(b'"');
            push_bytes(out, v.as_bytes());
            out.push(b'"');
        } else {
            push_json_str(out, v);
        }
    }
    /// A string member.
    #[inline(always)]
    pub fn str(&mut self, k: &str, v: &str) {
        let clean = self.clean;
        Self::push_str_value(self.key(k), clean, v);
    }
    /// A string member whose name was made by [`member_name`].
    #[inline(always)]
    pub(crate) fn str_json_key(&mut self, name: &[u8], v: &str) {
        let clean = self.clean;
        Self::push_str_value(self.key_json(name), clean, v);
    }
    /// An integer member whose name was made by [`member_name`].
    #[inline(always)]
    pub(crate) fn int_json_key(&mut self, name: &[u8], v: i64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(v);
        push_bytes(self.key_json(name), s.as_bytes());
    }
    /// A string member, if present.
    #[inline(always)]
    pub(crate) fn opt_str(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }
    /// An integer member.
    #[inline(always)]
    pub(crate) fn int(&mut self, k: &str, v: i64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(v);
        push_bytes(self.key(k), s.as_bytes());
    }
    /// A member whose value is ready-made JSON.
    #[inline(always)]
    pub fn raw(&mut self, k: &str, json: &str) {
        self.key(k).extend_from_slice(json.as_bytes());
    }
    /// Ends the object (`}`).
    #[inline(always)]
    pub fn close(self) {
        self.out.push(b'}');
    }
}

/// Timestamp writing that keeps the date of the last day it wrote: the rows of a batch mostly
/// share a day, so the calendar arithmetic runs once per day instead of once per value.
#[derive(Default)]
pub struct Timestamps {
    day: Option<i64>,
    /// `"YYYY-MM-DDT` of `day`.
    date: [u8; 12],
}

impl Timestamps {
    /// Appends `"YYYY-MM-DDTHH:MM:SS.000Z"` (quotes included) for Unix seconds `t`; years
    /// outside 0–9999 are written with as many digits as they take.
    #[inline]
    pub fn push(&mut self, out: &mut Vec<u8>, t: i64) {
        let day = t.div_euclid(86_400);
        if self.day != Some(day) {
            let (y, mo, d) = civil_from_days(day);
            if !(0..=9999).contains(&y) {
                let s = t.rem_euclid(86_400);
                let _ = write!(
                    out,
                    "\"{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.000Z\"",
                    s / 3600,
                    s / 60 % 60,
                    s % 60
                );
                return;
            }
            let two = |v: i64| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
            let [y1, y2] = two(y / 100);
            let [y3, y4] = two(y % 100);
            let [m1, m2] = two(i64::from(mo));
            let [d1, d2] = two(i64::from(d));
            self.date = [b'"', y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2, b'T'];
            self.day = Some(day);
        }
        let s = t.rem_euclid(86_400);
        let two = |v: i64| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
        let [h1, h2] = two(s / 3600);
        let [n1, n2] = two(s / 60 % 60);
        let [s1, s2] = two(s % 60);
        let d = &self.date;
        out.extend_from_slice(&[
            d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], h1, h2, b':',
            n1, n2, b':', s1, s2, b'.', b'0', b'0', b'0', b'Z', b'"',
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `"YYYY-MM-DDTHH:MM:SS.000Z"` for `t` from a fresh cache (nothing to reuse).
    fn push_timestamp(out: &mut Vec<u8>, t: i64) {
        Timestamps::default().push(out, t);
    }

    proptest::proptest! {
        #[test]
        fn needs_escape_agrees_with_a_byte_scan(s in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80), clean_prefix in 0usize..70) {
            // Mostly-clean inputs too, so the escaping byte lands in every lane and the tail.
            let mut s = s;
            for b in s.iter_mut().take(clean_prefix) {
                if *b < 0x20 || *b == b'"' || *b == b'\\' {
                    *b = b'a';
                }
            }
            let naive = s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
            proptest::prop_assert_eq!(needs_escape(&s), naive);
        }

        #[test]
        fn escape_finder_agrees_with_a_byte_scan(s in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), from in 0usize..40) {
            let from = from.min(s.len());
            let naive = s[from..].iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\').map(|k| from + k);
            proptest::prop_assert_eq!(next_escape(&s, from), naive);
        }
    }

    #[test]
    fn cached_timestamps_equal_direct_ones() {
        let mut ts = Timestamps::default();
        let mut t: i64 = -86_400 * 3 - 5;
        let mut step = 1i64;
        // Back and forth across days, years and the range ends.
        let mut values = vec![0, -1, 1, 253_402_300_799, 253_402_300_800, -62_167_219_201];
        while t < 86_400 * 800 {
            values.push(t);
            t += step;
            step = (step * 7 + 13) % 200_003;
        }
        values.extend([5, 86_399, 86_400, 5]);
        for t in values {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            ts.push(&mut a, t);
            push_timestamp(&mut b, t);
            assert_eq!(a, b, "{t}");
        }
    }

    #[test]
    fn strings_are_escaped_like_serde_json() {
        for s in [
            "plain",
            "quote\"back\\slash",
            "ctl\u{1}\n\r\t",
            "ünïcødé",
            "",
        ] {
            let mut out = Vec::new();
            push_json_str(&mut out, s);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn timestamps_match_known_dates() {
        for (t, want) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (1477913820, "2016-10-31T11:37:00.000Z"),
            (164000066, "1975-03-14T03:34:26.000Z"),
            (951782400, "2000-02-29T00:00:00.000Z"),
            (4107542399, "2100-02-28T23:59:59.000Z"),
            (-1, "1969-12-31T23:59:59.000Z"),
        ] {
            let mut out = Vec::new();
            push_timestamp(&mut out, t);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("\"{want}\""),
                "{t}"
            );
        }
    }
}
