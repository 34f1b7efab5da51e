//! JSON envelopes around flow log records: a line `{"message":"<record>", …}` (Firehose delivery,
//! Elastic's test files) holds the record in its `message` member. Envelopes are parsed with
//! simd-json; only lines that start with `{` are tried, so plain records pay nothing.

use simd_json::prelude::*;

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
}
