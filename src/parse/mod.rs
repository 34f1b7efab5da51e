//! One line → tokens, and tokens → typed values. No allocation, no Arrow, no files.
//!
//! A flow log record is a line of tokens separated by runs of spaces or tabs. A carriage return
//! before the line feed is not part of the last token. Integers are plain unsigned decimal
//! (AWS never writes a sign); `-` alone means "no value" and is handled by the caller.
//!
//! The fast routines here (`parse_u64`, `is_ipv4`, `is_ip`) are property-tested against the
//! standard library's `str::parse` in this module's tests.

pub mod chunk;

/// Why a line or a token was refused. Small and `Copy`, so the hot path can return it cheaply;
/// the decoder adds file, line and field when it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// Not a plain decimal number.
    NotInteger,
    /// A decimal number larger than the column allows.
    OutOfRange,
    /// A number with a sign (`-5`, `+5`): AWS never writes one.
    Negative,
    /// Not an IPv4 or IPv6 address.
    NotIp,
}

impl TokenError {
    /// Human-readable reason.
    pub fn describe(self) -> &'static str {
        match self {
            TokenError::NotInteger => "not a decimal integer",
            TokenError::OutOfRange => "integer out of range",
            TokenError::Negative => "negative or signed integer",
            TokenError::NotIp => "not an IP address",
        }
    }
}

/// Whether `b` separates tokens.
#[inline(always)]
pub(crate) fn is_sep(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The record after the ISO 8601 timestamp CloudWatch Logs writes before each record in its
/// exports to S3 (`2026-11-25T20:00:00.000Z 2 123456789012 eni-…`); `None` when the line doesn't
/// start with such a timestamp.
pub(crate) fn strip_export_timestamp(line: &[u8]) -> Option<&[u8]> {
    let end = line.iter().position(|&b| is_sep(b)).unwrap_or(line.len());
    let ts = &line[..end];
    let date_ok = ts.len() >= 11
        && ts[..4].iter().all(u8::is_ascii_digit)
        && ts[4] == b'-'
        && ts[5..7].iter().all(u8::is_ascii_digit)
        && ts[7] == b'-'
        && ts[8..10].iter().all(u8::is_ascii_digit)
        && ts[10] == b'T'
        && ts[11..]
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b':' | b'.' | b'+' | b'-' | b'Z'));
    if !date_ok {
        return None;
    }
    let mut rest = &line[end..];
    while let [first, r @ ..] = rest {
        if is_sep(*first) {
            rest = r;
        } else {
            break;
        }
    }
    Some(rest)
}

/// Strips a trailing `\r` (CRLF line ends) and surrounding spaces/tabs.
#[inline]
pub(crate) fn trim_line(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., last] = line {
        if *last == b'\r' || is_sep(*last) {
            line = rest;
        } else {
            break;
        }
    }
    while let [first, rest @ ..] = line {
        if is_sep(*first) {
            line = rest;
        } else {
            break;
        }
    }
    line
}

/// A word whose bytes have their high bit set exactly where the byte of `w` is a space or a tab.
/// Exact per byte (no borrow crosses a byte): `t & 0x7f + 0x7f` sets the high bit of every byte
/// of `t` that has a low bit set, `| t` adds those with the high bit set, so only zero bytes of
/// `t = w ^ pattern` are left clear.
#[inline(always)]
fn sep_mask(w: u64) -> u64 {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |t: u64| !(((t & LO7).wrapping_add(LO7)) | t) & HI;
    zero_bytes(w ^ 0x2020_2020_2020_2020) | zero_bytes(w ^ 0x0909_0909_0909_0909)
}

/// Where the token starting at `i` ends: the next separator, or the end of the line. Scans eight
/// bytes at a time.
#[inline(always)]
pub(crate) fn token_end(line: &[u8], mut i: usize) -> usize {
    loop {
        if let Some(word) = line.get(i..i + 8) {
            let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            let m = sep_mask(w);
            if m != 0 {
                return i + (m.trailing_zeros() / 8) as usize;
            }
            i += 8;
        } else {
            while i < line.len() && !is_sep(line[i]) {
                i += 1;
            }
            return i;
        }
    }
}

