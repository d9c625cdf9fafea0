//! `POST /api/v1/auth/register`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_tracing();
    let store = shared::config::store().await;
    http::serve(|req| api::auth::register(&store, req)).await
}
