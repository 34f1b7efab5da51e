//! Who is behind each address: the columns the ENI inventory and AWS's ip-ranges add to flows,
//! computed from a batch's `interface_id`, `srcaddr`, `dstaddr`, `start` and `vpc_id` columns.
//!
//! The column names are a contract other tools rely on:
//! - from the inventory, for the record's `interface_id` ([`ENI_COLUMNS`]): `eni_type`,
//!   `eni_description`, `eni_name`, `eni_instance_id`, `eni_security_groups` (a list),
//!   `eni_subnet_id`, `eni_vpc_id`;
//! - from the inventory, for the addresses ([`HOLDER_COLUMNS`]): `src_eni_id`, `dst_eni_id`,
//!   `src_instance_id`, `dst_instance_id`;
//! - from ip-ranges ([`AWS_COLUMNS`]): `src_aws_service`, `src_aws_region`, `dst_aws_service`,
//!   `dst_aws_region`.
//!
//! Every value is null when unknown (no such column in the input, no entry, an address that is
//! not one). The conversion appends them to each batch ([`Attribution::apply`]); queries compute
//! them in the view `flows` through SQL functions built on the same code.

use std::net::IpAddr;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, Int64Array, ListBuilder, StringArray, StringBuilder,
    UInt32Array,
};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType, Field, Fields, Int64Type, Schema, SchemaRef, UInt32Type};
use arrow::record_batch::RecordBatch;

use crate::enrich::inventory::{Eni, Inventory};
use crate::enrich::ip::parse_addr;
use crate::enrich::ip_ranges::AwsIpRanges;
use crate::error::Error;

/// Columns describing the record's own interface.
pub const ENI_COLUMNS: [&str; 7] = [
    "eni_type",
    "eni_description",
    "eni_name",
    "eni_instance_id",
    "eni_security_groups",
    "eni_subnet_id",
    "eni_vpc_id",
];

/// Columns naming the interfaces (and their instances) that hold the flow's addresses.
pub const HOLDER_COLUMNS: [&str; 4] = [
    "src_eni_id",
    "dst_eni_id",
    "src_instance_id",
    "dst_instance_id",
];

/// Columns naming the AWS service and region of the flow's addresses.
pub const AWS_COLUMNS: [&str; 4] = [
    "src_aws_service",
    "src_aws_region",
    "dst_aws_service",
    "dst_aws_region",
];

/// The columns an attribution reads.
pub const INPUT_COLUMNS: [&str; 5] = ["interface_id", "srcaddr", "dstaddr", "start", "vpc_id"];

/// The flag that adds `column`, if it is an attribution column (for messages about a query
/// that needs one).
pub fn flag_for(column: &str) -> Option<&'static str> {
    if ENI_COLUMNS.contains(&column) || HOLDER_COLUMNS.contains(&column) {
        Some("--eni-inventory")
    } else if AWS_COLUMNS.contains(&column) {
        Some("--aws-ip-ranges")
    } else {
        None
    }
}

/// The type of `eni_security_groups`.
pub fn groups_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

fn field(name: &str) -> Field {
    let t = if name == "eni_security_groups" {
        groups_type()
    } else {
        DataType::Utf8
    };
    Field::new(name, t, true)
}

/// One group of columns: which lookup computes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// [`ENI_COLUMNS`].
    Interface,
    /// [`HOLDER_COLUMNS`].
    Holders,
    /// [`AWS_COLUMNS`].
    Aws,
}

impl Group {
    /// The group's column names.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Group::Interface => &ENI_COLUMNS,
            Group::Holders => &HOLDER_COLUMNS,
            Group::Aws => &AWS_COLUMNS,
        }
    }

    /// The group's fields.
    pub fn fields(self) -> Fields {
        self.columns().iter().map(|c| field(c)).collect()
    }
}

/// A batch's input columns for the lookups (each absent when the data has no such column).
#[derive(Default)]
pub struct Inputs {
    rows: usize,
    interface_id: Option<StringArray>,
    srcaddr: Option<StringArray>,
    dstaddr: Option<StringArray>,
    start: Option<Int64Array>,
    vpc_id: Option<StringArray>,
    /// `srcaddr` and `dstaddr` parsed, once for all the groups that need them.
    parsed: std::sync::OnceLock<[Vec<Option<IpAddr>>; 2]>,
}

