//! The handlers, one per route. Each parses its request with [`crate::http`], asks
//! [`crate::auth`] who is calling, and calls the store with the caller's tenant scope.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod docs;
pub mod idempotency;
pub mod invitations;
pub mod organizations;
pub mod tasks;
pub mod users;
pub mod webhooks;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use chrono::Utc;

use crate::app::App;
use crate::auth::Principal;
use crate::domain::ApiKeySecret;
use crate::domain::events::Provenance;
use crate::http::{self, ApiError};
use crate::store::{Counted, CursorKey, TenantScope};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// `GET /health`: the function answers; it touches no dependency, so an outage of one
/// does not take every health check down with it.
#[utoipa::path(
    get, path = "/health", tag = "service", operation_id = "health",
    summary = "Health check",
    responses((status = 200, description = "The API answers.", body = Health))
)]
pub async fn health(_req: Request) -> Result<Response<Body>, ApiError> {
    http::json(StatusCode::OK, &Health { status: "ok" })
}

/// The verified caller of an authenticated route (by access token, or by API key), once the
/// request is counted against its organization's budget (from this instance's lease of it,
/// mostly without a call): over it, 429 with `Retry-After` (the window's end).
async fn authenticate(app: &App, req: &Request) -> Result<Principal, ApiError> {
    // Authenticated and counted already, by the Idempotency-Key layer around the handler:
    // once per request (a key's lookup and the organization's count are not repeated).
    if let Some(principal) = req.extensions().get::<Principal>() {
        return Ok(principal.clone());
    }
    let token = http::bearer_token(req).ok_or(ApiError::Unauthenticated)?;
    let principal = if ApiKeySecret::looks_like_one(token) {
        crate::auth::verify_api_key(&app.store, token, Utc::now()).await?
    } else {
        app.tokens.verify(token)?
    };
    http::record_principal(&principal);
    let now = Utc::now().timestamp();
    let window = app.budget.window_start(now);
    match app.rate_leases.spend(&app.store, &principal.scope(), &app.budget, window).await? {
        Counted::Within { quota, used } => http::record_rate(app.budget.state(now, quota, Some(used))),
        Counted::Over { quota } => {
            let state = app.budget.state(now, quota, None);
            http::record_rate(state);
            return Err(ApiError::TooManyRequests(state.reset_seconds.into()));
        }
        // Its requests find nothing, or are refused, as without a budget.
        Counted::OrganizationGone => {}
    }
    Ok(principal)
}

/// Who is asking, and from where: what the events their request causes record.
fn provenance(principal: &Principal, req: &Request) -> Provenance {
    match principal.api_key_id() {
        Some(key) => Provenance::api_key(key, http::origin(req)),
        None => Provenance::user(principal.user_id(), http::origin(req)),
    }
}

/// Where a page of a list starts: the `cursor` query parameter, checked as one this
/// organization was given for the same query (`query`, a list's name or its filters'
/// fingerprint); `None` for the first page.
fn page_after<K>(
    req: &Request,
    cursors: &CursorKey,
    scope: &TenantScope,
    query: &str,
    parse: impl Fn(&str) -> Option<K>,
) -> Result<Option<K>, ApiError> {
    match http::query_param(req, "cursor", |c| Ok::<_, String>(c.to_owned()))? {
        Some(cursor) => Ok(Some(cursors.decode(scope, query, &cursor, parse)?)),
        None => Ok(None),
    }
}

pub const DEFAULT_PAGE_SIZE: usize = 20;
pub const MAX_PAGE_SIZE: usize = 100;

/// The `limit` of a paginated list: 1 to 100, 20 when absent.
fn page_limit(req: &Request) -> Result<usize, ApiError> {
    let parse = |raw: &str| {
        raw.parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"))
    };
    Ok(http::query_param(req, "limit", parse)?.unwrap_or(DEFAULT_PAGE_SIZE))
}
