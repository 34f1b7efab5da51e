//! S3 as an output: objects below a prefix listed, read, replaced and removed; uploads that
//! become visible only when complete; and a lease that keeps two runs from writing one dataset.
//!
//! - `Upload` is a writer. Its bytes go up in parts of `PART_BYTES` (S3's multipart upload,
//!   at most `IN_FLIGHT` parts on the way at once), so memory stays bounded whatever the size
//!   of the object. `Upload::finish` sends the last part; the object appears only when
//!   `Ready::complete` completes the upload, which is the S3 counterpart of renaming a
//!   finished file into place. An object smaller than one part is sent as one PUT at that
//!   moment instead. An upload dropped before it completes is aborted, so nothing of it is ever
//!   visible; one cut short by a killed process stays invisible too (a bucket lifecycle rule
//!   `AbortIncompleteMultipartUpload` removes its stored parts).
//! - [`Lease`] is a small object (`_vpcflow.lock`) created only if absent (`If-None-Match: *`),
//!   renewed in the background before it expires, and taken over only once it has: S3 has no
//!   locks, and a killed run can't release one. A run that finds its lease taken by another
//!   stops before its next commit.
//!
//! Requests go through the S3 client of `s3://` inputs ([`crate::input::s3`]): the same
//! credentials, region and endpoint.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::path::Path as ObjectPath;
use object_store::{
    MultipartUpload, ObjectStore, ObjectStoreExt, PutMode, PutPayload, UpdateVersion,
};

use crate::error::Error;
use crate::input::s3::{block_on, list_all, object_path, parse_url, runtime, store};

/// Bytes of each uploaded part (S3 wants at least 5 MiB of every part but the last).
pub(crate) const PART_BYTES: usize = 8 << 20;
/// Parts of one upload on the way at once.
pub(crate) const IN_FLIGHT: usize = 2;

/// A bucket and a key prefix (`s3://bucket/prefix/`), or one object's key, with the client
/// for them.
#[derive(Clone)]
pub struct S3Place {
    bucket: String,
    /// The key, without a trailing `/` for a prefix.
    key: String,
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for S3Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url())
    }
}

impl S3Place {
    /// The place an `s3://bucket/key` URL names, reached through `endpoint` (`--endpoint-url`)
    /// or AWS's own.
    pub fn parse(url: &str, endpoint: Option<&str>) -> Result<S3Place, Error> {
        let (bucket, key) = parse_url(url)?;
        Ok(S3Place {
            store: store(&bucket, endpoint)?,
            bucket,
            key: key.trim_end_matches('/').to_string(),
        })
    }

