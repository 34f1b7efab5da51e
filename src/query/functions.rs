//! SQL functions every query session has, and the ones behind the view's attribution columns.
//!
//! - `ip_in_cidr(addr, cidr)`: whether the address lies in the prefix (`false` for the other
//!   family; null for a null or unparsable address). A bare address is a /32 or /128. A prefix
//!   that is not one, or has host bits set (`10.0.0.1/8`), is an error.
//! - `is_private_ip(addr)`: whether the address is in RFC 1918 space, RFC 6598 shared space
//!   (100.64.0.0/10, carrier-grade NAT), loopback, link-local (169.254/16), or for IPv6
//!   loopback, unique local (fc00::/7) or link-local (fe80::/10).
//! - `ip_prefix(addr, bits)` → `'10.1.2.0/24'`; `ip_prefix(addr, v4_bits, v6_bits)` for columns
//!   that hold both families. Null when the length exceeds the address's family.
//!
//! The attribution columns (`eni_*`, `src_eni_id`…, `*_aws_*`) are computed by three functions
//! (`vpcflow_interface`, `vpcflow_holders`, `vpcflow_aws`) returning structs, registered only
//! when an inventory or ip-ranges is loaded; [`attribution_view_columns`] writes the view's
//! select list over them.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArray, StructArray};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::enrich::attribution::{Attribution, Group, INPUT_COLUMNS, Inputs};
use crate::enrich::ip::{Prefix, is_private, parse_addr, prefix_of};

const IP_FUNCTIONS: [IpFunction; 3] = [
    IpFunction::InCidr,
    IpFunction::IsPrivate,
    IpFunction::Prefix,
];

/// Registers the IP functions, and the attribution functions when `attribution` is given.
pub fn register(ctx: &SessionContext, attribution: Option<&Arc<Attribution>>) {
    for f in IP_FUNCTIONS {
        ctx.register_udf(ScalarUDF::from(Ip::new(f)));
    }
    if let Some(a) = attribution {
        for g in a.groups() {
            ctx.register_udf(ScalarUDF::from(Attribute::new(g, a.clone())));
        }
    }
}

/// The IP function called `name`, if it is one (the cluster codecs decode them by name).
pub(crate) fn ip_function(name: &str) -> Option<ScalarUDF> {
    IP_FUNCTIONS
        .into_iter()
        .map(Ip::new)
        .find(|f| f.name() == name)
        .map(ScalarUDF::from)
}

/// Which IP function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum IpFunction {
    InCidr,
    IsPrivate,
    Prefix,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Ip {
    function: IpFunction,
    signature: Signature,
}

