//! `CREATE EXTERNAL TABLE` for a dataset (`vpcflow athena-ddl`): Athena's (and Glue's) table
//! over the Hive-partitioned Parquet files, with partition projection, so new partitions are
//! queryable without `MSCK REPAIR TABLE` or crawlers.
//!
//! Columns keep AWS's names and types (`int`, `bigint`, `string`). Partition levels become
//! partition columns (strings for columns, as Glue declares them; projected as `date`, or
//! `integer` for `hour`/`year`/`month`/`day`, or `enum` of the values present); a partition
//! column that the files also hold (`region`, `account_id`…) is declared once, as a partition
//! column, which Athena requires.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use arrow::datatypes::DataType;

use crate::error::Error;
use crate::sink::dataset::{DatasetInfo, PartKey};

/// How the table is named and where its files are.
pub struct AthenaTable<'a> {
    /// `table` or `database.table`.
    pub name: &'a str,
    /// The dataset's `s3://bucket/prefix/`.
    pub location: &'a str,
}

/// Athena's type for an Arrow type of our files.
fn athena_type(t: &DataType) -> Result<String, Error> {
    if let DataType::List(item) | DataType::LargeList(item) = t {
        // eni_security_groups
        return Ok(format!("array<{}>", athena_type(item.data_type())?));
    }
    Ok(match t {
        DataType::Int8 => "tinyint",
        DataType::Int16 => "smallint",
        DataType::Int32 | DataType::UInt16 => "int",
        DataType::Int64 | DataType::UInt32 => "bigint",
        DataType::Float32 => "float",
        DataType::Float64 => "double",
        DataType::Boolean => "boolean",
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string",
        DataType::Binary | DataType::LargeBinary => "binary",
        other => {
            return Err(Error::Internal(format!(
                "no Athena type for the column type {other}"
            )));
        }
    }
    .to_string())
}

/// `name` quoted for Hive DDL.
fn quoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The `key=value` directory levels of the dataset's files: per key, the values present.
fn partition_values(info: &DatasetInfo) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &info.files {
        let dirs = f.rsplit_once('/').map_or("", |(d, _)| d);
        for level in dirs.split('/') {
            if let Some((k, v)) = level.split_once('=') {
                out.entry(k.to_string()).or_default().insert(v.to_string());
            }
        }
    }
    out
}

/// The table properties projecting one partition level.
fn projection(key: &PartKey, values: Option<&BTreeSet<String>>) -> Vec<(String, String)> {
    let name = key.name();
    let p = |what: &str, v: String| (format!("projection.{name}.{what}"), v);
    let first = values.and_then(|v| v.iter().find(|x| !x.starts_with("__")));
    let last = values.and_then(|v| v.iter().rfind(|x| !x.starts_with("__")));
    let int_range = |lo: &str, hi: &str, digits: usize| {
        vec![
            p("type", "integer".into()),
            p("range", format!("{lo},{hi}")),
            p("digits", digits.to_string()),
        ]
    };
    match key {
        PartKey::Date => vec![
            p("type", "date".into()),
            p("format", "yyyy-MM-dd".into()),
            p(
                "range",
                format!("{},NOW", first.map_or("2015-01-01", |s| s.as_str())),
            ),
            p("interval", "1".into()),
            p("interval.unit", "DAYS".into()),
        ],
        PartKey::Hour => int_range("0", "23", 2),
        PartKey::Month => int_range("1", "12", 2),
        PartKey::Day => int_range("1", "31", 2),
        PartKey::Year => {
            let lo = first.map_or("2015".to_string(), |s| s.clone());
            let hi = last
                .and_then(|s| s.parse::<u32>().ok())
                .map_or("2099".to_string(), |y| (y + 10).to_string());
            int_range(&lo, &hi, 4)
        }
        PartKey::Column(_) => match values {
            Some(v) if !v.is_empty() => vec![
                p("type", "enum".into()),
                p("values", v.iter().cloned().collect::<Vec<_>>().join(",")),
            ],
            _ => vec![p("type", "injected".into())],
        },
    }
}

