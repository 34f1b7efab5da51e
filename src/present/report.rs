//! The traffic report: one self-contained HTML page (inline CSS, inline SVG charts, a few lines of
//! inline script for hover details; a Content-Security-Policy that forbids every fetch) built
//! from SQL summaries run by [`crate::query::Engine`]. Every chart shows the numbers behind it
//! (a table) and the SQL that produced them. Charts are bounded (top N rows, at most
//! `MAX_BUCKETS` time buckets, `HEAT_ROWS` interfaces in the heat map), so the page stays
//! the same size for ten flows or a hundred million.
//!
//! A section whose query needs a column the data lacks (say `flow_direction` in v2 default
//! logs) says so instead of a chart; any other query error fails the report.

use std::fmt::Write as _;

use arrow::array::{Array, Float64Array};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::present::html::escape;
use crate::query::canned;
use crate::query::{Engine, QueryError};

/// Most time buckets in a time chart.
pub(crate) const MAX_BUCKETS: i64 = 240;
/// Interfaces in the heat map.
pub(crate) const HEAT_ROWS: usize = 20;

/// What the report covers.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Rows in "top" charts.
    pub top: usize,
    /// The page title.
    pub title: String,
    /// A line saying what the data is (inputs, filters).
    pub subtitle: String,
}

/// One query's result.
struct Table {
    sql: String,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl Table {
    fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.schema.index_of(name).ok()
    }

    /// A column's values as text (`-` for null).
    fn texts(&self, name: &str) -> Vec<String> {
        let Some(i) = self.column(name) else {
            return Vec::new();
        };
        let opts = FormatOptions::default().with_null("-");
        let mut out = Vec::with_capacity(self.rows());
        for b in &self.batches {
            match ArrayFormatter::try_new(b.column(i).as_ref(), &opts) {
                Ok(f) => out.extend((0..b.num_rows()).map(|r| f.value(r).to_string())),
                Err(_) => out.extend((0..b.num_rows()).map(|_| "?".to_string())),
            }
        }
        out
    }

    /// A numeric column's values (null as 0).
    fn numbers(&self, name: &str) -> Vec<f64> {
        let Some(i) = self.column(name) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(self.rows());
        for b in &self.batches {
            match arrow::compute::cast(b.column(i), &DataType::Float64) {
                Ok(a) => {
                    let a = a.as_any().downcast_ref::<Float64Array>().map(|a| {
                        (0..a.len())
                            .map(|r| if a.is_null(r) { 0.0 } else { a.value(r) })
                            .collect::<Vec<_>>()
                    });
                    out.extend(a.unwrap_or_else(|| vec![0.0; b.num_rows()]));
                }
                Err(_) => out.extend(std::iter::repeat_n(0.0, b.num_rows())),
            }
        }
        out
    }
}

fn run(engine: &Engine, sql: String) -> Result<Table, QueryError> {
    let mut batches = Vec::new();
    let schema = engine.run(&sql, &mut |b| {
        batches.push(b.clone());
        Ok(())
    })?;
    Ok(Table {
        sql,
        schema,
        batches,
    })
}

fn canned_sql(name: &str, params: &[(&str, String)]) -> String {
    let q = canned::find(name).unwrap_or_else(|| panic!("canned query {name} is compiled in"));
    let given: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| q.takes(k))
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    q.bind(&given)
        .unwrap_or_else(|e| panic!("canned query {name} binds its defaults: {e}"))
}

/// Bytes as `12.3 MB`.
fn human_bytes(v: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = v;
    let mut u = 0;
    while v.abs() >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// Counts as `1,234,567`.
fn human_count(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// `YYYY-MM-DD HH:MM` (UTC) for Unix seconds.
fn utc_minute(t: i64) -> String {
    let (y, m, d) = crate::format::calendar::civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", s / 3600, s / 60 % 60)
}

pub use crate::format::calendar::parse_time;

/// The smallest of the usual bucket widths that gives at most [`MAX_BUCKETS`] buckets.
pub(crate) fn bucket_seconds(span: i64) -> i64 {
    const NICE: [i64; 12] = [
        60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    ];
    for b in NICE {
        if span / b < MAX_BUCKETS {
            return b;
        }
    }
    let days = (span / 86_400 / MAX_BUCKETS) + 1;
    days * 86_400
}

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Bytes,
    Count,
    Percent,
}

fn fmt_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Bytes => human_bytes(v),
        Unit::Count => human_count(v),
        Unit::Percent => format!("{v:.2} %"),
    }
}

