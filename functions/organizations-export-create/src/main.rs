//! `POST /api/v1/organizations/me/exports`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = taskflow::app::App::from_env(&sdk)?;
    let publisher = taskflow::config::publisher(&sdk)?;
    http::serve(|req| api::organizations::create_export(&app, &publisher, req)).await
}
