//! Query files: the canned summaries in `queries/` (compiled in by `build.rs`) and users' own
//! `.sql` files, with their header of `--` comment lines, and `--param` binding.
//!
//! A query file starts with a one-line description, then optional declarations:
//!
//! ```sql
//! -- Top talkers: source/destination pairs that moved the most bytes
//! -- param: top int 10 How many pairs to show
//! -- note: free text (portability remarks, …)
//! SELECT srcaddr, dstaddr, sum(bytes) AS bytes FROM flows GROUP BY 1, 2 ORDER BY 3 DESC LIMIT ${top}
//! ```
//!
//! `-- param: NAME TYPE DEFAULT DESCRIPTION` declares `${NAME}`; TYPE is `int`, `string`,
//! `int_list` or `string_list`; DEFAULT is one token, or `required`. Binding replaces each
//! `${NAME}` with a SQL literal of its type (strings quoted, quotes doubled; integers checked),
//! so a value can never change the statement's shape. The SQL that results is plain SQL that
//! other engines run as well.

use std::fmt;

/// Every `queries/*.sql` file, as (name, text), in name order.
pub(crate) static CANNED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/queries.rs"));

/// Every `queries/alerts/*.sql` file (alert rules), as (name, text), in name order.
pub(crate) static ALERTS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/alerts.rs"));

/// The type of a parameter, which decides how its value is written into the SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A signed 64-bit integer.
    Int,
    /// A string, written as a quoted SQL literal.
    String,
    /// Comma-separated integers, for `IN (…)` lists.
    IntList,
    /// Comma-separated strings, for `IN (…)` lists.
    StringList,
}

impl ParamKind {
    fn parse(s: &str) -> Option<ParamKind> {
        Some(match s {
            "int" => ParamKind::Int,
            "string" => ParamKind::String,
            "int_list" => ParamKind::IntList,
            "string_list" => ParamKind::StringList,
            _ => return None,
        })
    }

    /// The name used in query files.
    pub fn name(self) -> &'static str {
        match self {
            ParamKind::Int => "int",
            ParamKind::String => "string",
            ParamKind::IntList => "int_list",
            ParamKind::StringList => "string_list",
        }
    }

    /// The SQL literal for `value`, or why it is not one of this type.
    pub fn literal(self, value: &str) -> Result<String, String> {
        let int = |v: &str| {
            v.trim()
                .parse::<i64>()
                .map(|n| n.to_string())
                .map_err(|_| format!("{:?} is not an integer", v.trim()))
        };
        let string = |v: &str| format!("'{}'", v.replace('\'', "''"));
        let list = |f: &dyn Fn(&str) -> Result<String, String>| {
            let items: Vec<&str> = value.split(',').filter(|s| !s.trim().is_empty()).collect();
            if items.is_empty() {
                return Err("an empty list".to_string());
            }
            Ok(items
                .iter()
                .map(|v| f(v))
                .collect::<Result<Vec<_>, _>>()?
                .join(", "))
        };
        match self {
            ParamKind::Int => int(value),
            ParamKind::String => Ok(string(value)),
            ParamKind::IntList => list(&int),
            ParamKind::StringList => list(&|v: &str| Ok(string(v.trim()))),
        }
    }
}

/// A declared parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Its name, as in `${name}` and `--param name=…`.
    pub name: String,
    /// Its type.
    pub kind: ParamKind,
    /// The value used when none is given; `None` when the parameter is required.
    pub default: Option<String>,
    /// What it means.
    pub description: String,
}

/// A parsed query file.
#[derive(Debug, Clone)]
pub struct QueryFile {
    /// The query's name (the file's stem).
    pub name: String,
    /// The first line's description.
    pub description: String,
    /// Declared parameters.
    pub params: Vec<Param>,
    /// `-- note:` lines.
    pub notes: Vec<String>,
    /// Other `-- key: value` header lines (`key` lowercase letters and `_`), e.g. an alert
    /// rule's `severity`, `recipients`, `subject`, `threshold`.
    pub meta: Vec<(String, String)>,
    /// The whole text (header included: comments are valid SQL).
    pub text: String,
}

/// What is wrong with a query file or with the values given for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFileError(pub String);

impl fmt::Display for QueryFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QueryFileError {}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

