//! Configuration from the environment, read once per cold start. Each function loads only
//! the pieces it uses: only token issuers read the private key, only the list function the
//! cursor secret.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::auth::{
    MailRequestLimits, MailTokenKey, PasswordLimits, RegistrationLimits, SealingKey, TokenIssuer, TokenSettings,
    TokenVerifier,
};
use crate::domain::{RateBudget, Reach};
use crate::lifecycle::{Archive, AuditWriter, DEFAULT_BATCH_SIZE, Deleter, Exporter, RetryQueue, WebhookDispatcher};
use crate::notifications::{JobQueue, Mailer, Postman, Publisher, WebhookClient};
use crate::store::{CursorKey, InvitationQuota, Store};

pub const TABLE_NAME: &str = "TASKFLOW_TABLE_NAME";
pub const JWT_PRIVATE_KEY: &str = "TASKFLOW_JWT_PRIVATE_KEY";
pub const JWT_PUBLIC_KEY: &str = "TASKFLOW_JWT_PUBLIC_KEY";
pub const JWT_ISSUER: &str = "TASKFLOW_JWT_ISSUER";
pub const JWT_AUDIENCE: &str = "TASKFLOW_JWT_AUDIENCE";
pub const ACCESS_TOKEN_TTL_SECONDS: &str = "TASKFLOW_ACCESS_TOKEN_TTL_SECONDS";
pub const REFRESH_TOKEN_TTL_SECONDS: &str = "TASKFLOW_REFRESH_TOKEN_TTL_SECONDS";
pub const PASSWORD_WINDOW_SECONDS: &str = "TASKFLOW_PASSWORD_WINDOW_SECONDS";
pub const PASSWORD_MAX_FAILURES: &str = "TASKFLOW_PASSWORD_MAX_FAILURES";
pub const PASSWORD_MAX_FAILURES_PER_EMAIL: &str = "TASKFLOW_PASSWORD_MAX_FAILURES_PER_EMAIL";
pub const PASSWORD_MAX_FAILURES_PER_ADDRESS: &str = "TASKFLOW_PASSWORD_MAX_FAILURES_PER_ADDRESS";
pub const MAIL_REQUEST_WINDOW_SECONDS: &str = "TASKFLOW_MAIL_REQUEST_WINDOW_SECONDS";
pub const MAIL_REQUESTS_PER_EMAIL: &str = "TASKFLOW_MAIL_REQUESTS_PER_EMAIL";
pub const MAIL_REQUESTS_PER_ADDRESS: &str = "TASKFLOW_MAIL_REQUESTS_PER_ADDRESS";
pub const INVITATIONS_PER_DAY: &str = "TASKFLOW_INVITATIONS_PER_DAY";
pub const REGISTRATIONS_PER_ADDRESS: &str = "TASKFLOW_REGISTRATIONS_PER_ADDRESS";
pub const MAILS_PER_ORGANIZATION_PER_DAY: &str = "TASKFLOW_MAILS_PER_ORGANIZATION_PER_DAY";
pub const RATE_LIMIT_QUOTA: &str = "TASKFLOW_RATE_LIMIT_QUOTA";
pub const RATE_LIMIT_WINDOW_SECONDS: &str = "TASKFLOW_RATE_LIMIT_WINDOW_SECONDS";
pub const MAIL_TOKEN_KEY: &str = "TASKFLOW_MAIL_TOKEN_KEY";
pub const CURSOR_KEY: &str = "TASKFLOW_CURSOR_KEY";
pub const EVENT_TOPIC_ARN: &str = "TASKFLOW_EVENT_TOPIC_ARN";
pub const DELETION_QUEUE_URL: &str = "TASKFLOW_DELETION_QUEUE_URL";
pub const DELETION_BATCH_SIZE: &str = "TASKFLOW_DELETION_BATCH_SIZE";
pub const EXPORT_BUCKET: &str = "TASKFLOW_EXPORT_BUCKET";
pub const EXPORT_LINK_TTL_SECONDS: &str = "TASKFLOW_EXPORT_LINK_TTL_SECONDS";
pub const MAIL_FROM: &str = "TASKFLOW_MAIL_FROM";
pub const AUDIT_RETENTION_DAYS: &str = "TASKFLOW_AUDIT_RETENTION_DAYS";
pub const WEBHOOK_SEALING_KEY: &str = "TASKFLOW_WEBHOOK_SEALING_KEY";
/// `public` (the default, and all a deployed stack may set), `loopback` (the local stacks:
/// their receivers listen there, and nothing leaves the machine) or `public-and-loopback`
/// (a developer trying a real endpoint from `make dev`).
pub const WEBHOOK_REACH: &str = "TASKFLOW_WEBHOOK_REACH";
pub const WEBHOOK_QUEUE_URL: &str = "TASKFLOW_WEBHOOK_QUEUE_URL";
pub const WEBHOOK_RETRY_BASE_SECONDS: &str = "TASKFLOW_WEBHOOK_RETRY_BASE_SECONDS";
pub const OUTBOX_MIN_AGE_SECONDS: &str = "TASKFLOW_OUTBOX_MIN_AGE_SECONDS";
pub const CA_BUNDLE: &str = "AWS_CA_BUNDLE";
pub const AWS_ATTEMPT_TIMEOUT_MS: &str = "TASKFLOW_AWS_ATTEMPT_TIMEOUT_MS";