/// An integer token read by [`int_token`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IntToken {
    Value(u64),
    /// `-`: no value.
    Null,
    /// Anything else: left to [`parse_uint`], which says why (or accepts a form this fast reader
    /// doesn't, such as more than 19 digits).
    Other,
}

/// Reads the integer token starting at `*i` (not a separator) in one pass, moving `*i` to its
/// end: plain decimal of up to 19 digits that is at most `max`, or `-`. What it reads as a value
/// [`parse_uint`] reads as the same value.
#[inline(always)]
pub(crate) fn int_token(line: &[u8], i: &mut usize, max: u64) -> IntToken {
    let start = *i;
    let mut v = 0u64;
    let mut k = start;
    let end = line.len().min(start + 19);
    while k < end {
        let d = line[k].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = v * 10 + u64::from(d);
        k += 1;
    }
    let ends = k == line.len() || is_sep(line[k]);
    *i = k;
    if k > start {
        if ends && v <= max {
            IntToken::Value(v)
        } else {
            IntToken::Other
        }
    } else if line.get(k) == Some(&b'-') && line.get(k + 1).is_none_or(|&b| is_sep(b)) {
        *i = k + 1;
        IntToken::Null
    } else {
        IntToken::Other
    }
}

/// Splits a trimmed line into token spans `(start, end)`, writing at most `out.len()` of them.
/// Returns the total number of tokens in the line, which may exceed `out.len()`; only the first
/// `out.len()` spans are written then. Scans eight bytes at a time for the end of a token.
#[inline]
pub(crate) fn tokenize(line: &[u8], out: &mut [(u32, u32)]) -> usize {
    let mut n = 0usize;
    let mut i = 0usize;
    let len = line.len();
    while i < len {
        while i < len && is_sep(line[i]) {
            i += 1;
        }
        if i >= len {
            break;
        }
        let start = i;
        i = token_end(line, i);
        if let Some(slot) = out.get_mut(n) {
            *slot = (start as u32, i as u32);
        }
        n += 1;
    }
    n
}

/// Checks that `line` is UTF-8 as `str::from_utf8` does, with its error. Flow log records are
/// ASCII: those are recognised eight bytes at a time, and only a line with a non-ASCII byte is
/// handed to the standard library's validator.
#[inline]
pub(crate) fn check_utf8(line: &[u8]) -> Result<(), std::str::Utf8Error> {
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut words = line.chunks_exact(8);
    let mut high = 0u64;
    for w in &mut words {
        high |= u64::from_le_bytes(w.try_into().expect("8 bytes"));
    }
    let tail_high = words.remainder().iter().fold(0u8, |a, &b| a | b);
    if high & HI == 0 && tail_high < 0x80 {
        return Ok(());
    }
    std::str::from_utf8(line).map(|_| ())
}

/// Parses plain unsigned decimal (`0`, `42`, `007`) with an upper bound.
#[inline]
pub(crate) fn parse_uint(tok: &[u8], max: u64) -> Result<u64, TokenError> {
    let Some(&first) = tok.first() else {
        return Err(TokenError::NotInteger);
    };
    if first == b'-' || first == b'+' {
        return if tok.len() > 1 && tok[1..].iter().all(u8::is_ascii_digit) {
            Err(TokenError::Negative)
        } else {
            Err(TokenError::NotInteger)
        };
    }
    let mut v: u64 = 0;
    let mut overflow = false;
    if tok.len() <= 19 {
        // Up to 19 digits can't overflow a u64 (10^19 - 1 < 2^64): no checked arithmetic.
        for &b in tok {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return Err(TokenError::NotInteger);
            }
            v = v * 10 + u64::from(d);
        }
    } else {
        for &b in tok {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return Err(TokenError::NotInteger);
            }
            match v.checked_mul(10).and_then(|x| x.checked_add(u64::from(d))) {
                Some(x) => v = x,
                None => overflow = true,
            }
        }
    }
    if overflow || v > max {
        Err(TokenError::OutOfRange)
    } else {
        Ok(v)
    }
}

