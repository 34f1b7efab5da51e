//! What an input holds, told once from its first bytes: gzip (read through a decompressor),
//! Parquet (read as columns), or anything else (read as text). Every reader asks here.

use std::io::{self, Read};
use std::path::Path;

/// The first two bytes of every gzip member.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether bytes that start an input are gzip.
pub(crate) fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&GZIP_MAGIC)
}

/// Whether bytes that start an input are a Parquet file.
pub(crate) fn is_parquet(head: &[u8]) -> bool {
    head.starts_with(b"PAR1")
}

/// Whether the local file at `path` is Parquet, by its magic bytes. A pipe, FIFO or device is
/// never Parquet here: it is read once, as a stream of text, and opening it to look would lose
/// what it holds.
pub(crate) fn is_parquet_file(path: &Path) -> io::Result<bool> {
    if !std::fs::metadata(path)?.is_file() {
        return Ok(false);
    }
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut std::fs::File::open(path)?, &mut magic)?;
    Ok(is_parquet(&magic[..n]))
}

/// Reads until `buf` is full or the input ends; how many bytes were read.
pub(crate) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert!(is_gzip(&[0x1f, 0x8b, 8]));
        assert!(!is_gzip(&[0x1f]));
        assert!(is_parquet(b"PAR1\x15"));
        assert!(!is_parquet(b"PAR"));
        assert!(!is_parquet(b"2 123 eni-1"));
    }

    #[test]
    fn a_fifo_is_not_opened_to_look() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        // Opening a FIFO for reading would block until a writer comes: returning at all shows
        // it was not opened.
        assert!(!is_parquet_file(&fifo).unwrap());
        let file = dir.path().join("p.parquet");
        std::fs::write(&file, b"PAR1....PAR1").unwrap();
        assert!(is_parquet_file(&file).unwrap());
    }
}
