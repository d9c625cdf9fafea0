//! `GET /api/v1/auth/me`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_tracing();
    let app = shared::app::App::from_env().await?;
    http::serve(|req| api::auth::me(&app, req)).await
}
