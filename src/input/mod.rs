//! Inputs: naming them ([`names`]: files, directories, globs, standard input, `s3://` objects,
//! kept by [`select`]), sniffing what they hold ([`sniff`]), and reading their bytes as
//! line-aligned blocks of bounded size ([`read`]: memory-mapped windows, gzip and other streams,
//! [`s3`] objects, with [`aws`]'s credentials and region; [`frame`] finds where JSON objects
//! end). Knows nothing of fields or layouts.

pub mod aws;
pub mod frame;
pub mod names;
pub mod read;
pub mod s3;
pub mod select;
pub mod sniff;

pub use names::{Input, expand, expand_selected};
pub use select::Select;
