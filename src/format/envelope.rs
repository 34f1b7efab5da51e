//! JSON envelopes around flow log records.
//!
//! * A line `{"message":"<record>", …}` (Firehose delivery, Elastic's test files) holds the record
//!   in its `message` member: [`unwrap_message`], applied line by line while parsing, so plain
//!   records pay nothing (only lines that start with `{` are tried).
//! * Whole JSON inputs — CloudWatch Logs subscription payloads (`messageType`, `logGroup`,
//!   `logStream`, `logEvents[{id,timestamp,message}]`; `CONTROL_MESSAGE` payloads are skipped) and
//!   Firehose records written back to back without line feeds (`{"message":"…"}{"message":"…"}`)
//!   — are cut into top-level objects ([`crate::input::frame`]) and turned into plain
//!   record text by [`extract`], which the normal parser then reads.
//!
//! Envelopes are parsed with simd-json.

use simd_json::prelude::*;

use crate::input::frame::{Piece, next_piece, scan};
/// If `line` is a JSON object, its `message` string (the record inside), or why it can't be used.
/// `None` when the line isn't a JSON envelope at all.
pub fn unwrap_message(line: &[u8]) -> Option<Result<Vec<u8>, String>> {
    if line.first() != Some(&b'{') {
        return None;
    }
    let mut buf = line.to_vec();
    let value = match simd_json::to_borrowed_value(&mut buf) {
        Ok(v) => v,
        Err(e) => return Some(Err(format!("malformed JSON envelope: {e}"))),
    };
    let Some(obj) = value.as_object() else {
        return Some(Err("JSON envelope is not an object".to_string()));
    };
    Some(match obj.get("message").and_then(|m| m.as_str()) {
        Some(m) => Ok(m.as_bytes().to_vec()),
        None => Err("JSON envelope has no string \"message\" member".to_string()),
    })
}

/// How a JSON input is read: the first object of its sample decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonInput {
    /// Not a JSON input (plain records, or one `{"message":…}` envelope per line).
    No,
    /// CloudWatch Logs subscription payloads, or Firehose records without line feeds between them.
    Objects,
}

/// Decides from an input's first bytes whether it is read object by object.
pub fn classify(sample: &[u8]) -> JsonInput {
    let Some(start) = sample.iter().position(|b| !b.is_ascii_whitespace()) else {
        return JsonInput::No;
    };
    if sample[start] != b'{' {
        return JsonInput::No;
    }
    let Some(Piece::Object(s, e)) = next_piece(sample, start) else {
        // The first object doesn't end within the sample: a large payload, not a line.
        return if memchr::memchr(b'\n', &sample[start..]).is_some() {
            JsonInput::No
        } else {
            JsonInput::Objects
        };
    };
    let mut buf = sample[s..e].to_vec();
    let Ok(value) = simd_json::to_borrowed_value(&mut buf) else {
        return JsonInput::No;
    };
    if value.get("logEvents").is_some() || value.get("messageType").is_some() {
        return JsonInput::Objects;
    }
    // Another object on the same line: concatenated records.
    let next = sample[e..]
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r'))
        .map(|i| sample[e + i]);
    if next == Some(b'{') {
        JsonInput::Objects
    } else {
        JsonInput::No
    }
}

/// Why a JSON object of `len` bytes is refused when objects may hold at most `limit`.
#[cold]
pub(crate) fn object_too_long(len: u64, limit: usize) -> String {
    format!(
        "JSON object too long: {len} bytes, more than the limit of {limit} (64 × --max-line-bytes)"
    )
}

/// Records taken out of JSON envelopes that share a log group and stream, as text the parser
/// reads: one record per line.
#[derive(Debug, Default)]
pub struct Group {
    /// The records, each followed by a line feed.
    pub text: Vec<u8>,
    /// CloudWatch Logs log group, if the records came from a subscription payload.
    pub log_group: Option<String>,
    /// CloudWatch Logs log stream.
    pub log_stream: Option<String>,
    /// Ordinal (0-based, within the input) of the group's first record.
    pub first_record: u64,
    /// Offset in `text` where each record starts.
    pub line_starts: Vec<u64>,
    /// For each record, the offset in the input of the JSON object it came from.
    pub origins: Vec<u64>,
}

impl Group {
    /// The index of the record whose text contains byte `at` of [`Group::text`].
    pub(crate) fn record_at(&self, at: u64) -> usize {
        self.line_starts
            .partition_point(|&s| s <= at)
            .saturating_sub(1)
    }
}