    /// The place `key` in a bucket of `store` (an in-memory store in tests).
    #[cfg(test)]
    fn in_store(store: Arc<dyn ObjectStore>, key: &str) -> S3Place {
        S3Place {
            bucket: "test".into(),
            key: key.trim_end_matches('/').to_string(),
            store,
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key (a prefix has no trailing `/`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `s3://bucket/key`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The object `rel` below this prefix.
    pub fn join(&self, rel: &str) -> S3Place {
        let key = if self.key.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.key)
        };
        S3Place {
            bucket: self.bucket.clone(),
            key,
            store: self.store.clone(),
        }
    }

    /// The prefix this object is in, and its own name.
    pub fn split_name(&self) -> (S3Place, String) {
        let (dir, name) = self.key.rsplit_once('/').unwrap_or(("", &self.key));
        let dir = S3Place {
            bucket: self.bucket.clone(),
            key: dir.to_string(),
            store: self.store.clone(),
        };
        (dir, name.to_string())
    }

    fn path(&self) -> ObjectPath {
        object_path(&self.key)
    }

    /// The error of a request: `what` it was doing (`reading` and `listing` are about input).
    fn failed(&self, what: &str, e: &object_store::Error) -> Error {
        let reason = format!("{what}: {}", describe(e));
        match what {
            "reading" | "listing" => Error::Input {
                input: self.url(),
                reason,
            },
            _ => Error::Write {
                path: self.url(),
                reason,
            },
        }
    }

    /// Every object below the prefix: its key relative to the prefix (`/`-separated).
    pub(crate) fn list(&self) -> Result<Vec<String>, Error> {
        let listed =
            list_all(self.store.clone(), self.path()).map_err(|e| self.failed("listing", &e))?;
        let base = if self.key.is_empty() {
            String::new()
        } else {
            format!("{}/", self.key)
        };
        Ok(listed
            .into_iter()
            .filter_map(|m| {
                let k = m.location.to_string();
                k.strip_prefix(&base)
                    .filter(|r| !r.is_empty())
                    .map(str::to_string)
            })
            .collect())
    }

    /// The object's bytes and version, or None if there is no such object.
    pub(crate) fn read(&self) -> Result<Option<(Vec<u8>, UpdateVersion)>, Error> {
        let (s, p) = (self.store.clone(), self.path());
        let got = block_on(async move {
            let r = s.get(&p).await?;
            let version = UpdateVersion {
                e_tag: r.meta.e_tag.clone(),
                version: r.meta.version.clone(),
            };
            Ok::<_, object_store::Error>((r.bytes().await?.to_vec(), version))
        });
        match got {
            Ok(v) => Ok(Some(v)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed("reading", &e)),
        }
    }

    /// The last `n` bytes of the object (all of it if shorter).
    pub(crate) fn read_tail(&self, n: u64) -> Result<Vec<u8>, Error> {
        let (s, p) = (self.store.clone(), self.path());
        block_on(async move {
            let size = s.head(&p).await?.size;
            s.get_range(&p, size.saturating_sub(n)..size).await
        })
        .map(|b| b.to_vec())
        .map_err(|e| self.failed("reading", &e))
    }

    /// Writes the whole object in one PUT, as `mode` allows; returns its new version.
    pub(crate) fn put(&self, bytes: Vec<u8>, mode: PutMode) -> Result<UpdateVersion, PutError> {
        let (s, p) = (self.store.clone(), self.path());
        let r = block_on(async move { s.put_opts(&p, bytes.into(), mode.into()).await });
        match r {
            Ok(r) => Ok(UpdateVersion {
                e_tag: r.e_tag,
                version: r.version,
            }),
            Err(object_store::Error::AlreadyExists { .. }) => Err(PutError::Exists),
            Err(object_store::Error::Precondition { .. }) => Err(PutError::Changed),
            Err(e) => Err(PutError::Failed(self.failed("writing", &e))),
        }
    }

    /// Copies the object to `dest` (a server-side copy: no bytes pass through here).
    pub(crate) fn copy_to(&self, dest: &S3Place) -> Result<(), Error> {
        let (s, from, to) = (self.store.clone(), self.path(), dest.path());
        block_on(async move { s.copy(&from, &to).await }).map_err(|e| dest.failed("copying", &e))
    }

    /// Removes the object (no error if it is gone already).
    pub(crate) fn remove(&self) -> Result<(), Error> {
        let (s, p) = (self.store.clone(), self.path());
        match block_on(async move { s.delete(&p).await }) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed("removing", &e)),
        }
    }

    /// A new upload to this object (nothing is sent before the first part is full).
    pub(crate) fn upload(&self) -> Upload {
        Upload {
            place: self.clone(),
            multipart: None,
            buf: Vec::new(),
            in_flight: VecDeque::new(),
            bytes: 0,
        }
    }
}

/// An S3 error in a line: the service's error code and message when it sent them (not the
/// whole XML body), with the request that failed.
pub(crate) fn describe(e: &object_store::Error) -> String {
    let text = e.to_string();
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let len = text[start..].find(&format!("</{name}>"))?;
        Some(text[start..start + len].to_string())
    };
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => {
            let request = text
                .find("Error performing ")
                .map(|i| &text[i + "Error performing ".len()..])
                .and_then(|r| r.split(" in ").next())
                .unwrap_or("");
            format!("{code}: {message} ({request})")
        }
        _ => text,
    }
}

/// Why a conditional PUT did not happen.
#[derive(Debug)]
pub(crate) enum PutError {
    /// `PutMode::Create`: the object exists.
    Exists,
    /// `PutMode::Update`: the object changed since the version given.
    Changed,
    /// Anything else.
    Failed(Error),
}

impl From<PutError> for Error {
    fn from(e: PutError) -> Error {
        match e {
            PutError::Failed(e) => e,
            other => Error::Internal(format!("unexpected conditional write outcome: {other:?}")),
        }
    }
}

/// The answer to one part's upload.
type PartDone = std::sync::mpsc::Receiver<object_store::Result<()>>;

/// An object being written: see the module documentation.
pub(crate) struct Upload {
    place: S3Place,
    multipart: Option<Box<dyn MultipartUpload>>,
    buf: Vec<u8>,
    in_flight: VecDeque<PartDone>,
    bytes: u64,
}

impl Upload {
    /// The object's URL.
    pub fn url(&self) -> String {
        self.place.url()
    }

    fn io_error(what: &str, e: &object_store::Error) -> io::Error {
        io::Error::other(format!("{what}: {}", describe(e)))
    }

