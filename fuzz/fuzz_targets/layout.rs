//! Any text as a header line and as a `--fields` value: no panic; a layout that builds has no
//! duplicate columns and at most MAX_TOKENS of them, and names that parse as a header also
//! parse as `--fields` with the same columns.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vpcflow_fuzz::format::layout::{Layout, MAX_TOKENS};

fuzz_target!(|data: &[u8]| {
    if let Some(Ok(l)) = Layout::detect_header(data) {
        assert!(l.columns.len() <= MAX_TOKENS);
        for (i, c) in l.columns.iter().enumerate() {
            assert!(!l.columns[..i].contains(c), "duplicate column");
        }
        if let Ok(text) = std::str::from_utf8(data)
            && let Ok(f) = Layout::from_fields_arg(text)
        {
            assert_eq!(f.columns, l.columns);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Layout::from_fields_arg(text);
    }
});
