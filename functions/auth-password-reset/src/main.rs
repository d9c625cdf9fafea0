//! `POST /api/v1/auth/password-reset`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let store = &taskflow::config::store(&sdk);
    let limits = taskflow::config::mail_request_limits()?;
    let mail = &taskflow::config::Deferred::load(|| async {
        Ok(api::auth::AccountMail { key: taskflow::config::mail_token_key(&sdk).await?, limits })
    })
    .await?;
    http::serve(move |req| async move { api::auth::password_reset(store, mail.get().await?, req).await }).await
}
