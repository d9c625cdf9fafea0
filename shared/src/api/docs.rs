//! The API's own description: the OpenAPI document and a page that renders it.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, Response};

use crate::http::{self, ApiError};

/// Both answers are the same for every request until the next deployment.
const CACHE_FOR_FIVE_MINUTES: header::HeaderValue = header::HeaderValue::from_static("public, max-age=300");

/// `GET /openapi.json`: `document` is [`crate::openapi::to_json`], built once per cold start.
#[utoipa::path(
    get, path = "/openapi.json", tag = "service", operation_id = "openapi",
    summary = "This API's OpenAPI 3.1 document",
    responses((status = 200, description = "The document.", content_type = "application/json", body = Object))
)]
pub async fn openapi(document: &str, _req: Request) -> Result<Response<Body>, ApiError> {
    let mut response = http::text(StatusCode::OK, "application/json", document.to_owned())?;
    response.headers_mut().insert(header::CACHE_CONTROL, CACHE_FOR_FIVE_MINUTES);
    Ok(response)
}

/// `GET /docs`: a self-contained Swagger UI page (its scripts are inlined at build time, so
/// the page loads nothing but `openapi.json` and the API itself: the policy says so too).
#[utoipa::path(
    get, path = "/docs", tag = "service", operation_id = "docs",
    summary = "This documentation, as a web page",
    responses((status = 200, description = "Swagger UI for this API.", content_type = "text/html", body = String))
)]
pub async fn page(html: &'static str, _req: Request) -> Result<Response<Body>, ApiError> {
    let mut response = http::text(StatusCode::OK, "text/html; charset=utf-8", html.to_owned())?;
    response.headers_mut().insert(header::CACHE_CONTROL, CACHE_FOR_FIVE_MINUTES);
    let policy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; \
                  connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(policy));
    Ok(response)
}
