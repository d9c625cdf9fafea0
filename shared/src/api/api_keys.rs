//! API keys: an admin makes one for a service, which then calls the API with
//! `Authorization: Bearer tf_…` as that admin, with the key's role at most.

use chrono::Utc;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::{authenticate, page_after, page_limit, provenance};
use crate::app::App;
use crate::domain::events::{Event, EventKind};
use crate::domain::{ApiKey, ApiKeyDraft, ApiKeyId, CreatedApiKey};
use crate::http::error_responses::{AuthenticatedErrors, BadRequest, Forbidden, JsonBodyErrors, NotFound};
use crate::http::{self, ApiError};
use crate::notifications::{self, Publisher};
use crate::store::{CursorKey, StoreError};

/// The cursor namespace of the API key list.
const API_KEYS_QUERY: &str = "api-keys";

/// `POST /api/v1/api-keys` `{name, role, expires_at?}`: admins only, signed in as themselves.
#[utoipa::path(
    post, path = "/api/v1/api-keys", tag = "api-keys", operation_id = "createApiKey",
    summary = "Make an API key",
    description = "Admins only, checked against the caller's stored role, and only with a user's access token (an API key cannot make keys). The answer holds the key's `secret`, shown this once: only its hash is kept. A service sends it as `Authorization: Bearer <secret>` and acts for the admin who made the key, with the key's role, never more than that admin's role at the time of each request: a key of an admin since demoted acts as a member, a key of an admin who left authenticates nothing. `Idempotency-Key` is ignored here (a stored answer would be the secret in a table); a retry whose first answer was lost makes a second key, and the first can be revoked.",
    security(("bearer" = [])),
    request_body = ApiKeyDraft,
    responses(
        (status = 201, description = "The key, with its secret.", body = CreatedApiKey),
        (status = 403, response = Forbidden),
        JsonBodyErrors,
        AuthenticatedErrors,
    )
)]
pub async fn create(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    principal.require_user()?;
    let caller = principal.as_admin()?.verified();
    let draft: ApiKeyDraft = http::json_body(&req)?;
    let scope = principal.scope();
    let now = Utc::now();
    let (key, secret) = ApiKey::new(draft, scope.org_id(), principal.user_id(), now)?;
    let event = Event::new(
        scope.org_id(),
        now,
        &provenance(&principal, &req),
        EventKind::ApiKeyCreated { api_key_id: key.id, role: key.role },
    );
    app.store.api_keys().create(&scope, &caller, &key, &secret.hash(), &event).await?;
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
    tracing::info!(api_key_id = %key.id, "API key created");
    let mut response = http::json(StatusCode::CREATED, &CreatedApiKey { key, secret: secret.expose() })?;
    // The one answer that holds the secret: no cache keeps it.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A page of API keys, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiKeyList {
    items: Vec<ApiKey>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// `GET /api/v1/api-keys?limit=&cursor=`: admins only.
#[utoipa::path(
    get, path = "/api/v1/api-keys", tag = "api-keys", operation_id = "listApiKeys",
    summary = "List API keys",
    description = "Admins only (an admin's API key may list them too). Newest first, a page at a time, without their secrets; expired keys are left out, so a page may hold fewer than `limit`.",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u8>, Query, minimum = 1, maximum = 100, description = "Page size, 20 when absent."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of the organization's API keys.", body = ApiKeyList),
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
    let after = page_after(&req, cursors, &scope, API_KEYS_QUERY, ApiKeyId::parse)?;
    let page = app.store.api_keys().list_page(&scope, limit, after, Utc::now()).await?;
    let next_cursor = page.last.map(|last| cursors.encode(&scope, API_KEYS_QUERY, last));
    http::json(StatusCode::OK, &ApiKeyList { items: page.items, next_cursor })
}

/// `DELETE /api/v1/api-keys/{id}`: revokes a key, admins only, signed in as themselves.
#[utoipa::path(
    delete, path = "/api/v1/api-keys/{id}", tag = "api-keys", operation_id = "revokeApiKey",
    summary = "Revoke an API key",
    description = "Admins only, checked against the caller's stored role, with a user's access token. The key authenticates nothing from the next request on: every request made with a key reads it.",
    security(("bearer" = [])),
    params(("id" = ApiKeyId, Path, description = "The key's id.")),
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
    principal.require_user()?;
    let caller = principal.as_admin()?;
    let id = http::path_id(&req, "id", ApiKeyId::parse)?;
    let scope = principal.scope();
    let by = provenance(&principal, &req);
    let event = app.store.api_keys().revoke(&scope, &caller, id, &by).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound("API key"),
        other => other.into(),
    })?;
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
    http::no_content()
}