    /// Sends the buffered bytes as the next part (starting the multipart upload first if this
    /// is the first), waiting while too many parts are on the way.
    fn send_part(&mut self) -> io::Result<()> {
        if self.multipart.is_none() {
            let (s, p) = (self.place.store.clone(), self.place.path());
            let m = block_on(async move { s.put_multipart(&p).await })
                .map_err(|e| Self::io_error("starting the upload", &e))?;
            self.multipart = Some(m);
        }
        let data = PutPayload::from(std::mem::take(&mut self.buf));
        let part = self
            .multipart
            .as_mut()
            .expect("started above")
            .put_part(data);
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime().spawn(async move {
            let _ = tx.send(part.await);
        });
        self.in_flight.push_back(rx);
        while self.in_flight.len() > IN_FLIGHT {
            self.wait_oldest()?;
        }
        Ok(())
    }

    fn wait_oldest(&mut self) -> io::Result<()> {
        let Some(rx) = self.in_flight.pop_front() else {
            return Ok(());
        };
        match rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Self::io_error("uploading a part", &e)),
            Err(_) => Err(io::Error::other(
                "uploading a part: the request was dropped",
            )),
        }
    }

    /// Sends what is left (all but the completion): the object is ready to appear.
    pub fn finish(mut self) -> io::Result<Ready> {
        if self.multipart.is_some() && !self.buf.is_empty() {
            self.send_part()?;
        }
        while !self.in_flight.is_empty() {
            self.wait_oldest()?;
        }
        let place = self.place.clone();
        let kind = match self.multipart.take() {
            Some(m) => ReadyKind::Multipart(m),
            None => ReadyKind::Single(std::mem::take(&mut self.buf)),
        };
        Ok(Ready {
            place,
            kind: Some(kind),
        })
    }
}

impl Write for Upload {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(PART_BYTES - self.buf.len());
        if self.buf.capacity() == 0 {
            self.buf
                .reserve_exact(PART_BYTES.min(data.len().max(64 << 10)));
        }
        self.buf.extend_from_slice(&data[..n]);
        self.bytes += n as u64;
        if self.buf.len() == PART_BYTES {
            self.send_part()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(m) = self.multipart.take() {
            abort(m);
        }
    }
}

/// Aborts a multipart upload, so its parts are not kept (best effort: this is a failed run's
/// clean-up, and an upload never completed is invisible anyway).
fn abort(mut m: Box<dyn MultipartUpload>) {
    let _ = block_on(async move { m.abort().await });
}

enum ReadyKind {
    Multipart(Box<dyn MultipartUpload>),
    /// Smaller than one part: sent as one PUT when completed.
    Single(Vec<u8>),
}

/// An upload with every byte sent, waiting to appear (see [`Upload::finish`]).
pub(crate) struct Ready {
    place: S3Place,
    kind: Option<ReadyKind>,
}

impl Ready {
    /// The object's URL.
    pub fn url(&self) -> String {
        self.place.url()
    }

    /// Makes the object appear under its key.
    pub fn complete(mut self) -> io::Result<()> {
        let failed = |e: object_store::Error| Upload::io_error("completing the upload", &e);
        match self.kind.take() {
            Some(ReadyKind::Multipart(mut m)) => {
                block_on(async move { m.complete().await }).map_err(failed)?;
            }
            Some(ReadyKind::Single(buf)) => {
                let (s, p) = (self.place.store.clone(), self.place.path());
                block_on(async move { s.put(&p, buf.into()).await }).map_err(failed)?;
            }
            None => {}
        }
        Ok(())
    }
}

impl Drop for Ready {
    fn drop(&mut self) {
        if let Some(ReadyKind::Multipart(m)) = self.kind.take() {
            abort(m);
        }
    }
}

/// The lease object's name below a dataset's prefix.
pub(crate) const LEASE: &str = "_vpcflow.lock";

/// A dataset prefix held by this run: see the module documentation. Dropping it stops the
/// renewals and removes the object.
pub struct Lease {
    place: S3Place,
    lost: Arc<AtomicBool>,
    stop: Option<std::sync::mpsc::Sender<()>>,
}

/// What the lease object says.
#[derive(serde::Serialize, serde::Deserialize)]
struct LeaseText {
    host: String,
    pid: u32,
    /// Seconds since the Unix epoch after which the lease is void.
    expires: u64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

impl LeaseText {
    fn ours(seconds: u64) -> Vec<u8> {
        serde_json::to_vec(&LeaseText {
            host: host_name(),
            pid: std::process::id(),
            expires: now_secs() + seconds,
        })
        .expect("JSON")
    }

