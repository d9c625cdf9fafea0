use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::auth::AuthError;
use crate::domain::Invalid;
use crate::store::{CursorError, StoreError, Unique};

/// Everything a handler can answer besides success. Converted to an RFC 9457 problem in
/// [`ApiError::into_response`] and nowhere else; internal causes are logged where they are
/// converted and never shown to the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{field}: {detail}")]
    Validation { field: String, detail: String },
    #[error("missing or invalid access token")]
    Unauthenticated,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("the refresh token is invalid, expired or revoked")]
    InvalidRefreshToken,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A stored item that does not map to its type (logged with its key where it was read).
    #[error("the item is stored in a form this version of TaskFlow cannot read; it was logged for an operator")]
    Unreadable,
    #[error("{0}")]
    Conflict(String),
    /// An earlier request with the same `Idempotency-Key` is still running: 409 with
    /// `Retry-After`.
    #[error(
        "a request with this Idempotency-Key is still being processed; retry after {RETRY_AFTER_IN_PROGRESS} seconds"
    )]
    InProgress,
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("too many requests; retry after {0} seconds")]
    TooManyRequests(u64),
    #[error("internal error")]
    Internal,
    /// A route whose function exists but whose logic is not written yet (`make function`).
    #[error("{0} is not implemented yet")]
    NotImplemented(&'static str),
    /// A dependency is throttling, failing or timing out (after the SDK's retries).
    #[error("a service TaskFlow depends on is unavailable; retry after {RETRY_AFTER_UNAVAILABLE} seconds")]
    Unavailable,
}

/// What a 503 asks the client to wait: DynamoDB's and SQS's throttling clears within seconds.
pub const RETRY_AFTER_UNAVAILABLE: u64 = 2;
/// What a 409 for a request still running under the same `Idempotency-Key` asks the client
/// to wait: a request takes a second or two.
pub const RETRY_AFTER_IN_PROGRESS: u64 = 2;

/// An RFC 9457 problem: the body of every error TaskFlow answers, as
/// `application/problem+json`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "about:blank", "title": "Unprocessable Entity", "status": 422,
    "detail": "must have at least 1 character(s)", "field": "title"
}))]
pub struct Problem<'a> {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    kind: &'a str,
    /// The status's reason phrase.
    title: &'a str,
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    /// What went wrong, for a human.
    detail: String,
    /// The request field at fault (422 answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthenticated | ApiError::InvalidCredentials | ApiError::InvalidRefreshToken => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::Unreadable => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::InProgress => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::Validation { field: field.into(), detail: detail.into() }
    }

    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        let field = match &self {
            ApiError::Validation { field, .. } => Some(field.as_str()),
            _ => None,
        };
        let detail = match &self {
            ApiError::Validation { detail, .. } => detail.clone(),
            other => other.to_string(),
        };
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            field,
        };
        let body = serde_json::to_string(&problem).unwrap_or_else(|_| String::from("{}"));
        let mut response = Response::builder().status(status).header(header::CONTENT_TYPE, "application/problem+json");
        if status == StatusCode::UNAUTHORIZED {
            response = response.header(header::WWW_AUTHENTICATE, "Bearer");
        }
        match self {
            ApiError::TooManyRequests(seconds) => response = response.header(header::RETRY_AFTER, seconds.to_string()),
            ApiError::InProgress => {
                response = response.header(header::RETRY_AFTER, RETRY_AFTER_IN_PROGRESS.to_string())
            }
            ApiError::Unavailable => {
                response = response.header(header::RETRY_AFTER, RETRY_AFTER_UNAVAILABLE.to_string())
            }
            _ => {}
        }
        response.body(Body::Text(body)).unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

impl From<crate::config::ConfigError> for ApiError {
    fn from(e: crate::config::ConfigError) -> Self {
        match e {
            crate::config::ConfigError::Unavailable { .. } => {
                tracing::warn!(error = %e, "configuration not available: answered 503");
                ApiError::Unavailable
            }
            other => {
                tracing::error!(error = %other, "configuration failure");
                ApiError::Internal
            }
        }
    }
}

