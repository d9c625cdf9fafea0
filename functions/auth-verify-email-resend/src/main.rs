//! `POST /api/v1/auth/verify-email/resend`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = &taskflow::app::App::from_env(&sdk)?;
    let publisher = &taskflow::config::publisher(&sdk)?;
    let limits = taskflow::config::mail_request_limits()?;
    let mail = &taskflow::config::Deferred::load(|| async {
        Ok(api::auth::AccountMail { key: taskflow::config::mail_token_key(&sdk).await?, limits })
    })
    .await?;
    http::serve(move |req| {
        api::idempotency::idempotent(app, req, move |req| async move {
            api::auth::verify_email_resend(app, publisher, mail.get().await?, req).await
        })
    })
    .await
}
