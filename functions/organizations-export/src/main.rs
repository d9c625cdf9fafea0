//! `GET /api/v1/organizations/me/export`, deprecated: `POST /api/v1/organizations/me/exports`
//! (organizations-export-create) starts an export; this answers as it does, with a
//! `Deprecation` header, while clients move.
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = taskflow::app::App::from_env(&sdk)?;
    let publisher = taskflow::config::publisher(&sdk)?;
    #[allow(deprecated)]
    http::serve(|req| api::organizations::export(&app, &publisher, req)).await
}
