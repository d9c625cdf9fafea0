//! `POST /api/v1/invitations`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = &taskflow::app::App::from_env(&sdk)?;
    let publisher = &taskflow::config::publisher(&sdk)?;
    let quota = taskflow::config::invitation_quota()?;
    // Besides the mailer, the only function that may read the invitation secret.
    let inviter = &taskflow::config::Deferred::load(|| async {
        Ok(api::invitations::Inviter { key: taskflow::config::mail_token_key(&sdk).await?, quota })
    })
    .await?;
    http::serve(move |req| {
        api::idempotency::idempotent(app, req, move |req| async move {
            api::invitations::create(app, publisher, inviter.get().await?, req).await
        })
    })
    .await
}
