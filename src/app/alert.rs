//! `vpcflow alert`: loads the rules `--rule` names, evaluates each over the inputs, prints the
//! ones that fire, e-mails them with `--smtp`, and exits 4 when one fired.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use vpcflow::present::mail::{Mail, Mailer, SmtpUrl};
use vpcflow::present::results::{ResultFormat, ResultWriter};
use vpcflow::query::alert::{self, KEPT_ROWS, Outcome, Rule};
use vpcflow::query::{Engine, QueryError, QueryOptions};

use crate::app::messages::{EXIT_FAILED, EXIT_FIRED, error, info, usage};
use crate::app::query::read_query_file;
use crate::cli::alert::{AlertArgs, AlertFormat};

/// Runs `vpcflow alert`.
pub fn run(args: &AlertArgs) -> Result<ExitCode> {
    if args.list {
        return list();
    }
    let rules = rules(&args.rule)?;
    if args.inputs.is_empty() {
        return Err(usage(
            "no inputs: name flow log files, directories, Parquet files or `-`",
        ));
    }
    for (k, _) in &args.params {
        if !rules.iter().any(|(r, _)| r.query.takes(k)) {
            return Err(usage(format!("--param {k}: no rule takes it")));
        }
    }
    let mailer = match &args.smtp {
        Some(u) => {
            let url = SmtpUrl::parse(u).map_err(|e| usage(format!("--smtp: {e}")))?;
            Some(
                Mailer::new(&url, std::time::Duration::from_secs(args.smtp_timeout))
                    .map_err(anyhow::Error::msg)?,
            )
        }
        None => None,
    };
    let opts = QueryOptions {
        decode: args.select.decode_options(args.perf.threads)?,
        threads: args.perf.threads,
        keep_rejects: 5,
        filter: args.window.resolve()?.filter(),
        select: args.select.select()?,
        // Several rules read raw inputs once, not once each.
        parse_once: rules.len() > 1,
        cluster: None,
        attribution: args.attribution.load()?,
    };
    let engine = Engine::open(&args.inputs, &opts)?;
    let mut errors = 0usize;
    let mut outcomes: Vec<Outcome> = Vec::new();
    for (rule, from_all) in rules {
        let name = rule.name().to_string();
        match alert::evaluate(&engine, rule, &args.params) {
            Ok(o) => outcomes.push(o),
            // `--rule all` without an inventory: the rules about attribution columns can't run,
            // which is no fault of the data; a rule named on its own still fails.
            Err(QueryError::MissingColumn { column, .. })
                if from_all && vpcflow::enrich::attribution::flag_for(&column).is_some() =>
            {
                info(format_args!(
                    "rule {name}: skipped: it needs column `{column}`, which {} adds",
                    vpcflow::enrich::attribution::flag_for(&column).unwrap_or_default()
                ));
            }
            Err(QueryError::MissingColumn { column, .. })
                if vpcflow::enrich::attribution::flag_for(&column).is_some() =>
            {
                errors += 1;
                error(format_args!(
                    "rule {name}: it needs column `{column}`, which only {} adds to the flows",
                    vpcflow::enrich::attribution::flag_for(&column).unwrap_or_default()
                ));
            }
            Err(e) => {
                errors += 1;
                error(format_args!("rule {name}: {e}"));
            }
        }
    }
    print(args, &outcomes)?;
    let fired: Vec<&Outcome> = outcomes.iter().filter(|o| o.fired()).collect();
    if let Some(m) = &mailer {
        errors += send(m, &fired, args)?;
    }
    let log = engine.scan_log();
    for f in &log.failed {
        errors += 1;
        error(f);
    }
    if let Some(s) = &log.stats
        && s.rejected > 0
    {
        info(format_args!(
            "{} of {} records refused (see `vpcflow convert --rejects`)",
            s.rejected, s.records
        ));
    }
    if errors > 0 {
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    if !fired.is_empty() {
        return Ok(ExitCode::from(EXIT_FIRED));
    }
    Ok(ExitCode::SUCCESS)
}

/// The rules `--rule` names: `.sql` files, shipped rules, or `all`; each with whether `all`
/// named it.
fn rules(specs: &[String]) -> Result<Vec<(Rule, bool)>> {
    let mut rules = Vec::new();
    for spec in specs {
        if spec == "all" {
            for q in alert::shipped() {
                rules.push((Rule::from_query(q)?, true));
            }
        } else if spec.ends_with(".sql") || spec.contains('/') {
            if !Path::new(spec).is_file() {
                return Err(usage(format!("--rule {spec}: no such rule file")));
            }
            rules.push((Rule::from_query(read_query_file(Path::new(spec))?)?, false));
        } else if let Some(q) = alert::find_shipped(spec) {
            rules.push((Rule::from_query(q)?, false));
        } else {
            return Err(usage(format!(
                "--rule {spec}: neither a .sql file nor a shipped rule (`vpcflow alert --list`)"
            )));
        }
    }
    if rules.is_empty() {
        return Err(usage(
            "no rules: name .sql files, shipped rules (`vpcflow alert --list`) or `all` with --rule",
        ));
    }
    Ok(rules)
}

/// Prints the firing rules (a table each, or one JSON array of every rule's outcome), and on
/// stderr the rules that stayed quiet.
fn print(args: &AlertArgs, outcomes: &[Outcome]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let mut json_rules = Vec::new();
    for o in outcomes {
        let subject = o.rule.subject_for(o.rows);
        if args.format == AlertFormat::Json {
            let mut rows = Vec::new();
            let mut w = ResultWriter::new(ResultFormat::Json, &mut rows, o.schema.clone());
            for b in &o.batches {
                w.write(b)?;
            }
            w.finish()?;
            json_rules.push(serde_json::json!({
                "rule": o.rule.name(), "fired": o.fired(), "severity": o.rule.severity,
                "description": o.rule.query.description, "subject": subject,
                "recipients": if args.to.is_empty() { &o.rule.recipients } else { &args.to },
                "threshold": o.rule.threshold, "rows": o.rows,
                "result": serde_json::from_slice::<serde_json::Value>(&rows)?,
            }));
        } else if o.fired() {
            writeln!(
                out,
                "ALERT {} {}: {subject} ({} rows)",
                o.rule.severity.to_uppercase(),
                o.rule.name(),
                o.rows
            )?;
            let table = vpcflow::present::table::render(&o.schema, &o.batches, KEPT_ROWS)?;
            out.write_all(table.as_bytes())?;
            if o.rows > KEPT_ROWS as u64 {
                writeln!(out, "… {} more rows", o.rows - KEPT_ROWS as u64)?;
            }
            writeln!(out)?;
        }
        if !args.quiet && !o.fired() {
            info(format_args!(
                "rule {}: quiet ({} rows, fires at {})",
                o.rule.name(),
                o.rows,
                o.rule.threshold
            ));
        }
    }
    if args.format == AlertFormat::Json {
        serde_json::to_writer_pretty(&mut out, &json_rules)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

/// E-mails each firing rule; how many could not be sent.
fn send(mailer: &Mailer, fired: &[&Outcome], args: &AlertArgs) -> Result<usize> {
    let mut failed = 0;
    for o in fired {
        let mail = Mail::for_alert(o, &args.from, &args.to)?;
        match mailer.send(&mail) {
            Ok(()) if !args.quiet => info(format_args!(
                "rule {}: emailed {}",
                o.rule.name(),
                mail.to.join(", ")
            )),
            Ok(()) => {}
            Err(e) => {
                failed += 1;
                error(format_args!("rule {}: email not sent: {e}", o.rule.name()));
            }
        }
    }
    Ok(failed)
}

/// `--list`: the shipped rules and their parameters.
fn list() -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for q in alert::shipped() {
        let r = Rule::from_query(q)?;
        writeln!(
            out,
            "{:<24} {:<8} {}",
            r.name(),
            r.severity,
            r.query.description
        )?;
        for p in &r.query.params {
            let d = p.default.as_deref().unwrap_or("required");
            writeln!(
                out,
                "{:<33} --param {}=… ({}, {d}): {}",
                "",
                p.name,
                p.kind.name(),
                p.description
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
