//! `GET /api/v1/tasks`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::init_tracing();
    let sdk = shared::config::sdk_config().await?;
    let app = &shared::app::App::from_env(&sdk)?;
    let cursors = &shared::config::Deferred::load(|| shared::config::cursor_key(&sdk)).await?;
    http::serve(move |req| async move { api::tasks::list(app, cursors.get().await?, req).await }).await
}
