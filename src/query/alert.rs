//! Alert rules: SQL files whose query returns the rows that something is wrong with. A rule
//! *fires* when its query returns at least `threshold` rows (default 1).
//!
//! A rule is a query file (see [`super::canned`]) with a few more header lines:
//!
//! ```sql
//! -- SSH or RDP accepted from the internet
//! -- severity: high
//! -- recipients: secops@example.com, netops@example.com
//! -- subject: SSH/RDP reached {rows} times from the internet
//! -- threshold: 1
//! SELECT …
//! ```
//!
//! `severity` is `info`, `low`, `medium`, `high` or `critical` (default `medium`); `recipients`
//! is a comma-separated list of addresses (may be empty: `--to` gives them); `subject` may
//! use `{rows}` and `{name}` (default: the description). The shipped rules are
//! `queries/alerts/*.sql`, compiled into the binary.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::canned::{self, QueryFile, QueryFileError};
use super::{Engine, QueryError};

/// How many rows of a firing rule are kept (for printing and email).
pub const KEPT_ROWS: usize = 1000;

/// Severities, least to most severe.
pub(crate) const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// A parsed alert rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The query and its header.
    pub query: QueryFile,
    /// `info` … `critical`.
    pub severity: String,
    /// Addresses to mail when it fires.
    pub recipients: Vec<String>,
    /// The subject template (`{rows}`, `{name}`).
    pub subject: String,
    /// Fires when the query returns at least this many rows.
    pub threshold: u64,
}

impl Rule {
    /// A rule from a query file's header.
    pub fn from_query(query: QueryFile) -> Result<Rule, QueryFileError> {
        let err = |why: String| QueryFileError(format!("alert rule {}: {why}", query.name));
        let severity = query.meta("severity").unwrap_or("medium").to_lowercase();
        if !SEVERITIES.contains(&severity.as_str()) {
            return Err(err(format!(
                "severity {severity:?} is not one of {}",
                SEVERITIES.join(", ")
            )));
        }
        let recipients: Vec<String> = query
            .meta("recipients")
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        for r in &recipients {
            if !r.contains('@') || r.contains(char::is_whitespace) {
                return Err(err(format!("recipient {r:?} is not an email address")));
            }
        }
        let threshold = match query.meta("threshold") {
            Some(t) => t
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| err(format!("threshold {t:?} is not a positive integer")))?,
            None => 1,
        };
        let subject = query
            .meta("subject")
            .map(str::to_string)
            .unwrap_or_else(|| query.description.clone());
        Ok(Rule {
            severity,
            recipients,
            subject,
            threshold,
            query,
        })
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.query.name
    }

    /// The subject for a result of `rows` rows.
    pub fn subject_for(&self, rows: u64) -> String {
        self.subject
            .replace("{rows}", &rows.to_string())
            .replace("{name}", self.name())
    }
}

/// The shipped rules (`queries/alerts/*.sql`).
pub fn shipped() -> Vec<QueryFile> {
    canned::parse_all(canned::ALERTS)
}

/// The shipped rule called `name`.
pub fn find_shipped(name: &str) -> Option<QueryFile> {
    let name = name.trim_end_matches(".sql");
    shipped().into_iter().find(|q| q.name == name)
}

/// The outcome of one rule.
#[derive(Debug)]
pub struct Outcome {
    /// The rule.
    pub rule: Rule,
    /// The SQL that ran.
    pub sql: String,
    /// The result's schema.
    pub schema: SchemaRef,
    /// Up to [`KEPT_ROWS`] rows.
    pub batches: Vec<RecordBatch>,
    /// Rows the query returned.
    pub rows: u64,
}

impl Outcome {
    /// Whether the rule fired.
    pub fn fired(&self) -> bool {
        self.rows >= self.rule.threshold
    }
}

/// Binds `params` (only those the rule takes) and runs the rule's query.
pub fn evaluate(
    engine: &Engine,
    rule: Rule,
    params: &[(String, String)],
) -> Result<Outcome, QueryError> {
    let mine: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| rule.query.takes(k))
        .cloned()
        .collect();
    let sql = rule
        .query
        .bind(&mine)
        .map_err(|e| QueryError::Usage(e.to_string()))?;
    let mut batches = Vec::new();
    let mut kept = 0usize;
    let mut rows = 0u64;
    let schema = engine.run(&sql, &mut |b| {
        rows += b.num_rows() as u64;
        if kept < KEPT_ROWS {
            let take = b.num_rows().min(KEPT_ROWS - kept);
            batches.push(b.slice(0, take));
            kept += take;
        }
        Ok(())
    })?;
    Ok(Outcome {
        rule,
        sql,
        schema,
        batches,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(header: &str) -> Result<Rule, QueryFileError> {
        Rule::from_query(QueryFile::parse("r", &format!("-- A rule\n{header}SELECT 1")).unwrap())
    }

    #[test]
    fn reads_the_header_with_defaults() {
        let r = rule("").unwrap();
        assert_eq!(
            (r.severity.as_str(), r.threshold, r.subject.as_str()),
            ("medium", 1, "A rule")
        );
        assert!(r.recipients.is_empty());
        let r = rule("-- severity: High\n-- recipients: a@x.org, b@y.org\n-- subject: {rows} rows of {name}\n-- threshold: 3\n").unwrap();
        assert_eq!(r.severity, "high");
        assert_eq!(r.recipients, ["a@x.org", "b@y.org"]);
        assert_eq!(r.threshold, 3);
        assert_eq!(r.subject_for(7), "7 rows of r");
    }

    #[test]
    fn refuses_bad_headers() {
        for (h, why) in [
            ("-- severity: urgent\n", "severity"),
            ("-- recipients: nobody\n", "not an email"),
            ("-- threshold: 0\n", "positive"),
            ("-- threshold: many\n", "positive"),
        ] {
            let e = rule(h).unwrap_err().0;
            assert!(e.contains(why), "{h}: {e}");
        }
    }

    #[test]
    fn shipped_rules_parse_and_there_are_at_least_five() {
        let all = shipped();
        assert!(all.len() >= 5, "{} shipped rules", all.len());
        for q in all {
            let name = q.name.clone();
            let r = Rule::from_query(q).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!r.query.description.is_empty(), "{name}");
        }
    }
}