/// The `CREATE EXTERNAL TABLE` statement for the dataset `info` describes.
pub fn create_table(info: &DatasetInfo, table: &AthenaTable<'_>) -> Result<String, Error> {
    let location = format!("{}/", table.location.trim_end_matches('/'));
    // Athena reads S3; the same DDL serves Hive and Spark over other file systems' URLs.
    if !location.contains("://") {
        return Err(Error::Usage(format!(
            "{}: a table's location is a URL: give where Athena reads the dataset (--location s3://bucket/prefix/)",
            table.location
        )));
    }
    let keys: BTreeSet<&str> = info.partition_by.iter().map(PartKey::name).collect();
    let values = partition_values(info);
    let mut sql = String::new();
    let _ = writeln!(
        sql,
        "-- VPC flow logs converted by vpcflow {}: {} part files; partition projection, so new\n\
         -- partitions need no MSCK REPAIR TABLE.",
        env!("CARGO_PKG_VERSION"),
        info.files.len()
    );
    if !info.partition_by.is_empty() {
        sql.push_str(
            "-- Through Spark SQL: SET spark.sql.variable.substitute=false first, or Spark empties\n\
             -- the ${…} of storage.location.template.\n",
        );
    }
    for k in &info.partition_by {
        if matches!(k, PartKey::Column(_)) {
            let _ = writeln!(
                sql,
                "-- {}: an enum of the values present now; run athena-ddl again when new ones appear.",
                k.name()
            );
        }
    }
    let _ = writeln!(sql, "CREATE EXTERNAL TABLE IF NOT EXISTS {} (", table.name);
    let columns: Vec<String> = info
        .schema
        .fields()
        .iter()
        .filter(|f| !keys.contains(f.name().as_str()))
        .map(|f| {
            Ok(format!(
                "  {} {}",
                quoted(f.name()),
                athena_type(f.data_type())?
            ))
        })
        .collect::<Result<_, Error>>()?;
    let _ = writeln!(sql, "{}\n)", columns.join(",\n"));
    if !info.partition_by.is_empty() {
        let parts: Vec<String> = info
            .partition_by
            .iter()
            .map(|k| format!("  {} string", quoted(k.name())))
            .collect();
        let _ = writeln!(sql, "PARTITIONED BY (\n{}\n)", parts.join(",\n"));
    }
    let _ = writeln!(sql, "STORED AS PARQUET\nLOCATION '{location}'");
    let mut props = vec![("parquet.compression".to_string(), "ZSTD".to_string())];
    if !info.partition_by.is_empty() {
        props.push(("projection.enabled".into(), "true".into()));
        for k in &info.partition_by {
            props.extend(projection(k, values.get(k.name())));
        }
        let template: String = info
            .partition_by
            .iter()
            .map(|k| format!("{0}=${{{0}}}/", k.name()))
            .collect();
        props.push(("storage.location.template".into(), location + &template));
    }
    let props: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("  '{k}'='{}'", v.replace('\'', "''")))
        .collect();
    let _ = writeln!(sql, "TBLPROPERTIES (\n{}\n);", props.join(",\n"));
    Ok(sql)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};

    fn info(keys: Vec<PartKey>, files: &[&str]) -> DatasetInfo {
        DatasetInfo {
            partition_by: keys,
            files: files.iter().map(|f| f.to_string()).collect(),
            schema: Schema::new(vec![
                Field::new("version", DataType::Int32, true),
                Field::new("account_id", DataType::Utf8, true),
                Field::new("bytes", DataType::Int64, true),
                Field::new("end", DataType::Int64, true),
            ]),
        }
    }

    #[test]
    fn partition_columns_are_declared_once_and_projected() {
        let i = info(
            vec![PartKey::Date, PartKey::Column("account_id".into())],
            &[
                "date=2026-11-03/account_id=222/part-u000001-00000.parquet",
                "date=2026-11-01/account_id=111/part-u000000-00000.parquet",
                "date=2026-11-01/account_id=__HIVE_DEFAULT_PARTITION__/part-u000000-00001.parquet",
            ],
        );
        let t = AthenaTable {
            name: "flows.vpc",
            location: "s3://lake/flows",
        };
        let sql = create_table(&i, &t).unwrap();
        assert!(
            sql.contains("CREATE EXTERNAL TABLE IF NOT EXISTS flows.vpc ("),
            "{sql}"
        );
        assert!(
            sql.contains("  `version` int,\n  `bytes` bigint,\n  `end` bigint\n)"),
            "{sql}"
        );
        assert_eq!(sql.matches("`account_id`").count(), 1, "{sql}");
        assert!(sql.contains("PARTITIONED BY (\n  `date` string,\n  `account_id` string\n)"));
        assert!(sql.contains("LOCATION 's3://lake/flows/'"));
        assert!(
            sql.contains("'projection.date.range'='2026-11-01,NOW'"),
            "{sql}"
        );
        assert!(
            sql.contains("'projection.account_id.values'='111,222,__HIVE_DEFAULT_PARTITION__'"),
            "{sql}"
        );
        assert!(sql.contains(
            "'storage.location.template'='s3://lake/flows/date=${date}/account_id=${account_id}/'"
        ));
    }

    #[test]
    fn time_levels_are_integer_ranges_and_local_locations_are_refused() {
        let i = info(
            vec![PartKey::Year, PartKey::Month, PartKey::Hour],
            &["year=2024/month=02/hour=07/part-u000000-00000.parquet"],
        );
        let t = AthenaTable {
            name: "t",
            location: "s3://b/p/",
        };
        let sql = create_table(&i, &t).unwrap();
        for want in [
            "'projection.year.range'='2024,2034'",
            "'projection.year.digits'='4'",
            "'projection.month.range'='1,12'",
            "'projection.hour.digits'='2'",
        ] {
            assert!(sql.contains(want), "{want}: {sql}");
        }
        let local = AthenaTable {
            name: "t",
            location: "flows/",
        };
        assert!(create_table(&i, &local).is_err());
    }
}
