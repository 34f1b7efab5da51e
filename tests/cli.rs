//! The command line's own features: help grouped under headings with examples, shell
//! completions and man pages generated from the clap definitions, `-v` logging, `--since` and
//! `--until` on `query` and `alert`, and alert rules named only by `--rule`.

mod common;

use common::{testdata, vpcflow};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn logs() -> String {
    testdata("query").join("logs").display().to_string()
}

#[test]
fn help_is_grouped_under_headings_with_examples() {
    let o = vpcflow(&["convert", "--help"]);
    assert!(o.status.success());
    let help = stdout(&o);
    let mut at = 0;
    for heading in [
        "Inputs:",
        "Output:",
        "Refused lines:",
        "Dataset:",
        "Parquet:",
        "ECS and bulk:",
        "Performance:",
        "Examples:",
    ] {
        let found = help[at..]
            .find(heading)
            .unwrap_or_else(|| panic!("{heading} missing or out of order in:\n{help}"));
        at += found;
    }
    // Flags sit under their heading: --partition-by under Dataset, --geoip under ECS.
    let dataset = help.find("Dataset:").unwrap();
    let parquet = help.find("Parquet:").unwrap();
    let part = help.find("      --partition-by <KEYS>").unwrap();
    assert!(dataset < part && part < parquet, "{help}");
    for sub in ["query", "alert", "report"] {
        let h = stdout(&vpcflow(&[sub, "--help"]));
        assert!(
            h.contains("Examples:") && h.contains("--since"),
            "{sub}:\n{h}"
        );
    }
}

#[test]
fn completions_and_man_pages_come_from_the_flags() {
    for shell in ["bash", "zsh", "fish"] {
        let o = vpcflow(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        // fish names long flags as `-l partition-by`.
        for word in ["convert", "partition-by", "since", "rule"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    assert_eq!(vpcflow(&["completions", "tcsh"]).status.code(), Some(2));
    let man = stdout(&vpcflow(&["man"]));
    assert!(
        man.starts_with(".ie") || man.contains(".TH vpcflow"),
        "{man}"
    );
    assert!(man.contains("convert"));
    let dir = tempfile::tempdir().unwrap();
    let o = vpcflow(&["man", "--out", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for page in [
        "vpcflow.1",
        "vpcflow-convert.1",
        "vpcflow-query.1",
        "vpcflow-alert.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    let convert = std::fs::read_to_string(dir.path().join("vpcflow-convert.1")).unwrap();
    assert!(convert.contains("partition\\-by"), "{convert}");
}

#[test]
fn verbose_shows_each_inputs_plan() {
    let input = testdata("sample-default.log");
    let input = input.to_str().unwrap();
    let quiet = vpcflow(&["convert", input, "--to", "null", "-o", "-", "-q"]);
    assert!(stderr(&quiet).is_empty(), "{}", stderr(&quiet));
    let o = vpcflow(&["-v", "convert", input, "--to", "null", "-o", "-", "-q"]);
    assert!(o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("vpcflow: info: ") && err.contains(input) && err.contains("layout from"),
        "{err}"
    );
    let o = vpcflow(&["-vv", "convert", input, "--to", "null", "-o", "-", "-q"]);
    assert!(stderr(&o).contains("parser threads"), "{}", stderr(&o));
}

/// Counts rows of `logs()` through `query` with the given extra flags and SQL.
fn count(extra: &[&str], sql: &str) -> (i32, String) {
    let l = logs();
    let mut args = vec!["query", l.as_str(), "--sql", sql, "--format", "csv", "-q"];
    args.extend_from_slice(extra);
    let o = vpcflow(&args);
    (
        o.status.code().unwrap_or(-1),
        (stdout(&o) + &stderr(&o)).replace("\r\n", "\n"),
    )
}

#[test]
fn query_keeps_only_the_time_window_asked_for() {
    // The same window as --since/--until and as a WHERE clause agree, and differ from all rows.
    let (code, all) = count(&[], "SELECT count(*) AS n FROM flows");
    assert_eq!(code, 0, "{all}");
    let (_, want) = count(
        &[],
        "SELECT count(*) AS n FROM flows WHERE start >= 1700003600 AND start < 1700003700",
    );
    let (code, got) = count(
        &["--since", "1700003600", "--until", "1700003700"],
        "SELECT count(*) AS n FROM flows",
    );
    assert_eq!(code, 0, "{got}");
    assert_eq!(got, want);
    assert_ne!(got, all, "the window leaves rows out");
    // Dates in UTC work too: everything is before 2100 and nothing before 2000.
    let (_, late) = count(
        &["--until", "2100-01-01"],
        "SELECT count(*) AS n FROM flows",
    );
    assert_eq!(late, all);
    let (_, early) = count(
        &["--until", "2000-01-01"],
        "SELECT count(*) AS n FROM flows",
    );
    assert_eq!(early, "n\n0\n");
    let (code, err) = count(&["--since", "yesterday"], "SELECT 1");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--since"), "{err}");
}

#[test]
fn alert_rules_are_named_by_rule_only() {
    let l = logs();
    // A rule name among the positionals is an input, never guessed to be a rule.
    let o = vpcflow(&["alert", "all", &l]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--rule"), "{}", stderr(&o));
    let o = vpcflow(&["alert", &l, "--rule", "all", "-q"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    // --since after every flow: nothing to fire on.
    let o = vpcflow(&["alert", &l, "--rule", "all", "-q", "--since", "2100-01-01"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
}

/// `-o` naming a pipe (or a device, such as /dev/null) writes into it: renaming a finished file
/// over it would replace it. The FIFO is still a FIFO afterwards and its reader got every record.
#[test]
fn an_output_that_is_a_pipe_is_written_in_place_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.ndjson");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // A reader of its own, bounded in time: if the FIFO were replaced it would wait for nothing.
    let reader = std::process::Command::new("timeout")
        .arg("30")
        .arg("cat")
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = testdata("sample-default.log");
    let o = vpcflow(&[
        "convert",
        input.to_str().unwrap(),
        "--to",
        "ndjson",
        "-o",
        fifo.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let read = reader.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(read.stdout).unwrap().lines().count(), 40);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}
