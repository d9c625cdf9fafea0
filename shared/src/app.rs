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
    pub async fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            tokens: config::token_verifier()?,
            store: config::store().await,
        })
    }
}
