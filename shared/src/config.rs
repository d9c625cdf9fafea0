//! Configuration from the environment, read once per cold start. Each function loads only
//! the pieces it uses: only token issuers read the private key, only the list function the
//! cursor secret.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::auth::{TokenIssuer, TokenSettings, TokenVerifier};
use crate::mailer::Mailer;
use crate::notifications::Publisher;
use crate::store::{CursorKey, Store};

pub const TABLE_NAME: &str = "TASKFLOW_TABLE_NAME";
pub const JWT_PRIVATE_KEY: &str = "TASKFLOW_JWT_PRIVATE_KEY";
pub const JWT_PUBLIC_KEY: &str = "TASKFLOW_JWT_PUBLIC_KEY";
pub const JWT_ISSUER: &str = "TASKFLOW_JWT_ISSUER";
pub const JWT_AUDIENCE: &str = "TASKFLOW_JWT_AUDIENCE";
pub const ACCESS_TOKEN_TTL_SECONDS: &str = "TASKFLOW_ACCESS_TOKEN_TTL_SECONDS";
pub const CURSOR_SECRET: &str = "TASKFLOW_CURSOR_SECRET";
pub const QUEUE_URL: &str = "TASKFLOW_QUEUE_URL";
pub const MAIL_FROM: &str = "TASKFLOW_MAIL_FROM";
pub const OUTBOX_MIN_AGE_SECONDS: &str = "TASKFLOW_OUTBOX_MIN_AGE_SECONDS";

const DEFAULT_TABLE_NAME: &str = "taskflow";
const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

fn required(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or(ConfigError::Missing(name))
}

fn optional(name: &'static str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_owned())
}

/// The SDK's standard chain: region, credentials and endpoint (`AWS_ENDPOINT_URL`, which
/// points the functions at a local emulator) come from the environment.
pub async fn sdk_config() -> SdkConfig {
    aws_config::load_from_env().await
}

pub fn store(sdk: &SdkConfig) -> Store {
    Store::new(aws_sdk_dynamodb::Client::new(sdk), table_name())
}

pub fn table_name() -> String {
    optional(TABLE_NAME, DEFAULT_TABLE_NAME)
}

pub fn token_settings() -> Result<TokenSettings, ConfigError> {
    let ttl = match std::env::var(ACCESS_TOKEN_TTL_SECONDS) {
        Err(_) => DEFAULT_ACCESS_TOKEN_TTL,
        Ok(raw) => {
            raw.parse::<u64>().ok().filter(|s| (60..=24 * 3600).contains(s)).map(Duration::from_secs).ok_or_else(
                || ConfigError::Invalid {
                    name: ACCESS_TOKEN_TTL_SECONDS,
                    reason: "must be whole seconds from 60 to 86400".into(),
                },
            )?
        }
    };
    Ok(TokenSettings {
        issuer: optional(JWT_ISSUER, "taskflow"),
        audience: optional(JWT_AUDIENCE, "taskflow-api"),
        access_ttl: ttl,
    })
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
    let out = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .map_err(|e| ConfigError::Invalid { name, reason: format!("reading {arn}: {}", DisplayErrorContext(&e)) })?;
    out.secret_string.ok_or(ConfigError::Invalid { name, reason: format!("{arn} has no string value") })
}

pub async fn token_issuer(sdk: &SdkConfig) -> Result<TokenIssuer, ConfigError> {
    // The reason is the parser's, never the key itself.
    TokenIssuer::from_pem(&secret(sdk, JWT_PRIVATE_KEY).await?, token_settings()?)
        .map_err(|e| ConfigError::Invalid { name: JWT_PRIVATE_KEY, reason: e.to_string() })
}

pub async fn cursor_key(sdk: &SdkConfig) -> Result<CursorKey, ConfigError> {
    let secret = secret(sdk, CURSOR_SECRET).await?;
    if secret.len() < 32 {
        return Err(ConfigError::Invalid { name: CURSOR_SECRET, reason: "must be at least 32 characters".into() });
    }
    Ok(CursorKey::new(secret.as_bytes()))
}

/// The queue publisher. Its calls are bounded tightly: on a request path a slow queue must
/// not hold the answer, since the outbox delivers what was not accepted in time.
pub fn publisher(sdk: &SdkConfig) -> Result<Publisher, ConfigError> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_millis(500))
        .operation_attempt_timeout(std::time::Duration::from_secs(1))
        .operation_timeout(std::time::Duration::from_secs(3))
        .build();
    let config = aws_sdk_sqs::config::Builder::from(sdk).timeout_config(timeouts).build();
    Ok(Publisher::new(aws_sdk_sqs::Client::from_conf(config), required(QUEUE_URL)?))
}

pub fn mailer(sdk: &SdkConfig) -> Result<Mailer, ConfigError> {
    Ok(Mailer::new(store(sdk), aws_sdk_sesv2::Client::new(sdk), required(MAIL_FROM)?))
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
