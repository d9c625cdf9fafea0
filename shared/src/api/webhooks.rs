//! Webhooks: an admin names an endpoint, and every event of the organization it asked for is
//! POSTed to it, signed (Standard Webhooks), by the dispatcher, off the request path.

use chrono::Utc;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::{authenticate, page_after, page_limit, provenance};
use crate::app::App;
use crate::auth::SealingKey;
use crate::domain::events::{Event, EventId, EventKind};
use crate::domain::{
    CreatedWebhook, ROTATION_OVERLAP, Reach, Webhook, WebhookDelivery, WebhookDraft, WebhookId, WebhookPatch,
    WebhookSecret,
};
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
    let caller = principal.as_admin()?.verified();
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
    app.store.webhooks().create(&scope, &caller, &webhook, sealed, principal.api_key_id(), &event).await?;
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
    let event = app.store.webhooks().delete(&scope, &caller, id, &by).await.map_err(not_found)?;
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
    http::no_content()
}

/// `GET /api/v1/webhooks/{id}`: admins only.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "getWebhook",
    summary = "Get a webhook",
    description = "Admins only (an admin's API key too). Without its secret.",
    security(("bearer" = [])),
    params(("id" = WebhookId, Path, description = "The webhook's id.")),
    responses(
        (status = 200, description = "The webhook.", body = Webhook),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        AuthenticatedErrors,
    )
)]
pub async fn get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    principal.require_admin()?;
    let id = http::path_id(&req, "id", WebhookId::parse)?;
    let stored = app.store.webhooks().get(&principal.scope(), id).await?.ok_or(ApiError::NotFound("webhook"))?;
    http::json(StatusCode::OK, &stored.webhook)
}

/// `PATCH /api/v1/webhooks/{id}` `{url?, event_types?, description?, enabled?}`: admins only.
#[utoipa::path(
    patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "updateWebhook",
    summary = "Update a webhook",
    description = "Admins only (an admin's API key too), checked against the stored role. Changes the fields present; `event_types: null` means every type. `enabled: true` turns a webhook TaskFlow turned off back on, and clears `disabled_reason` and `failing_since` (so does a new `url`). A change is the event `webhook.updated`, naming the changed fields; a body that changes nothing writes nothing and makes no event.",
    security(("bearer" = [])),
    params(("id" = WebhookId, Path, description = "The webhook's id.")),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "The webhook after the change.", body = Webhook),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        JsonBodyErrors,
        AuthenticatedErrors,
    )
)]
pub async fn update(app: &App, publisher: &Publisher, reach: Reach, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let caller = principal.as_admin()?.verified();
    let id = http::path_id(&req, "id", WebhookId::parse)?;
    let patch: WebhookPatch = http::json_body(&req)?;
    if patch.is_empty() {
        return Err(ApiError::validation("body", "name at least one field to change"));
    }
    let scope = principal.scope();
    let webhooks = app.store.webhooks();
    let before = webhooks.get(&scope, id).await?.ok_or(ApiError::NotFound("webhook"))?.webhook;
    let (after, changed) = before.patched(patch, reach)?;
    if changed.is_empty() {
        return http::json(StatusCode::OK, &before);
    }
    let changed = changed.into_iter().map(String::from).collect();
    let event = Event::new(
        scope.org_id(),
        Utc::now(),
        &provenance(&principal, &req),
        EventKind::WebhookUpdated { webhook_id: id, changed },
    );
    webhooks.update(&scope, &caller, &before, &after, &event).await.map_err(not_found)?;
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
    http::json(StatusCode::OK, &after)
}

/// The answer to a rotation: the new secret, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RotatedSecret {
    /// Signs every delivery from now on. Store it now: it is never shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    secret: String,
    /// Until when the secret it replaces signs too: each delivery carries both signatures
    /// until then.
    previous_secret_expires_at: chrono::DateTime<Utc>,
}

