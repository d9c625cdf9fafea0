//! `POST /api/v1/auth/register`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::init_tracing();
    let sdk = shared::config::sdk_config().await?;
    // A token issuer: one of the few functions that may read the signing key.
    let issuer = &shared::config::Deferred::load(|| shared::config::token_issuer(&sdk)).await?;
    let store = &shared::config::store(&sdk);
    http::serve(move |req| async move { api::auth::register(store, issuer.get().await?, req).await }).await
}
