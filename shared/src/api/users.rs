//! The organization's members. Any member may list and read them; changing roles and
//! removing members is for admins, and the last admin can be neither demoted nor removed.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::{authenticate, page_after, page_limit, provenance};
use crate::app::App;
use crate::domain::events::Event;
use crate::domain::{Role, RoleChange, User, UserId};
use crate::http::error_responses::{AuthenticatedErrors, BadRequest, Conflict, Forbidden, JsonBodyErrors, NotFound};
use crate::http::{self, ApiError};
use crate::notifications::{self, Publisher};
use crate::store::{CursorKey, StoreError};

/// The cursor namespace of the members list (task lists use their filter's fingerprint).
const USERS_QUERY: &str = "users";

fn user_id(req: &Request) -> Result<UserId, ApiError> {
    http::path_id(req, "id", UserId::parse)
}

fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::NotFound("user"),
        other => other.into(),
    }
}

/// A page of the organization's members, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserList {
    items: Vec<User>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// `GET /api/v1/users?limit=&cursor=`: newest first, like tasks.
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users", operation_id = "listUsers",
    summary = "List the organization's members",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u8>, Query, minimum = 1, maximum = 100, description = "Page size, 20 when absent."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of members.", body = UserList),
        (status = 400, response = BadRequest),
        AuthenticatedErrors,
    )
)]
pub async fn list(app: &App, cursors: &CursorKey, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let scope = principal.scope();
    let limit = page_limit(&req)?;
    let after = page_after(&req, cursors, &scope, USERS_QUERY, UserId::parse)?;
    let page = app.store.users().list_page(&scope, limit, after).await?;
    let next_cursor = page.last.map(|last| cursors.encode(&scope, USERS_QUERY, last));
    http::json(StatusCode::OK, &UserList { items: page.items, next_cursor })
}

/// `GET /api/v1/users/{id}`: another organization's user is not found, like a missing one.
#[utoipa::path(
    get, path = "/api/v1/users/{id}", tag = "users", operation_id = "getUser",
    summary = "Get a member",
    security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The member's user id.")),
    responses(
        (status = 200, description = "The member.", body = User),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        AuthenticatedErrors,
    )
)]
pub async fn get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let id = user_id(&req)?;
    let user = app.store.users().get(&principal.scope(), id).await?.ok_or(ApiError::NotFound("user"))?;
    http::json(StatusCode::OK, &user)
}

/// `PATCH /api/v1/users/{id}` `{role}`: admins only. The new role reaches refresh at once
/// and access tokens when they expire.
#[utoipa::path(
    patch, path = "/api/v1/users/{id}", tag = "users", operation_id = "changeUserRole",
    summary = "Change a member's role",
    description = "Admins only, checked against the caller's stored role (a demoted admin's token gets 403). The last admin cannot be demoted (409). A demoted admin's pending invitations are revoked.",
    security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The member's user id.")),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The member with the new role.", body = User),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        JsonBodyErrors,
        AuthenticatedErrors,
    )
)]
pub async fn update(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let caller = principal.as_admin()?;
    let id = user_id(&req)?;
    let change: RoleChange = http::json_body(&req)?;
    principal.may_grant(change.role)?;
    let scope = principal.scope();
    let by = provenance(&principal, &req);
    let (user, changed) = app.store.users().set_role(&scope, &caller, id, change.role, &by).await.map_err(not_found)?;
    let mut events: Vec<Event> = changed.into_iter().collect();
    // A demoted admin's pending invitations cannot be accepted any more (acceptance checks
    // the inviter); revoking them keeps the organization's list true.
    if user.role == Role::Member {
        events.extend(app.store.invitations().revoke_sent_by(&scope, id, &by).await?);
    }
    notifications::dispatch_all(&app.store, publisher, &scope, &events).await;
    tracing::info!(member = %id, role = ?user.role, events = events.len(), "role changed");
    http::json(StatusCode::OK, &user)
}

/// `DELETE /api/v1/users/{id}`: admins only. The member can no longer log in or refresh;
/// tasks they created stay, tasks assigned to them become unassigned.
#[utoipa::path(
    delete, path = "/api/v1/users/{id}", tag = "users", operation_id = "removeUser",
    summary = "Remove a member",
    description = "Admins only, checked against the caller's stored role. The member's sessions end, their tasks become unassigned and the invitations they sent are revoked; the last admin cannot be removed (409).",
    security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The member's user id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        AuthenticatedErrors,
    )
)]
pub async fn delete(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let caller = principal.as_admin()?;
    let id = user_id(&req)?;
    let scope = principal.scope();
    let by = provenance(&principal, &req);
    let (_, removed) = app.store.users().remove(&scope, &caller, id, &by).await.map_err(not_found)?;
    notifications::dispatch(&app.store, publisher, &scope, &removed).await;
    let unassigned = app.store.tasks().unassign_all(&scope, id, &by).await?;
    let invitations = app.store.invitations().revoke_sent_by(&scope, id, &by).await?;
    notifications::dispatch_all(&app.store, publisher, &scope, &unassigned).await;
    notifications::dispatch_all(&app.store, publisher, &scope, &invitations).await;
    // The sessions ended with the user's item (a refresh reads it): deleting their items is
    // tidying (a bounded number now, the rest by their TTL), and its failure fails nothing.
    let deleted = app.store.sessions().trim(&scope, id, 0).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the removed member's sessions were not deleted: their TTL will");
        0
    });
    tracing::info!(member = %id, deleted, unassigned = unassigned.len(), invitations = invitations.len(), "member removed");
    http::no_content()
}
