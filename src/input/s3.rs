//! `s3://bucket/prefix` inputs, read through the `object_store` crate's S3 client (which
//! `crate::sink::s3` writes outputs through too).
//!
//! Credentials and region come from the AWS SDK's chain ([`crate::input::aws`]): environment,
//! profiles (static keys, `credential_process`, assume-role, SSO, web identity), ECS and
//! instance roles. `--endpoint-url`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL` or the profile's
//! `endpoint_url` points at an S3-compatible store (path-style requests; plain `http://`
//! allowed for it); without one, each bucket's own region is looked up.
//!
//! A URL names one object, a prefix (every object below it, in key order) or a glob
//! (`s3://b/AWSLogs/*/vpcflowlogs/**/*.log.gz`); `--include`/`--exclude` apply to keys below the
//! prefix as they do to files below a directory. Objects are streamed: a GET's body goes through a
//! small bounded channel into the same block reader as a local gzip file, so memory stays flat.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::cleanup::{Access, TempPath};
use crate::error::Error;
use crate::input::select::{Select, is_glob};

/// One S3 object to read.
#[derive(Clone)]
pub struct S3Object {
    /// `s3://bucket/key`.
    pub url: String,
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// Size in bytes, as listed.
    pub size: u64,
    /// The object's ETag, as listed (tells a rewritten object from the one converted before).
    pub etag: Option<String>,
    /// The `--endpoint-url` the object was listed through, if any.
    endpoint: Option<String>,
    store: Arc<AmazonS3>,
}

impl S3Object {
    /// An object known by its URL and listed size and ETag (as another process listed it),
    /// read through `endpoint` (`--endpoint-url`) or AWS's own.
    pub(crate) fn from_listing(
        url: &str,
        size: u64,
        etag: Option<String>,
        endpoint: Option<&str>,
    ) -> Result<S3Object, Error> {
        let (bucket, key) = parse_url(url)?;
        let store = store(&bucket, endpoint)?;
        Ok(S3Object {
            url: url.to_string(),
            bucket,
            key,
            size,
            etag,
            endpoint: endpoint.map(str::to_string),
            store,
        })
    }

    /// The `--endpoint-url` the object is read through, if any.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }
}

impl std::fmt::Debug for S3Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

impl PartialEq for S3Object {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url
    }
}

impl Eq for S3Object {}

pub(crate) use crate::input::aws::{block_on, runtime};

/// Every object below `prefix` (all of the bucket for an empty one), as the store lists them.
pub(crate) fn list_all(
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
) -> object_store::Result<Vec<object_store::ObjectMeta>> {
    block_on(async move {
        let prefix = (!prefix.as_ref().is_empty()).then_some(prefix);
        store
            .list(prefix.as_ref())
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    })
}

/// Splits `s3://bucket/key` into bucket and key.
pub(crate) fn parse_url(url: &str) -> Result<(String, String), Error> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| Error::Usage(format!("{url}: not an s3:// URL")))?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::Usage(format!("{url}: no bucket name")));
    }
    Ok((bucket.to_string(), key.to_string()))
}

/// The region the S3 client signs for unless a bucket is elsewhere (see
/// [`crate::input::aws::region`]). Bulk documents read from S3 name it in their object URL and
/// `cloud.region`.
pub fn region() -> &'static str {
    crate::input::aws::region()
}

/// The object's virtual-hosted-style HTTPS URL, as Elastic's aws-s3 input gives it in
/// `log.file.path`: `https://BUCKET.s3.REGION.amazonaws.com/KEY`, the key percent-encoded as
/// in a URL path (UTF-8 bytes other than letters, digits, `-._~` and `/` as `%XX`). The AWS
/// form is written even when objects are read through `--endpoint-url`.
pub(crate) fn object_url(bucket: &str, region: &str, key: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut url = format!("https://{bucket}.s3.{region}.amazonaws.com/");
    for &b in key.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            url.push(char::from(b));
        } else {
            url.push('%');
            url.push(char::from(HEX[usize::from(b >> 4)]));
            url.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    url
}

/// The store's path for an object key as S3 names it. `ObjectPath::from` would percent-encode
/// characters such as `ü` first, and the client encodes the path again for the request (a GET of
/// `%25C3%25BC` finds nothing): parse the key as it is, and encode only what the store refuses
/// (empty or `.`/`..` segments, control characters).
pub(crate) fn object_path(key: &str) -> ObjectPath {
    ObjectPath::parse(key).unwrap_or_else(|_| ObjectPath::from(key))
}

