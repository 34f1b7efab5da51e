//! The parser's modules, compiled from ../src on their own (no DataFusion, no I/O), for the fuzz
//! targets in fuzz_targets/. The module tree mirrors the library's, so their `crate::` paths hold.
#![allow(dead_code, missing_docs, clippy::all)]

#[path = "../../src/error.rs"]
pub mod error;
#[path = "../../src/batch/mod.rs"]
pub mod batch;
#[path = "../../src/parse/mod.rs"]
pub mod parse;

/// The library's `format` layer, without its JSON writer.
#[path = "../../src/format"]
pub mod format {
    pub mod envelope;
    pub mod fields;
    pub mod layout;
}

/// The library's `input` layer: only the JSON object framing the envelope parser uses.
#[path = "../../src/input"]
pub mod input {
    pub mod frame;
}
