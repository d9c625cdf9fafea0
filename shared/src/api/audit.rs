//! The audit log: who changed what in the organization, when and from where. Admins read
//! it; nothing in the API writes it (the audit writer enters each event of the stream).

use chrono::{DateTime, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::{authenticate, page_after, page_limit};
use crate::app::App;
use crate::domain::events::EVENT_TYPES;
use crate::domain::{AuditEntry, UserId};
use crate::http::error_responses::{AuthenticatedErrors, BadRequest, Forbidden};
use crate::http::{self, ApiError};
use crate::store::{AuditFilter, AuditPosition, CursorKey};

/// A page of the audit log, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditLog {
    items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; `null` on the last page. A page may hold fewer
    /// than `limit` entries, even none, and still name a next page: a filtered one, or one
    /// that read entries past their retention not yet deleted.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// An RFC 3339 time, in UTC within the years 0000 to 9999: the log's sort keys hold four-digit
/// years, so a time an offset pushes beyond them would bound no range in time order.
fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    use chrono::Datelike;
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .filter(|t| (0..=9999).contains(&t.year()))
        .ok_or_else(|| "must be an RFC 3339 time within the years 0000 to 9999 (UTC)".into())
}

fn parse_event_type(raw: &str) -> Result<&'static str, String> {
    EVENT_TYPES.iter().copied().find(|t| *t == raw).ok_or_else(|| format!("must be one of {}", EVENT_TYPES.join(", ")))
}

/// `GET /api/v1/audit-log?limit=&cursor=&actor_id=&event_type=&since=&until=`: admins only.
#[utoipa::path(
    get, path = "/api/v1/audit-log", tag = "audit", operation_id = "listAuditLog",
    summary = "Read the audit log",
    description = "Admins only. Every change in the organization, newest first: who made it (a user, an API key, someone without credentials, or the service), what (the event type, its target and the names of the fields it set, never their values), when, and from which address and user agent. Entries appear within seconds of the change and are kept a year. A page reads at most `limit` entries, so a filtered page (or one that passes entries past their retention, not yet deleted) may be short, even empty, with a `next_cursor`.",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u8>, Query, minimum = 1, maximum = 100, description = "Entries read per page, 20 when absent."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, with the same filters."),
        ("actor_id" = Option<UserId>, Query, description = "Only changes this user, or this API key, made."),
        ("event_type" = Option<String>, Query, description = "Only events of this type, e.g. `task.updated`."),
        ("since" = Option<DateTime<Utc>>, Query, description = "Only changes at or after this time (RFC 3339)."),
        ("until" = Option<DateTime<Utc>>, Query, description = "Only changes at or before this time (RFC 3339)."),
    ),
    responses(
        (status = 200, description = "A page of the audit log.", body = AuditLog),
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
    let filter = AuditFilter {
        actor: http::query_param(&req, "actor_id", |raw| {
            uuid::Uuid::try_parse(raw).map_err(|_| "must be a UUID".into())
        })?,
        event_type: http::query_param(&req, "event_type", parse_event_type)?,
        since: http::query_param(&req, "since", parse_time)?,
        until: http::query_param(&req, "until", parse_time)?,
    };
    if let (Some(since), Some(until)) = (filter.since, filter.until)
        && since > until
    {
        return Err(ApiError::BadRequest("query parameter since must not be after until".into()));
    }
    let fingerprint = filter.fingerprint();
    let after = page_after(&req, cursors, &scope, &fingerprint, AuditPosition::parse)?;
    let page = app.store.audit().page(&scope, &filter, limit, after, Utc::now()).await?;
    let next_cursor = page.last.map(|last| cursors.encode(&scope, &fingerprint, last));
    http::json(StatusCode::OK, &AuditLog { items: page.items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_refused_when_its_offset_pushes_it_past_four_digit_years() {
        assert!(parse_time("2026-12-03T08:00:00Z").is_ok());
        assert!(parse_time("9999-12-31T23:59:59Z").is_ok());
        assert!(parse_time("9999-12-31T23:59:59-23:59").is_err());
        assert!(parse_time("0000-01-01T00:00:00+23:59").is_err());
        assert!(parse_time("yesterday").is_err());
    }
}
