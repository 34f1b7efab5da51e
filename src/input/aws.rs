//! Who we are on AWS and where: the AWS SDK's own credential chain and region resolution
//! (the `aws-config` crate), bridged into the `object_store` S3 client that reads and writes
//! `s3://` objects.
//!
//! The chain is the one the AWS CLI follows: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
//! (+ `AWS_SESSION_TOKEN`) from the environment; then the profile (`--profile`, else
//! `AWS_PROFILE`, else `default`) of `~/.aws/config` and `~/.aws/credentials`
//! (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`) with static keys, `credential_process`,
//! assume-role (`role_arn` with `source_profile` or `credential_source`, through STS), SSO
//! (`sso_session`/`sso_start_url`, from the AWS CLI's token cache) or web identity; then web
//! identity from the environment (EKS), the ECS container credentials endpoint, and the EC2
//! instance role (IMDSv2). Temporary credentials are cached and renewed five minutes before
//! they expire. The region comes from `AWS_REGION`/`AWS_DEFAULT_REGION`, the profile, or the
//! instance metadata, else `us-east-1`; a bucket in another region is found out by asking S3
//! (`x-amz-bucket-region`) and its requests are signed for that region.
//!
//! Everything is resolved once per process, on the runtime every S3 request runs on
//! (`runtime`, apart from DataFusion's and from the parser's threads).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;

/// The runtime S3 requests (and the SDK's credential requests) run on, apart from DataFusion's
/// and from the parser's threads.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vpcflow-s3")
            .enable_all()
            .build()
            .expect("start the S3 runtime")
    })
}

/// Runs a future to completion on the S3 runtime, from any thread that is not itself one of the
/// runtime's.
pub(crate) fn block_on<F: std::future::Future + Send + 'static>(f: F) -> F::Output
where
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime().spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv().expect("the S3 runtime dropped a request")
}

/// The profile `--profile` named, if any (set once, before the first S3 request).
static PROFILE: OnceLock<Option<String>> = OnceLock::new();

/// Uses the profile `name` (`--profile`) instead of `AWS_PROFILE`'s for every S3 request of
/// this process. Call it before the first one; a later call changes nothing.
pub fn use_profile(name: Option<&str>) {
    let _ = PROFILE.set(name.map(str::to_string));
}

/// The profile in use: `--profile`, else `AWS_PROFILE`, else `default`.
pub fn profile_name() -> String {
    PROFILE
        .get()
        .cloned()
        .flatten()
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
        .unwrap_or_else(|| "default".into())
}

/// The SDK's configuration, loaded once (the profile files are read, nothing is requested
/// until credentials are first needed).
pub(crate) fn sdk_config() -> &'static aws_config::SdkConfig {
    static CONFIG: OnceLock<aws_config::SdkConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
        if let Some(Some(p)) = PROFILE.get() {
            loader = loader.profile_name(p);
        }
        block_on(loader.load())
    })
}

/// The region requests are signed for unless a bucket is elsewhere: the SDK's (environment,
/// profile, instance metadata), else `us-east-1`.
pub fn region() -> &'static str {
    static REGION: OnceLock<String> = OnceLock::new();
    REGION.get_or_init(|| {
        sdk_config()
            .region()
            .map_or_else(|| "us-east-1".to_string(), |r| r.to_string())
    })
}

/// The endpoint the profile or environment names for S3 (`AWS_ENDPOINT_URL_S3`, then the
/// SDK's `AWS_ENDPOINT_URL` or the profile's `endpoint_url`), if any.
pub(crate) fn endpoint() -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL_S3")
        .ok()
        .filter(|e| !e.is_empty())
        .or_else(|| sdk_config().endpoint_url().map(str::to_string))
}

/// The region `bucket` is in, asked of S3 itself (an unsigned `HEAD`), when it differs from the
/// configured one; None if S3 doesn't say (the configured region is used then).
pub(crate) fn bucket_region(bucket: &str) -> Option<String> {
    let options = object_store::ClientOptions::default().with_timeout(Duration::from_secs(10));
    let b = bucket.to_string();
    match block_on(async move { object_store::aws::resolve_bucket_region(&b, &options).await }) {
        Ok(r) => Some(r),
        Err(e) => {
            log::debug!("s3://{bucket}: its region could not be looked up: {e}");
            None
        }
    }
}

/// The SDK's credential chain as object_store's provider, shared by every bucket's client.
pub(crate) fn credentials() -> Arc<dyn CredentialProvider<Credential = AwsCredential>> {
    static CREDS: OnceLock<Arc<SdkCredentials>> = OnceLock::new();
    CREDS
        .get_or_init(|| {
            Arc::new(SdkCredentials {
                provider: sdk_config().credentials_provider(),
                cached: tokio::sync::Mutex::new(None),
            })
        })
        .clone()
}

/// How long before they expire temporary credentials are renewed.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// The SDK's chain, with the last credentials it gave kept until shortly before they expire.
#[derive(Debug)]
struct SdkCredentials {
    provider: Option<SharedCredentialsProvider>,
    cached: tokio::sync::Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

/// Whether credentials that expire at `expiry` (None: never) are still good to sign with.
fn fresh(expiry: Option<SystemTime>, now: SystemTime) -> bool {
    expiry.is_none_or(|t| t.duration_since(now).is_ok_and(|left| left > RENEW_BEFORE))
}

#[async_trait::async_trait]
impl CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((c, expiry)) = cached.as_ref()
            && fresh(*expiry, SystemTime::now())
        {
            return Ok(c.clone());
        }
        let failed = |reason: String| object_store::Error::Generic {
            store: "S3",
            source: format!("no AWS credentials (profile {}): {reason}", profile_name()).into(),
        };
        let Some(provider) = &self.provider else {
            return Err(failed("no credential provider is configured".into()));
        };
        let c = provider.provide_credentials().await.map_err(|e| {
            failed(aws_smithy_types::error::display::DisplayErrorContext(&e).to_string())
        })?;
        log::debug!(
            "AWS credentials obtained (key {}…{}){}",
            &c.access_key_id()[..4.min(c.access_key_id().len())],
            if c.session_token().is_some() {
                ", temporary"
            } else {
                ""
            },
            c.expiry().map_or(String::new(), |t| format!(
                ", valid for {} s",
                t.duration_since(SystemTime::now())
                    .map_or(0, |d| d.as_secs())
            ))
        );
        let credential = Arc::new(AwsCredential {
            key_id: c.access_key_id().to_string(),
            secret_key: c.secret_access_key().to_string(),
            token: c.session_token().map(str::to_string),
        });
        *cached = Some((credential.clone(), c.expiry()));
        Ok(credential)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_renewed_five_minutes_before_they_expire() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(fresh(None, now), "long-term keys never expire");
        assert!(fresh(Some(now + Duration::from_secs(301)), now));
        assert!(!fresh(Some(now + Duration::from_secs(300)), now));
        assert!(!fresh(Some(now + Duration::from_secs(10)), now));
        assert!(!fresh(Some(now - Duration::from_secs(10)), now));
    }
}
