//! `POST /api/v1/webhooks`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = &taskflow::app::App::from_env(&sdk)?;
    let publisher = &taskflow::config::publisher(&sdk)?;
    let reach = taskflow::config::webhook_reach()?;
    // Besides the dispatcher, the only function that may read the sealing secret.
    let sealing = &taskflow::config::Deferred::load(|| taskflow::config::sealing_key(&sdk)).await?;
    http::serve(move |req| async move { api::webhooks::create(app, publisher, reach, sealing.get().await?, req).await })
        .await
}
