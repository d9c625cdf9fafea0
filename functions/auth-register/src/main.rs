//! `POST /api/v1/auth/register`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    // A token issuer: one of the few functions that may read the signing key; and it mails
    // the new admin's verification token, derived under the mail token secret.
    let secrets = &taskflow::config::Deferred::load(|| async {
        Ok((taskflow::config::token_issuer(&sdk).await?, taskflow::config::mail_token_key(&sdk).await?))
    })
    .await?;
    let store = &taskflow::config::store(&sdk);
    let publisher = &taskflow::config::publisher(&sdk)?;
    let limits = &taskflow::config::registration_limits()?;
    http::serve(move |req| async move {
        let (issuer, key) = secrets.get().await?;
        api::auth::register(store, issuer, publisher, key, limits, req).await
    })
    .await
}
