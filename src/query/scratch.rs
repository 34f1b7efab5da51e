//! Raw inputs parsed once for a run that reads them several times (a report's sections, several
//! queries or alert rules): one conversion into a private scratch Parquet file, which the run's
//! queries then read with projection and row-group pruning.

/// Parses raw flow logs once into a private scratch Parquet file (in `TMPDIR`) that every
/// query of a run then reads, instead of parsing the text once per scan; memory stays flat
/// either way. The file is removed when the returned guard is dropped.
pub fn parse_once(
    raw: Vec<crate::input::Input>,
    decode: crate::pipeline::Options,
    observer: &mut dyn crate::pipeline::Observer,
) -> Result<(crate::cleanup::TempPath, crate::pipeline::Report), crate::Error> {
    use crate::sink::{Output, OutputFormat, SinkOptions, Target};
    let tmpdir = std::env::temp_dir();
    let (guard, file) = crate::cleanup::TempPath::file_in(
        &tmpdir,
        ".vpcflow-scratch-",
        ".parquet",
        crate::cleanup::Access::Private,
    )
    .map_err(|e| crate::Error::Write {
        path: tmpdir.display().to_string(),
        reason: format!("creating a scratch file: {e}"),
    })?;
    let decoder = crate::pipeline::Decoder::new(raw, decode)?;
    let name = guard.path().display().to_string();
    let target = Target::writer(
        &name,
        Box::new(std::io::BufWriter::with_capacity(1 << 20, file)),
    );
    let sink = crate::sink::open(
        Output::Target(target),
        OutputFormat::Parquet,
        decoder.schema(),
        SinkOptions::default(),
    )?;
    let report = crate::pipeline::Conversion::new(decoder).run(sink, observer)?;
    Ok((guard, report))
}
