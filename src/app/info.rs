//! The small subcommands that print what vpcflow knows: `show` (a Parquet file), `fields`,
//! `es-template`, `completions` and `man`.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use vpcflow::format::fields::FIELDS;
use vpcflow::format::layout::STANDARD;

use crate::cli::Cli;

/// `vpcflow show`: a Parquet file's schema, row count and first `rows` rows.
pub fn show(path: &Path, rows: usize) -> Result<ExitCode> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("reading {}", path.display()))?;
    let total = builder.metadata().file_metadata().num_rows();
    let schema = builder.schema().clone();
    let mut batches = Vec::new();
    let mut have = 0;
    for b in builder.with_batch_size(rows.clamp(1, 8192)).build()? {
        let b = b?;
        have += b.num_rows();
        batches.push(b);
        if have >= rows {
            break;
        }
    }
    let mut out = std::io::stdout().lock();
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect();
    writeln!(
        out,
        "{}: {total} rows; columns: {}",
        path.display(),
        cols.join(", ")
    )?;
    out.write_all(vpcflow::present::table::render(&schema, &batches, rows)?.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `vpcflow fields`: every known field, as a table or JSON.
pub fn fields(json: bool) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<serde_json::Value> = FIELDS
            .iter()
            .map(|f| {
                serde_json::json!({
                    "aws_name": f.aws, "column": f.column, "type": f.kind.name(),
                    "version": f.version, "scope": f.scope.name(), "description": f.description,
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:<27} {:<27} {:<6} {:>3}  {:<8} description",
        "aws name", "column", "type", "ver", "scope"
    )?;
    for f in FIELDS {
        writeln!(
            out,
            "{:<27} {:<27} {:<6} {:>3}  {:<8} {}",
            f.aws,
            f.column,
            f.kind.name(),
            f.version,
            f.scope.name(),
            f.description
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Standard layouts tried on header-less input without --fields:"
    )?;
    for s in STANDARD {
        writeln!(out, "  {:<18} {}", s.name, s.description)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `vpcflow es-template`: the Elasticsearch index template for the ECS documents.
pub fn es_template() -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &vpcflow::sink::template::index_template())?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}

/// `vpcflow athena-ddl DATASET`: the dataset's Athena table, read from its manifest and its
/// part files' footers.
pub fn athena_ddl(
    dataset: &str,
    table: &str,
    location: Option<&str>,
    endpoint: Option<&str>,
) -> Result<ExitCode> {
    let place = vpcflow::sink::place::Place::parse(dataset, endpoint)?;
    let info = vpcflow::sink::dataset::describe(&place)?;
    let table = vpcflow::present::athena::AthenaTable {
        name: table,
        location: location.unwrap_or(dataset),
    };
    let sql = vpcflow::present::athena::create_table(&info, &table)?;
    std::io::stdout().lock().write_all(sql.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `vpcflow completions SHELL`: a completion script generated from the clap definitions.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "vpcflow", &mut std::io::stdout().lock());
    Ok(ExitCode::SUCCESS)
}

/// `vpcflow man`: the man page on standard output, or with `out` one page per subcommand
/// (`vpcflow.1`, `vpcflow-convert.1`, …) in that directory.
pub fn man(out: Option<&Path>) -> Result<ExitCode> {
    let cmd = Cli::command();
    let Some(dir) = out else {
        clap_mangen::Man::new(cmd).render(&mut std::io::stdout().lock())?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let write = |name: &str, cmd: clap::Command| -> Result<()> {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut buf)?;
        std::fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))
    };
    for sub in cmd.get_subcommands() {
        let name = format!("vpcflow-{}", sub.get_name());
        write(&name, sub.clone().name(name.clone()))?;
    }
    write("vpcflow", cmd)?;
    Ok(ExitCode::SUCCESS)
}