/// A horizontal bar chart: one bar (`rect.mark`) per label.
fn bar_chart(id: &str, labels: &[String], values: &[f64], unit: Unit) -> String {
    let max = values.iter().cloned().fold(0.0f64, f64::max).max(1e-9);
    let row = 20;
    let (label_w, bar_w, pad) = (300, 420, 110);
    let h = row * labels.len().max(1) + 4;
    let w = label_w + bar_w + pad;
    let mut s = format!(
        "<svg id=\"{id}\" class=\"chart bars\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" preserveAspectRatio=\"xMinYMin meet\">"
    );
    for (i, (l, v)) in labels.iter().zip(values).enumerate() {
        let y = i * row + 2;
        let bw = ((v / max) * bar_w as f64).max(if *v > 0.0 { 1.0 } else { 0.0 });
        let short: String = if l.chars().count() > 44 {
            l.chars().take(43).collect::<String>() + "…"
        } else {
            l.clone()
        };
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" class=\"lbl\" text-anchor=\"end\">{}</text>\
             <rect class=\"mark\" x=\"{label_w}\" y=\"{y}\" width=\"{bw:.1}\" height=\"{}\"><title>{}: {}</title></rect>\
             <text x=\"{:.1}\" y=\"{}\" class=\"val\">{}</text>",
            label_w - 6,
            y + 14,
            escape(&short),
            row - 4,
            escape(l),
            escape(&fmt_value(*v, unit)),
            label_w as f64 + bw + 4.0,
            y + 14,
            escape(&fmt_value(*v, unit)),
        );
    }
    s.push_str("</svg>");
    s
}

/// Stacked columns over time: for each bucket, one `rect.mark` per series (zero-height when 0).
fn time_chart(id: &str, times: &[i64], series: &[(&str, &str, Vec<f64>)], unit: Unit) -> String {
    let n = times.len().max(1);
    let (w, h, left, bottom) = (960.0, 260.0, 70.0, 40.0);
    let plot_w = w - left - 10.0;
    let plot_h = h - bottom - 10.0;
    let totals: Vec<f64> = (0..times.len())
        .map(|i| series.iter().map(|(_, _, v)| v[i]).sum())
        .collect();
    let max = totals.iter().cloned().fold(0.0f64, f64::max).max(1e-9);
    let col = plot_w / n as f64;
    let mut s = format!(
        "<svg id=\"{id}\" class=\"chart time\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\">"
    );
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let y = 10.0 + plot_h - plot_h * k as f64 / 4.0;
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            w - 10.0,
            left - 4.0,
            y + 4.0,
            escape(&fmt_value(v, unit))
        );
    }
    for (i, t) in times.iter().enumerate() {
        let x = left + col * i as f64;
        let mut base = 10.0 + plot_h;
        for (name, class, values) in series {
            let hgt = plot_h * values[i] / max;
            base -= hgt;
            let _ = write!(
                s,
                "<rect class=\"mark {class}\" x=\"{:.2}\" y=\"{base:.2}\" width=\"{:.2}\" height=\"{hgt:.2}\"><title>{} {}: {}</title></rect>",
                x + col * 0.1,
                (col * 0.8).max(0.5),
                escape(&utc_minute(*t)),
                escape(name),
                escape(&fmt_value(values[i], unit))
            );
        }
    }
    let ticks = 6.min(times.len());
    for k in 0..ticks {
        let i = if ticks > 1 {
            k * (times.len() - 1) / (ticks - 1)
        } else {
            0
        };
        let x = left + col * (i as f64 + 0.5);
        let anchor = match (k, ticks) {
            (0, _) => "start",
            (k, t) if k + 1 == t => "end",
            _ => "middle",
        };
        let _ = write!(
            s,
            "<text class=\"axis\" x=\"{x:.1}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            h - 18.0,
            escape(&utc_minute(times[i]))
        );
    }
    s.push_str("</svg>");
    s
}