const DEFAULT_TABLE_NAME: &str = "taskflow";
const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
const DEFAULT_REFRESH_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
    /// Secrets Manager throttled, failed or did not answer in time: try again later.
    #[error("{name} could not be read now: {reason}")]
    Unavailable { name: &'static str, reason: String },
}

/// A value a function needs that is read from a dependency (a secret), loaded at the cold
/// start when the dependency answers, else by the first request that finds it answering:
/// until then requests answer 503 with `Retry-After` rather than the function failing to
/// start (which API Gateway answers with a 500 of its own). A value that is missing or
/// invalid still fails the cold start: no retry would mend it.
pub struct Deferred<T, F> {
    value: tokio::sync::OnceCell<T>,
    load: F,
}

impl<T, F, Fut> Deferred<T, F>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, ConfigError>>,
{
    pub async fn load(load: F) -> Result<Self, ConfigError> {
        let deferred = Self { value: tokio::sync::OnceCell::new(), load };
        match deferred.get().await {
            Ok(_) => {}
            Err(ConfigError::Unavailable { name, reason }) => {
                tracing::warn!(name, %reason, "not available at cold start: requests answer 503 until it is");
            }
            Err(e) => return Err(e),
        }
        Ok(deferred)
    }

    pub async fn get(&self) -> Result<&T, ConfigError> {
        self.value.get_or_try_init(|| (self.load)()).await
    }
}

fn required(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or(ConfigError::Missing(name))
}

fn optional(name: &'static str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_owned())
}

/// The SDK's standard chain: region, credentials and endpoint (`AWS_ENDPOINT_URL`, which
/// points the functions at a local emulator) come from the environment. HTTPS trusts the
/// roots of [`trusted_roots`].
pub async fn sdk_config() -> Result<SdkConfig, ConfigError> {
    let https = https_client(trusted_roots()?)?;
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .retry_config(retry_policy())
        .timeout_config(timeouts()?)
        .load()
        .await)
}

/// The SDK's standard retry mode (throttling, 5xx, timeouts and lost connections, with
/// jittered exponential back-off), tightened for a function with a 10 s timeout: 3 attempts,
/// the first retry after up to 50 ms, none later than 1 s. Every client but the mailer's SES
/// client (see [`mailer`]) uses it.
pub fn retry_policy() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(1))
}

/// Bounds on every AWS call: a connection within 1 s, an attempt within 2 s
/// (`TASKFLOW_AWS_ATTEMPT_TIMEOUT_MS`), the call with its retries within twice that.
/// DynamoDB answers in milliseconds; these bound a hung connection or an overloaded
/// dependency, after which the API answers 503 with `Retry-After` instead of running into the
/// Lambda timeout. The queue publisher is bounded tighter (see [`publisher`]). The test stack
/// allows more, for an emulator that shares two cores with the whole suite.
pub fn timeouts() -> Result<TimeoutConfig, ConfigError> {
    let attempt = Duration::from_millis(whole_number(AWS_ATTEMPT_TIMEOUT_MS, 2_000, 100..=60_000)?);
    Ok(TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(attempt)
        .operation_timeout(2 * attempt)
        .build())
}