/// The S3 client for a bucket (one per bucket and endpoint, shared).
pub(crate) fn store(bucket: &str, endpoint: Option<&str>) -> Result<Arc<AmazonS3>, Error> {
    type Stores = HashMap<(String, Option<String>), Arc<AmazonS3>>;
    static STORES: OnceLock<Mutex<Stores>> = OnceLock::new();
    let key = (bucket.to_string(), endpoint.map(str::to_string));
    let mut stores = STORES
        .get_or_init(Default::default)
        .lock()
        .expect("store cache");
    if let Some(s) = stores.get(&key) {
        return Ok(s.clone());
    }
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_credentials(crate::input::aws::credentials());
    let endpoint = endpoint
        .map(str::to_string)
        .or_else(crate::input::aws::endpoint);
    let mut region = crate::input::aws::region().to_string();
    if let Some(e) = &endpoint {
        b = b.with_allow_http(e.starts_with("http://")).with_endpoint(e);
    } else if let Some(r) = crate::input::aws::bucket_region(bucket).filter(|r| *r != region) {
        log::info!("s3://{bucket} is in {r}: its requests are signed for {r}, not {region}");
        region = r;
    }
    b = b.with_region(&region);
    log::info!(
        "s3://{bucket}: credentials from the AWS SDK chain (profile {}); region {region}; endpoint {}",
        crate::input::aws::profile_name(),
        endpoint.as_deref().unwrap_or("AWS")
    );
    let s = Arc::new(b.build().map_err(|e| Error::Input {
        input: format!("s3://{bucket}"),
        reason: e.to_string(),
    })?);
    stores.insert(key, s.clone());
    Ok(s)
}

/// The objects an `s3://` argument names, in key order: the object itself if the key names one,
/// else every object below the key as a prefix (a glob's literal leading segments), kept by the
/// glob and `select`.
pub fn expand(url: &str, select: &Select, endpoint: Option<&str>) -> Result<Vec<S3Object>, Error> {
    let (bucket, key) = parse_url(url)?;
    let store = store(&bucket, endpoint)?;
    let fail = |what: &str, e: object_store::Error| Error::Input {
        input: url.to_string(),
        reason: format!("{what}: {e}"),
    };
    // The literal leading segments, then the pattern for the rest.
    let (prefix, pattern) = if is_glob(&key) {
        let segs: Vec<&str> = key.split('/').collect();
        let lit = segs.iter().take_while(|s| !is_glob(s)).count();
        let pattern = globset::GlobBuilder::new(&segs[lit..].join("/"))
            .literal_separator(true)
            .build()
            .map_err(|e| Error::Usage(format!("bad glob {url:?}: {e}")))?
            .compile_matcher();
        (segs[..lit].join("/"), Some(pattern))
    } else {
        (key.trim_end_matches('/').to_string(), None)
    };
    let mk = |key: String, size: u64, etag: Option<String>| S3Object {
        url: format!("s3://{bucket}/{key}"),
        bucket: bucket.clone(),
        key,
        size,
        etag,
        endpoint: endpoint.map(str::to_string),
        store: store.clone(),
    };
    if pattern.is_none() && !key.is_empty() && !key.ends_with('/') {
        // One object?
        let (s, p) = (store.clone(), object_path(&key));
        match block_on(async move { s.head(&p).await }) {
            Ok(meta) => return Ok(vec![mk(key.clone(), meta.size, meta.e_tag)]),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(fail("reading the object's metadata", e)),
        }
    }
    let listed = list_all(store.clone(), object_path(&prefix)).map_err(|e| fail("listing", e))?;
    let mut out = Vec::new();
    for meta in listed {
        let k = meta.location.to_string();
        let rel = k
            .strip_prefix(prefix.as_str())
            .unwrap_or(&k)
            .trim_start_matches('/');
        let rel_path = Path::new(rel);
        // Keys named `_…` are a dataset's bookkeeping (our manifest and lease, Spark's
        // `_SUCCESS`), skipped as in a walked directory.
        let bookkeeping = rel.rsplit('/').next().is_some_and(|n| n.starts_with('_'));
        if rel.is_empty() || rel.ends_with('/') || bookkeeping {
            continue;
        }
        if pattern.as_ref().is_some_and(|g| !g.is_match(rel_path)) || !select.keeps(rel_path) {
            continue;
        }
        out.push(mk(k, meta.size, meta.e_tag));
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    if out.is_empty() {
        return Err(Error::Usage(format!("no objects match {url}")));
    }
    Ok(out)
}

/// Streams an object's bytes.
pub fn reader(obj: &S3Object) -> io::Result<Box<dyn Read + Send>> {
    log::debug!("GET {} ({} bytes)", obj.url, obj.size);
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<bytes::Bytes>>(8);
    let store = obj.store.clone();
    let path = object_path(&obj.key);
    runtime().spawn(async move {
        match store.get(&path).await {
            Ok(r) => {
                let mut body = r.into_stream();
                while let Some(chunk) = body.next().await {
                    let stop = chunk.is_err();
                    if tx.send(chunk.map_err(io::Error::other)).await.is_err() || stop {
                        break;
                    }
                }
            }
            Err(e) => {
                let _ = tx.send(Err(io::Error::other(e))).await;
            }
        }
    });
    Ok(Box::new(ChannelReader {
        rx,
        current: bytes::Bytes::new(),
        read: 0,
        expected: obj.size,
    }))
}

/// A blocking reader over the chunks an async GET hands over.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<bytes::Bytes>>,
    current: bytes::Bytes,
    read: u64,
    expected: u64,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None if self.read < self.expected => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the object ended after {} of its {} bytes",
                            self.read, self.expected
                        ),
                    ));
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        self.read += n as u64;
        Ok(n)
    }
}

