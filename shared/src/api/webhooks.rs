//! Webhooks: an admin names an endpoint, and every event of the organization it asked for is
//! POSTed to it, signed (Standard Webhooks), by the dispatcher, off the request path.

use chrono::Utc;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::{authenticate, page_after, page_limit, provenance};
use crate::app::App;
use crate::auth::SealingKey;
use crate::domain::events::{Event, EventKind};
use crate::domain::{CreatedWebhook, Reach, Webhook, WebhookDraft, WebhookId};
use crate::http::error_responses::{AuthenticatedErrors, BadRequest, Conflict, Forbidden, JsonBodyErrors, NotFound};
use crate::http::{self, ApiError};
use crate::notifications::{self, Publisher};
use crate::store::{CursorKey, StoreError};

/// The cursor namespace of the webhook list.
const WEBHOOKS_QUERY: &str = "webhooks";

/// `POST /api/v1/webhooks` `{url, event_types?, description?, enabled?}`: admins only.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "createWebhook",
    summary = "Add a webhook",
    description = "Admins only (an admin's API key too), checked against the stored role. Every event of the chosen types is then POSTed to `url` as `{type, timestamp, data}`, signed as Standard Webhooks 1.0 says: `webhook-id` (the event's id, the same on every retry: deduplicate by it), `webhook-timestamp` and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the secret). A delivery answered 429, 5xx or not at all within 10 s is tried again with exponential back-off for about a day; 410 turns the webhook off. The URL must be `https` and reach a public address (checked again on every delivery, after DNS; no redirect is followed). The answer holds the `secret`, shown this once: store it. `Idempotency-Key` is ignored here (a stored answer would be the secret in a table). An organization has at most 20 webhooks (409).",
    security(("bearer" = [])),
    request_body = WebhookDraft,
    responses(
        (status = 201, description = "The webhook, with its secret.", body = CreatedWebhook),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        JsonBodyErrors,
        AuthenticatedErrors,
    )
)]
pub async fn create(
    app: &App,
    publisher: &Publisher,
    reach: Reach,
    sealing: &SealingKey,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let caller = principal.as_admin()?;
    let draft: WebhookDraft = http::json_body(&req)?;
    let scope = principal.scope();
    let now = Utc::now();
    let (webhook, secret) = Webhook::new(draft, reach, scope.org_id(), principal.user_id(), now)?;
    let sealed = sealing.seal(scope.org_id(), webhook.id, &secret);
    let event = Event::new(
        scope.org_id(),
        now,
        &provenance(&principal, &req),
        EventKind::WebhookCreated { webhook_id: webhook.id },
    );
    app.store.webhooks().create(&scope, &caller, &webhook, sealed, &event).await?;
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
    tracing::info!(webhook_id = %webhook.id, "webhook created");
    let mut response = http::json(StatusCode::CREATED, &CreatedWebhook { webhook, secret: secret.expose() })?;
    // The one answer that holds the secret: no cache keeps it.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A page of webhooks, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    items: Vec<Webhook>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// `GET /api/v1/webhooks?limit=&cursor=`: admins only.
#[utoipa::path(
    get, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "listWebhooks",
    summary = "List webhooks",
    description = "Admins only (an admin's API key too). Newest first, a page at a time, without their secrets.",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u8>, Query, minimum = 1, maximum = 100, description = "Page size, 20 when absent."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of the organization's webhooks.", body = WebhookList),
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
    let after = page_after(&req, cursors, &scope, WEBHOOKS_QUERY, WebhookId::parse)?;
    let page = app.store.webhooks().list_page(&scope, limit, after).await?;
    let next_cursor = page.last.map(|last| cursors.encode(&scope, WEBHOOKS_QUERY, last));
    http::json(StatusCode::OK, &WebhookList { items: page.items, next_cursor })
}

/// `DELETE /api/v1/webhooks/{id}`: admins only.
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "deleteWebhook",
    summary = "Delete a webhook",
    description = "Admins only (an admin's API key too), checked against the stored role. No event is delivered to it from then on; a delivery already under way may still arrive.",
    security(("bearer" = [])),
    params(("id" = WebhookId, Path, description = "The webhook's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        AuthenticatedErrors,
    )
)]
pub async fn delete(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let caller = principal.as_admin()?;
    let id = http::path_id(&req, "id", WebhookId::parse)?;
    let scope = principal.scope();
    let by = provenance(&principal, &req);
    let event = app.store.webhooks().delete(&scope, &caller, id, &by).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound("webhook"),
        other => other.into(),
    })?;
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
    http::no_content()
}
