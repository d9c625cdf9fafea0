//! `GET /api/v1/organizations/me/exports/{export_id}`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = taskflow::app::App::from_env(&sdk)?;
    // Signs download links with the function's own credentials: its role may read exports.
    let archive = taskflow::config::archive(&sdk)?;
    let link_ttl = taskflow::config::export_link_ttl()?;
    // Each download link handed out is published as an event, for the audit log.
    let publisher = taskflow::config::publisher(&sdk)?;
    http::serve(|req| api::organizations::export_status(&app, &archive, &publisher, link_ttl, req)).await
}