/// What [`extract`] found, in input order.
#[derive(Debug)]
pub enum Extracted {
    /// Records to parse.
    Records(Group),
    /// A record (or a whole object) that can't be used.
    Refused {
        /// Ordinal of the record within the input (0-based).
        record: u64,
        /// Offset in the input of the JSON object.
        offset: u64,
        /// Why.
        reason: String,
        /// The offending text (cut to 1 KiB).
        raw: Vec<u8>,
    },
}

/// Counts [`extract`] keeps besides the records.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExtractCounts {
    /// Records (log events, Firehose messages, unusable objects) seen.
    pub records: u64,
    /// CloudWatch `CONTROL_MESSAGE` payloads skipped.
    pub control_messages: u64,
}

/// How much of a refused JSON object is kept for messages and the rejects file.
pub(crate) const REFUSED_HEAD_BYTES: usize = 1024;

fn cut(raw: &[u8]) -> Vec<u8> {
    raw[..raw.len().min(REFUSED_HEAD_BYTES)].to_vec()
}

/// Takes the records out of the JSON objects of `block` (an input's bytes from offset `base`,
/// cut by [`crate::input::frame::object_boundary`]): CloudWatch Logs subscription payloads and Firehose `message`
/// objects. Neighbouring records with the same log group and stream share a [`Group`] of at most
/// about `group_bytes`. An object longer than `max_object` bytes is refused whole. Record
/// ordinals continue from `counts.records`.
pub fn extract(
    block: &[u8],
    base: u64,
    group_bytes: usize,
    max_object: usize,
    counts: &mut ExtractCounts,
) -> Vec<Extracted> {
    let mut x = Extraction {
        out: Vec::new(),
        current: None,
        counts,
        group_bytes,
    };
    let (pieces, _) = scan(block, true);
    let mut buf = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Object(s, e) => x.object(&block[s..e], base + s as u64, max_object, &mut buf),
            Piece::Stray(s, e) => x.stray(block, base, s, e),
        }
    }
    x.flush();
    x.out
}

/// What one [`extract`] call has found so far.
struct Extraction<'c> {
    /// The items found, in input order.
    out: Vec<Extracted>,
    /// The group of records being filled, not yet in `out`.
    current: Option<Group>,
    /// The counts; `records` numbers the next record.
    counts: &'c mut ExtractCounts,
    /// About how many bytes of record text a group may hold.
    group_bytes: usize,
}

