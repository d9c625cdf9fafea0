//! `POST /api/v1/auth/logout-all`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = taskflow::app::App::from_env(&sdk)?;
    http::serve(|req| api::idempotency::idempotent(&app, req, |req| api::auth::logout_all(&app, req))).await
}
