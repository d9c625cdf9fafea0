//! `PATCH /api/v1/organizations/me`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_tracing();
    let app = shared::app::App::from_env().await?;
    http::serve(|req| api::organizations::update(&app, req)).await
}
