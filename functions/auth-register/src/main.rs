//! `POST /api/v1/auth/register`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::init_tracing();
    let store = shared::config::store(&shared::config::sdk_config().await);
    http::serve(|req| api::auth::register(&store, req)).await
}
