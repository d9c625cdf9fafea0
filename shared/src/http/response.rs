use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use super::ApiError;

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Response<Body>, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "response did not serialise");
        ApiError::Internal
    })?;
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .map_err(|_| ApiError::Internal)
}

pub fn no_content() -> Result<Response<Body>, ApiError> {
    Response::builder().status(StatusCode::NO_CONTENT).body(Body::Empty).map_err(|_| ApiError::Internal)
}
