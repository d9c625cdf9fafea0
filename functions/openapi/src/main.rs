//! `GET /openapi.json`
use taskflow::{api, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    let document = taskflow::openapi::to_json();
    http::serve(|req| api::docs::openapi(&document, req)).await
}