/// The roots AWS service endpoints chain to (Amazon Trust Services), built in. The SDK's
/// default is the machine's whole CA bundle, which each client parses at its first call: some
/// 140 certificates, 2.6 ms of CPU at every cold start on our machines and several times that
/// at Lambda's CPU share (bench/REPORT.md). `AWS_CA_BUNDLE`, as in the AWS CLI, replaces them
/// with the certificates of a PEM file (LocalStack over HTTPS, a TLS-inspecting proxy).
pub fn trusted_roots() -> Result<Vec<u8>, ConfigError> {
    roots_from(std::env::var_os(CA_BUNDLE).filter(|p| !p.is_empty()).map(std::path::PathBuf::from))
}

fn roots_from(bundle: Option<std::path::PathBuf>) -> Result<Vec<u8>, ConfigError> {
    let Some(path) = bundle else {
        return Ok(AMAZON_TRUST_SERVICES.to_vec());
    };
    let invalid = |reason: String| ConfigError::Invalid { name: CA_BUNDLE, reason };
    let pem = std::fs::read(&path).map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    // Checked here: the SDK parses the file only at the first call, and panics on a bad one.
    match certificate_count(&pem) {
        Some(0) | None => Err(invalid(format!("{} holds no valid PEM certificate", path.display()))),
        Some(_) => Ok(pem),
    }
}

pub const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("../certs/amazon-trust-services.crt");

fn certificate_count(pem: &[u8]) -> Option<usize> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem).try_fold(0, |n, cert| cert.ok().map(|_| n + 1))
}

/// The SDK's default HTTPS client (hyper, rustls with aws-lc), trusting `roots` only.
pub fn https_client(roots: Vec<u8>) -> Result<SharedHttpClient, ConfigError> {
    let trust = tls::TrustStore::empty().with_native_roots(false).with_pem_certificate(roots);
    let context = tls::TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| ConfigError::Invalid { name: CA_BUNDLE, reason: e.to_string() })?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

pub fn store(sdk: &SdkConfig) -> Store {
    Store::from_sdk(sdk, table_name())
}

pub fn table_name() -> String {
    optional(TABLE_NAME, DEFAULT_TABLE_NAME)
}

/// A whole number (seconds, milliseconds, days: as `name` says) from the variable `name`,
/// within `range`, or `default`.
fn whole_number(name: &'static str, default: u64, range: std::ops::RangeInclusive<u64>) -> Result<u64, ConfigError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(raw) => raw.parse::<u64>().ok().filter(|s| range.contains(s)).ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!("must be a whole number from {} to {}", range.start(), range.end()),
        }),
    }
}

pub fn token_settings() -> Result<TokenSettings, ConfigError> {
    let access = whole_number(ACCESS_TOKEN_TTL_SECONDS, DEFAULT_ACCESS_TOKEN_TTL.as_secs(), 60..=24 * 3600)?;
    let refresh = whole_number(REFRESH_TOKEN_TTL_SECONDS, DEFAULT_REFRESH_TOKEN_TTL.as_secs(), 3600..=365 * 24 * 3600)?;
    Ok(TokenSettings {
        issuer: optional(JWT_ISSUER, "taskflow"),
        audience: optional(JWT_AUDIENCE, "taskflow-api"),
        access_ttl: Duration::from_secs(access),
        refresh_ttl: Duration::from_secs(refresh),
    })
}

/// A whole number from the variable `name`, within `range`, or `default`.
fn count(name: &'static str, default: u32, range: std::ops::RangeInclusive<u32>) -> Result<u32, ConfigError> {
    let value = whole_number(name, default.into(), (*range.start()).into()..=(*range.end()).into())?;
    Ok(u32::try_from(value).unwrap_or(default))
}

/// The password throttle (login, password change): failed attempts per window per email
/// and source address, per email, and per address.
pub fn password_limits() -> Result<PasswordLimits, ConfigError> {
    Ok(PasswordLimits {
        window_seconds: whole_number(PASSWORD_WINDOW_SECONDS, 15 * 60, 1..=24 * 3600)?,
        max_failures_per_email_and_address: count(PASSWORD_MAX_FAILURES, 10, 1..=10_000)?,
        max_failures_per_email: count(PASSWORD_MAX_FAILURES_PER_EMAIL, 100, 1..=1_000_000)?,
        max_failures_per_address: count(PASSWORD_MAX_FAILURES_PER_ADDRESS, 100, 1..=1_000_000)?,
    })
}

