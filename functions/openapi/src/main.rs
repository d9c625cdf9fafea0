//! `GET /openapi.json`
use shared::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::init_tracing();
    let document = shared::openapi::to_json();
    http::serve(|req| api::docs::openapi(&document, req)).await
}
