//! `POST /api/v1/auth/password-reset/confirm`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let store = &taskflow::config::store(&sdk);
    let limits = &taskflow::config::password_limits()?;
    http::serve(move |req| api::auth::password_reset_confirm(store, limits, req)).await
}