/// How many mail-sending requests (password resets, verification resends) an email and a
/// source address may make per window: 5 per email and 30 per address an hour by default.
pub fn mail_request_limits() -> Result<MailRequestLimits, ConfigError> {
    Ok(MailRequestLimits {
        window_seconds: whole_number(MAIL_REQUEST_WINDOW_SECONDS, 3600, 1..=24 * 3600)?,
        per_email: count(MAIL_REQUESTS_PER_EMAIL, 5, 1..=10_000)?,
        per_address: count(MAIL_REQUESTS_PER_ADDRESS, 30, 1..=1_000_000)?,
    })
}

/// How many registrations one source address (an IPv6 /64) may make per mail-request
/// window: 20 an hour by default. Every request to the route counts, whatever it holds.
pub fn registration_limits() -> Result<RegistrationLimits, ConfigError> {
    Ok(RegistrationLimits {
        window_seconds: whole_number(MAIL_REQUEST_WINDOW_SECONDS, 3600, 1..=24 * 3600)?,
        per_address: count(REGISTRATIONS_PER_ADDRESS, 20, 1..=1_000_000)?,
    })
}

/// Every organization's request budget, unless its counter names a quota of its own:
/// 100 requests per 2 s by default (50 a second, in bursts of up to 100).
pub fn rate_budget() -> Result<RateBudget, ConfigError> {
    let quota = count(RATE_LIMIT_QUOTA, 100, 1..=100_000_000)?;
    let window = count(RATE_LIMIT_WINDOW_SECONDS, 2, 1..=3600)?;
    Ok(RateBudget::new(quota, window).expect("the window is at least a second"))
}

/// How many invitations an organization may send per day.
pub fn invitation_quota() -> Result<InvitationQuota, ConfigError> {
    Ok(InvitationQuota { per_day: count(INVITATIONS_PER_DAY, 50, 1..=100_000)? })
}

/// The secret invitation tokens are derived under: only the inviting function and the
/// mailer read it.
pub async fn mail_token_key(sdk: &SdkConfig) -> Result<MailTokenKey, ConfigError> {
    let secret = secret(sdk, MAIL_TOKEN_KEY).await?;
    if secret.len() < MailTokenKey::MIN_SECRET_LEN {
        return Err(ConfigError::Invalid {
            name: MAIL_TOKEN_KEY,
            reason: format!("must be at least {} characters", MailTokenKey::MIN_SECRET_LEN),
        });
    }
    Ok(MailTokenKey::new(secret.as_bytes()))
}

pub fn token_verifier() -> Result<TokenVerifier, ConfigError> {
    TokenVerifier::from_pem(&required(JWT_PUBLIC_KEY)?, &token_settings()?)
        .map_err(|e| ConfigError::Invalid { name: JWT_PUBLIC_KEY, reason: e.to_string() })
}

/// A secret: read from AWS Secrets Manager when `<NAME>_SECRET_ARN` is set (as deployed:
/// only the functions whose role may read that secret can start), else from the variable
/// `<NAME>` itself. Read once per cold start.
pub async fn secret(sdk: &SdkConfig, name: &'static str) -> Result<String, ConfigError> {
    let arn_variable = format!("{name}_SECRET_ARN");
    let Ok(arn) = std::env::var(&arn_variable) else {
        return required(name);
    };
    secret_at(sdk, name, &arn).await
}

/// The string value of the secret `arn`, read for the variable `name`. A throttled, failing
/// or slow Secrets Manager is `Unavailable`; any other refusal (no such secret, no permission)
/// is `Invalid`.
pub async fn secret_at(sdk: &SdkConfig, name: &'static str, arn: &str) -> Result<String, ConfigError> {
    let out = aws_sdk_secretsmanager::Client::new(sdk).get_secret_value().secret_id(arn).send().await.map_err(|e| {
        let reason = format!("reading {arn}: {}", DisplayErrorContext(&e));
        if crate::store::is_transient(&e) {
            ConfigError::Unavailable { name, reason }
        } else {
            ConfigError::Invalid { name, reason }
        }
    })?;
    out.secret_string.ok_or(ConfigError::Invalid { name, reason: format!("{arn} has no string value") })
}

pub async fn token_issuer(sdk: &SdkConfig) -> Result<TokenIssuer, ConfigError> {
    // The reason is the parser's, never the key itself.
    TokenIssuer::from_pem(&secret(sdk, JWT_PRIVATE_KEY).await?, token_settings()?)
        .map_err(|e| ConfigError::Invalid { name: JWT_PRIVATE_KEY, reason: e.to_string() })
}

