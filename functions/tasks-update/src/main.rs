//! `PATCH /api/v1/tasks/{id}`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_tracing();
    let app = shared::app::App::from_env().await?;
    http::serve(|req| api::tasks::update(&app, req)).await
}
