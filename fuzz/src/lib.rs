//! The parser's modules, compiled from ../src on their own (no DataFusion, no I/O), for the fuzz
//! targets in fuzz_targets/.
#![allow(dead_code, missing_docs, clippy::all)]

#[path = "../../src/batch.rs"]
pub mod batch;
#[path = "../../src/chunk.rs"]
pub mod chunk;
#[path = "../../src/envelope.rs"]
pub mod envelope;
#[path = "../../src/fields.rs"]
pub mod fields;
#[path = "../../src/layout.rs"]
pub mod layout;
#[path = "../../src/parse.rs"]
pub mod parse;