/// Appends `bytes` to `out`. Flow log values are short (addresses, ids, numbers):
/// up to 32 bytes are copied inline as two overlapping loads and stores of 4, 8 or 16 bytes,
/// instead of a call into `memcpy` per value (which profiles of the parser and of ECS output
/// showed as a large single cost); longer ones go through `extend_from_slice`.
#[inline(always)]
pub fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    if !(4..=32).contains(&n) {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(n);
    let len = out.len();
    let src = bytes.as_ptr();
    // SAFETY: `reserve` made room for `n` more bytes, so `dst..dst + n` is inside the
    // allocation; every load below reads within `src..src + n` (the block sizes are at most
    // `n`, and the second block ends exactly at `n`); source and destination are different
    // allocations (`bytes` cannot borrow `out` while `out` is borrowed mutably); all `n` bytes
    // are written before the length is raised.
    unsafe {
        let dst = out.as_mut_ptr().add(len);
        if n >= 16 {
            let a = std::ptr::read_unaligned(src.cast::<[u8; 16]>());
            let b = std::ptr::read_unaligned(src.add(n - 16).cast::<[u8; 16]>());
            std::ptr::write_unaligned(dst.cast::<[u8; 16]>(), a);
            std::ptr::write_unaligned(dst.add(n - 16).cast::<[u8; 16]>(), b);
        } else if n >= 8 {
            let a = std::ptr::read_unaligned(src.cast::<u64>());
            let b = std::ptr::read_unaligned(src.add(n - 8).cast::<u64>());
            std::ptr::write_unaligned(dst.cast::<u64>(), a);
            std::ptr::write_unaligned(dst.add(n - 8).cast::<u64>(), b);
        } else {
            let a = std::ptr::read_unaligned(src.cast::<u32>());
            let b = std::ptr::read_unaligned(src.add(n - 4).cast::<u32>());
            std::ptr::write_unaligned(dst.cast::<u32>(), a);
            std::ptr::write_unaligned(dst.add(n - 4).cast::<u32>(), b);
        }
        out.set_len(len + n);
    }
}

/// Whether `tok` is a dotted-quad IPv4 address exactly as `Ipv4Addr::from_str` accepts it
/// (four decimal octets ≤ 255, no leading zeros except `0` itself).
#[inline]
pub(crate) fn is_ipv4(tok: &[u8]) -> bool {
    ipv4_value(tok).is_some()
}