impl Inputs {
    /// Takes the input columns from arrays in [`INPUT_COLUMNS`] order (none: no such column),
    /// cast to text and integers as needed.
    pub fn new(rows: usize, columns: [Option<&ArrayRef>; 5]) -> Result<Inputs, Error> {
        let text = |a: Option<&ArrayRef>| -> Result<Option<StringArray>, Error> {
            a.map(|a| {
                cast(a, &DataType::Utf8)
                    .map(|c| c.as_string::<i32>().clone())
                    .map_err(|e| Error::Internal(format!("attribution input: {e}")))
            })
            .transpose()
        };
        let [interface_id, srcaddr, dstaddr, start, vpc_id] = columns;
        Ok(Inputs {
            rows,
            interface_id: text(interface_id)?,
            srcaddr: text(srcaddr)?,
            dstaddr: text(dstaddr)?,
            start: start
                .map(|a| {
                    cast(a, &DataType::Int64)
                        .map(|c| c.as_primitive::<Int64Type>().clone())
                        .map_err(|e| Error::Internal(format!("attribution input: {e}")))
                })
                .transpose()?,
            vpc_id: text(vpc_id)?,
            parsed: std::sync::OnceLock::new(),
        })
    }

    /// The input columns of `batch`, by name.
    pub fn of(batch: &RecordBatch) -> Result<Inputs, Error> {
        let col = |n: &str| batch.column_by_name(n);
        Inputs::new(batch.num_rows(), INPUT_COLUMNS.map(col))
    }

    fn text(a: &Option<StringArray>, i: usize) -> Option<&str> {
        a.as_ref().filter(|a| a.is_valid(i)).map(|a| a.value(i))
    }

    fn start(&self, i: usize) -> Option<i64> {
        self.start
            .as_ref()
            .filter(|a| a.is_valid(i))
            .map(|a| a.value(i))
    }

    /// The source and destination addresses, parsed (none where null or not an address).
    fn addresses(&self) -> &[Vec<Option<IpAddr>>; 2] {
        self.parsed.get_or_init(|| {
            [&self.srcaddr, &self.dstaddr].map(|a| {
                (0..self.rows)
                    .map(|i| Inputs::text(a, i).and_then(parse_addr))
                    .collect()
            })
        })
    }
}

/// The loaded lookups: an ENI inventory, AWS's ip-ranges, or both, with their values laid out
/// as Arrow arrays once, so a batch's columns are gathered from them by index.
#[derive(Debug)]
pub struct Attribution {
    inventory: Option<Inventory>,
    ranges: Option<AwsIpRanges>,
    /// Per inventory entry: the [`ENI_COLUMNS`] values, then `id`.
    eni_values: Vec<ArrayRef>,
    /// Per ip-ranges entry: service, region.
    range_values: Vec<ArrayRef>,
}

impl Attribution {
    /// The attribution of an inventory (`--eni-inventory`) and AWS's ranges (`--aws-ip-ranges`).
    pub fn new(inventory: Option<Inventory>, ranges: Option<AwsIpRanges>) -> Attribution {
        let eni_values = inventory.as_ref().map_or_else(Vec::new, |inv| {
            let enis: Vec<&Eni> = (0..inv.entries() as u32).map(|e| inv.eni(e)).collect();
            let text = |f: fn(&Eni) -> Option<&str>| -> ArrayRef {
                Arc::new(enis.iter().map(|e| f(e)).collect::<StringArray>())
            };
            let mut groups = ListBuilder::new(StringBuilder::new());
            for e in &enis {
                for g in &e.security_groups {
                    groups.values().append_value(g);
                }
                groups.append(true);
            }
            vec![
                text(|e| e.interface_type.as_deref()),
                text(|e| e.description.as_deref()),
                text(|e| e.name.as_deref()),
                text(|e| e.instance_id.as_deref()),
                Arc::new(groups.finish()),
                text(|e| e.subnet_id.as_deref()),
                text(|e| e.vpc_id.as_deref()),
                text(|e| Some(&e.id)),
            ]
        });
        let range_values = ranges.as_ref().map_or_else(Vec::new, |r| {
            let e = r.entries();
            vec![
                Arc::new(e.iter().map(|(s, _)| Some(&**s)).collect::<StringArray>()) as ArrayRef,
                Arc::new(e.iter().map(|(_, r)| Some(&**r)).collect::<StringArray>()),
            ]
        });
        Attribution {
            inventory,
            ranges,
            eni_values,
            range_values,
        }
    }

    /// Whether there is nothing to add.
    pub fn is_empty(&self) -> bool {
        self.inventory.is_none() && self.ranges.is_none()
    }

    /// The column groups this attribution adds, in order.
    pub fn groups(&self) -> Vec<Group> {
        let mut g = Vec::new();
        if self.inventory.is_some() {
            g.extend([Group::Interface, Group::Holders]);
        }
        if self.ranges.is_some() {
            g.push(Group::Aws);
        }
        g
    }