    /// Whether the holder is gone for sure: a process of this host that no longer runs.
    fn holder_gone(&self) -> bool {
        self.host == host_name()
            && self.pid != std::process::id()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

impl Lease {
    /// Takes the lease of `prefix` for `seconds` at a time, waiting up to that long for a
    /// holder's lease to run out (a killed run's); renews it in the background.
    pub fn acquire(prefix: &S3Place, seconds: u64) -> Result<Lease, Error> {
        let place = prefix.join(LEASE);
        let seconds = seconds.max(2);
        let give_up = now_secs() + seconds + 5;
        let version = loop {
            match place.put(LeaseText::ours(seconds), PutMode::Create) {
                Ok(v) => break v,
                Err(PutError::Exists) => {}
                Err(e) => return Err(e.into()),
            }
            let Some((text, version)) = place.read()? else {
                continue;
            };
            let held: Option<LeaseText> = serde_json::from_slice(&text).ok();
            let expired = held
                .as_ref()
                .is_none_or(|h| h.expires < now_secs() || h.holder_gone());
            if expired {
                match place.put(LeaseText::ours(seconds), PutMode::Update(version)) {
                    Ok(v) => break v,
                    Err(PutError::Changed | PutError::Exists) => continue,
                    Err(PutError::Failed(e)) => return Err(e),
                }
            }
            if now_secs() > give_up {
                let who = held.map_or_else(String::new, |h| {
                    format!(" (process {} on {}, until {})", h.pid, h.host, h.expires)
                });
                return Err(Error::Write {
                    path: prefix.url(),
                    reason: format!(
                        "another run is writing this dataset{who}; try again when it is done"
                    ),
                });
            }
            log::info!("{}: waiting for another run's lease to end", prefix.url());
            std::thread::sleep(Duration::from_millis(500));
        };
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let (p, l) = (place.clone(), lost.clone());
        let every = Duration::from_millis(seconds * 1000 / 3);
        std::thread::Builder::new()
            .name("vpcflow-lease".into())
            .spawn(move || {
                let mut version = version;
                // Until dropped (the sender goes, and with it the wait's timeout).
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(every)
                {
                    match p.put(LeaseText::ours(seconds), PutMode::Update(version.clone())) {
                        Ok(v) => version = v,
                        Err(PutError::Changed | PutError::Exists) => {
                            l.store(true, Ordering::SeqCst);
                            return;
                        }
                        // A failed renewal is tried again; the lease holds until it expires.
                        Err(PutError::Failed(e)) => log::warn!("renewing the lease: {e}"),
                    }
                }
            })
            .map_err(|e| Error::Internal(format!("starting the lease thread: {e}")))?;
        Ok(Lease {
            place,
            lost,
            stop: Some(stop),
        })
    }

    /// Fails if another run has taken the lease over (this run was too slow to renew it).
    pub fn check(&self) -> Result<(), Error> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::Write {
                path: self.place.url(),
                reason: "another run took this dataset's lease over; stopping before committing"
                    .into(),
            });
        }
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // The renewing thread ends when the sender is gone.
        drop(self.stop.take());
        if !self.lost.load(Ordering::SeqCst) {
            let _ = self.place.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn an_upload_appears_whole_and_only_when_completed() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        for (i, n) in [
            0,
            1,
            1000,
            PART_BYTES - 1,
            PART_BYTES,
            PART_BYTES + 1,
            PART_BYTES * 5 / 2,
        ]
        .into_iter()
        .enumerate()
        {
            let place = S3Place::in_store(store.clone(), &format!("out/{i}.bin"));
            let data = bytes(n);
            let mut up = place.upload();
            // Odd-sized writes, so parts are cut inside them.
            for piece in data.chunks(1 << 20 | 3) {
                up.write_all(piece).unwrap();
            }
            let ready = up.finish().unwrap();
            assert!(
                place.read().unwrap().is_none(),
                "{n} bytes: visible before completion"
            );
            ready.complete().unwrap();
            let (got, _) = place.read().unwrap().expect("visible once completed");
            assert_eq!(got.len(), n);
            assert!(got == data, "{n} bytes: content differs");
        }
    }

    #[test]
    fn an_upload_dropped_before_completion_never_appears() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let place = S3Place::in_store(store.clone(), "out/x.bin");
        let mut up = place.upload();
        up.write_all(&bytes(PART_BYTES * 2 + 10)).unwrap();
        drop(up.finish().unwrap());
        let mut up = place.upload();
        up.write_all(&bytes(10)).unwrap();
        drop(up);
        assert!(place.read().unwrap().is_none());
        assert!(S3Place::in_store(store, "out").list().unwrap().is_empty());
    }

