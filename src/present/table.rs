//! Aligned text tables of record batches, for terminals (`vpcflow show`).

use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// Renders up to `max_rows` rows of `batches` as an aligned table with a header row; nulls are
/// shown as `-`, as in the flow log itself.
pub fn render(
    schema: &Schema,
    batches: &[RecordBatch],
    max_rows: usize,
) -> Result<String, arrow::error::ArrowError> {
    let headers: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let opts = FormatOptions::default().with_null("-");
    'outer: for b in batches {
        let fmts = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()?;
        for r in 0..b.num_rows() {
            if rows.len() >= max_rows {
                break 'outer;
            }
            rows.push(fmts.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, v) in widths.iter_mut().zip(row) {
            *w = (*w).max(v.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&headers);
    out += &(widths
        .iter()
        .map(|w| "-".repeat(*w))
        .collect::<Vec<_>>()
        .join("  ")
        + "\n");
    for row in &rows {
        out += &line(row);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field};
    use std::sync::Arc;

    #[test]
    fn aligns_and_shows_nulls() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("port", DataType::Int32, true),
            Field::new("action", DataType::Utf8, true),
        ]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int32Array::from(vec![Some(22), None, Some(3389)])),
                Arc::new(StringArray::from(vec![
                    Some("ACCEPT"),
                    Some("REJECT"),
                    None,
                ])),
            ],
        )
        .unwrap();
        let t = render(&schema, &[b], 2).unwrap();
        assert_eq!(
            t,
            "port  action\n----  ------\n22    ACCEPT\n-     REJECT\n"
        );
    }
}