    /// The names of the columns added.
    pub fn column_names(&self) -> Vec<&'static str> {
        self.groups()
            .into_iter()
            .flat_map(|g| g.columns().iter().copied())
            .collect()
    }

    /// `schema` with the added columns at its end (a column of the same name in `schema` is
    /// replaced).
    pub fn extend_schema(&self, schema: &Schema) -> SchemaRef {
        let added = self.column_names();
        let mut fields: Vec<Field> = schema
            .fields()
            .iter()
            .filter(|f| !added.contains(&f.name().as_str()))
            .map(|f| f.as_ref().clone())
            .collect();
        for g in self.groups() {
            fields.extend(g.fields().iter().map(|f| f.as_ref().clone()));
        }
        Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
    }

    /// `schema` ([`Attribution::extend_schema`]'s) with the added text columns as dictionaries
    /// (`UInt32` keys into the inventory's or the ranges' values): [`Attribution::apply`] then
    /// hands out the lookups' results without copying a string, for outputs that take
    /// dictionary arrays (Parquet writes them without hashing a value per row).
    pub fn dictionary_schema(&self, schema: &Schema) -> SchemaRef {
        let added = self.column_names();
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| {
                let f = f.as_ref().clone();
                if added.contains(&f.name().as_str()) && *f.data_type() == DataType::Utf8 {
                    f.with_data_type(DataType::Dictionary(
                        Box::new(DataType::UInt32),
                        Box::new(DataType::Utf8),
                    ))
                } else {
                    f
                }
            })
            .collect();
        Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
    }

    /// `batch` with the added columns, in `schema` ([`Attribution::extend_schema`] of the
    /// batch's schema, or its [`Attribution::dictionary_schema`]).
    pub fn apply(&self, batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, Error> {
        let inputs = Inputs::of(batch)?;
        let added = self.column_names();
        let mut columns: Vec<ArrayRef> = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(f, _)| !added.contains(&f.name().as_str()))
            .map(|(_, c)| c.clone())
            .collect();
        for g in self.groups() {
            let types: Vec<DataType> = g
                .columns()
                .iter()
                .map(|n| schema.field_with_name(n).map(|f| f.data_type().clone()))
                .collect::<Result<_, _>>()
                .map_err(|e| Error::Internal(format!("attribution columns: {e}")))?;
            columns.extend(self.columns_of(g, &inputs, &types)?);
        }
        RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| Error::Internal(format!("attribution columns: {e}")))
    }

    /// The columns of group `g` for `inputs` (all null when the lookup isn't loaded).
    pub fn compute(&self, g: Group, inputs: &Inputs) -> Result<Vec<ArrayRef>, Error> {
        let types: Vec<DataType> = g.fields().iter().map(|f| f.data_type().clone()).collect();
        self.columns_of(g, inputs, &types)
    }

    /// The columns of group `g` for `inputs`, of `types`: a dictionary type gets the lookups'
    /// keys over the entries' values as they are, any other the values taken row by row.
    fn columns_of(
        &self,
        g: Group,
        inputs: &Inputs,
        types: &[DataType],
    ) -> Result<Vec<ArrayRef>, Error> {
        let (values, indexes): (Vec<&ArrayRef>, Vec<UInt32Array>) =
            match (g, &self.inventory, &self.ranges) {
                (Group::Interface, Some(inv), _) => {
                    let at = interface_indexes(inv, inputs);
                    (self.eni_values[..7].iter().collect(), vec![at; 7])
                }
                (Group::Holders, Some(inv), _) => {
                    let (src, dst) = holder_indexes(inv, inputs);
                    let (id, instance) = (&self.eni_values[7], &self.eni_values[3]);
                    (
                        vec![id, id, instance, instance],
                        vec![src.clone(), dst.clone(), src, dst],
                    )
                }
                (Group::Aws, _, Some(r)) => {
                    let (src, dst) = range_indexes(r, inputs);
                    let (service, region) = (&self.range_values[0], &self.range_values[1]);
                    (
                        vec![service, region, service, region],
                        vec![src.clone(), src, dst.clone(), dst],
                    )
                }
                _ => {
                    return Ok(types
                        .iter()
                        .map(|t| arrow::array::new_null_array(t, inputs.rows))
                        .collect());
                }
            };
        values
            .into_iter()
            .zip(indexes)
            .zip(types)
            .map(|((v, i), t)| {
                if matches!(t, DataType::Dictionary(..)) {
                    DictionaryArray::<UInt32Type>::try_new(i, v.clone())
                        .map(|d| Arc::new(d) as ArrayRef)
                } else {
                    take(v.as_ref(), &i, None)
                }
                .map_err(|e| Error::Internal(format!("attribution columns: {e}")))
            })
            .collect()
    }
}

