//! HTML text: escaping, and record batches as an HTML table (alert emails, the traffic report).

use std::fmt::Write as _;

use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// `s` with `&`, `<`, `>`, `"` and `'` escaped, safe in element text and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Up to `max_rows` rows of `batches` as a `<table>` with a header row; nulls as `-`. Numeric
/// columns get `class="num"`.
pub fn table(
    schema: &Schema,
    batches: &[RecordBatch],
    max_rows: usize,
) -> Result<String, arrow::error::ArrowError> {
    let mut out = String::from("<table><thead><tr>");
    let numeric: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().is_numeric())
        .collect();
    for f in schema.fields() {
        let _ = write!(out, "<th>{}</th>", escape(f.name()));
    }
    out.push_str("</tr></thead><tbody>");
    let opts = FormatOptions::default().with_null("-");
    let mut n = 0;
    'outer: for b in batches {
        let fmts = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()?;
        for r in 0..b.num_rows() {
            if n >= max_rows {
                break 'outer;
            }
            n += 1;
            out.push_str("<tr>");
            for (f, num) in fmts.iter().zip(&numeric) {
                let cell = escape(&f.value(r).to_string());
                if *num {
                    let _ = write!(out, "<td class=\"num\">{cell}</td>");
                } else {
                    let _ = write!(out, "<td>{cell}</td>");
                }
            }
            out.push_str("</tr>");
        }
    }
    out.push_str("</tbody></table>");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field};
    use std::sync::Arc;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">Tom & 'Jerry'</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn tables_rows_with_escaped_cells() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None])),
                Arc::new(StringArray::from(vec![Some("<b>"), Some("x")])),
            ],
        )
        .unwrap();
        assert_eq!(
            table(&schema, std::slice::from_ref(&b), 10).unwrap(),
            "<table><thead><tr><th>n</th><th>s</th></tr></thead><tbody>\
             <tr><td class=\"num\">1</td><td>&lt;b&gt;</td></tr>\
             <tr><td class=\"num\">-</td><td>x</td></tr></tbody></table>"
        );
        assert_eq!(table(&schema, &[b], 1).unwrap().matches("<tr>").count(), 2);
    }
}
