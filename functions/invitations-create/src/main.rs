//! `POST /api/v1/invitations`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::init_tracing();
    let sdk = shared::config::sdk_config().await?;
    let app = shared::app::App::from_env(&sdk)?;
    let publisher = shared::config::publisher(&sdk)?;
    // Besides the mailer, the only function that may read the invitation secret.
    let invitations = api::invitations::Inviter {
        key: shared::config::invitation_key(&sdk).await?,
        quota: shared::config::invitation_quota()?,
    };
    http::serve(|req| api::invitations::create(&app, &publisher, &invitations, req)).await
}
