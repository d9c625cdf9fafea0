//! `POST /api/v1/invitations`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::init_tracing();
    let sdk = shared::config::sdk_config().await?;
    let app = &shared::app::App::from_env(&sdk)?;
    let publisher = &shared::config::publisher(&sdk)?;
    let quota = shared::config::invitation_quota()?;
    // Besides the mailer, the only function that may read the invitation secret.
    let inviter = &shared::config::Deferred::load(|| async {
        Ok(api::invitations::Inviter { key: shared::config::invitation_key(&sdk).await?, quota })
    })
    .await?;
    http::serve(move |req| async move { api::invitations::create(app, publisher, inviter.get().await?, req).await })
        .await
}