/// `POST /api/v1/webhooks/{id}/rotate-secret`: admins only.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", operation_id = "rotateWebhookSecret",
    summary = "Rotate a webhook's secret",
    description = "Admins only (an admin's API key too), checked against the stored role. Makes a new secret, answered this once; for 24 hours each delivery is signed with both, the new and the one it replaces (`webhook-signature` holds two `v1,` signatures), then with the new one alone. A second rotation within the 24 hours ends the overlap of the first: only the secret it replaces goes on signing. Two rotations at once: one succeeds, the other answers 409. `Idempotency-Key` is ignored here (a stored answer would be the secret in a table).",
    security(("bearer" = [])),
    params(("id" = WebhookId, Path, description = "The webhook's id.")),
    responses(
        (status = 200, description = "The new secret.", body = RotatedSecret),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        AuthenticatedErrors,
    )
)]
pub async fn rotate_secret(
    app: &App,
    publisher: &Publisher,
    sealing: &SealingKey,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let caller = principal.as_admin()?;
    let id = http::path_id(&req, "id", WebhookId::parse)?;
    let scope = principal.scope();
    let webhooks = app.store.webhooks();
    let stored = webhooks.get(&scope, id).await?.ok_or(ApiError::NotFound("webhook"))?;
    let current = stored.current_secret().ok_or(ApiError::NotFound("webhook"))?;
    let secret = WebhookSecret::generate();
    let now = Utc::now();
    let until = now + ROTATION_OVERLAP;
    let event = Event::new(
        scope.org_id(),
        now,
        &provenance(&principal, &req),
        EventKind::WebhookUpdated { webhook_id: id, changed: vec!["secret".into()] },
    );
    let sealed = sealing.seal(scope.org_id(), id, &secret);
    webhooks.rotate(&scope, &caller, id, current, sealed, until, &event).await.map_err(not_found)?;
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
    tracing::info!(webhook_id = %id, "webhook secret rotated");
    let mut response =
        http::json(StatusCode::OK, &RotatedSecret { secret: secret.expose(), previous_secret_expires_at: until })?;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A page of a webhook's deliveries, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    items: Vec<WebhookDelivery>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// `GET /api/v1/webhooks/{id}/deliveries?limit=&cursor=`: admins only.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "listWebhookDeliveries",
    summary = "List a webhook's deliveries",
    description = "Admins only (an admin's API key too). One entry per event sent to the webhook, newest event first, each with every attempt: when, the status code (`null` when none came: a timeout, a refused connection, an address it may not reach), the latency, the error and the first kilobyte of the answer. Kept 30 days.",
    security(("bearer" = [])),
    params(
        ("id" = WebhookId, Path, description = "The webhook's id."),
        ("limit" = Option<u8>, Query, minimum = 1, maximum = 100, description = "Page size, 20 when absent."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of the webhook's deliveries.", body = DeliveryList),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        AuthenticatedErrors,
    )
)]
pub async fn deliveries(app: &App, cursors: &CursorKey, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    principal.require_admin()?;
    let id = http::path_id(&req, "id", WebhookId::parse)?;
    let scope = principal.scope();
    let limit = page_limit(&req)?;
    // A cursor is good for the webhook it was given for only.
    let query = format!("webhook-deliveries:{id}");
    let after = page_after(&req, cursors, &scope, &query, EventId::parse)?;
    let webhooks = app.store.webhooks();
    let page = webhooks.deliveries_page(&scope, id, limit, after).await?;
    // One Query answers; only an empty first page costs a read more, to tell a webhook with
    // no deliveries yet from one that does not exist (in this organization).
    if page.items.is_empty() && after.is_none() && webhooks.get(&scope, id).await?.is_none() {
        return Err(ApiError::NotFound("webhook"));
    }
    let next_cursor = page.last.map(|last| cursors.encode(&scope, &query, last));
    http::json(StatusCode::OK, &DeliveryList { items: page.items, next_cursor })
}

/// The answer to a test request: the event the ping is, to find among the deliveries.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PingAccepted {
    /// The ping's `webhook-id`, and its entry in the webhook's deliveries.
    #[schema(value_type = String, format = Uuid)]
    event_id: EventId,
}

/// `POST /api/v1/webhooks/{id}/test`: admins only.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", operation_id = "testWebhook",
    summary = "Send a test delivery",
    description = "Admins only (an admin's API key too), checked against the stored role. Sends the webhook (and no other) a `webhook.ping` event, `{\"type\": \"webhook.ping\", \"timestamp\", \"data\": {\"webhook_id\", ...}}`, signed like every delivery and retried like one, whatever its event types and even while it is disabled, so an endpoint can be tried before it is turned back on. It is sent off the request path, within seconds: its attempts are listed under the answered `event_id` in the webhook's deliveries.",
    security(("bearer" = [])),
    params(("id" = WebhookId, Path, description = "The webhook's id.")),
    responses(
        (status = 202, description = "The ping is on its way.", body = PingAccepted),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        AuthenticatedErrors,
    )
)]
pub async fn test(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let caller = principal.as_admin()?;
    let id = http::path_id(&req, "id", WebhookId::parse)?;
    let scope = principal.scope();
    let event = Event::new(
        scope.org_id(),
        Utc::now(),
        &provenance(&principal, &req),
        EventKind::WebhookPing { webhook_id: id },
    );
    app.store.webhooks().ping(&scope, &caller, id, &event).await.map_err(not_found)?;
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
    http::json(StatusCode::ACCEPTED, &PingAccepted { event_id: event.event_id })
}

/// A store's `NotFound` is this route's missing webhook.
fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::NotFound("webhook"),
        other => other.into(),
    }
}
