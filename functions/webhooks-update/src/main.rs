//! `PATCH /api/v1/webhooks/{id}`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = taskflow::app::App::from_env(&sdk)?;
    let publisher = taskflow::config::publisher(&sdk)?;
    let reach = taskflow::config::webhook_reach()?;
    http::serve(|req| api::webhooks::update(&app, &publisher, reach, req)).await
}
