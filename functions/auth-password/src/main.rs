//! `POST /api/v1/auth/password`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = taskflow::app::App::from_env(&sdk)?;
    let limits = taskflow::config::password_limits()?;
    http::serve(|req| api::auth::change_password(&app, &limits, req)).await
}
