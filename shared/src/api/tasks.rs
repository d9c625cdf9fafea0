//! The task endpoints (`/api/v1/tasks`): create, list, get, update and delete, each a
//! handler that authenticates, parses, calls the store and answers JSON. Everything here is
//! scoped to the caller's organization: another tenant's task answers 404, like a missing
//! one. Updates are optimistic: a task answers its version as a strong `ETag`, `If-Match`
//! makes a stale update 412, and without it a conflicting writer is retried a few times.
//! Every change records its events with the write and then hands them to the queue, so a
//! queue outage never loses a notification (the outbox delivers it later).

use chrono::Utc;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::{authenticate, idempotency, page_after, page_limit, provenance};
use crate::app::App;
use crate::auth::Principal;
use crate::domain::events::Event;
use crate::domain::{Task, TaskDraft, TaskId, TaskPatch, TaskStatus, UserId};
use crate::http::error_responses::{
    AuthenticatedErrors, BadRequest, Conflict, Forbidden, IdempotencyErrors, JsonBodyErrors, NotFound,
    PreconditionFailed,
};
use crate::http::{self, ApiError};
use crate::notifications::{self, Publisher};
use crate::store::{CursorKey, DeleteRefused, StoreError, TaskFilter, TenantScope};

/// How often an update without `If-Match` re-reads and retries when another writer got
/// in between; with `If-Match` a conflict is the client's to resolve (412).
const UPDATE_ATTEMPTS: usize = 3;

/// A task answer with its version as a strong `ETag`, for `If-Match` on the next update.
fn task_response(status: StatusCode, task: &Task) -> Result<Response<Body>, ApiError> {
    let mut response = http::json(status, task)?;
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", task.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

fn task_id(req: &Request) -> Result<TaskId, ApiError> {
    http::path_id(req, "id", TaskId::parse)
}

/// An assignee must be a user of the caller's own organization; any other id is refused
/// the same way whether it exists elsewhere or not.
async fn check_assignee(app: &App, scope: &TenantScope, assignee: Option<UserId>) -> Result<(), ApiError> {
    let Some(assignee) = assignee else {
        return Ok(());
    };
    match app.store.users().get(scope, assignee).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::validation("assignee_id", "must be a user of your organization")),
    }
}

/// `POST /api/v1/tasks`. The `task.created` notification is recorded with the task and
/// then handed to the queue; a queue outage still answers 201 (the outbox delivers later).
#[utoipa::path(
    post, path = "/api/v1/tasks", tag = "tasks", operation_id = "createTask",
    summary = "Create a task",
    description = "Creates a task in the caller's organization. Its assignee (or, unassigned, its creator) is mailed.",
    security(("bearer" = [])),
    request_body = TaskDraft,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, description = "Makes a retry safe: the same key and request within 24 hours get the first answer again (see the README, Idempotency-Key).")),
    responses(
        (status = 201, description = "The new task.", body = Task, headers(
            ("ETag" = String, description = "The task's version, quoted, for `If-Match`."),
            ("Location" = String, description = "The new task's URL."),
        )),
        JsonBodyErrors,
        IdempotencyErrors,
        AuthenticatedErrors,
    )
)]
pub async fn create(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let draft: TaskDraft = http::json_body(&req)?;
    let scope = principal.scope();
    check_assignee(app, &scope, draft.assignee_id).await?;
    let task = Task::create(draft, scope.org_id(), principal.user_id(), Utc::now());
    let mut response = task_response(StatusCode::CREATED, &task)?;
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/tasks/{}", task.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    // Under an Idempotency-Key, the answer is recorded with the task itself.
    let answer = idempotency::answer_to_record(&req, &response);
    let answer = answer.as_ref().map(|(claim, answer)| (claim, answer));
    let by = provenance(&principal, &req);
    let event = app.store.tasks().create_recorded(&scope, &principal.as_member(), &task, &by, answer).await?;
    tracing::info!(task_id = %task.id, "task created");
    notifications::dispatch(&app.store, publisher, &scope, &event).await;
    Ok(response)
}

/// A page of tasks, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskList {
    items: Vec<Task>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

fn parse_status(raw: &str) -> Result<TaskStatus, String> {
    TaskStatus::parse(raw).ok_or_else(|| "must be one of todo, in_progress, done".into())
}

fn parse_user_id(raw: &str) -> Result<UserId, String> {
    UserId::parse(raw).ok_or_else(|| "must be a UUID".into())
}

/// `GET /api/v1/tasks?limit=&cursor=&status=&assignee_id=`: newest first.
#[utoipa::path(
    get, path = "/api/v1/tasks", tag = "tasks", operation_id = "listTasks",
    summary = "List tasks",
    description = "The caller's organization's tasks, newest first, a page at a time; optionally only those with a status and/or an assignee.",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u8>, Query, minimum = 1, maximum = 100, description = "Page size, 20 when absent."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, with the same filters."),
        ("status" = Option<TaskStatus>, Query, description = "Only tasks with this status."),
        ("assignee_id" = Option<UserId>, Query, description = "Only tasks assigned to this user."),
    ),
    responses(
        (status = 200, description = "A page of tasks.", body = TaskList),
        (status = 400, response = BadRequest),
        AuthenticatedErrors,
    )
)]
pub async fn list(app: &App, cursors: &CursorKey, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let scope = principal.scope();
    let limit = page_limit(&req)?;
    let filter = TaskFilter::new(
        http::query_param(&req, "status", parse_status)?,
        http::query_param(&req, "assignee_id", parse_user_id)?,
    );
    let after = page_after(&req, cursors, &scope, &filter.fingerprint(), TaskId::parse)?;
    let page = app.store.tasks().list_page(&scope, &filter, limit, after).await?;
    let next_cursor = page.last.map(|last| cursors.encode(&scope, &filter.fingerprint(), last));
    http::json(StatusCode::OK, &TaskList { items: page.items, next_cursor })
}

