//! `POST /api/v1/auth/login`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_tracing();
    // The only function that holds the signing key.
    let issuer = shared::config::token_issuer()?;
    let store = shared::config::store().await;
    http::serve(|req| api::auth::login(&store, &issuer, req)).await
}
