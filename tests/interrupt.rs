//! Ctrl-C and SIGTERM (issue 13): a run stopped by a signal removes every temporary file it made
//! (sort runs and their directory in `TMPDIR`, the hidden file beside the output), leaves no
//! output, and exits with the shell's status for the signal (130, 143).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Starts a sorting conversion reading standard input, feeds it until a sort run has been set
/// aside, sends `signal`, and checks what is left.
fn interrupted_by(signal: &str, status: i32) {
    let log = common::xorshift_log(20_000, 0x2545_f491_4f6c_dd1d, 97, 7, |x| {
        (
            format!("10.1.{}.{}", x % 200, (x >> 8) % 250),
            format!("10.2.0.{}", (x >> 16) % 250),
        )
    });
    let text = std::fs::read(log.path()).unwrap();
    let tmpdir = tempfile::tempdir().unwrap();
    let outdir = tempfile::tempdir().unwrap();
    let out = outdir.path().join("out.parquet");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vpcflow"))
        .args([
            "convert",
            "-",
            "-o",
            out.to_str().unwrap(),
            "--sort-by",
            "srcaddr",
            "--sort-run-bytes",
            "1",
            "--chunk-bytes",
            "20000",
            "--window-bytes",
            "20000",
            "-q",
        ])
        .env("TMPDIR", tmpdir.path())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Standard input stays open, so the run can't finish before the signal.
    let mut stdin = child.stdin.take().unwrap();
    let started = Instant::now();
    let mut fed = 0;
    let run_dir = loop {
        let dirs: Vec<String> = entries(tmpdir.path())
            .into_iter()
            .filter(|n| n.starts_with("vpcflow-sort-"))
            .collect();
        if let Some(d) = dirs.first()
            && !entries(&tmpdir.path().join(d)).is_empty()
        {
            break tmpdir.path().join(d);
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no sort run after 60 s ({fed} bytes fed)"
        );
        if fed < text.len() {
            let n = (text.len() - fed).min(64 << 10);
            stdin.write_all(&text[fed..fed + n]).unwrap();
            fed += n;
        } else {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    // What the signal must remove: the runs, their directory, the output's temporary file.
    assert!(run_dir.is_dir());
    let beside = entries(outdir.path());
    assert!(
        beside.len() == 1 && beside[0].starts_with(".out.parquet.") && beside[0].ends_with(".tmp"),
        "{beside:?}"
    );
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    drop(stdin);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(status), "{signal}: {err}");
    assert_eq!(
        entries(tmpdir.path()),
        Vec::<String>::new(),
        "{signal}: TMPDIR"
    );
    assert_eq!(
        entries(outdir.path()),
        Vec::<String>::new(),
        "{signal}: beside the output"
    );
    assert!(!out.exists());
}

#[test]
fn ctrl_c_removes_temporary_files_and_exits_130() {
    interrupted_by("-INT", 130);
}

#[test]
fn sigterm_removes_temporary_files_and_exits_143() {
    interrupted_by("-TERM", 143);
}
