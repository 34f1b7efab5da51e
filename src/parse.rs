//! One line → tokens, and tokens → typed values. No allocation, no Arrow, no files.
//!
//! A flow log record is a line of tokens separated by runs of spaces or tabs. A carriage return
//! before the line feed is not part of the last token. Integers are plain unsigned decimal
//! (AWS never writes a sign); `-` alone means "no value" and is handled by the caller.
//!
//! The fast routines here (`parse_u64`, `is_ipv4`, `is_ip`) are property-tested against the
//! standard library's `str::parse` in this module's tests.

/// Why a line or a token was refused. Small and `Copy`, so the hot path can return it cheaply;
/// the decoder adds file, line and field when it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
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
pub fn is_sep(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The record after the ISO 8601 timestamp CloudWatch Logs writes before each record in its
/// exports to S3 (`2026-11-25T20:00:00.000Z 2 123456789012 eni-…`); `None` when the line doesn't
/// start with such a timestamp.
pub fn strip_export_timestamp(line: &[u8]) -> Option<&[u8]> {
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
pub fn trim_line(mut line: &[u8]) -> &[u8] {
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

/// Splits a trimmed line into token spans `(start, end)`, writing at most `out.len()` of them.
/// Returns the total number of tokens in the line, which may exceed `out.len()`; only the first
/// `out.len()` spans are written then. Scans eight bytes at a time for the end of a token.
#[inline]
pub fn tokenize(line: &[u8], out: &mut [(u32, u32)]) -> usize {
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
        loop {
            if let Some(word) = line.get(i..i + 8) {
                let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
                let m = sep_mask(w);
                if m != 0 {
                    i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            } else {
                while i < len && !is_sep(line[i]) {
                    i += 1;
                }
                break;
            }
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = (start as u32, i as u32);
        }
        n += 1;
    }
    n
}

/// Parses plain unsigned decimal (`0`, `42`, `007`) with an upper bound.
#[inline]
pub fn parse_uint(tok: &[u8], max: u64) -> Result<u64, TokenError> {
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
    if overflow || v > max {
        Err(TokenError::OutOfRange)
    } else {
        Ok(v)
    }
}

/// Whether `tok` is a dotted-quad IPv4 address exactly as `Ipv4Addr::from_str` accepts it
/// (four decimal octets ≤ 255, no leading zeros except `0` itself).
#[inline]
pub fn is_ipv4(tok: &[u8]) -> bool {
    if tok.len() < 7 || tok.len() > 15 {
        return false;
    }
    let mut octets = 0;
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
            return false;
        }
        octets += 1;
        if i == tok.len() {
            break;
        }
        if tok[i] != b'.' || octets == 4 {
            return false;
        }
        i += 1;
    }
    octets == 4
}

/// Whether `tok` is an IPv4 or IPv6 address as the standard library parses it.
#[inline]
pub fn is_ip(tok: &[u8]) -> bool {
    if is_ipv4(tok) {
        return true;
    }
    if tok.len() < 2 || tok.len() > 45 || !tok.contains(&b':') {
        return false;
    }
    // IPv6 is rarer and more involved: defer to the standard parser.
    std::str::from_utf8(tok).is_ok_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        fn ipv4_agrees_with_std(a in any::<[u8; 4]>(), noise in "[0-9.]{0,16}") {
            let s = format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
            prop_assert!(is_ipv4(s.as_bytes()));
            prop_assert_eq!(is_ipv4(noise.as_bytes()), noise.parse::<std::net::Ipv4Addr>().is_ok());
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
