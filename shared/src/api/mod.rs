//! The handlers, one per route. Each parses its request with [`crate::http`], asks
//! [`crate::auth`] who is calling, and calls the store with the caller's tenant scope.

pub mod auth;
pub mod organizations;
pub mod tasks;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::app::App;
use crate::auth::Principal;
use crate::http::{self, ApiError};

/// `GET /health`: the function answers; it touches no dependency, so an outage of one
/// does not take every health check down with it.
pub async fn health(_req: Request) -> Result<Response<Body>, ApiError> {
    http::json(StatusCode::OK, &json!({ "status": "ok" }))
}

/// The verified caller of an authenticated route.
fn authenticate(app: &App, req: &Request) -> Result<Principal, ApiError> {
    let token = http::bearer_token(req).ok_or(ApiError::Unauthenticated)?;
    let principal = app.tokens.verify(token)?;
    http::record_principal(&principal);
    Ok(principal)
}