/// Rows of interfaces, columns of time buckets; one `rect.mark` per (interface, bucket) with
/// traffic, darker for more bytes (log scale).
fn heat_map(id: &str, rows: &[String], times: &[i64], cells: &[(usize, usize, f64)]) -> String {
    let (left, top, cw, rh) = (
        190.0,
        6.0,
        (760.0 / times.len().max(1) as f64).max(1.0),
        16.0,
    );
    let w = left + cw * times.len() as f64 + 10.0;
    let h = top + rh * rows.len() as f64 + 24.0;
    let max = cells.iter().map(|c| c.2).fold(1.0f64, f64::max).ln_1p();
    let mut s = format!(
        "<svg id=\"{id}\" class=\"chart heat\" viewBox=\"0 0 {w:.0} {h:.0}\" width=\"100%\" role=\"img\">"
    );
    for (r, name) in rows.iter().enumerate() {
        let _ = write!(
            s,
            "<text class=\"lbl\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            top + rh * r as f64 + 12.0,
            escape(name)
        );
    }
    for (r, c, v) in cells {
        let o = (v.ln_1p() / max).clamp(0.08, 1.0);
        let _ = write!(
            s,
            "<rect class=\"mark\" x=\"{:.2}\" y=\"{:.1}\" width=\"{cw:.2}\" height=\"{}\" fill-opacity=\"{o:.3}\"><title>{} {}: {}</title></rect>",
            left + cw * *c as f64,
            top + rh * *r as f64,
            rh - 2.0,
            escape(&rows[*r]),
            escape(&utc_minute(times[*c])),
            escape(&human_bytes(*v))
        );
    }
    if let (Some(first), Some(last)) = (times.first(), times.last()) {
        let _ = write!(
            s,
            "<text class=\"axis\" x=\"{left}\" y=\"{:.1}\">{}</text><text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            h - 6.0,
            escape(&utc_minute(*first)),
            w - 10.0,
            h - 6.0,
            escape(&utc_minute(*last))
        );
    }
    s.push_str("</svg>");
    s
}

struct Section {
    id: &'static str,
    title: String,
    note: String,
    body: Result<(String, Table), String>,
}

fn section(
    id: &'static str,
    title: &str,
    note: &str,
    result: Result<Table, QueryError>,
    draw: impl FnOnce(&Table) -> String,
) -> Result<Section, QueryError> {
    let body = match result {
        Ok(t) if t.rows() == 0 => Err("No rows: nothing of this kind in the data.".to_string()),
        Ok(t) => Ok((draw(&t), t)),
        Err(QueryError::MissingColumn { column, .. }) => {
            Err(match crate::enrich::attribution::flag_for(&column) {
                Some(flag) => format!(
                    "Not in these flows: this summary needs column `{column}`, which {flag} adds (run the report with it)."
                ),
                None => format!(
                    "Not in these flows: this summary needs the {} field (column `{column}`), which their flow log format doesn't have.",
                    column.replace('_', "-")
                ),
            })
        }
        Err(e) => return Err(e),
    };
    Ok(Section {
        id,
        title: title.to_string(),
        note: note.to_string(),
        body,
    })
}

fn labels(t: &Table, cols: &[&str], sep: &str) -> Vec<String> {
    let cols: Vec<Vec<String>> = cols.iter().map(|c| t.texts(c)).collect();
    (0..t.rows())
        .map(|r| {
            cols.iter()
                .map(|c| c[r].as_str())
                .collect::<Vec<_>>()
                .join(sep)
        })
        .collect()
}

