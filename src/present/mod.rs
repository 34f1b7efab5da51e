//! What people read: query results as text tables, CSV and JSON ([`results`], [`table`]), HTML
//! ([`html`]), the traffic report ([`report`]), alert e-mails ([`mail`]) and the Athena table
//! over a dataset ([`athena`]).

pub mod athena;
pub mod html;
pub mod mail;
pub mod report;
pub mod results;
pub mod table;
