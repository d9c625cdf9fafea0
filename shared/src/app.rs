use crate::auth::TokenVerifier;
use crate::config::{self, ConfigError};
use crate::store::Store;

/// What every authenticated function needs, built once per cold start: the store and the
/// verifier of access tokens (public key only).
pub struct App {
    pub store: Store,
    pub tokens: TokenVerifier,
}

impl App {
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        Ok(Self { tokens: config::token_verifier()?, store: config::store(sdk) })
    }
}

/// Lambda's own subscriber: JSON lines when the function's log format is JSON (as the
/// template and the local stack set it), the level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.
pub fn init_tracing() {
    lambda_http::tracing::init_default_subscriber();
}
