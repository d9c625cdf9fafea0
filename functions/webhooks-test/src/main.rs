//! `POST /api/v1/webhooks/{id}/test`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = taskflow::app::App::from_env(&sdk)?;
    let publisher = taskflow::config::publisher(&sdk)?;
    http::serve(|req| api::idempotency::idempotent(&app, req, |req| api::webhooks::test(&app, &publisher, req))).await
}