/// `GET /api/v1/tasks/{id}`: another organization's task is not found, like a missing one.
#[utoipa::path(
    get, path = "/api/v1/tasks/{id}", tag = "tasks", operation_id = "getTask",
    summary = "Get a task",
    security(("bearer" = [])),
    params(("id" = TaskId, Path, description = "The task's id.")),
    responses(
        (status = 200, description = "The task.", body = Task, headers(
            ("ETag" = String, description = "The task's version, quoted, for `If-Match`."),
        )),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        AuthenticatedErrors,
    )
)]
pub async fn get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let id = task_id(&req)?;
    let task = app.store.tasks().get(&principal.scope(), id).await?.ok_or(ApiError::NotFound("task"))?;
    task_response(StatusCode::OK, &task)
}

/// `PATCH /api/v1/tasks/{id}`: a partial update. Each write is conditional on the version
/// it was computed from, so concurrent updates never silently overwrite each other. A new
/// assignee is notified (`task.assigned`), through the outbox like a creation.
#[utoipa::path(
    patch, path = "/api/v1/tasks/{id}", tag = "tasks", operation_id = "updateTask",
    summary = "Update a task",
    description = "Changes the fields present in the body; `null` clears an optional field. With `If-Match`, the update applies only to that version (else 412); without it, a concurrent change is retried on the new version. A new assignee is mailed.",
    security(("bearer" = [])),
    params(
        ("id" = TaskId, Path, description = "The task's id."),
        ("If-Match" = Option<String>, Header, description = "The version the change was made from, as answered in `ETag` (e.g. `\"3\"`); `*` for any."),
    ),
    request_body = TaskPatch,
    responses(
        (status = 200, description = "The task after the change.", body = Task, headers(
            ("ETag" = String, description = "The task's new version, quoted."),
        )),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        JsonBodyErrors,
        AuthenticatedErrors,
    )
)]
pub async fn update(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    let id = task_id(&req)?;
    let expected = http::if_match_version(&req)?;
    let patch: TaskPatch = http::json_body(&req)?;
    if patch.is_empty() {
        return Err(ApiError::validation("body", "name at least one field to change"));
    }
    let scope = principal.scope();
    check_assignee(app, &scope, patch.new_assignee()).await?;
    for _ in 0..UPDATE_ATTEMPTS {
        let current = app.store.tasks().get(&scope, id).await?.ok_or(ApiError::NotFound("task"))?;
        if let Some(expected) = expected.filter(|v| *v != current.version) {
            return Err(stale(expected, current.version));
        }
        let next = current.patched(patch.clone(), Utc::now());
        let events = Event::task_changed(&current, &next, &provenance(&principal, &req));
        match app.store.tasks().replace(&scope, &next, current.version, &events, Some(&principal.as_member())).await {
            Ok(()) => {
                notifications::dispatch_all(&app.store, publisher, &scope, &events).await;
                return task_response(StatusCode::OK, &next);
            }
            Err(StoreError::VersionConflict) if expected.is_some() => {
                return Err(ApiError::PreconditionFailed("the task changed since that version; fetch it again".into()));
            }
            Err(StoreError::VersionConflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::VersionConflict.into())
}

fn stale(expected: u64, current: u64) -> ApiError {
    ApiError::PreconditionFailed(format!("If-Match names version {expected}, but the task is at version {current}"))
}

/// `DELETE /api/v1/tasks/{id}`: admins may delete any task of their organization, members
/// only the tasks they created.
#[utoipa::path(
    delete, path = "/api/v1/tasks/{id}", tag = "tasks", operation_id = "deleteTask",
    summary = "Delete a task",
    description = "Admins may delete any task of their organization; members only the tasks they created.",
    security(("bearer" = [])),
    params(("id" = TaskId, Path, description = "The task's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        AuthenticatedErrors,
    )
)]
pub async fn delete(app: &App, publisher: &Publisher, req: Request) -> Result<Response<Body>, ApiError> {
    let principal: Principal = authenticate(app, &req).await?;
    let id = task_id(&req)?;
    let scope = principal.scope();
    let by = provenance(&principal, &req);
    let deleted = match app.store.tasks().delete(&scope, id, &principal.as_role_holder(), &by).await {
        // An admin's token whose holder was demoted since: a member may still delete their own.
        Err(StoreError::CallerNotAdmin) => app.store.tasks().delete(&scope, id, &principal.as_member(), &by).await,
        other => other,
    };
    match deleted? {
        Ok(event) => {
            notifications::dispatch(&app.store, publisher, &scope, &event).await;
            http::no_content()
        }
        Err(DeleteRefused::NotFound) => Err(ApiError::NotFound("task")),
        Err(DeleteRefused::NotCreator) => Err(ApiError::Forbidden("only an admin or the task's creator may delete it")),
    }
}