    #[test]
    fn listing_is_relative_to_the_prefix_and_only_below_it() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        for k in ["ds/a=1/p.parquet", "ds/_m.jsonl", "dsx/other", "top"] {
            S3Place::in_store(store.clone(), k)
                .put(b"x".to_vec(), PutMode::Overwrite)
                .unwrap();
        }
        let mut got = S3Place::in_store(store.clone(), "ds/").list().unwrap();
        got.sort();
        assert_eq!(got, ["_m.jsonl", "a=1/p.parquet"]);
        S3Place::in_store(store.clone(), "ds/_m.jsonl")
            .remove()
            .unwrap();
        S3Place::in_store(store.clone(), "ds/gone")
            .remove()
            .unwrap();
        assert_eq!(
            S3Place::in_store(store, "ds").list().unwrap(),
            ["a=1/p.parquet"]
        );
    }

    fn lease_text(host: &str, pid: u32, expires: u64) -> Vec<u8> {
        serde_json::to_vec(&LeaseText {
            host: host.into(),
            pid,
            expires,
        })
        .unwrap()
    }

    #[test]
    fn a_lease_is_taken_over_only_from_a_holder_that_is_gone() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let ds = S3Place::in_store(store.clone(), "ds");
        let lock = ds.join(LEASE);
        // A live holder elsewhere, for a long time: refused (after waiting out the lease given).
        lock.put(
            lease_text("elsewhere", 1, now_secs() + 3600),
            PutMode::Overwrite,
        )
        .unwrap();
        let t = std::time::Instant::now();
        let err = Lease::acquire(&ds, 2).err().expect("held by another run");
        assert!(err.to_string().contains("another run is writing"), "{err}");
        assert!(t.elapsed() >= Duration::from_secs(2));
        // Expired: taken.
        lock.put(
            lease_text("elsewhere", 1, now_secs() - 1),
            PutMode::Overwrite,
        )
        .unwrap();
        drop(Lease::acquire(&ds, 30).unwrap());
        assert!(lock.read().unwrap().is_none(), "released when dropped");
        // A process of this host that no longer runs (a killed run): taken at once.
        let dead = u32::MAX - 7;
        lock.put(
            lease_text(&host_name(), dead, now_secs() + 3600),
            PutMode::Overwrite,
        )
        .unwrap();
        let t = std::time::Instant::now();
        let lease = Lease::acquire(&ds, 30).unwrap();
        assert!(t.elapsed() < Duration::from_secs(2));
        let (text, _) = lock.read().unwrap().unwrap();
        let held: LeaseText = serde_json::from_slice(&text).unwrap();
        assert_eq!(held.pid, std::process::id());
        lease.check().unwrap();
    }

    #[test]
    fn a_lease_taken_over_is_noticed_and_left_alone() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let ds = S3Place::in_store(store.clone(), "ds");
        let lease = Lease::acquire(&ds, 3).unwrap();
        let (first, _) = ds.join(LEASE).read().unwrap().unwrap();
        // Renewed in the background (every second).
        std::thread::sleep(Duration::from_millis(2500));
        let (renewed, _) = ds.join(LEASE).read().unwrap().unwrap();
        assert_ne!(first, renewed);
        lease.check().unwrap();
        // Another run writes its own lease: the next renewal fails, and check says so.
        let theirs = lease_text("elsewhere", 1, now_secs() + 3600);
        ds.join(LEASE)
            .put(theirs.clone(), PutMode::Overwrite)
            .unwrap();
        std::thread::sleep(Duration::from_millis(2500));
        assert!(lease.check().is_err());
        drop(lease);
        assert_eq!(
            ds.join(LEASE).read().unwrap().unwrap().0,
            theirs,
            "not removed"
        );
    }

    #[test]
    fn errors_show_the_service_code_and_message_not_the_xml() {
        let e = object_store::Error::Generic {
            store: "S3",
            source: "Error performing PUT http://127.0.0.1:1/nope/x in 4ms - Server returned non-2xx status code: 404 Not Found: <?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>".into(),
        };
        assert_eq!(
            describe(&e),
            "NoSuchBucket: The specified bucket does not exist (PUT http://127.0.0.1:1/nope/x)"
        );
        let plain = object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        };
        assert!(describe(&plain).contains("connection refused"));
    }
}
