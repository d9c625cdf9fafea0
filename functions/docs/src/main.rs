//! `GET /docs`
use taskflow::{api, http};

/// Swagger UI with its script and styles inlined, assembled by `build.rs` from the pinned
/// npm package.
const PAGE: &str = include_str!(concat!(env!("OUT_DIR"), "/docs.html"));

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskflow::app::init_tracing();
    http::serve(|req| api::docs::page(PAGE, req)).await
}
