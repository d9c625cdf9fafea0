use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::authenticate;
use crate::app::App;
use crate::domain::events::Event;
use crate::domain::{OrgName, OrgSlug, Organization};
use crate::http::error_responses::{AuthenticatedErrors, Forbidden, JsonBodyErrors, NotFound};
use crate::http::{self, ApiError};
use crate::notifications::{self, Publisher};
use crate::store::{DeletionRequest, Requested, StoreError};

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

/// What an admin sends to delete the organization: its slug, typed out, as a guard against
/// deleting the wrong one.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletionConfirmation {
    #[schema(example = "acme")]
    confirm_slug: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeletionAccepted {
    #[schema(example = "deleting")]
    status: &'static str,
    #[schema(
        example = "The organization is being deleted; its admin gets a mail when it is done. Its slug stays taken until then."
    )]
    detail: &'static str,
}

const DELETION_ACCEPTED: DeletionAccepted = DeletionAccepted {
    status: "deleting",
    detail: "The organization is being deleted; its admin gets a mail when it is done. Its slug stays taken until then.",
};

/// `DELETE /api/v1/organizations/me`: admins only.
#[utoipa::path(
    delete, path = "/api/v1/organizations/me", tag = "organizations", operation_id = "deleteOrganization",
    summary = "Delete the caller's organization and everything it owns",
    description = "Admins only, with the organization's slug as `confirm_slug`. Answers 202 at once; a queue-driven job then removes every item of the organization in batches (users first: from its first batch, normally within a second, every write, refresh and login of the organization's accounts is refused with 401), and mails the admin when it is done. Until then the slug stays taken; afterwards the slug and the emails can be registered again. Asking again before its first batch answers 202 too (after it, the caller's token is refused with 401). Cannot be undone.",
    security(("bearer" = [])),
    request_body = DeletionConfirmation,
    responses(
        (status = 202, description = "The deletion is running.", body = DeletionAccepted),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        JsonBodyErrors,
        AuthenticatedErrors,
    )
)]
pub async fn delete(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req)?;
    let caller = principal.as_admin()?;
    let confirmation: DeletionConfirmation = http::json_body(&req)?;
    let slug = OrgSlug::parse(&confirmation.confirm_slug).map_err(|_| StoreError::ConfirmationMismatch)?;
    let scope = principal.scope();
    // The done mail's address, read now: the users are the first thing the job deletes.
    let requester = app.store.users().get(&scope, principal.user_id()).await?.ok_or(ApiError::Unauthenticated)?;
    let now = Utc::now();
    let event = Event::organization_deletion_requested(scope.org_id(), requester.id, now);
    let request = DeletionRequest {
        requested_by: requester.id,
        notify: Some(requester.email),
        requested_at: now,
        event_id: event.event_id,
    };
    if app.store.deletions().request(&scope, &caller, &slug, &request, &event).await? == Requested::Started {
        notifications::dispatch(&app.store, publisher, &scope, &event).await;
    }
    http::json(StatusCode::ACCEPTED, &DELETION_ACCEPTED)
}
