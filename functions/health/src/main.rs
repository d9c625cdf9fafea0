//! `GET /health`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::init_tracing();
    http::serve(api::health).await
}
