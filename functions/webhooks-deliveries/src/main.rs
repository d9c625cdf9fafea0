//! `GET /api/v1/webhooks/{id}/deliveries`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = &taskflow::app::App::from_env(&sdk)?;
    let cursors = &taskflow::config::Deferred::load(|| taskflow::config::cursor_key(&sdk)).await?;
    http::serve(move |req| async move { api::webhooks::deliveries(app, cursors.get().await?, req).await }).await
}