/// The address `tok` spells, if it is a dotted-quad IPv4 address exactly as
/// `Ipv4Addr::from_str` accepts it (as a big-endian number, `u32::from(Ipv4Addr)`).
#[inline]
pub(crate) fn ipv4_value(tok: &[u8]) -> Option<u32> {
    if tok.len() < 7 || tok.len() > 15 {
        return None;
    }
    let mut octets = 0;
    let mut value: u32 = 0;
    let mut i = 0;
    while i <= tok.len() {
        let start = i;
        let mut v: u32 = 0;
        while i < tok.len() && tok[i].is_ascii_digit() {
            v = v * 10 + u32::from(tok[i] - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 3 || v > 255 || (digits > 1 && tok[start] == b'0') {
            return None;
        }
        octets += 1;
        value = value << 8 | v;
        if i == tok.len() {
            break;
        }
        if tok[i] != b'.' || octets == 4 {
            return None;
        }
        i += 1;
    }
    (octets == 4).then_some(value)
}

/// The address `tok` spells if it is an IPv6 address in hexadecimal groups only (eight groups,
/// or fewer around one `::`), as a big-endian number (`u128::from(Ipv6Addr)`). Everything it
/// accepts, `Ipv6Addr::from_str` accepts with the same value; forms it leaves to the standard
/// parser (a trailing dotted quad, anything unusual) give None.
///
/// Always inlined, like [`is_ip`]: it sits in the per-line loop (see there).
#[inline(always)]
pub(crate) fn ipv6_value(tok: &[u8]) -> Option<u128> {
    if tok.len() < 2 || tok.len() > 39 {
        return None;
    }
    let mut groups = [0u16; 8];
    let mut n = 0;
    // Where `::` stands (the number of groups before it), if anywhere.
    let mut gap: Option<usize> = None;
    let mut i = 0;
    if tok.starts_with(b"::") {
        gap = Some(0);
        i = 2;
        if i == tok.len() {
            return Some(0);
        }
    }
    loop {
        let start = i;
        let mut v: u32 = 0;
        while i < tok.len() && i - start < 5 {
            let d = match tok[i] {
                c @ b'0'..=b'9' => c - b'0',
                c @ b'a'..=b'f' => c - b'a' + 10,
                c @ b'A'..=b'F' => c - b'A' + 10,
                _ => break,
            };
            v = v << 4 | u32::from(d);
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 4 || n == 8 {
            return None;
        }
        groups[n] = v as u16;
        n += 1;
        if i == tok.len() {
            break;
        }
        if tok[i] != b':' {
            return None;
        }
        i += 1;
        if i < tok.len() && tok[i] == b':' {
            if gap.is_some() {
                return None;
            }
            gap = Some(n);
            i += 1;
            if i == tok.len() {
                break;
            }
        } else if i == tok.len() {
            return None;
        }
    }
    let mut full = [0u16; 8];
    match gap {
        None if n == 8 => full = groups,
        Some(g) if n <= 7 => {
            full[..g].copy_from_slice(&groups[..g]);
            full[8 - (n - g)..].copy_from_slice(&groups[g..n]);
        }
        _ => return None,
    }
    Some(full.iter().fold(0u128, |acc, &g| acc << 16 | u128::from(g)))
}

/// Whether `tok` is an IPv4 or IPv6 address as the standard library parses it.
///
/// Always inlined into the parser's per-line loop (`batch::parse_chunk`): when the module move
/// of issue 14 left it (and [`ipv6_value`]) a call, converting 100k all-fields records took 0.9%
/// more instructions (callgrind).
#[inline(always)]
pub(crate) fn is_ip(tok: &[u8]) -> bool {
    if is_ipv4(tok) || ipv6_value(tok).is_some() {
        return true;
    }
    if tok.len() < 2 || tok.len() > 45 || !tok.contains(&b':') {
        return false;
    }
    // Other IPv6 forms (a trailing dotted quad) and malformed text: the standard parser.
    std::str::from_utf8(tok).is_ok_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_bytes_appends_exactly_like_extend_from_slice() {
        let src: Vec<u8> = (0..100u8)
            .map(|b| b.wrapping_mul(37).wrapping_add(11))
            .collect();
        for prefix in 0..5 {
            for start in 0..9 {
                for n in 0..70 {
                    let piece = &src[start..start + n];
                    let mut fast: Vec<u8> = Vec::with_capacity(prefix + (n % 3));
                    fast.extend(std::iter::repeat_n(b'x', prefix));
                    let mut want = fast.clone();
                    push_bytes(&mut fast, piece);
                    want.extend_from_slice(piece);
                    assert_eq!(fast, want, "prefix {prefix} start {start} n {n}");
                    // And again on top (a full buffer that must grow).
                    push_bytes(&mut fast, piece);
                    want.extend_from_slice(piece);
                    assert_eq!(fast, want);
                }
            }
        }
    }

    #[test]
    fn ipv6_edge_forms_agree_with_std() {
        for t in [
            "::",
            "::1",
            "1::",
            "1::2",
            "1:2:3:4:5:6:7:8",
            "1::2:3:4:5:6:7",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6::8",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            ":1::2",
            "1::2:",
            "1:2:3:4:5:6:7",
            "12345::1",
            "0000:0000::ffff",
            "fFfF::AbCd",
            ":::",
            "1:::2",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "2600:1f18:0:8de0:b9ac:2891:e0f7:6938",
            "g::1",
            "1:",
            ":",
            "",
            "0:0:0:0:0:ffff:a00:1",
            "::ffff:a00:1",
        ] {
            let std = t.parse::<std::net::Ipv6Addr>().ok().map(u128::from);
            if let Some(v) = ipv6_value(t.as_bytes()) {
                assert_eq!(std, Some(v), "{t}");
            }
            assert_eq!(
                is_ip(t.as_bytes()),
                t.parse::<std::net::IpAddr>().is_ok(),
                "{t}"
            );
        }
    }

    #[test]
    fn export_timestamps() {
        assert_eq!(
            strip_export_timestamp(b"2026-11-25T20:00:00.000Z 2 123 eni-1"),
            Some(&b"2 123 eni-1"[..])
        );
        assert_eq!(
            strip_export_timestamp(b"2026-11-25T20:00:00+01:00\t2"),
            Some(&b"2"[..])
        );
        assert_eq!(strip_export_timestamp(b"2 123 eni-1"), None);
        assert_eq!(strip_export_timestamp(b"2026-11-25 2 123"), None);
        assert_eq!(strip_export_timestamp(b"2026-11-25Tx 2"), None);
    }
    use proptest::prelude::*;

    /// Token spans the plain way: a byte at a time.
    fn naive_spans(line: &[u8]) -> Vec<(u32, u32)> {
        let mut spans = Vec::new();
        let mut start = None;
        for (i, &b) in line.iter().enumerate() {
            match (is_sep(b), start) {
                (false, None) => start = Some(i),
                (true, Some(s)) => {
                    spans.push((s as u32, i as u32));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            spans.push((s as u32, line.len() as u32));
        }
        spans
    }

    proptest::proptest! {
        #[test]
        fn tokenize_agrees_with_a_byte_at_a_time_split(
            line in proptest::collection::vec(proptest::sample::select(vec![b' ', b'\t', b'a', b'-', b'\r', 0x80, b'9']), 0..140),
            room in 0usize..20,
        ) {
            let want = naive_spans(&line);
            let mut spans = vec![(u32::MAX, u32::MAX); room];
            let n = tokenize(&line, &mut spans);
            proptest::prop_assert_eq!(n, want.len());
            let written = n.min(room);
            proptest::prop_assert_eq!(&spans[..written], &want[..written]);
            proptest::prop_assert!(spans[written..].iter().all(|&s| s == (u32::MAX, u32::MAX)));
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_uint_agrees_with_std(digits in "[0-9]{1,25}", max in proptest::prelude::any::<u64>()) {
            let want = match digits.parse::<u64>() {
                Ok(v) if v <= max => Ok(v),
                _ => Err(TokenError::OutOfRange),
            };
            proptest::prop_assert_eq!(parse_uint(digits.as_bytes(), max), want);
        }

        #[test]
        fn check_utf8_agrees_with_std(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), ascii in 0usize..40) {
            let mut bytes = bytes;
            for b in bytes.iter_mut().take(ascii) {
                *b &= 0x7f;
            }
            proptest::prop_assert_eq!(check_utf8(&bytes), std::str::from_utf8(&bytes).map(|_| ()));
        }
    }

    fn tokens(line: &str) -> Vec<&str> {
        let line = trim_line(line.as_bytes());
        let mut spans = [(0u32, 0u32); 64];
        let n = tokenize(line, &mut spans);
        spans[..n.min(64)]
            .iter()
            .map(|&(s, e)| std::str::from_utf8(&line[s as usize..e as usize]).unwrap())
            .collect()
    }

    #[test]
    fn tokenizer_handles_runs_tabs_and_crlf() {
        assert_eq!(tokens("a b  c\td \t e\r"), ["a", "b", "c", "d", "e"]);
        assert_eq!(tokens("  lead trail  \r"), ["lead", "trail"]);
        assert!(tokens("   \r").is_empty());
        let mut spans = [(0u32, 0u32); 2];
        assert_eq!(tokenize(b"a b c d", &mut spans), 4);
    }

    #[test]
    fn uint_edges() {
        assert_eq!(parse_uint(b"0", 10), Ok(0));
        assert_eq!(parse_uint(b"007", 10), Ok(7));
        assert_eq!(parse_uint(b"11", 10), Err(TokenError::OutOfRange));
        assert_eq!(parse_uint(b"-1", 10), Err(TokenError::Negative));
        assert_eq!(parse_uint(b"+1", 10), Err(TokenError::Negative));
        assert_eq!(parse_uint(b"-", 10), Err(TokenError::NotInteger));
        assert_eq!(parse_uint(b"1a", 10), Err(TokenError::NotInteger));
        assert_eq!(parse_uint(b"", 10), Err(TokenError::NotInteger));
        assert_eq!(
            parse_uint(b"99999999999999999999999", u64::MAX),
            Err(TokenError::OutOfRange)
        );
        assert_eq!(parse_uint(b"18446744073709551615", u64::MAX), Ok(u64::MAX));
    }

    #[test]
    fn ip_edges() {
        for ok in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.1",
            "::",
            "::1",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "2001:db8:1234:a100:8d6e:3477:df66:f105",
        ] {
            assert!(is_ip(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "-",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "01.2.3.4",
            "1..2.3",
            "1.2.3.4 ",
            "eni-1",
            ":",
            "1:2",
            "10.0.0.1a",
            "1.2.3.-4",
        ] {
            assert!(!is_ip(bad.as_bytes()), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn uint_agrees_with_std(s in "[+-]?[0-9]{0,22}|[0-9a-z+-]{0,6}", max in any::<u64>()) {
            let ours = parse_uint(s.as_bytes(), max);
            let std = s.parse::<u64>();
            match std {
                Ok(v) if !s.starts_with('+') => prop_assert_eq!(ours.ok(), (v <= max).then_some(v)),
                _ => prop_assert!(ours.is_err()),
            }
        }

        #[test]
        fn ipv6_fast_path_agrees_with_std(v in any::<u128>(), zeros in 0u32..8, noise in "[0-9a-fA-F:.]{0,40}", pick in 0usize..4) {
            // Runs of zero groups, so `::` appears in every position.
            let mask = if zeros == 0 { u128::MAX } else { !(((1u128 << (16 * zeros)) - 1) << (16 * (pick as u32 * 2 % (9 - zeros)))) };
            let a = std::net::Ipv6Addr::from(v & mask);
            let groups = a.segments();
            let forms = [
                a.to_string(),
                groups.iter().map(|g| format!("{g:x}")).collect::<Vec<_>>().join(":"),
                groups.iter().map(|g| format!("{g:04X}")).collect::<Vec<_>>().join(":"),
            ];
            for f in &forms {
                if !f.contains('.') {
                    prop_assert_eq!(ipv6_value(f.as_bytes()), Some(u128::from(a)), "{}", f);
                }
                prop_assert!(is_ip(f.as_bytes()));
            }
            // Whatever the fast path accepts, the standard parser accepts with the same value;
            // and is_ip agrees with the standard parser on any text.
            if let Some(x) = ipv6_value(noise.as_bytes()) {
                prop_assert_eq!(noise.parse::<std::net::Ipv6Addr>().ok().map(u128::from), Some(x), "{}", noise);
            }
            prop_assert_eq!(is_ip(noise.as_bytes()), noise.parse::<std::net::IpAddr>().is_ok(), "{}", noise);
        }

        #[test]
        fn ipv4_agrees_with_std(a in any::<[u8; 4]>(), noise in "[0-9.]{0,16}") {
            let s = format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
            prop_assert!(is_ipv4(s.as_bytes()));
            prop_assert_eq!(ipv4_value(s.as_bytes()), Some(u32::from_be_bytes(a)));
            prop_assert_eq!(is_ipv4(noise.as_bytes()), noise.parse::<std::net::Ipv4Addr>().is_ok());
            prop_assert_eq!(ipv4_value(noise.as_bytes()), noise.parse::<std::net::Ipv4Addr>().ok().map(u32::from));
        }

        #[test]
        fn ip_agrees_with_std(s in "[0-9a-f:.]{0,40}", v6 in any::<[u16; 8]>()) {
            prop_assert_eq!(is_ip(s.as_bytes()), s.parse::<std::net::IpAddr>().is_ok());
            let t = std::net::Ipv6Addr::from(v6).to_string();
            prop_assert!(is_ip(t.as_bytes()));
        }

        #[test]
        fn separator_mask_is_exact(w in any::<[u8; 8]>()) {
            let m = sep_mask(u64::from_le_bytes(w));
            for (k, b) in w.iter().enumerate() {
                prop_assert_eq!(m >> (8 * k + 7) & 1 == 1, *b == b' ' || *b == b'\t', "byte {}", k);
            }
        }

        #[test]
        fn tokenizer_agrees_with_split_whitespace(s in "[ \tab1\u{80}\u{a0}é-]{0,60}\r?") {
            let naive: Vec<&str> = s.trim_end_matches('\r').split([' ', '\t']).filter(|t| !t.is_empty()).collect();
            prop_assert_eq!(tokens(&s), naive);
        }
    }
}
