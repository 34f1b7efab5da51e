//! Compiles every `queries/*.sql` and `queries/alerts/*.sql` into the binary: writes
//! `$OUT_DIR/queries.rs` and `$OUT_DIR/alerts.rs`, tables of (name, text) pairs in name order, so
//! adding a query or alert rule file needs no code change.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not baked in when it was compiled: one compiled script may
    // serve several checkouts of the package (worktrees sharing a target directory).
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("queries");
    table(&root, "queries.rs");
    table(&root.join("alerts"), "alerts.rs");
}

/// Writes `$OUT_DIR/<out>`: the (stem, text) table of `dir/*.sql`.
fn table(dir: &Path, out_name: &str) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql") && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = String::from("&[\n");
    for n in &names {
        let path = dir.join(n);
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = n.trim_end_matches(".sql");
        writeln!(
            out,
            "    ({stem:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push(']');
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join(out_name);
    std::fs::write(dest, out).expect("writing queries.rs");
}
