//! `POST /api/v1/auth/login`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::init_tracing();
    // The only function that holds the signing key.
    let issuer = shared::config::token_issuer()?;
    let store = shared::config::store(&shared::config::sdk_config().await);
    http::serve(|req| api::auth::login(&store, &issuer, req)).await
}
