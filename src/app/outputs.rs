//! Refusing, before anything is written, outputs that would overwrite an input or each other,
//! and outputs named by URLs (the checks themselves are the library's `sink::clobber`).

use std::path::Path;

use anyhow::Result;

use vpcflow::input::Input;
use vpcflow::sink::clobber::{self, S3Output};
use vpcflow::sink::ecs::NumberedFiles;
use vpcflow::sink::place::is_s3;

use crate::cli::common::SelectArgs;
use crate::cli::convert::OutputKind;

/// Checks `main` (`-o` and how it is written; None for standard output or nothing) and `side`
/// (other files written, by option: `--stats`, `--rejects`; `-` is a standard stream) against
/// the inputs and each other.
pub fn check(
    inputs: &[Input],
    main: Option<(&str, OutputKind)>,
    side: &[(&str, Option<&Path>)],
) -> Result<()> {
    let s3_main = main.filter(|(out, _)| is_s3(out));
    let main = main
        .filter(|(out, _)| !is_s3(out))
        .map(|(out, kind)| (Path::new(out), kind));
    if let Some((url, kind)) = s3_main {
        let first = NumberedFiles::path(Path::new(url), 1);
        let first = first.file_name().unwrap_or_default().to_string_lossy();
        let how = match kind {
            OutputKind::Dataset => S3Output::Prefix,
            OutputKind::Numbered => S3Output::Numbered(&first),
            OutputKind::File | OutputKind::Stdout => S3Output::Object,
        };
        clobber::refuse_s3_inputs(inputs, url, how)?;
    }
    if let Some((out, kind)) = main {
        match kind {
            OutputKind::File => clobber::refuse_input_file(inputs, "-o", out)?,
            OutputKind::Dataset => clobber::refuse_inputs_inside(inputs, out)?,
            OutputKind::Numbered => {
                clobber::refuse_numbered_inputs(inputs, out, |n| NumberedFiles::path(out, n))?
            }
            OutputKind::Stdout => {}
        }
    }
    let side: Vec<(&str, &Path)> = side
        .iter()
        .filter_map(|(o, p)| p.filter(|p| *p != Path::new("-")).map(|p| (*o, p)))
        .collect();
    for (i, &(option, path)) in side.iter().enumerate() {
        clobber::refuse_url(option, &path.to_string_lossy())?;
        clobber::refuse_input_file(inputs, option, path)?;
        if let Some((out, OutputKind::File)) = main {
            clobber::refuse_same_output(("-o", out), (option, path))?;
        }
        for &other in &side[i + 1..] {
            clobber::refuse_same_output((option, path), other)?;
        }
    }
    Ok(())
}

/// The local files among the inputs named (S3 objects and standard input left out, errors
/// left to the run that reads them), for [`check`] before a query or report.
pub fn local_inputs(args: &[String], select: &SelectArgs) -> Vec<Input> {
    let local: Vec<String> = args
        .iter()
        .filter(|a| *a != "-" && !a.starts_with("s3://"))
        .cloned()
        .collect();
    select
        .select()
        .and_then(|s| {
            Ok(vpcflow::input::expand_selected(
                &local,
                &s,
                &mut Vec::new(),
            )?)
        })
        .unwrap_or_default()
}