pub async fn cursor_key(sdk: &SdkConfig) -> Result<CursorKey, ConfigError> {
    let secret = secret(sdk, CURSOR_KEY).await?;
    if secret.len() < 32 {
        return Err(ConfigError::Invalid { name: CURSOR_KEY, reason: "must be at least 32 characters".into() });
    }
    Ok(CursorKey::new(secret.as_bytes()))
}

/// The event publisher. Its calls are bounded tightly: on a request path a slow topic must
/// not hold the answer, since the outbox delivers what was not accepted in time.
pub fn publisher(sdk: &SdkConfig) -> Result<Publisher, ConfigError> {
    let config = aws_sdk_sns::config::Builder::from(sdk).timeout_config(request_path_timeouts()).build();
    Ok(Publisher::new(aws_sdk_sns::Client::from_conf(config), required(EVENT_TOPIC_ARN)?))
}

fn request_path_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_millis(500))
        .operation_attempt_timeout(std::time::Duration::from_secs(1))
        .operation_timeout(std::time::Duration::from_secs(3))
        .build()
}

/// The mailer. Its SES client makes one attempt per send and no retry of its own: a retried
/// `SendEmail` whose first answer was lost sends the mail twice, so the mailer decides, from
/// what SES answered, whether a send may be repeated (shared/src/notifications/mailer.rs).
pub async fn mailer(sdk: &SdkConfig) -> Result<Mailer, ConfigError> {
    let budget = count(MAILS_PER_ORGANIZATION_PER_DAY, 1000, 1..=1_000_000)?;
    Ok(Mailer::new(store(sdk), ses_client(sdk), required(MAIL_FROM)?, mail_token_key(sdk).await?, budget))
}

/// The deleter: the store, a postman for its done mail (SES as the mailer's), and its own
/// queue for its next batch.
pub fn deleter(sdk: &SdkConfig) -> Result<Deleter, ConfigError> {
    let postman = Postman::new(store(sdk), ses_client(sdk), required(MAIL_FROM)?);
    let batch_size = match std::env::var(DELETION_BATCH_SIZE) {
        Err(_) => DEFAULT_BATCH_SIZE,
        Ok(raw) => raw.parse().ok().filter(|n| (1..=10_000).contains(n)).ok_or(ConfigError::Invalid {
            name: DELETION_BATCH_SIZE,
            reason: "must be a whole number from 1 to 10000".into(),
        })?,
    };
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(sdk).timeout_config(request_path_timeouts()).build(),
    );
    let requeue = JobQueue::new(sqs, required(DELETION_QUEUE_URL)?);
    Ok(Deleter::new(store(sdk), archive(sdk)?, postman, requeue, batch_size))
}

/// The audit writer, keeping entries `TASKFLOW_AUDIT_RETENTION_DAYS` (a year by default, a
/// day to ten years).
pub fn audit_writer(sdk: &SdkConfig) -> Result<AuditWriter, ConfigError> {
    let days = whole_number(AUDIT_RETENTION_DAYS, crate::domain::DEFAULT_AUDIT_RETENTION_DAYS.into(), 1..=3650)?;
    Ok(AuditWriter::new(store(sdk), chrono::Duration::days(i64::try_from(days).unwrap_or(365))))
}

/// The addresses webhook deliveries may reach (`TASKFLOW_WEBHOOK_REACH`).
pub fn webhook_reach() -> Result<Reach, ConfigError> {
    match optional(WEBHOOK_REACH, "public").as_str() {
        "public" => Ok(Reach::Public),
        "public-and-loopback" => Ok(Reach::PublicAndLoopback),
        "loopback" => Ok(Reach::Loopback),
        _ => Err(ConfigError::Invalid {
            name: WEBHOOK_REACH,
            reason: "must be public, loopback or public-and-loopback".into(),
        }),
    }
}

/// The key webhook secrets are sealed under: only the function that makes webhooks and the
/// dispatcher read it.
pub async fn sealing_key(sdk: &SdkConfig) -> Result<SealingKey, ConfigError> {
    let secret = secret(sdk, WEBHOOK_SEALING_KEY).await?;
    if secret.len() < SealingKey::MIN_SECRET_LEN {
        return Err(ConfigError::Invalid {
            name: WEBHOOK_SEALING_KEY,
            reason: format!("must be at least {} characters", SealingKey::MIN_SECRET_LEN),
        });
    }
    Ok(SealingKey::new(secret.as_bytes()))
}

