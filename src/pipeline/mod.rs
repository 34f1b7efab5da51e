//! The conversion pipeline: plans what each input is and its layout, runs chunks through rayon
//! into ordered record batches, and counts what it saw. Knows nothing of output formats.

pub mod decode;
