//! Invitations: admins invite by email; the invitee gets a one-time token by mail (through
//! the same outbox, queue and mailer as task notifications) and accepts it with a password.

use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::{authenticate, idempotency, page_after, page_limit, provenance};
use crate::app::App;
use crate::auth::{MailTokenKey, MailTokenPurpose};
use crate::domain::events::Event;
use crate::domain::{Invitation, InvitationDraft, InvitationId, MailNonce};
use crate::http::error_responses::{
    AuthenticatedErrors, BadRequest, Conflict, Forbidden, IdempotencyErrors, JsonBodyErrors, NotFound, TooManyRequests,
};
use crate::http::{self, ApiError};
use crate::notifications::{self, Publisher};
use crate::store::{CursorKey, InvitationQuota, NewInvitation, StoreError};

/// What the inviting function needs besides the store: the secret the token is derived
/// under, and the organization's daily quota.
pub struct Inviter {
    pub key: MailTokenKey,
    pub quota: InvitationQuota,
}

/// The cursor namespace of the invitations list.
const INVITATIONS_QUERY: &str = "invitations";

/// `POST /api/v1/invitations` `{email, role}`: admins only.
#[utoipa::path(
    post, path = "/api/v1/invitations", tag = "invitations", operation_id = "createInvitation",
    summary = "Invite someone by email",
    description = "Admins only, checked against the caller's stored role. The invitee is mailed a one-time token, valid for 7 days, to accept with `POST /api/v1/auth/accept-invitation`; it works only while the inviting admin still is one. An email that already has an account anywhere in TaskFlow answers 409. Each organization may send a limited number of invitations per day (UTC; 50 unless configured): beyond it, 429 with `Retry-After`.",
    security(("bearer" = [])),
    request_body = InvitationDraft,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, description = "Makes a retry safe: the same key and request within 24 hours get the first answer again (see the README, Idempotency-Key).")),
    responses(
        (status = 201, description = "The pending invitation.", body = Invitation),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 429, response = TooManyRequests),
        JsonBodyErrors,
        IdempotencyErrors,
        AuthenticatedErrors,
    )
)]
pub async fn create(
    app: &App,
    publisher: &Publisher,
    inviter: &Inviter,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let caller = principal.as_admin()?;
    let draft: InvitationDraft = http::json_body(&req)?;
    principal.may_grant(draft.role)?;
    let scope = principal.scope();
    let invitation = Invitation::new(draft, scope.org_id(), principal.user_id(), Utc::now());
    let nonce = MailNonce::generate();
    let hash = inviter.key.token(MailTokenPurpose::Invitation, &invitation.id, &nonce).hash();
    let event = Event::invitation_created(&invitation, nonce, &provenance(&principal, &req));
    let response = http::json(StatusCode::CREATED, &invitation)?;
    // Under an Idempotency-Key, the answer is recorded with the invitation itself.
    let answer = idempotency::answer_to_record(&req, &response);
    let answer = answer.as_ref().map(|(claim, answer)| (claim, answer));
    let new = NewInvitation { invitation: &invitation, token: &hash, event: &event };
    app.store.invitations().create(&scope, &caller, inviter.quota, new, answer).await?;
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
    tracing::info!(invitation_id = %invitation.id, "invitation created");
    Ok(response)
}

/// A page of pending invitations, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InvitationList {
    items: Vec<Invitation>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// `GET /api/v1/invitations?limit=&cursor=`: the pending ones, admins only.
#[utoipa::path(
    get, path = "/api/v1/invitations", tag = "invitations", operation_id = "listInvitations",
    summary = "List pending invitations",
    description = "Admins only. Newest first, a page at a time; a page may hold fewer than `limit` when some invitations expired.",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u8>, Query, minimum = 1, maximum = 100, description = "Page size, 20 when absent."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of the invitations not yet accepted, revoked or expired.", body = InvitationList),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        AuthenticatedErrors,
    )
)]
pub async fn list(app: &App, cursors: &CursorKey, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    principal.require_admin()?;
    let scope = principal.scope();
    let limit = page_limit(&req)?;
    let after = page_after(&req, cursors, &scope, INVITATIONS_QUERY, InvitationId::parse)?;
    let page = app.store.invitations().list_page(&scope, limit, after, Utc::now()).await?;
    let next_cursor = page.last.map(|last| cursors.encode(&scope, INVITATIONS_QUERY, last));
    http::json(StatusCode::OK, &InvitationList { items: page.items, next_cursor })
}

/// `DELETE /api/v1/invitations/{id}`: revokes a pending invitation, admins only.
#[utoipa::path(
    delete, path = "/api/v1/invitations/{id}", tag = "invitations", operation_id = "revokeInvitation",
    summary = "Revoke an invitation",
    description = "Admins only, checked against the caller's stored role. The mailed token stops working.",
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
pub async fn delete(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let caller = principal.as_admin()?;
    let id = http::path_id(&req, "id", InvitationId::parse)?;
    let scope = principal.scope();
    let by = provenance(&principal, &req);
    let event = app.store.invitations().revoke(&scope, &caller, id, &by).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound("invitation"),
        other => other.into(),
    })?;
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
    http::no_content()
}
