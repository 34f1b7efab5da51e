//! What people read: query results as text tables, CSV and JSON ([`results`], [`table`]), HTML
//! ([`html`]), the traffic report ([`report`]) and alert e-mails ([`mail`]).

pub mod html;
pub mod mail;
pub mod report;
pub mod results;
pub mod table;
