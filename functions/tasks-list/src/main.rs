//! `GET /api/v1/tasks`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_tracing();
    let app = shared::app::App::from_env().await?;
    let cursors = shared::config::cursor_key()?;
    http::serve(|req| api::tasks::list(&app, &cursors, req)).await
}
