//! `POST /api/v1/auth/accept-invitation`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    // A token issuer: one of the few functions that may read the signing key.
    let issuer = &taskflow::config::Deferred::load(|| taskflow::config::token_issuer(&sdk)).await?;
    let store = &taskflow::config::store(&sdk);
    let publisher = &taskflow::config::publisher(&sdk)?;
    http::serve(
        move |req| async move { api::auth::accept_invitation(store, issuer.get().await?, publisher, req).await },
    )
    .await
}
