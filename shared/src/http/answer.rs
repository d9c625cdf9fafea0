//! How a handler answers: JSON, a body already in its final form, or no content.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use super::ApiError;

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Response<Body>, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "response did not serialise");
        ApiError::Internal
    })?;
    text(status, "application/json", body)
}

/// A body already in its final form.
pub fn text(status: StatusCode, content_type: &'static str, body: String) -> Result<Response<Body>, ApiError> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::Text(body))
        .map_err(|_| ApiError::Internal)
}

pub fn no_content() -> Result<Response<Body>, ApiError> {
    Response::builder().status(StatusCode::NO_CONTENT).body(Body::Empty).map_err(|_| ApiError::Internal)
}