/// The first bytes of each object (decompressed if gzip, cut after the last whole line), for
/// layout detection: ranged GETs, several at a time.
pub fn samples(objs: &[&S3Object], limit: usize) -> Vec<io::Result<Vec<u8>>> {
    if objs.is_empty() {
        return Vec::new();
    }
    // Compressed flow logs shrink about tenfold: a quarter of the limit is plenty either way.
    let want = (limit as u64 / 4).max(4096);
    let gets: Vec<_> = objs
        .iter()
        .map(|o| {
            let store = o.store.clone();
            let path = object_path(&o.key);
            let n = o.size.min(want);
            let whole = n == o.size;
            async move {
                if n == 0 {
                    return Ok((bytes::Bytes::new(), true));
                }
                store.get_range(&path, 0..n).await.map(|b| (b, whole))
            }
        })
        .collect();
    let fetched: Vec<Result<(bytes::Bytes, bool), object_store::Error>> = block_on(async move {
        futures::stream::iter(gets)
            .buffered(16)
            .collect::<Vec<_>>()
            .await
    });
    fetched
        .into_iter()
        .map(|r| {
            let (b, whole) = r.map_err(io::Error::other)?;
            let (mut data, complete) = if crate::input::sniff::is_gzip(&b) {
                // As much as the compressed prefix gives (its end is cut mid-stream).
                let mut d = flate2::read::MultiGzDecoder::new(&b[..]);
                let mut out = vec![0u8; limit];
                let mut n = 0;
                while n < out.len() {
                    match d.read(&mut out[n..]) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => n += k,
                    }
                }
                out.truncate(n);
                (out, false)
            } else {
                (b.to_vec(), whole)
            };
            if crate::input::sniff::is_parquet(&data) {
                return Ok(data);
            }
            if !complete && let Some(i) = memchr::memrchr(b'\n', &data) {
                data.truncate(i + 1);
            }
            Ok(data)
        })
        .collect()
}

/// Copies an object into a new temporary file in `TMPDIR` (for Parquet, which is read by random
/// access); the file is removed when the returned guard is dropped (or on Ctrl-C).
pub(crate) fn download(obj: &S3Object) -> io::Result<TempPath> {
    let (guard, mut f) = TempPath::file_in(
        &std::env::temp_dir(),
        ".vpcflow-s3-",
        ".parquet",
        Access::Private,
    )?;
    io::copy(&mut reader(obj)?, &mut f)?;
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Undoes `%XX` escapes (the oracle for [`object_url`]'s encoding).
    fn percent_decode(s: &str) -> Vec<u8> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn object_urls_encode_keys_reversibly_with_only_url_path_characters(key in "\\PC*|[ a-z/%+?#&=ü€\u{1F600}]{0,20}") {
            let url = object_url("my-bucket", "eu-west-1", &key);
            let path = url.strip_prefix("https://my-bucket.s3.eu-west-1.amazonaws.com/").unwrap();
            proptest::prop_assert!(path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b)), "{}", path);
            proptest::prop_assert_eq!(percent_decode(path), key.as_bytes());
        }
    }

    #[test]
    fn object_urls_keep_slashes_and_encode_spaces_and_unicode() {
        assert_eq!(
            object_url("b", "us-east-1", "AWSLogs/a b/ü+x.log"),
            "https://b.s3.us-east-1.amazonaws.com/AWSLogs/a%20b/%C3%BC%2Bx.log"
        );
    }

    #[test]
    fn urls_split_into_bucket_and_key() {
        assert_eq!(
            parse_url("s3://b/AWSLogs/1/x.gz").unwrap(),
            ("b".to_string(), "AWSLogs/1/x.gz".to_string())
        );
        assert_eq!(parse_url("s3://b").unwrap(), ("b".into(), "".into()));
        assert!(parse_url("s3:///k").is_err());
    }
}
