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

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListBuilder, StringArray, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Fields, Int64Type, Schema, SchemaRef};
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

    fn addr(a: &Option<StringArray>, i: usize) -> Option<IpAddr> {
        Inputs::text(a, i).and_then(parse_addr)
    }
}

/// The loaded lookups: an ENI inventory, AWS's ip-ranges, or both.
#[derive(Debug, Default)]
pub struct Attribution {
    /// The ENI inventory (`--eni-inventory`).
    pub inventory: Option<Inventory>,
    /// AWS's ranges (`--aws-ip-ranges`).
    pub ranges: Option<AwsIpRanges>,
}

impl Attribution {
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

    /// `batch` with the added columns, in `schema` ([`Attribution::extend_schema`] of the
    /// batch's schema).
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
            columns.extend(self.compute(g, &inputs));
        }
        RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| Error::Internal(format!("attribution columns: {e}")))
    }

    /// The columns of group `g` for `inputs` (all null when the lookup isn't loaded).
    pub fn compute(&self, g: Group, inputs: &Inputs) -> Vec<ArrayRef> {
        match (g, &self.inventory, &self.ranges) {
            (Group::Interface, Some(inv), _) => interface_columns(inv, inputs),
            (Group::Holders, Some(inv), _) => holder_columns(inv, inputs),
            (Group::Aws, _, Some(r)) => aws_columns(r, inputs),
            _ => g
                .fields()
                .iter()
                .map(|f| arrow::array::new_null_array(f.data_type(), inputs.rows))
                .collect(),
        }
    }
}

fn interface_columns(inv: &Inventory, inp: &Inputs) -> Vec<ArrayRef> {
    let mut text: Vec<StringBuilder> = (0..6).map(|_| StringBuilder::new()).collect();
    let mut groups = ListBuilder::new(StringBuilder::new());
    for i in 0..inp.rows {
        let eni = Inputs::text(&inp.interface_id, i).and_then(|id| inv.interface(id, inp.start(i)));
        let values: [Option<&str>; 6] = match eni {
            Some(e) => [
                e.interface_type.as_deref(),
                e.description.as_deref(),
                e.name.as_deref(),
                e.instance_id.as_deref(),
                e.subnet_id.as_deref(),
                e.vpc_id.as_deref(),
            ],
            None => [None; 6],
        };
        for (b, v) in text.iter_mut().zip(values) {
            b.append_option(v);
        }
        match eni {
            Some(e) => {
                for g in &e.security_groups {
                    groups.values().append_value(g);
                }
                groups.append(true);
            }
            None => groups.append(false),
        }
    }
    let mut t = text
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef);
    let mut next = || t.next().expect("six text columns");
    let (ty, desc, name, inst) = (next(), next(), next(), next());
    let (subnet, vpc) = (next(), next());
    vec![ty, desc, name, inst, Arc::new(groups.finish()), subnet, vpc]
}

fn holder_columns(inv: &Inventory, inp: &Inputs) -> Vec<ArrayRef> {
    let mut b: [StringBuilder; 4] = std::array::from_fn(|_| StringBuilder::new());
    for i in 0..inp.rows {
        let at = inp.start(i);
        // The flow's VPC: the record's own, else its interface's.
        let vpc = Inputs::text(&inp.vpc_id, i).or_else(|| {
            Inputs::text(&inp.interface_id, i)
                .and_then(|id| inv.interface(id, at))
                .and_then(|e| e.vpc_id.as_deref())
        });
        let held = |a: &Option<StringArray>| -> Option<&Eni> {
            Inputs::addr(a, i).and_then(|ip| inv.holder(ip, at, vpc))
        };
        let (src, dst) = (held(&inp.srcaddr), held(&inp.dstaddr));
        b[0].append_option(src.map(|e| &*e.id));
        b[1].append_option(dst.map(|e| &*e.id));
        b[2].append_option(src.and_then(|e| e.instance_id.as_deref()));
        b[3].append_option(dst.and_then(|e| e.instance_id.as_deref()));
    }
    b.into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect()
}

fn aws_columns(r: &AwsIpRanges, inp: &Inputs) -> Vec<ArrayRef> {
    let mut b: [StringBuilder; 4] = std::array::from_fn(|_| StringBuilder::new());
    for i in 0..inp.rows {
        let src = Inputs::addr(&inp.srcaddr, i).and_then(|ip| r.lookup(ip));
        let dst = Inputs::addr(&inp.dstaddr, i).and_then(|ip| r.lookup(ip));
        b[0].append_option(src.map(|s| s.0));
        b[1].append_option(src.map(|s| s.1));
        b[2].append_option(dst.map(|s| s.0));
        b[3].append_option(dst.map(|s| s.1));
    }
    b.into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect()
}
