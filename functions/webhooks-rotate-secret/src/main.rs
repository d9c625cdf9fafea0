//! `POST /api/v1/webhooks/{id}/rotate-secret`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = &taskflow::app::App::from_env(&sdk)?;
    let publisher = &taskflow::config::publisher(&sdk)?;
    // Besides the function that makes webhooks and the dispatcher, the only one that may
    // read the sealing secret.
    let sealing = &taskflow::config::Deferred::load(|| taskflow::config::sealing_key(&sdk)).await?;
    http::serve(move |req| async move { api::webhooks::rotate_secret(app, publisher, sealing.get().await?, req).await })
        .await
}
