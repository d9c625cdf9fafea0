//! `GET /api/v1/webhooks/{id}`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = taskflow::app::App::from_env(&sdk)?;
    http::serve(|req| api::webhooks::get(&app, req)).await
}
