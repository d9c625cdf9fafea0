use chrono::{DateTime, Utc};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::{authenticate, provenance};
use crate::app::App;
use crate::domain::events::{Event, EventKind};
use crate::domain::{Export, ExportId, ExportState, ExportStatus, OrgName, OrgSlug, Organization};
use crate::http::error_responses::{AuthenticatedErrors, BadRequest, Forbidden, JsonBodyErrors, NotFound};
use crate::http::{self, ApiError};
use crate::lifecycle::{Archive, DownloadLink};
use crate::notifications::{self, Publisher};
use crate::store::{DeletionRequest, ExportRequested, Requested, StoreError};

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
    let principal = authenticate(app, &req).await?;
    let organization =
        app.store.organizations().get(&principal.scope()).await?.ok_or(ApiError::NotFound("organization"))?;
    http::json(StatusCode::OK, &organization)
}

/// The settings an admin may change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    #[serde(deserialize_with = "crate::domain::visible")]
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
pub async fn update(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let caller = principal.as_admin()?;
    let patch: OrganizationPatch = http::json_body(&req)?;
    let scope = principal.scope();
    let by = provenance(&principal, &req);
    let (organization, event) = app.store.organizations().rename(&scope, &caller, &patch.name, Utc::now(), &by).await?;
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
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
    let principal = authenticate(app, &req).await?;
    principal.require_user()?;
    let caller = principal.as_admin()?;
    let confirmation: DeletionConfirmation = http::json_body(&req)?;
    let slug = OrgSlug::parse(&confirmation.confirm_slug).map_err(|_| StoreError::ConfirmationMismatch)?;
    let scope = principal.scope();
    // The done mail's address, read now: the users are the first thing the job deletes.
    let requester = app.store.users().get(&scope, principal.user_id()).await?.ok_or(ApiError::Unauthenticated)?;
    let now = Utc::now();
    let event = Event::new(
        scope.org_id(),
        now,
        &provenance(&principal, &req),
        EventKind::OrganizationDeletionRequested { requested_by: requester.id },
    );
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

/// An export as its admin sees it: where it stands and, once written, what it holds and a
/// link to download it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ExportView {
    id: ExportId,
    status: ExportStatus,
    requested_at: DateTime<Utc>,
    /// Set once the document is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<DateTime<Utc>>,
    /// The document's length in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    size_bytes: Option<u64>,
    /// The document's SHA-256, lowercase hex, to check a download against.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tasks: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invitations: Option<u64>,
    /// Stored items left out because they no longer read as their type (logged by key).
    #[serde(skip_serializing_if = "Option::is_none")]
    unreadable_items: Option<u64>,
    /// Until when the export can be downloaded: each poll until then gives a new link.
    #[serde(skip_serializing_if = "Option::is_none")]
    available_until: Option<DateTime<Utc>>,
    /// A pre-signed link to the document (shaped as `ExportDocument`), while `status` is `ready`.
    /// Anyone holding it can download the export until `download_expires_at`: treat it as
    /// a password.
    #[serde(skip_serializing_if = "Option::is_none")]
    download_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    download_expires_at: Option<DateTime<Utc>>,
}

impl ExportView {
    fn of(export: &Export, status: ExportStatus, link: Option<DownloadLink>) -> Self {
        let summary = match &export.state {
            ExportState::Ready(summary) => Some(summary),
            ExportState::Pending => None,
        };
        Self {
            id: export.id,
            status,
            requested_at: export.requested_at,
            completed_at: summary.map(|s| s.completed_at),
            size_bytes: summary.map(|s| s.size_bytes),
            sha256: summary.map(|s| s.sha256.clone()),
            users: summary.map(|s| s.users),
            tasks: summary.map(|s| s.tasks),
            invitations: summary.map(|s| s.invitations),
            unreadable_items: summary.map(|s| s.unreadable_items),
            available_until: export.available_until(),
            download_expires_at: link.as_ref().map(|l| l.expires_at),
            download_url: link.map(|l| l.url),
        }
    }
}

fn export_location(id: ExportId) -> String {
    format!("/api/v1/organizations/me/exports/{id}")
}

/// How long a client should wait before polling a pending export again.
const EXPORT_POLL_SECONDS: u32 = 2;

const EXPORT_DESCRIPTION: &str = "Admins only. Starts an export of the organization, its users (without password hashes), tasks and invitations (without tokens), and answers 202 with its `Location` to poll (`getOrganizationExport`); once `ready`, that gives a link to the document, whose shape is `ExportDocument`. One export runs at a time: while one is pending, and for 5 minutes after one finished, this answers 202 with that one (its `status` says which), so a retried request starts nothing new. The document is read item by item while other requests go on, not as one snapshot, and written in 8 MiB parts, so its size has no limit of its own; the exporter's 5-minute timeout bounds it (see the README). Finished exports can be downloaded for 24 hours, then are deleted.";

/// `POST /api/v1/organizations/me/exports`: admins only.
#[utoipa::path(
    post, path = "/api/v1/organizations/me/exports", tag = "organizations", operation_id = "createOrganizationExport",
    summary = "Export the organization's data",
    description = EXPORT_DESCRIPTION,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "The export is running (or finished a moment ago): poll `Location`.", body = ExportView, headers(
            ("Location" = String, description = "The export's URL, to poll."),
            ("Retry-After" = u32, description = "Seconds to wait before polling."),
        )),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        AuthenticatedErrors,
    )
)]
pub async fn create_export(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    start_export(app, publisher, &req).await
}