/// Per row, the inventory entry of the record's interface. Records of one interface often come
/// in runs: a row like the previous one (same interface, same snapshot in effect) reuses its
/// answer.
fn interface_indexes(inv: &Inventory, inp: &Inputs) -> UInt32Array {
    let mut last: Option<(&str, Option<u32>, Option<u32>)> = None;
    (0..inp.rows)
        .map(|i| {
            let id = Inputs::text(&inp.interface_id, i)?;
            let at = inp.start(i);
            let snapshot = inv.snapshot_at(at);
            if let Some((l, s, found)) = last
                && l == id
                && s == snapshot
            {
                return found;
            }
            let found = inv.interface_index(id, at);
            last = Some((id, snapshot, found));
            found
        })
        .collect()
}

/// Per row, the inventory entries holding the source and destination addresses.
fn holder_indexes(inv: &Inventory, inp: &Inputs) -> (UInt32Array, UInt32Array) {
    let [srcs, dsts] = inp.addresses();
    let mut src = Vec::with_capacity(inp.rows);
    let mut dst = Vec::with_capacity(inp.rows);
    for i in 0..inp.rows {
        let at = inp.start(i);
        // The flow's VPC, asked for only when an address is held in several: the record's own,
        // else its interface's.
        let vpc = || {
            Inputs::text(&inp.vpc_id, i).or_else(|| {
                Inputs::text(&inp.interface_id, i)
                    .and_then(|id| inv.interface(id, at))
                    .and_then(|e| e.vpc_id.as_deref())
            })
        };
        src.push(srcs[i].and_then(|ip| inv.holder_index(ip, at, vpc)));
        dst.push(dsts[i].and_then(|ip| inv.holder_index(ip, at, vpc)));
    }
    (src.into(), dst.into())
}

/// Per row, the ip-ranges entries of the source and destination addresses.
fn range_indexes(r: &AwsIpRanges, inp: &Inputs) -> (UInt32Array, UInt32Array) {
    let [srcs, dsts] = inp.addresses();
    let at = |a: &[Option<IpAddr>]| -> UInt32Array {
        a.iter()
            .map(|ip| ip.and_then(|ip| r.lookup_index(ip)))
            .collect()
    };
    (at(srcs), at(dsts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::inventory::SnapshotFile;

    #[test]
    fn columns_name_their_flag() {
        for c in ENI_COLUMNS.iter().chain(&HOLDER_COLUMNS) {
            assert_eq!(flag_for(c), Some("--eni-inventory"));
        }
        for c in AWS_COLUMNS {
            assert_eq!(flag_for(c), Some("--aws-ip-ranges"));
        }
        assert_eq!(flag_for("flow_direction"), None);
    }

    #[test]
    fn a_batch_gains_the_columns_replacing_stale_ones_and_null_where_inputs_lack() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("enis.json");
        std::fs::write(
            &path,
            r#"{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "VpcId": "vpc-1",
                "Groups": [{"GroupId": "sg-1"}, {"GroupId": "sg-2"}],
                "TagSet": [{"Key": "Name", "Value": "web"}], "PrivateIpAddress": "10.0.0.5"}]}"#,
        )
        .unwrap();
        let inv = Inventory::load(&[SnapshotFile {
            path,
            time: Some(0),
        }])
        .unwrap();
        let a = Attribution::new(Some(inv), None);
        // A batch that already has a stale `eni_name` and lacks `start` and `dstaddr`.
        let schema = Arc::new(Schema::new(vec![
            Field::new("interface_id", DataType::Utf8, true),
            Field::new("srcaddr", DataType::Utf8, true),
            Field::new("eni_name", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("eni-1"), Some("eni-9"), None])),
                Arc::new(StringArray::from(vec![Some("10.0.0.5"), Some("bad"), None])),
                Arc::new(StringArray::from(vec![Some("stale"); 3])),
            ],
        )
        .unwrap();
        let out_schema = a.extend_schema(&schema);
        let names: Vec<&str> = out_schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names[..2], ["interface_id", "srcaddr"]);
        assert_eq!(names.len(), 2 + 7 + 4);
        let out = a.apply(&batch, &out_schema).unwrap();
        let text = |name: &str| -> Vec<Option<String>> {
            let c = out.column_by_name(name).unwrap();
            let c = c.as_string::<i32>();
            c.iter().map(|v| v.map(str::to_string)).collect()
        };
        assert_eq!(text("eni_name"), [Some("web".into()), None, None]);
        assert_eq!(text("src_eni_id"), [Some("eni-1".into()), None, None]);
        assert_eq!(text("dst_eni_id"), [None, None, None]);
        let groups = out.column_by_name("eni_security_groups").unwrap();
        let groups = groups.as_list::<i32>();
        assert_eq!(
            groups
                .value(0)
                .as_string::<i32>()
                .iter()
                .collect::<Vec<_>>(),
            [Some("sg-1"), Some("sg-2")]
        );
        assert!(groups.is_null(1) && groups.is_null(2));
    }
}