const STYLE: &str = "
:root{--acc:#2f6fb0;--rej:#c8453b;--fg:#1d232b;--muted:#69737f;--line:#e3e7ec}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);margin:0;background:#f5f7f9}
header{background:#1d2a38;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c5d0db}
main{max-width:1180px;margin:0 auto;padding:18px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin-bottom:16px}
.kpi{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.kpi b{display:block;font-size:20px}
.kpi.wide b{font-size:14px}
.kpi span{color:var(--muted);font-size:12px}
section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:14px 18px;margin-bottom:16px}
section h2{margin:0 0 4px;font-size:17px}
section p.note{margin:0 0 10px;color:var(--muted)}
section p.empty{color:var(--muted);font-style:italic}
svg.chart{display:block;max-width:100%;height:auto}
svg text{font-size:11px;fill:var(--fg)}
svg text.axis{fill:var(--muted);font-size:10px}
svg line.grid{stroke:var(--line)}
svg.bars rect.mark{fill:var(--acc)}
svg rect.mark.accepted{fill:var(--acc)}
svg rect.mark.rejected{fill:var(--rej)}
svg.heat rect.mark{fill:#b4361f}
svg rect.mark:hover{opacity:.75}
.legend span{display:inline-block;margin-right:14px;color:var(--muted)}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
details{margin-top:8px}
summary{cursor:pointer;color:var(--acc)}
table{border-collapse:collapse;margin-top:6px;font-size:12px}
th,td{border:1px solid var(--line);padding:2px 8px;text-align:left;font-family:ui-monospace,Menlo,Consolas,monospace}
td.num{text-align:right}
pre{background:#f2f4f7;padding:8px;overflow:auto;font-size:12px}
#tip{position:fixed;pointer-events:none;background:#1d2a38;color:#fff;padding:3px 7px;border-radius:4px;font-size:12px;display:none}
";

const SCRIPT: &str = "
(function(){
  var body=document.body;
  window.addEventListener('error',function(e){body.setAttribute('data-error',String(e.message));});
  document.addEventListener('securitypolicyviolation',function(e){body.setAttribute('data-error','blocked '+e.blockedURI);});
  var tip=document.getElementById('tip');
  document.querySelectorAll('rect.mark').forEach(function(r){
    var t=r.querySelector('title');
    if(!t)return;
    r.addEventListener('mousemove',function(ev){tip.textContent=t.textContent;tip.style.display='block';tip.style.left=(ev.clientX+12)+'px';tip.style.top=(ev.clientY+12)+'px';});
    r.addEventListener('mouseleave',function(){tip.style.display='none';});
  });
  document.querySelectorAll('section').forEach(function(s){
    s.setAttribute('data-marks',String(s.querySelectorAll('rect.mark').length));
  });
  body.setAttribute('data-ready','1');
})();
";

/// Builds the report page.
pub fn build(engine: &Engine, opts: &ReportOptions) -> Result<String, QueryError> {
    let top = opts.top.max(1);
    let overview = overview(engine)?;
    let span = Span::of(&overview);
    let sections = sections(engine, top, &span)?;
    Ok(page(opts, &overview, &span, &sections))
}

/// Runs the overview query: one row of totals (records, accepted, rejected, bytes, packets)
/// and the time span (`first_start`, `last_end`).
fn overview(engine: &Engine) -> Result<Table, QueryError> {
    run(
        engine,
        "SELECT COUNT(*) AS records, \
         SUM(CASE WHEN action = 'ACCEPT' THEN 1 ELSE 0 END) AS accepted, \
         SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected, \
         SUM(bytes) AS total_bytes, SUM(packets) AS total_packets, \
         MIN(start) AS first_start, MAX(\"end\") AS last_end FROM flows"
            .to_string(),
    )
}

/// The time the flows cover and the time charts' bucket width.
struct Span {
    /// The first capture window's start (Unix seconds; 0 without flows).
    first: i64,
    /// The last capture window's end.
    last: i64,
    /// Seconds per time bucket: [`bucket_seconds`] of the span.
    bucket: i64,
}

impl Span {
    /// The span of the [`overview`] query's result.
    fn of(overview: &Table) -> Span {
        let first = overview
            .numbers("first_start")
            .first()
            .copied()
            .unwrap_or(0.0) as i64;
        let last = overview.numbers("last_end").first().copied().unwrap_or(0.0) as i64;
        let bucket = bucket_seconds((last - first).max(0));
        Span {
            first,
            last,
            bucket,
        }
    }
}

/// Runs every section's query and draws its chart, in page order: traffic over time, the
/// [`BAR_SECTIONS`], the [`ATTRIBUTION_SECTIONS`] (when the flows have those columns), the
/// interface heat map, the NODATA/SKIPDATA windows.
fn sections(engine: &Engine, top: usize, span: &Span) -> Result<Vec<Section>, QueryError> {
    let top_p = [("top", top.to_string())];
    let mut sections = vec![over_time_section(engine, span.bucket)?];
    for b in &BAR_SECTIONS {
        sections.push(bar_section(engine, b, &top_p)?);
    }
    if has_attribution(engine)? {
        for b in &ATTRIBUTION_SECTIONS {
            sections.push(bar_section(engine, b, &top_p)?);
        }
    }
    sections.push(heat_section(engine, span)?);
    sections.push(gaps_section(engine, top)?);
    Ok(sections)
}

/// The "Traffic over time" section: accepted and rejected bytes and flows per `bucket`
/// seconds, as two stacked time charts.
fn over_time_section(engine: &Engine, bucket: i64) -> Result<Section, QueryError> {
    let over_time = run(
        engine,
        format!(
            "SELECT start - start % {bucket} AS bucket_start,\n\
             \x20   SUM(CASE WHEN action = 'ACCEPT' THEN bytes ELSE 0 END) AS accepted_bytes,\n\
             \x20   SUM(CASE WHEN action = 'REJECT' THEN bytes ELSE 0 END) AS rejected_bytes,\n\
             \x20   SUM(CASE WHEN action = 'ACCEPT' THEN 1 ELSE 0 END) AS accepted_flows,\n\
             \x20   SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected_flows\n\
             FROM flows\nWHERE start IS NOT NULL AND action IS NOT NULL\n\
             GROUP BY start - start % {bucket}\nORDER BY bucket_start"
        ),
    );
    let note = format!(
        "Per {} bucket (UTC) of the capture window's start; accepted vs rejected.",
        if bucket % 3600 == 0 {
            format!("{}-hour", bucket / 3600)
        } else {
            format!("{}-minute", bucket / 60)
        }
    );
    let legend = "<p class=\"legend\"><span><i style=\"background:var(--acc)\"></i>accepted</span><span><i style=\"background:var(--rej)\"></i>rejected</span></p>";
    section("over-time", "Traffic over time", &note, over_time, |t| {
        // Every bucket from the first to the last, empty ones included, so time reads evenly.
        let got: Vec<i64> = t
            .numbers("bucket_start")
            .iter()
            .map(|v| *v as i64)
            .collect();
        let (lo, hi) = (
            got.first().copied().unwrap_or(0),
            got.last().copied().unwrap_or(0),
        );
        let times: Vec<i64> = (0..=((hi - lo) / bucket))
            .map(|i| lo + i * bucket)
            .collect();
        let spread = |col: &str| {
            let mut v = vec![0.0; times.len()];
            for (s, x) in got.iter().zip(t.numbers(col)) {
                v[((s - lo) / bucket) as usize] = x;
            }
            v
        };
        let bytes = time_chart(
            "chart-bytes-time",
            &times,
            &[
                ("accepted", "accepted", spread("accepted_bytes")),
                ("rejected", "rejected", spread("rejected_bytes")),
            ],
            Unit::Bytes,
        );
        let flows = time_chart(
            "chart-flows-time",
            &times,
            &[
                ("accepted", "accepted", spread("accepted_flows")),
                ("rejected", "rejected", spread("rejected_flows")),
            ],
            Unit::Count,
        );
        format!("{legend}<h3>Bytes</h3>{bytes}<h3>Flows</h3>{flows}")
    })
}

/// A section drawn as a bar chart of a canned query's rows: one bar per row, labelled by some
/// of its columns, as long as another.
struct BarSection {
    /// The section's element id.
    id: &'static str,
    title: &'static str,
    note: &'static str,
    /// The canned query's name.
    query: &'static str,
    /// Whether the query gets the report's `top` (else it runs with its defaults alone).
    top: bool,
    /// The chart's element id.
    chart: &'static str,
    /// The columns whose values, joined by `sep`, label a bar.
    labels: &'static [&'static str],
    sep: &'static str,
    /// The column of the bars' values.
    value: &'static str,
    unit: Unit,
}

/// The bar chart sections, in page order.
const BAR_SECTIONS: [BarSection; 6] = [
    BarSection {
        id: "top-talkers",
        title: "Top talkers",
        note: "Source → destination pairs by bytes.",
        query: "top_talkers",
        top: true,
        chart: "chart-top-talkers",
        labels: &["srcaddr", "dstaddr"],
        sep: " → ",
        value: "total_bytes",
        unit: Unit::Bytes,
    },
    BarSection {
        id: "rejected-sources",
        title: "Top rejected sources",
        note: "Addresses with the most rejected flows.",
        query: "top_rejected_sources",
        top: true,
        chart: "chart-rejected-sources",
        labels: &["srcaddr"],
        sep: "",
        value: "rejected_flows",
        unit: Unit::Count,
    },
    BarSection {
        id: "rejected-ports",
        title: "Rejected by destination port",
        note: "Port/protocol pairs with the most rejected flows: overly restrictive security groups, or probes.",
        query: "rejected_by_port",
        top: true,
        chart: "chart-rejected-ports",
        labels: &["dstport", "protocol"],
        sep: " / proto ",
        value: "rejected_flows",
        unit: Unit::Count,
    },
    BarSection {
        id: "direction",
        title: "Ingress vs egress",
        note: "Bytes by flow direction and action.",
        query: "direction",
        top: false,
        chart: "chart-direction",
        labels: &["flow_direction", "action"],
        sep: " ",
        value: "total_bytes",
        unit: Unit::Bytes,
    },
    BarSection {
        id: "protocols",
        title: "Protocol mix",
        note: "Share of bytes per IP protocol.",
        query: "protocol_mix",
        top: false,
        chart: "chart-protocols",
        labels: &["protocol_name", "protocol"],
        sep: " ",
        value: "bytes_pct",
        unit: Unit::Percent,
    },
    BarSection {
        id: "aws-services",
        title: "Traffic to and from AWS services",
        note: "From pkt-src-aws-service / pkt-dst-aws-service.",
        query: "aws_services",
        top: false,
        chart: "chart-aws-services",
        labels: &["service", "direction"],
        sep: " ",
        value: "total_bytes",
        unit: Unit::Bytes,
    },
];

/// The sections about who is behind the interfaces, in page order after the [`BAR_SECTIONS`]:
/// only on a page whose flows have the attribution columns (`--eni-inventory`, or a dataset
/// converted with it), see [`has_attribution`].
const ATTRIBUTION_SECTIONS: [BarSection; 3] = [
    BarSection {
        id: "rejected-security-groups",
        title: "Rejected by security group",
        note: "Rejected flows per security group of the interface that logged them (a flow counts for each group of its interface): overly restrictive groups, or probes.",
        query: "rejected_by_security_group",
        top: true,
        chart: "chart-rejected-security-groups",
        labels: &["security_group"],
        sep: "",
        value: "rejected_flows",
        unit: Unit::Count,
    },
    BarSection {
        id: "rejected-instances",
        title: "Rejected by instance",
        note: "Rejected flows per EC2 instance and Name tag of the interface that logged them.",
        query: "rejected_by_instance",
        top: true,
        chart: "chart-rejected-instances",
        labels: &["eni_name", "eni_instance_id"],
        sep: " ",
        value: "rejected_flows",
        unit: Unit::Count,
    },
    BarSection {
        id: "instance-traffic",
        title: "Traffic by instance",
        note: "Bytes per EC2 instance and Name tag of the interface that logged them.",
        query: "traffic_by_instance",
        top: true,
        chart: "chart-instance-traffic",
        labels: &["eni_name", "eni_instance_id"],
        sep: " ",
        value: "total_bytes",
        unit: Unit::Bytes,
    },
];

/// Whether the view `flows` has the interface attribution columns the
/// [`ATTRIBUTION_SECTIONS`] need.
fn has_attribution(engine: &Engine) -> Result<bool, QueryError> {
    let schema = engine.run("SELECT * FROM flows LIMIT 0", &mut |_| Ok(()))?;
    Ok(["eni_security_groups", "eni_instance_id", "eni_name"]
        .iter()
        .all(|c| schema.index_of(c).is_ok()))
}

/// Runs one of the [`BAR_SECTIONS`] (with `top_p` if it takes the report's `top`) and draws it.
fn bar_section(
    engine: &Engine,
    b: &BarSection,
    top_p: &[(&str, String)],
) -> Result<Section, QueryError> {
    let params: &[(&str, String)] = if b.top { top_p } else { &[] };
    let t = run(engine, canned_sql(b.query, params));
    section(b.id, b.title, b.note, t, |t| {
        bar_chart(
            b.chart,
            &labels(t, b.labels, b.sep),
            &t.numbers(b.value),
            b.unit,
        )
    })
}

/// The "Bytes per interface over time" section: a heat map of the [`HEAT_ROWS`] interfaces
/// with the most bytes, one column per time bucket of the whole `span`.
fn heat_section(engine: &Engine, span: &Span) -> Result<Section, QueryError> {
    let &Span {
        first,
        last,
        bucket,
    } = span;
    let heat_sql = format!(
        "WITH top_interfaces AS (\n\
         \x20   SELECT interface_id, SUM(bytes) AS b FROM flows\n\
         \x20   WHERE interface_id IS NOT NULL AND bytes IS NOT NULL\n\
         \x20   GROUP BY interface_id ORDER BY b DESC, interface_id LIMIT {HEAT_ROWS}\n)\n\
         SELECT f.interface_id, f.start - f.start % {bucket} AS bucket_start, SUM(f.bytes) AS total_bytes\n\
         FROM flows f JOIN top_interfaces t ON f.interface_id = t.interface_id\n\
         WHERE f.bytes IS NOT NULL AND f.start IS NOT NULL\n\
         GROUP BY f.interface_id, f.start - f.start % {bucket}\n\
         ORDER BY f.interface_id, bucket_start"
    );
    let t = run(engine, heat_sql);
    section(
        "heat",
        "Bytes per interface over time",
        &format!(
            "The {HEAT_ROWS} interfaces with the most bytes; darker = more bytes in the bucket (log scale)."
        ),
        t,
        |t| {
            let ifs = t.texts("interface_id");
            let starts: Vec<i64> = t
                .numbers("bucket_start")
                .iter()
                .map(|v| *v as i64)
                .collect();
            let bytes = t.numbers("total_bytes");
            let mut rows: Vec<String> = ifs.clone();
            rows.dedup();
            rows.sort();
            rows.dedup();
            let n = ((last - first).max(0) / bucket + 1) as usize;
            let times: Vec<i64> = (0..n)
                .map(|i| first - first.rem_euclid(bucket) + bucket * i as i64)
                .collect();
            let cells: Vec<(usize, usize, f64)> = ifs
                .iter()
                .zip(&starts)
                .zip(&bytes)
                .filter_map(|((i, s), b)| {
                    let r = rows.binary_search(i).ok()?;
                    let c = ((s - times[0]) / bucket) as usize;
                    (c < times.len() && *b > 0.0).then_some((r, c, *b))
                })
                .collect();
            heat_map("chart-heat", &rows, &times, &cells)
        },
    )
}

/// The "NODATA and SKIPDATA windows" section: the `top` interface/status pairs by windows.
fn gaps_section(engine: &Engine, top: usize) -> Result<Section, QueryError> {
    let t = run(engine, canned_sql("log_gaps", &[]));
    section(
        "gaps",
        "NODATA and SKIPDATA windows",
        "Capture windows with no traffic (NODATA) or whose records AWS skipped (SKIPDATA), per interface.",
        t,
        |t| {
            let mut l = labels(t, &["interface_id", "log_status"], " ");
            l.truncate(top);
            let mut v = t.numbers("windows");
            v.truncate(top);
            bar_chart("chart-gaps", &l, &v, Unit::Count)
        },
    )
}

/// The page: head, title, the overview's figures, the sections, the script.
fn page(opts: &ReportOptions, overview: &Table, span: &Span, sections: &[Section]) -> String {
    let mut html = String::with_capacity(1 << 16);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\
         <header><h1>{}</h1><p>{}</p></header><main><div class=\"kpis\">",
        escape(&opts.title),
        escape(&opts.title),
        escape(&opts.subtitle)
    );
    write_kpis(&mut html, overview, span);
    html.push_str("</div>");
    for s in sections {
        write_section(&mut html, s);
    }
    let _ = writeln!(
        html,
        "</main><div id=\"tip\"></div><script>{SCRIPT}</script></body></html>"
    );
    html
}

/// The overview's figures, one box each; the time span's only when there are records.
fn write_kpis(html: &mut String, overview: &Table, span: &Span) {
    let one = |c: &str| overview.numbers(c).first().copied().unwrap_or(0.0);
    write_kpi(html, "records", human_count(one("records")));
    write_kpi(html, "accepted", human_count(one("accepted")));
    write_kpi(html, "rejected", human_count(one("rejected")));
    write_kpi(html, "bytes", human_bytes(one("total_bytes")));
    write_kpi(html, "packets", human_count(one("total_packets")));
    if overview.rows() > 0 && one("records") > 0.0 {
        write_kpi(
            html,
            "first start → last end (UTC)",
            format!("{} → {}", utc_minute(span.first), utc_minute(span.last)),
        );
    }
}

/// One figure's box: `value` above its `label` (a wide box for a span, `a → b`).
fn write_kpi(html: &mut String, label: &str, value: String) {
    let class = if label.contains('→') {
        "kpi wide"
    } else {
        "kpi"
    };
    let _ = write!(
        html,
        "<div class=\"{class}\"><b>{}</b><span>{}</span></div>",
        escape(&value),
        escape(label)
    );
}

/// One section: title and note, then its chart with the numbers (at most 500 rows) and the
/// SQL behind it, or why there is no chart.
fn write_section(html: &mut String, s: &Section) {
    let _ = write!(
        html,
        "<section id=\"{}\"><h2>{}</h2><p class=\"note\">{}</p>",
        s.id,
        escape(&s.title),
        escape(&s.note)
    );
    match &s.body {
        Ok((chart, t)) => {
            html.push_str(chart);
            let table = crate::present::html::table(&t.schema, &t.batches, 500)
                .unwrap_or_else(|e| format!("<p>{}</p>", escape(&e.to_string())));
            let more = if t.rows() > 500 {
                format!(" (first 500 of {})", t.rows())
            } else {
                String::new()
            };
            let _ = write!(
                html,
                "<details><summary>Numbers ({} rows{more})</summary>{table}</details>\
                 <details><summary>SQL</summary><pre>{}</pre></details>",
                t.rows(),
                escape(t.sql.trim())
            );
        }
        Err(why) => {
            let _ = write!(html, "<p class=\"empty\">{}</p>", escape(why));
        }
    }
    html.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_stay_under_the_limit() {
        for span in [
            0,
            59,
            3600,
            86_400,
            7 * 86_400,
            400 * 86_400,
            40 * 365 * 86_400,
        ] {
            let b = bucket_seconds(span);
            assert!(span / b < MAX_BUCKETS, "span {span}: bucket {b}");
            assert!(b >= 60);
        }
        assert_eq!(bucket_seconds(3600), 60);
        assert_eq!(bucket_seconds(86_400), 600);
    }

    #[test]
    fn times_parse_in_every_form_and_agree() {
        for (s, want) in [
            ("1700000000", 1_700_000_000),
            ("2023-11-14T22:13:20Z", 1_700_000_000),
            ("2023-11-14 22:13:20", 1_700_000_000),
            ("2023-11-14T22:13", 1_699_999_980),
            ("2023-11-14", 1_699_920_000),
            ("1970-01-01", 0),
            ("2024-02-29", 1_709_164_800),
        ] {
            assert_eq!(parse_time(s), Ok(want), "{s}");
        }
        for bad in [
            "2023-02-30",
            "2023-13-01",
            "yesterday",
            "2023-11-14T25:00",
            "23-1-1",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        for days in [-1000, 0, 19_000, 60_000] {
            let (y, m, d) = crate::format::calendar::civil_from_days(days);
            assert_eq!(crate::format::calendar::days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn human_numbers() {
        assert_eq!(human_count(1234567.0), "1,234,567");
        assert_eq!(human_count(-1000.0), "-1,000");
        assert_eq!(human_bytes(999.0), "999 B");
        assert_eq!(human_bytes(12_345_678.0), "12.3 MB");
        assert_eq!(utc_minute(1_700_000_000), "2023-11-14 22:13");
    }

    #[test]
    fn charts_have_one_mark_per_value_and_escape_labels() {
        let svg = bar_chart("c", &["<a>".into(), "b".into()], &[2.0, 1.0], Unit::Count);
        assert_eq!(svg.matches("class=\"mark\"").count(), 2);
        assert!(svg.contains("&lt;a&gt;") && !svg.contains("<a>"));
        let svg = time_chart(
            "t",
            &[0, 60, 120],
            &[
                ("a", "accepted", vec![1.0, 0.0, 2.0]),
                ("r", "rejected", vec![0.0, 1.0, 1.0]),
            ],
            Unit::Bytes,
        );
        assert_eq!(svg.matches("<rect class=\"mark").count(), 6);
    }
}