/// When `GET /api/v1/organizations/me/export` was deprecated (RFC 9745: a structured-field
/// date, 2026-12-07T00:00:00Z): a GET that starts a job is not what clients or caches expect.
const EXPORT_GET_DEPRECATED_AT: &str = "@1796601600";

/// `GET /api/v1/organizations/me/export`: admins only; deprecated, answers as
/// `POST /api/v1/organizations/me/exports` does, with `Deprecation` and a `Link` to it.
#[utoipa::path(
    get, path = "/api/v1/organizations/me/export", tag = "organizations", operation_id = "exportOrganization",
    summary = "Export the organization's data (deprecated: POST /api/v1/organizations/me/exports)",
    description = "Deprecated: use `createOrganizationExport` (`POST /api/v1/organizations/me/exports`); this answers exactly as it does, with a `Deprecation` header (RFC 9745) and a `Link` to it (`rel=\"successor-version\"`). It keeps answering until a release note gives its sunset.",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "The export is running (or finished a moment ago): poll `Location`.", body = ExportView, headers(
            ("Location" = String, description = "The export's URL, to poll."),
            ("Retry-After" = u32, description = "Seconds to wait before polling."),
            ("Deprecation" = String, description = "When this route was deprecated (RFC 9745)."),
            ("Link" = String, description = "The route that replaces it: `</api/v1/organizations/me/exports>; rel=\"successor-version\"`."),
        )),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        AuthenticatedErrors,
    )
)]
#[deprecated = "POST /api/v1/organizations/me/exports (create_export) starts an export"]
pub async fn export(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let mut response = start_export(app, publisher, &req).await?;
    let headers = response.headers_mut();
    headers.insert("deprecation", HeaderValue::from_static(EXPORT_GET_DEPRECATED_AT));
    headers.insert(
        header::LINK,
        HeaderValue::from_static("</api/v1/organizations/me/exports>; rel=\"successor-version\""),
    );
    Ok(response)
}

async fn start_export(app: &App, publisher: &Publisher, req: &Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, req).await?;
    let caller = principal.as_admin()?.verified();
    let scope = principal.scope();
    let now = Utc::now();
    let export = Export::new(principal.user_id(), now);
    let event = Event::organization_export_requested(scope.org_id(), &export, &provenance(&principal, req));
    let export = match app.store.exports().request(&scope, &caller, &export, &event).await? {
        ExportRequested::Started => {
            tracing::info!(export_id = %export.id, "export requested");
            notifications::dispatch(&app.store, publisher, &scope, &event).await;
            export
        }
        ExportRequested::Running(running) => running,
    };
    let status = export.status(now);
    let mut response = http::json(StatusCode::ACCEPTED, &ExportView::of(&export, status, None))?;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(location) = HeaderValue::from_str(&export_location(export.id)) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::RETRY_AFTER, HeaderValue::from(EXPORT_POLL_SECONDS));
    Ok(response)
}

/// `GET /api/v1/organizations/me/exports/{export_id}`: admins only.
#[utoipa::path(
    get, path = "/api/v1/organizations/me/exports/{export_id}", tag = "organizations",
    operation_id = "getOrganizationExport",
    summary = "Poll an export",
    description = "Admins only; the caller's role is read with the export, so a demoted admin's token gets 403. While `pending`, poll again after `Retry-After`. When `ready`, `download_url` is a new pre-signed link to the document (`ExportDocument`) on each poll, valid until `download_expires_at` (15 minutes by default); each link handed out is an `export.downloaded` entry of the audit log. `failed` and `expired` exports have no link: ask for a new export. Another organization's export is not found, like a missing one.",
    security(("bearer" = [])),
    params(("export_id" = ExportId, Path, description = "The export's id, from the `Location` of `createOrganizationExport`.")),
    responses(
        (status = 200, description = "The export.", body = ExportView, headers(
            ("Retry-After" = u32, description = "While pending: seconds to wait before polling again."),
        )),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        AuthenticatedErrors,
    )
)]
pub async fn export_status(
    app: &App,
    archive: &Archive,
    publisher: &Publisher,
    link_ttl: std::time::Duration,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let caller = principal.as_admin()?;
    let id = http::path_id(&req, "export_id", ExportId::parse)?;
    let scope = principal.scope();
    let export = app.store.exports().get_for(&scope, &caller, id).await?.ok_or(ApiError::NotFound("export"))?;
    let status = export.status(Utc::now());
    let link = match (&export.state, status) {
        (ExportState::Ready(summary), ExportStatus::Ready) if Archive::holds(scope.org_id(), &summary.object_key) => {
            let link = archive.download_link(&summary.object_key, export.id, link_ttl).await?;
            // Who was handed a link to the organization's data is in the audit log, or no
            // link is handed out: published straight to the topic (no write on this read),
            // and a failure is a 503 before the answer.
            let handed = Event::new(
                scope.org_id(),
                Utc::now(),
                &provenance(&principal, &req),
                EventKind::ExportDownloaded { export_id: export.id },
            );
            publisher.publish(&handed).await.map_err(|e| {
                tracing::warn!(error = %e, "the download link's event was not published: no link handed out");
                ApiError::Unavailable
            })?;
            Some(link)
        }
        _ => None,
    };
    let mut response = http::json(StatusCode::OK, &ExportView::of(&export, status, link))?;
    // The answer may hold a download link: no cache keeps it.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == ExportStatus::Pending {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(EXPORT_POLL_SECONDS));
    }
    Ok(response)
}