impl From<crate::lifecycle::ArchiveError> for ApiError {
    fn from(e: crate::lifecycle::ArchiveError) -> Self {
        tracing::warn!(error = %e, "the export bucket is unavailable: answered 503");
        ApiError::Unavailable
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::validation(e.field, e.message)
    }
}

impl From<CursorError> for ApiError {
    fn from(e: CursorError) -> Self {
        ApiError::BadRequest(format!("cursor: {e}"))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Taken(Unique::Email) => ApiError::Conflict("an account with this email already exists".into()),
            StoreError::Taken(Unique::Slug) => {
                ApiError::Conflict("an organization with this slug already exists".into())
            }
            StoreError::NotFound => ApiError::NotFound("resource"),
            // The token verified, but its user was removed since: as if it had not.
            StoreError::CallerGone => ApiError::Unauthenticated,
            StoreError::CallerNotAdmin => {
                ApiError::Forbidden("this action needs the admin role, which the caller no longer has")
            }
            StoreError::QuotaExceeded { retry_after } => ApiError::TooManyRequests(retry_after),
            StoreError::LastAdmin | StoreError::LimitReached { .. } => ApiError::Conflict(e.to_string()),
            StoreError::InvalidInvitation => {
                ApiError::BadRequest("the invitation token is invalid, expired, revoked or already used".into())
            }
            StoreError::InvalidAccountToken => {
                ApiError::BadRequest("the token is invalid, expired, superseded or already used".into())
            }
            StoreError::AlreadyVerified => ApiError::Conflict(e.to_string()),
            StoreError::ConfirmationMismatch => {
                ApiError::validation("confirm_slug", "must be the organization's slug, to confirm its deletion")
            }
            StoreError::CallerUnverified => ApiError::Forbidden(
                "verify your email address first (POST /api/v1/auth/verify-email with the token of the mail)",
            ),
            StoreError::VersionConflict => {
                ApiError::Conflict("the resource changed while it was being updated; retry".into())
            }
            // Logged with its key where it was read. Answered like a missing item, with a
            // detail that says otherwise: a stored value must never take a request down.
            StoreError::Unreadable { .. } => ApiError::Unreadable,
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "DynamoDB unavailable: answered 503");
                ApiError::Unavailable
            }
            StoreError::Dynamo(_) | StoreError::Mapping(_) => {
                tracing::error!(error = %e, "store failure");
                ApiError::Internal
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidToken => ApiError::Unauthenticated,
            AuthError::InvalidCredentials => ApiError::InvalidCredentials,
            AuthError::InvalidRefreshToken => ApiError::InvalidRefreshToken,
            AuthError::Throttled { retry_after } => ApiError::TooManyRequests(retry_after),
            AuthError::Forbidden(why) => ApiError::Forbidden(why),
            AuthError::Store(e) => e.into(),
            AuthError::Key(_) | AuthError::Hashing(_) => {
                tracing::error!(error = %e, "auth failure");
                ApiError::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response<Body>) -> serde_json::Value {
        match r.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn validation_errors_are_problems_naming_the_field() {
        let r = ApiError::validation("title", "must not be empty").into_response();
        assert_eq!(r.status(), 422);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/problem+json");
        let b = body(&r);
        assert_eq!(b["field"], "title");
        assert_eq!(b["status"], 422);
        assert_eq!(b["detail"], "must not be empty");
    }

    #[test]
    fn internal_causes_never_reach_the_client() {
        let r = ApiError::from(StoreError::Dynamo("secret table arn".into())).into_response();
        assert_eq!(r.status(), 500);
        assert!(!body(&r).to_string().contains("secret"));
    }

    #[test]
    fn an_unavailable_dependency_is_503_with_retry_after_and_no_cause() {
        let r =
            ApiError::from(StoreError::Unavailable("ThrottlingException: table arn:aws:secret".into())).into_response();
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/problem+json");
        assert!(!body(&r).to_string().contains("secret"));
    }

    #[test]
    fn throttled_answers_say_when_to_retry() {
        let r = ApiError::TooManyRequests(42).into_response();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[header::RETRY_AFTER], "42");
    }

    #[test]
    fn unauthenticated_answers_carry_a_bearer_challenge() {
        let r = ApiError::Unauthenticated.into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
}