impl QueryFile {
    /// Parses a query file's header. A file without a header is a plain query with no declared
    /// parameters (its `${…}` placeholders can still be bound, see [`QueryFile::bind`]).
    pub fn parse(name: &str, text: &str) -> Result<QueryFile, QueryFileError> {
        let err = |line: usize, why: String| QueryFileError(format!("{name}: line {line}: {why}"));
        let mut q = QueryFile {
            name: name.to_string(),
            description: String::new(),
            params: Vec::new(),
            notes: Vec::new(),
            meta: Vec::new(),
            text: text.to_string(),
        };
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            let Some(c) = t.strip_prefix("--") else {
                if t.is_empty() {
                    continue;
                }
                break;
            };
            let c = c.trim();
            if let Some(p) = c.strip_prefix("param:") {
                let mut parts = p.split_whitespace();
                let (Some(pname), Some(kind), Some(default)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(err(
                        i + 1,
                        "a parameter is declared as `-- param: NAME TYPE DEFAULT DESCRIPTION`"
                            .into(),
                    ));
                };
                if !is_ident(pname) {
                    return Err(err(i + 1, format!("{pname:?} is not a parameter name")));
                }
                let kind = ParamKind::parse(kind).ok_or_else(|| {
                    err(
                        i + 1,
                        format!(
                            "parameter {pname}: type {kind:?} is not int, string, int_list or string_list"
                        ),
                    )
                })?;
                let default = (default != "required").then(|| default.to_string());
                if let Some(d) = &default {
                    kind.literal(d)
                        .map_err(|e| err(i + 1, format!("parameter {pname}: default {e}")))?;
                }
                if q.params.iter().any(|x| x.name == pname) {
                    return Err(err(i + 1, format!("parameter {pname} is declared twice")));
                }
                q.params.push(Param {
                    name: pname.to_string(),
                    kind,
                    default,
                    description: parts.collect::<Vec<_>>().join(" "),
                });
            } else if let Some(n) = c.strip_prefix("note:") {
                q.notes.push(n.trim().to_string());
            } else if q.description.is_empty() && i == 0 {
                q.description = c.to_string();
            } else if let Some((k, v)) = c.split_once(':')
                && !k.is_empty()
                && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                q.meta.push((k.to_string(), v.trim().to_string()));
            }
        }
        Ok(q)
    }

    /// The value of header line `-- key: value`, if present.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the query declares or uses parameter `name`.
    pub fn takes(&self, name: &str) -> bool {
        self.params.iter().any(|p| p.name == name) || self.text.contains(&format!("${{{name}}}"))
    }

    /// The SQL with every `${name}` replaced by the literal of its value: the given one, else the
    /// default. A declared parameter without a value, a value for an undeclared parameter that
    /// the text doesn't use, or a value of the wrong type is an error. Undeclared placeholders
    /// (ad-hoc `--sql`) take integers as numbers and anything else as strings.
    pub fn bind(&self, given: &[(String, String)]) -> Result<String, QueryFileError> {
        let err = |why: String| QueryFileError(format!("query {}: {why}", self.name));
        let mut values: Vec<(String, String)> = Vec::new();
        for (k, v) in given {
            if values.iter().any(|(n, _)| n == k) {
                return Err(err(format!("--param {k} is given twice")));
            }
            let lit = match self.params.iter().find(|p| &p.name == k) {
                Some(p) => p
                    .kind
                    .literal(v)
                    .map_err(|e| err(format!("--param {k} ({}): {e}", p.kind.name())))?,
                None if self.text.contains(&format!("${{{k}}}")) => {
                    let kind = if v.trim().parse::<i64>().is_ok() {
                        ParamKind::Int
                    } else {
                        ParamKind::String
                    };
                    kind.literal(v).map_err(err)?
                }
                None => {
                    let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                    return Err(err(format!(
                        "it has no parameter {k} (its parameters: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    )));
                }
            };
            values.push((k.clone(), lit));
        }
        for p in &self.params {
            if values.iter().any(|(n, _)| *n == p.name) {
                continue;
            }
            match &p.default {
                Some(d) => values.push((p.name.clone(), p.kind.literal(d).map_err(err)?)),
                None => {
                    return Err(err(format!(
                        "needs --param {}=… ({}: {})",
                        p.name,
                        p.kind.name(),
                        p.description
                    )));
                }
            }
        }
        // One pass over the text, so a value containing `${…}` is never expanded again.
        let mut out = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            match after.find('}') {
                Some(end) if is_ident(&after[..end]) => {
                    let key = &after[..end];
                    let lit = values.iter().find(|(n, _)| n == key).ok_or_else(|| {
                        err(format!("uses ${{{key}}}, but no --param {key}=… was given"))
                    })?;
                    out.push_str(&lit.1);
                    rest = &after[end + 1..];
                }
                _ => {
                    out.push_str("${");
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Every canned query, parsed.
pub fn canned() -> Vec<QueryFile> {
    parse_all(CANNED)
}

/// Parses a compiled-in table of query files.
pub(crate) fn parse_all(table: &[(&str, &str)]) -> Vec<QueryFile> {
    table
        .iter()
        .map(|(name, text)| {
            QueryFile::parse(name, text).unwrap_or_else(|e| {
                // A broken header in a compiled-in file is a bug of ours; tests parse them all.
                QueryFile {
                    name: name.to_string(),
                    description: format!("(unreadable header: {e})"),
                    params: Vec::new(),
                    notes: Vec::new(),
                    meta: Vec::new(),
                    text: text.to_string(),
                }
            })
        })
        .collect()
}

/// The canned query called `name`.
pub fn find(name: &str) -> Option<QueryFile> {
    let name = name.trim_end_matches(".sql");
    canned().into_iter().find(|q| q.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = "-- Who talks\n-- param: top int 10 How many\n-- param: eni string required The interface\n-- param: ports int_list 22,3389 Admin ports\n-- note: portable\nSELECT * FROM flows WHERE interface_id = ${eni} AND dstport IN (${ports}) LIMIT ${top}\n";

    fn given(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_the_header() {
        let q = QueryFile::parse("t", Q).unwrap();
        assert_eq!(q.description, "Who talks");
        assert_eq!(q.params.len(), 3);
        assert_eq!(q.params[1].default, None);
        assert_eq!(q.params[2].kind, ParamKind::IntList);
        assert_eq!(q.notes, vec!["portable".to_string()]);
    }

    #[test]
    fn binds_literals_by_type() {
        let q = QueryFile::parse("t", Q).unwrap();
        let sql = q.bind(&given(&[("eni", "eni-1'; DROP")])).unwrap();
        assert!(sql.ends_with(
            "WHERE interface_id = 'eni-1''; DROP' AND dstport IN (22, 3389) LIMIT 10\n"
        ));
        let sql = q
            .bind(&given(&[("eni", "x"), ("top", "3"), ("ports", "80, 443,")]))
            .unwrap();
        assert!(sql.contains("IN (80, 443) LIMIT 3"));
    }

    #[test]
    fn refuses_bad_values() {
        let q = QueryFile::parse("t", Q).unwrap();
        let e = q.bind(&[]).unwrap_err().0;
        assert!(e.contains("needs --param eni"), "{e}");
        let e = q
            .bind(&given(&[("eni", "x"), ("top", "1; DROP")]))
            .unwrap_err()
            .0;
        assert!(e.contains("not an integer"), "{e}");
        let e = q
            .bind(&given(&[("eni", "x"), ("nope", "1")]))
            .unwrap_err()
            .0;
        assert!(e.contains("no parameter nope"), "{e}");
        let e = q
            .bind(&given(&[("eni", "x"), ("ports", ",")]))
            .unwrap_err()
            .0;
        assert!(e.contains("empty list"), "{e}");
    }

    #[test]
    fn values_are_not_expanded_twice_and_ad_hoc_placeholders_bind() {
        let q = QueryFile::parse("adhoc", "SELECT ${a}, ${b}, '${not a name}'").unwrap();
        let sql = q.bind(&given(&[("a", "${b}"), ("b", "7")])).unwrap();
        assert_eq!(sql, "SELECT '${b}', 7, '${not a name}'");
        let e = QueryFile::parse("adhoc", "SELECT ${a}")
            .unwrap()
            .bind(&[])
            .unwrap_err()
            .0;
        assert!(e.contains("no --param a"), "{e}");
    }

    #[test]
    fn refuses_bad_declarations() {
        for (text, why) in [
            ("-- d\n-- param: x float 1 d\nSELECT 1", "is not int"),
            ("-- d\n-- param: x int\nSELECT 1", "declared as"),
            ("-- d\n-- param: x int abc d\nSELECT 1", "not an integer"),
            (
                "-- d\n-- param: 1x int 1 d\nSELECT 1",
                "not a parameter name",
            ),
            (
                "-- d\n-- param: x int 1 d\n-- param: x int 2 d\nSELECT 1",
                "twice",
            ),
        ] {
            let e = QueryFile::parse("t", text).unwrap_err().0;
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn every_canned_query_has_a_description_and_valid_header() {
        assert!(CANNED.len() >= 12, "only {} canned queries", CANNED.len());
        for (name, text) in CANNED {
            let q = QueryFile::parse(name, text).unwrap();
            assert!(!q.description.is_empty(), "{name} has no description");
            assert!(text.starts_with("-- "), "{name}: first line is not `-- `");
        }
    }
}
