use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

use super::authenticate;
use crate::app::App;
use crate::domain::OrgName;
use crate::http::{self, ApiError};

/// `GET /api/v1/organizations/me`.
pub async fn get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req)?;
    let organization =
        app.store.organizations().get(&principal.scope()).await?.ok_or(ApiError::NotFound("organization"))?;
    http::json(StatusCode::OK, &organization)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganizationPatch {
    name: OrgName,
}

/// `PATCH /api/v1/organizations/me`: admins only. The slug is the organization's
/// permanent handle and cannot be changed here.
pub async fn update(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req)?;
    principal.require_admin()?;
    let patch: OrganizationPatch = http::json_body(&req)?;
    let organization = app.store.organizations().rename(&principal.scope(), &patch.name, Utc::now()).await?;
    http::json(StatusCode::OK, &organization)
}
