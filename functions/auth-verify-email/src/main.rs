//! `POST /api/v1/auth/verify-email`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let store = &taskflow::config::store(&sdk);
    http::serve(move |req| api::auth::verify_email(store, req)).await
}
