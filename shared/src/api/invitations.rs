//! Invitations: admins invite by email; the invitee gets a one-time token by mail (through
//! the same outbox, queue and mailer as task notifications) and accepts it with a password.

use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::authenticate;
use crate::app::App;
use crate::auth::OpaqueToken;
use crate::domain::{Invitation, InvitationDraft, InvitationId};
use crate::events::Event;
use crate::http::responses::{AuthenticatedErrors, BadRequest, Conflict, Forbidden, JsonBodyErrors, NotFound};
use crate::http::{self, ApiError};
use crate::notifications::{self, Publisher};
use crate::store::StoreError;

/// `POST /api/v1/invitations` `{email, role}`: admins only.
#[utoipa::path(
    post, path = "/api/v1/invitations", tag = "invitations", operation_id = "createInvitation",
    summary = "Invite someone by email",
    description = "Admins only. The invitee is mailed a one-time token, valid for 7 days, to accept with `POST /api/v1/auth/accept-invitation`. An email that already has an account answers 409.",
    security(("bearer" = [])),
    request_body = InvitationDraft,
    responses(
        (status = 201, description = "The pending invitation.", body = Invitation),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        JsonBodyErrors,
        AuthenticatedErrors,
    )
)]
pub async fn create(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req)?;
    principal.require_admin()?;
    let draft: InvitationDraft = http::json_body(&req)?;
    let scope = principal.scope();
    let invitation = Invitation::new(draft, scope.org_id(), principal.user_id(), Utc::now());
    let token = OpaqueToken::generate();
    let hash = token.hash();
    let event = Event::invitation_created(&invitation, token);
    app.store.invitations().create(&scope, &invitation, &hash, &event).await?;
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
    tracing::info!(invitation_id = %invitation.id, "invitation created");
    http::json(StatusCode::CREATED, &invitation)
}

/// The pending invitations.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InvitationList {
    items: Vec<Invitation>,
}

/// `GET /api/v1/invitations`: the pending ones, admins only.
#[utoipa::path(
    get, path = "/api/v1/invitations", tag = "invitations", operation_id = "listInvitations",
    summary = "List pending invitations",
    description = "Admins only.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The invitations not yet accepted, revoked or expired.", body = InvitationList),
        (status = 403, response = Forbidden),
        AuthenticatedErrors,
    )
)]
pub async fn list(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req)?;
    principal.require_admin()?;
    let items = app.store.invitations().list(&principal.scope(), Utc::now()).await?;
    http::json(StatusCode::OK, &InvitationList { items })
}

/// `DELETE /api/v1/invitations/{id}`: revokes a pending invitation, admins only.
#[utoipa::path(
    delete, path = "/api/v1/invitations/{id}", tag = "invitations", operation_id = "revokeInvitation",
    summary = "Revoke an invitation",
    description = "Admins only. The mailed token stops working.",
    security(("bearer" = [])),
    params(("id" = InvitationId, Path, description = "The invitation's id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        AuthenticatedErrors,
    )
)]
pub async fn delete(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req)?;
    principal.require_admin()?;
    let id = http::path_id(&req, "id", InvitationId::parse)?;
    app.store.invitations().revoke(&principal.scope(), id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound("invitation"),
        other => other.into(),
    })?;
    http::no_content()
}
