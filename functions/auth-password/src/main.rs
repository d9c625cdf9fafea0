//! `POST /api/v1/auth/password`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::init_tracing();
    let sdk = shared::config::sdk_config().await?;
    let app = shared::app::App::from_env(&sdk)?;
    let limits = shared::config::password_limits()?;
    http::serve(|req| api::auth::change_password(&app, &limits, req)).await
}
