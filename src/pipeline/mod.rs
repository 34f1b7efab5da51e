//! The conversion pipeline: [`plan`] learns what each input is and its layout and unites them
//! into one schema; [`decode`] runs chunks through rayon into ordered record batches; [`report`]
//! counts what the run met (rows, refused lines, failed inputs) and hands it to one observer;
//! [`dedup`] drops records overlapping flow logs repeat (`--dedup`);
//! [`convert`] pushes the batches into a [`Sink`] and returns the run's [`Report`]. Knows
//! nothing of output formats: every output implements [`Sink`] (`crate::sink` holds them).

pub mod convert;
pub mod decode;
pub mod dedup;
pub mod options;
pub mod plan;
pub mod report;

pub use convert::{Conversion, Report, Sink, Written};
pub use decode::Decoder;
pub use options::{MaxRejects, Options};
pub use report::{Collected, Event, InputDone, Notice, Observer, RejectReport, Stats};