/// The webhook dispatcher: the store, the delivery client of the configured reach, the
/// sealing key, and its own queue, where a message waits out its back-off (the first wait
/// `TASKFLOW_WEBHOOK_RETRY_BASE_SECONDS`, 30 s by default).
pub async fn webhook_dispatcher(sdk: &SdkConfig) -> Result<WebhookDispatcher, ConfigError> {
    let client = WebhookClient::new(webhook_reach()?)
        .map_err(|e| ConfigError::Invalid { name: WEBHOOK_REACH, reason: format!("the HTTP client: {e}") })?;
    let retry_base = Duration::from_secs(whole_number(WEBHOOK_RETRY_BASE_SECONDS, 30, 1..=3600)?);
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(sdk).timeout_config(request_path_timeouts()).build(),
    );
    let queue = RetryQueue::new(sqs, required(WEBHOOK_QUEUE_URL)?);
    Ok(WebhookDispatcher::new(store(sdk), client, sealing_key(sdk).await?, queue, publisher(sdk)?, retry_base))
}

/// The exporter: the store to read, the export bucket to write.
pub fn exporter(sdk: &SdkConfig) -> Result<Exporter, ConfigError> {
    Ok(Exporter::new(store(sdk), archive(sdk)?))
}

/// The export bucket (`TASKFLOW_EXPORT_BUCKET`). Its calls may take longer than a DynamoDB
/// call: a part is 8 MiB. Against an emulator (`AWS_ENDPOINT_URL`) objects are addressed by
/// path, since a bucket name cannot be a subdomain of a loopback address. Checksums only
/// where S3 requires them: the document's SHA-256 is recorded with the export instead.
pub fn archive(sdk: &SdkConfig) -> Result<Archive, ConfigError> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(90))
        .build();
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .timeout_config(timeouts)
        .force_path_style(sdk.endpoint_url().is_some())
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
        .build();
    Ok(Archive::new(aws_sdk_s3::Client::from_conf(config), required(EXPORT_BUCKET)?))
}

/// How long an export's download link works: 15 minutes by default, at most an hour. (A
/// link signed with a Lambda role's session also ends with that session.)
pub fn export_link_ttl() -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(whole_number(EXPORT_LINK_TTL_SECONDS, 15 * 60, 60..=3600)?))
}

/// An SES client that never resends on its own.
pub fn ses_client(sdk: &SdkConfig) -> aws_sdk_sesv2::Client {
    let config = aws_sdk_sesv2::config::Builder::from(sdk).retry_config(RetryConfig::disabled()).build();
    aws_sdk_sesv2::Client::from_conf(config)
}

/// How old an outbox marker must be before the re-publisher sends it again.
pub fn outbox_min_age() -> Result<chrono::Duration, ConfigError> {
    match std::env::var(OUTBOX_MIN_AGE_SECONDS) {
        Err(_) => Ok(crate::notifications::DEFAULT_MIN_AGE),
        Ok(raw) => raw
            .parse::<u32>()
            .map(|s| chrono::Duration::seconds(s.into()))
            .map_err(|_| ConfigError::Invalid { name: OUTBOX_MIN_AGE_SECONDS, reason: "must be whole seconds".into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(contents: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("taskflow-ca-{}.pem", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn the_built_in_roots_are_the_five_amazon_trust_services_certificates() {
        let roots = roots_from(None).unwrap();
        assert_eq!(certificate_count(&roots), Some(5));
    }

    #[test]
    fn a_ca_bundle_replaces_the_built_in_roots() {
        // One certificate of the five stands for a bundle of one's own.
        let text = std::str::from_utf8(AMAZON_TRUST_SERVICES).unwrap();
        let one = text.split("# Amazon Root CA 2").next().unwrap();
        let path = temp_file(one.as_bytes());
        let roots = roots_from(Some(path.clone())).unwrap();
        assert_eq!((roots.as_slice(), certificate_count(&roots)), (one.as_bytes(), Some(1)));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn an_unreadable_or_empty_ca_bundle_is_refused_at_start() {
        let missing = std::env::temp_dir().join("taskflow-no-such-bundle.pem");
        assert!(matches!(roots_from(Some(missing)), Err(ConfigError::Invalid { name: CA_BUNDLE, .. })));
        let empty = temp_file(b"no certificate here\n");
        assert!(matches!(roots_from(Some(empty.clone())), Err(ConfigError::Invalid { name: CA_BUNDLE, .. })));
        std::fs::remove_file(empty).unwrap();
    }
}
