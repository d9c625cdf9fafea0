use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

use super::authenticate;
use crate::app::App;
use crate::domain::{OrgName, Organization};
use crate::http::error_responses::{AuthenticatedErrors, Forbidden, JsonBodyErrors, NotFound};
use crate::http::{self, ApiError};

/// `GET /api/v1/organizations/me`.
#[utoipa::path(
    get, path = "/api/v1/organizations/me", tag = "organizations", operation_id = "getOrganization",
    summary = "Get the caller's organization",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization.", body = Organization),
        (status = 404, response = NotFound),
        AuthenticatedErrors,
    )
)]
pub async fn get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req)?;
    let organization =
        app.store.organizations().get(&principal.scope()).await?.ok_or(ApiError::NotFound("organization"))?;
    http::json(StatusCode::OK, &organization)
}

/// The settings an admin may change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    name: OrgName,
}

/// `PATCH /api/v1/organizations/me`: admins only. The slug is the organization's
/// permanent handle and cannot be changed here.
#[utoipa::path(
    patch, path = "/api/v1/organizations/me", tag = "organizations", operation_id = "updateOrganization",
    summary = "Rename the caller's organization",
    description = "Admins only. The slug is permanent.",
    security(("bearer" = [])),
    request_body = OrganizationPatch,
    responses(
        (status = 200, description = "The organization after the change.", body = Organization),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        JsonBodyErrors,
        AuthenticatedErrors,
    )
)]
pub async fn update(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req)?;
    let caller = principal.as_admin()?;
    let patch: OrganizationPatch = http::json_body(&req)?;
    let organization = app.store.organizations().rename(&principal.scope(), &caller, &patch.name, Utc::now()).await?;
    http::json(StatusCode::OK, &organization)
}