impl Extraction<'_> {
    /// Moves the group being filled (if it holds any record) to the items found.
    fn flush(&mut self) {
        if let Some(g) = self.current.take()
            && !g.line_starts.is_empty()
        {
            self.out.push(Extracted::Records(g));
        }
    }

    /// Refuses the next record (a log event, or a whole object) from the object at `offset`,
    /// after the records before it; `raw` is its text.
    fn refuse(&mut self, offset: u64, reason: String, raw: &[u8]) {
        self.flush();
        self.out.push(Extracted::Refused {
            record: self.counts.records,
            offset,
            reason,
            raw: cut(raw),
        });
        self.counts.records += 1;
    }

    /// Adds `message` as the next record, from the object at `offset` of log `group` and
    /// `stream`: to the group being filled if it is of the same log group and stream and not
    /// full, else to a new group.
    fn push(&mut self, group: Option<&str>, stream: Option<&str>, offset: u64, message: &str) {
        let same = self.current.as_ref().is_some_and(|g| {
            g.log_group.as_deref() == group
                && g.log_stream.as_deref() == stream
                && g.text.len() < self.group_bytes
        });
        if !same {
            self.flush();
            self.current = Some(Group {
                log_group: group.map(str::to_string),
                log_stream: stream.map(str::to_string),
                first_record: self.counts.records,
                ..Group::default()
            });
        }
        let g = self.current.as_mut().expect("set above");
        g.line_starts.push(g.text.len() as u64);
        g.origins.push(offset);
        // A record never holds a line feed; one inside a message must not split it in two.
        g.text.extend(
            message
                .bytes()
                .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
        );
        g.text.push(b'\n');
        self.counts.records += 1;
    }

    /// Refuses bytes `s..e` of `block` (from input offset `base`), text outside any JSON object:
    /// an object never closed if it starts with `{` and runs to the block's end.
    fn stray(&mut self, block: &[u8], base: u64, s: usize, e: usize) {
        let complete = e < block.len() || block[s] != b'{';
        let reason = if complete {
            "text outside any JSON object".to_string()
        } else {
            format!("truncated JSON object ({} bytes, never closed)", e - s)
        };
        self.refuse(base + s as u64, reason, &block[s..e]);
    }

    /// Takes the records out of one JSON object, `raw` at input `offset` (parsed in `buf`): a
    /// CloudWatch Logs payload or a Firehose record; refuses it whole if it is longer than
    /// `max_object`, malformed, or neither.
    fn object(&mut self, raw: &[u8], offset: u64, max_object: usize, buf: &mut Vec<u8>) {
        if raw.len() > max_object {
            let reason = object_too_long(raw.len() as u64, max_object);
            self.refuse(offset, reason, raw);
            return;
        }
        buf.clear();
        buf.extend_from_slice(raw);
        let value = match simd_json::to_borrowed_value(buf) {
            Ok(v) => v,
            Err(err) => {
                self.refuse(offset, format!("malformed JSON envelope: {err}"), raw);
                return;
            }
        };
        if let Some(events) = value.get("logEvents") {
            self.cloudwatch(&value, events, offset, raw);
        } else if value.get("messageType").is_some() {
            let reason = "CloudWatch Logs payload without logEvents".to_string();
            self.refuse(offset, reason, raw);
        } else {
            self.firehose(&value, offset, raw);
        }
    }

    /// The log events (`events`, its `logEvents` member) of a CloudWatch Logs subscription
    /// payload `value`, `raw` at input `offset`: each event's message is a record, an event
    /// with an empty or no message is refused. A `CONTROL_MESSAGE` is counted and skipped; a
    /// payload of another type, or whose events aren't an array, is refused whole.
    fn cloudwatch(
        &mut self,
        value: &simd_json::BorrowedValue<'_>,
        events: &simd_json::BorrowedValue<'_>,
        offset: u64,
        raw: &[u8],
    ) {
        let kind = value.get("messageType").and_then(|m| m.as_str());
        if kind == Some("CONTROL_MESSAGE") {
            self.counts.control_messages += 1;
            return;
        }
        let (Some(events), None | Some("DATA_MESSAGE")) = (events.as_array(), kind) else {
            let why = if events.as_array().is_none() {
                "logEvents is not an array".to_string()
            } else {
                format!("unknown CloudWatch messageType {:?}", kind.unwrap_or(""))
            };
            self.refuse(offset, format!("CloudWatch Logs payload: {why}"), raw);
            return;
        };
        let group = value.get("logGroup").and_then(|v| v.as_str());
        let stream = value.get("logStream").and_then(|v| v.as_str());
        for (i, ev) in events.iter().enumerate() {
            match ev.get("message").and_then(|m| m.as_str()) {
                Some(m) if !m.trim().is_empty() => self.push(group, stream, offset, m),
                other => {
                    let why = if other.is_some() {
                        "an empty message"
                    } else {
                        "no string message"
                    };
                    let id = ev.get("id").and_then(|v| v.as_str()).unwrap_or("?");
                    self.refuse(
                        offset,
                        format!("CloudWatch log event {i} (id {id}) has {why}"),
                        ev.encode().as_bytes(),
                    );
                }
            }
        }
    }

    /// An object `value` (`raw` at input `offset`) that isn't a CloudWatch Logs payload: a
    /// Firehose record, whose string `message` is the record; refused when that is empty or
    /// missing.
    fn firehose(&mut self, value: &simd_json::BorrowedValue<'_>, offset: u64, raw: &[u8]) {
        match value.get("message").and_then(|m| m.as_str()) {
            Some(m) if !m.trim().is_empty() => self.push(None, None, offset, m),
            Some(_) => self.refuse(
                offset,
                "JSON envelope with an empty message".to_string(),
                raw,
            ),
            None => self.refuse(
                offset,
                "JSON object with neither logEvents (CloudWatch Logs) nor a string message (Firehose)"
                    .to_string(),
                raw,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_message_members() {
        let got = unwrap_message(br#"{"message":"2 123 eni-1 - - - - - - - 1 2 - NODATA"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(got, b"2 123 eni-1 - - - - - - - 1 2 - NODATA");
        let got = unwrap_message(br#"{ "id": 5, "message" : "a\tb \"q\"" }"#)
            .unwrap()
            .unwrap();
        assert_eq!(got, b"a\tb \"q\"");
        assert!(unwrap_message(b"2 123 eni-1").is_none());
        assert!(
            unwrap_message(br#"{"message": 5}"#)
                .unwrap()
                .unwrap_err()
                .contains("no string")
        );
        assert!(unwrap_message(br#"{"other":"x"}"#).unwrap().is_err());
        assert!(
            unwrap_message(br#"{"message":"unterminated}"#)
                .unwrap()
                .unwrap_err()
                .contains("malformed")
        );
    }

    /// The refused items: (record, offset, reason).
    fn refused(out: &[Extracted]) -> Vec<(u64, u64, String)> {
        out.iter()
            .filter_map(|x| match x {
                Extracted::Refused {
                    record,
                    offset,
                    reason,
                    ..
                } => Some((*record, *offset, reason.clone())),
                _ => None,
            })
            .collect()
    }

    fn records(out: &[Extracted]) -> Vec<(Option<String>, String)> {
        let mut v = Vec::new();
        for x in out {
            if let Extracted::Records(g) = x {
                for line in String::from_utf8(g.text.clone()).unwrap().lines() {
                    v.push((g.log_group.clone(), line.to_string()));
                }
            }
        }
        v
    }

    #[test]
    fn cloudwatch_payloads_and_concatenated_firehose_records() {
        let cw = br#"{"messageType":"DATA_MESSAGE","owner":"123","logGroup":"g1","logStream":"eni-1-all","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1,"message":"a b"},{"id":"2","timestamp":2,"message":"c\nd"}]}"#;
        let ctl = br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
        let mut input = Vec::new();
        input.extend_from_slice(cw);
        input.extend_from_slice(ctl);
        input.extend_from_slice(b"{\"message\":\"e f\"}{\"message\":\"g }{ \\\" h\"}\n");
        assert_eq!(classify(&input), JsonInput::Objects);
        let mut counts = ExtractCounts::default();
        let out = extract(&input, 100, 1 << 20, usize::MAX, &mut counts);
        assert_eq!(
            records(&out),
            vec![
                (Some("g1".into()), "a b".into()),
                (Some("g1".into()), "c d".into()),
                (None, "e f".into()),
                (None, "g }{ \" h".into()),
            ]
        );
        assert_eq!(counts.records, 4);
        assert_eq!(counts.control_messages, 1);
        let Extracted::Records(g) = &out[1] else {
            panic!("{out:?}")
        };
        assert_eq!(g.first_record, 2);
        let second = 100 + (cw.len() + ctl.len()) as u64 + 17;
        assert_eq!(g.origins, vec![second - 17, second]);
        assert_eq!(g.record_at(0), 0);
        assert_eq!(g.record_at(4), 1);
    }

    #[test]
    fn one_envelope_per_line_stays_line_by_line() {
        assert_eq!(
            classify(b"{\"message\":\"a\"}\n{\"message\":\"b\"}\n"),
            JsonInput::No
        );
        assert_eq!(classify(b"2 123 eni-1 1.2.3.4"), JsonInput::No);
        assert_eq!(classify(b"  {\"logEvents\":[]}"), JsonInput::Objects);
    }

    #[test]
    fn objects_over_the_limit_are_refused_whole() {
        let input = br#"{"message":"1 a"}{"message":"a long record here"}{"message":"2 b"}"#;
        let mut counts = ExtractCounts::default();
        let out = extract(input, 0, 1 << 20, 20, &mut counts);
        assert_eq!(counts.records, 3);
        assert_eq!(records(&out).len(), 2);
        let refused = refused(&out);
        assert_eq!(refused.len(), 1);
        assert_eq!((refused[0].0, refused[0].1), (1, 17));
        assert!(
            refused[0].2.starts_with("JSON object too long: 32 bytes"),
            "{}",
            refused[0].2
        );
    }

    #[test]
    fn bad_objects_are_refused_with_their_offset() {
        let input = b"{\"message\":\"a b\"}\nnot json\n{\"logEvents\":5}{\"other\":1}{\"message\":\"\"}{\"message\":\"c";
        let mut counts = ExtractCounts::default();
        let out = extract(input, 0, 1 << 20, usize::MAX, &mut counts);
        let refused = refused(&out);
        assert_eq!(refused.len(), 5, "{refused:?}");
        assert_eq!(refused[0].0, 1);
        assert_eq!(refused[0].1, 18);
        assert!(refused[0].2.contains("outside"));
        assert!(refused[1].2.contains("logEvents is not an array"));
        assert!(refused[2].2.contains("neither"));
        assert!(refused[3].2.contains("empty"));
        assert!(refused[4].2.contains("truncated"), "{}", refused[4].2);
        assert_eq!(counts.records, 6);
        assert_eq!(records(&out).len(), 1);
    }
}
