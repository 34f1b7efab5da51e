//! Where top-level JSON objects end in a byte stream, so an input of back-to-back objects
//! (CloudWatch Logs payloads, Firehose records without line feeds) is cut into blocks between
//! objects, and an object too long to hold is skipped as a unit. Byte framing only: what the
//! objects mean is [`crate::format::envelope`]'s.

/// A top-level piece of a JSON input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// A complete object: `buf[start..end]`.
    Object(usize, usize),
    /// Text outside any object (not white space): `buf[start..end]`.
    Stray(usize, usize),
}

/// The piece starting at or after `from` (white space skipped); `None` when the rest is blank or
/// the piece doesn't end within `buf`.
pub(crate) fn next_piece(buf: &[u8], from: usize) -> Option<Piece> {
    let start = from + buf[from..].iter().position(|b| !b.is_ascii_whitespace())?;
    if buf[start] != b'{' {
        // Stray text runs to the next object or line feed.
        let end = memchr::memchr2(b'{', b'\n', &buf[start..]).map(|i| start + i)?;
        return Some(Piece::Stray(start, end));
    }
    let mut depth = 0usize;
    let mut i = start;
    while i < buf.len() {
        let k = memchr::memchr3(b'{', b'}', b'"', &buf[i..])?;
        i += k;
        match buf[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(Piece::Object(start, i + 1));
                }
            }
            _ => {
                // A string: skip to its closing quote, stepping over escapes.
                i += 1;
                loop {
                    let k = memchr::memchr2(b'"', b'\\', buf.get(i..)?)?;
                    i += k;
                    if buf[i] == b'\\' {
                        i += 2;
                    } else {
                        break;
                    }
                }
            }
        }
        i += 1;
    }
    None
}

/// The complete pieces of `buf` and where the unfinished rest starts. With `at_end`, the rest is
/// the input's last piece and is returned too (as [`Piece::Stray`] when it is not an object).
pub fn scan(buf: &[u8], at_end: bool) -> (Vec<Piece>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        match next_piece(buf, pos) {
            Some(p) => {
                pos = match p {
                    Piece::Object(_, e) | Piece::Stray(_, e) => e,
                };
                out.push(p);
            }
            None => {
                if at_end && let Some(s) = buf[pos..].iter().position(|b| !b.is_ascii_whitespace())
                {
                    out.push(Piece::Stray(pos + s, buf.len()));
                }
                if at_end {
                    pos = buf.len();
                }
                break;
            }
        }
    }
    (out, pos)
}

/// Where a block of a JSON input may end: just after its last complete top-level piece.
pub fn object_boundary(buf: &[u8]) -> Option<usize> {
    let (pieces, end) = scan(buf, false);
    (!pieces.is_empty()).then_some(end)
}

/// Finds where a top-level piece ends when it is read in consecutive slices, as [`scan`] cuts
/// pieces: an object ends after its closing brace (braces inside strings don't count), other
/// text before the next `{` or line feed. Used to skip a piece too long to hold in memory.
#[derive(Debug, Default, Clone)]
pub struct PieceEnd {
    started: bool,
    stray: bool,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl PieceEnd {
    /// Feeds the next slice; where in it the piece ends (exclusive), if it does.
    pub fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            if !self.started {
                if !b.is_ascii_whitespace() {
                    self.started = true;
                    self.stray = b != b'{';
                    self.depth = usize::from(b == b'{');
                }
                continue;
            }
            if self.stray {
                if b == b'{' || b == b'\n' {
                    return Some(i);
                }
            } else if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
            } else {
                match b {
                    b'{' => self.depth += 1,
                    b'}' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    b'"' => self.in_string = true,
                    _ => {}
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_never_cut_an_object() {
        let input = br#"{"message":"a {"} {"message":"b"}{"mess"#;
        let end = object_boundary(input).unwrap();
        assert_eq!(&input[..end], br#"{"message":"a {"} {"message":"b"}"#);
        assert_eq!(object_boundary(br#"{"message":"a"#), None);
        // Escaped quotes and backslashes inside strings.
        let tricky = br#"{"message":"x\\"}{"message":"\"}"}"#;
        assert_eq!(object_boundary(tricky), Some(tricky.len()));
    }

    proptest::proptest! {
        /// Skipping a piece slice by slice ends it exactly where the splitter cuts it.
        #[test]
        fn piece_end_agrees_with_the_splitter(
            data in proptest::collection::vec(proptest::sample::select(b"{}\"\\ \nab:".to_vec()), 0..80),
            cuts in proptest::collection::vec(0usize..80, 0..4),
        ) {
            let (pieces, _) = scan(&data, false);
            for p in pieces {
                let (Piece::Object(s, e) | Piece::Stray(s, e)) = p;
                let mut bounds: Vec<usize> = cuts.iter().map(|c| s + c % (data.len() - s + 1)).collect();
                bounds.push(s);
                bounds.push(data.len());
                bounds.sort_unstable();
                let mut end = PieceEnd::default();
                let mut got = None;
                for w in bounds.windows(2) {
                    if let Some(k) = end.feed(&data[w[0]..w[1]]) {
                        got = Some(w[0] + k);
                        break;
                    }
                }
                proptest::prop_assert_eq!(got, Some(e));
            }
        }
    }
}
