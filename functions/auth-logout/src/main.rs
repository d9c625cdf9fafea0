//! `POST /api/v1/auth/logout`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::init_tracing();
    let sdk = shared::config::sdk_config().await?;
    let app = shared::app::App::from_env(&sdk)?;
    http::serve(|req| api::auth::logout(&app, req)).await
}