impl Ip {
    fn new(function: IpFunction) -> Ip {
        Ip {
            function,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
    ) || matches!(t, DataType::Dictionary(_, v) if is_text(v))
}

/// The argument arrays, cast to the types `coerce_types` promised.
fn arrays(args: ScalarFunctionArgs) -> Result<(Vec<ArrayRef>, usize)> {
    let rows = args.number_rows;
    let arrays = ColumnarValue::values_to_arrays(&args.args)?;
    Ok((arrays, rows))
}

/// The value of a constant argument, if it is one.
fn constant(v: &ColumnarValue) -> Option<&ScalarValue> {
    match v {
        ColumnarValue::Scalar(s) => Some(s),
        ColumnarValue::Array(_) => None,
    }
}

impl ScalarUDFImpl for Ip {
    fn name(&self) -> &str {
        match self.function {
            IpFunction::InCidr => "ip_in_cidr",
            IpFunction::IsPrivate => "is_private_ip",
            IpFunction::Prefix => "ip_prefix",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let (usage, texts, ints) = match self.function {
            IpFunction::InCidr => ("ip_in_cidr(addr, cidr)", 2..=2, 0..=0),
            IpFunction::IsPrivate => ("is_private_ip(addr)", 1..=1, 0..=0),
            IpFunction::Prefix => ("ip_prefix(addr, bits[, v6_bits])", 1..=1, 1..=2),
        };
        let n = arg_types.len();
        let t = *texts.end();
        if !(t + ints.start()..=t + ints.end()).contains(&n) {
            return plan_err!("{name} takes {usage}, not {n} arguments");
        }
        arg_types
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if i < t {
                    if !is_text(a) {
                        return plan_err!("{usage}: argument {} is {a}, not text", i + 1);
                    }
                    Ok(DataType::Utf8)
                } else {
                    if !(a.is_integer() || *a == DataType::Null) {
                        return plan_err!("{usage}: argument {} is {a}, not an integer", i + 1);
                    }
                    Ok(DataType::Int64)
                }
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.function {
            IpFunction::InCidr | IpFunction::IsPrivate => DataType::Boolean,
            IpFunction::Prefix => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match self.function {
            IpFunction::InCidr => in_cidr(args),
            IpFunction::IsPrivate => {
                let (a, _) = arrays(args)?;
                let addr = a[0].as_string::<i32>();
                let out: BooleanArray = addr
                    .iter()
                    .map(|s| s.and_then(parse_addr).map(is_private))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            IpFunction::Prefix => prefix(args),
        }
    }
}

fn parse_cidr(text: &str) -> Result<Prefix> {
    match Prefix::parse(text) {
        Ok(p) => Ok(p),
        Err(e) => exec_err!("ip_in_cidr: {e}"),
    }
}

fn in_cidr(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    // A constant prefix (the usual case) is parsed once.
    let fixed = match constant(&args.args[1]) {
        Some(ScalarValue::Utf8(Some(c))) => Some(parse_cidr(c)?),
        _ => None,
    };
    let (a, _) = arrays(args)?;
    let addr = a[0].as_string::<i32>();
    let out: BooleanArray = match fixed {
        Some(p) => addr
            .iter()
            .map(|s| s.and_then(parse_addr).map(|ip| p.contains(ip)))
            .collect(),
        None => {
            let cidr = a[1].as_string::<i32>();
            addr.iter()
                .zip(cidr.iter())
                .map(|(s, c)| match (s.and_then(parse_addr), c) {
                    (Some(ip), Some(c)) => parse_cidr(c).map(|p| Some(p.contains(ip))),
                    _ => Ok(None),
                })
                .collect::<Result<_>>()?
        }
    };
    Ok(ColumnarValue::Array(Arc::new(out)))
}

fn prefix(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let (a, rows) = arrays(args)?;
    let addr = a[0].as_string::<i32>();
    let v4 = a[1].as_primitive::<Int64Type>();
    let v6 = a.get(2).map(|b| b.as_primitive::<Int64Type>());
    let bits = |b: Option<i64>| -> Result<Option<u8>> {
        match b {
            None => Ok(None),
            // Longer than the address's family: null (as for 33..=128 on IPv4).
            Some(b) if b > 128 => Ok(None),
            Some(b) if b >= 0 => Ok(Some(b as u8)),
            Some(b) => exec_err!("ip_prefix: {b} is not a prefix length"),
        }
    };
    let mut out = Vec::with_capacity(rows);
    for i in 0..rows {
        let ip: Option<IpAddr> = addr
            .is_valid(i)
            .then(|| parse_addr(addr.value(i)))
            .flatten();
        let len = |a: &arrow::array::Int64Array| a.is_valid(i).then(|| a.value(i));
        let b = match (ip, v6) {
            (Some(IpAddr::V6(_)), Some(v6)) => bits(len(v6))?,
            _ => bits(len(v4))?,
        };
        out.push(match (ip, b) {
            (Some(ip), Some(b)) => prefix_of(ip, b).map(|p| p.to_string()),
            _ => None,
        });
    }
    Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
}

/// One group of attribution columns as a struct-valued function.
#[derive(Debug)]
struct Attribute {
    group: Group,
    attribution: Arc<Attribution>,
    signature: Signature,
}

impl PartialEq for Attribute {
    fn eq(&self, other: &Self) -> bool {
        self.group == other.group && Arc::ptr_eq(&self.attribution, &other.attribution)
    }
}

impl Eq for Attribute {}

impl Hash for Attribute {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.group.hash(state);
        Arc::as_ptr(&self.attribution).hash(state);
    }
}

impl Attribute {
    fn new(group: Group, attribution: Arc<Attribution>) -> Attribute {
        Attribute {
            group,
            attribution,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The SQL function computing a group's columns.
fn function_name(g: Group) -> &'static str {
    match g {
        Group::Interface => "vpcflow_interface",
        Group::Holders => "vpcflow_holders",
        Group::Aws => "vpcflow_aws",
    }
}

impl ScalarUDFImpl for Attribute {
    fn name(&self) -> &str {
        function_name(self.group)
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Arguments: the [`INPUT_COLUMNS`], text except `start`.
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != INPUT_COLUMNS.len() {
            return plan_err!("{} takes {} arguments", self.name(), INPUT_COLUMNS.len());
        }
        Ok(INPUT_COLUMNS
            .iter()
            .map(|c| {
                if *c == "start" {
                    DataType::Int64
                } else {
                    DataType::Utf8
                }
            })
            .collect())
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(self.group.fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (a, rows) = arrays(args)?;
        let inputs = Inputs::new(rows, std::array::from_fn(|i| Some(&a[i])))
            .map_err(|e| datafusion::common::DataFusionError::External(Box::new(e)))?;
        let columns = self
            .attribution
            .compute(self.group, &inputs)
            .map_err(|e| datafusion::common::DataFusionError::External(Box::new(e)))?;
        let s = StructArray::try_new(self.group.fields(), columns, None)?;
        Ok(ColumnarValue::Array(Arc::new(s)))
    }
}

/// The view's select items for the attribution columns, given the stored columns (an input
/// column the data lacks is passed as null).
pub fn attribution_view_columns(attribution: &Attribution, stored: &[String]) -> Vec<String> {
    let args: Vec<String> = INPUT_COLUMNS
        .iter()
        .map(|c| {
            if stored.iter().any(|s| s == c) {
                format!("\"{c}\"")
            } else if *c == "start" {
                "CAST(NULL AS BIGINT)".to_string()
            } else {
                "CAST(NULL AS VARCHAR)".to_string()
            }
        })
        .collect();
    let args = args.join(", ");
    let mut items = Vec::new();
    for g in attribution.groups() {
        for c in g.columns() {
            items.push(format!("{}({args})['{c}'] AS \"{c}\"", function_name(g)));
        }
    }
    items
}
