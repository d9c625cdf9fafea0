//! The error answers of the OpenAPI document: one reusable response per status that
//! [`ApiError`](super::ApiError) can answer, and the groups that always go together. Each
//! handler's `#[utoipa::path]` names the ones it can give; a test below keeps this list and
//! `ApiError::status` in step.

use std::collections::BTreeMap;

use serde_json::json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, schema::Type};

pub const PROBLEM_JSON: &str = "application/problem+json";

fn problem(status: u16, title: &str, description: &str, detail: &str) -> ResponseBuilder {
    let example = json!({ "type": "about:blank", "title": title, "status": status, "detail": detail });
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).example(Some(example)).build();
    ResponseBuilder::new().description(description).content(PROBLEM_JSON, content)
}

fn header(description: &str, schema_type: Type) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(utoipa::openapi::ObjectBuilder::new().schema_type(schema_type)))
        .description(Some(description))
        .build()
}

macro_rules! problem_response {
    ($(#[doc = $doc:literal])* $name:ident, $status:literal, $title:literal, $detail:literal $(, |$b:ident| $extra:expr)?) => {
        $(#[doc = $doc])*
        pub struct $name;

        impl $name {
            pub const STATUS: u16 = $status;
            pub const NAME: &str = stringify!($name);
        }

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                let builder = problem($status, $title, concat!($($doc),*).trim(), $detail);
                $(let builder = { let $b = builder; $extra };)?
                (stringify!($name), builder.build().into())
            }
        }
    };
}

problem_response!(
    /// The request is malformed: its JSON, a path id, a query parameter, a cursor or a header.
    BadRequest, 400, "Bad Request", "malformed JSON: EOF while parsing an object at line 1 column 1"
);
problem_response!(
    /// No valid credentials: a missing, expired or invalid access token, or wrong login details.
    Unauthorized, 401, "Unauthorized", "missing or invalid access token",
    |b| b.header("WWW-Authenticate", header("Always `Bearer`.", Type::String))
);
problem_response!(
    /// The caller's role may not do this.
    Forbidden, 403, "Forbidden", "this action needs the admin role"
);
problem_response!(
    /// No such resource in the caller's organization (another organization's answers the same).
    NotFound, 404, "Not Found", "task not found"
);
problem_response!(
    /// The request conflicts with the current state: a taken email or slug, the last admin, or
    /// a concurrent change.
    Conflict, 409, "Conflict", "an organization with this slug already exists"
);
problem_response!(
    /// `If-Match` names a version the resource is no longer at.
    PreconditionFailed, 412, "Precondition Failed", "If-Match names version 2, but the task is at version 3"
);
problem_response!(
    /// The body is larger than 64 KiB.
    PayloadTooLarge, 413, "Payload Too Large", "the request body is larger than 65536 bytes"
);
problem_response!(
    /// The body is not `application/json`.
    UnsupportedMediaType, 415, "Unsupported Media Type", "the request body must be application/json"
);
problem_response!(
    /// The JSON is well formed but a field is missing, unknown or invalid; `field` names it.
    UnprocessableEntity, 422, "Unprocessable Entity", "must have at least 1 character(s)"
);
problem_response!(
    /// Too many failed password attempts, a quota used up, or the organization's request
    /// budget spent for the window; retry after `Retry-After`.
    TooManyRequests, 429, "Too Many Requests", "too many requests; retry after 1 seconds",
    |b| b.header("Retry-After", header("Seconds until the next attempt is allowed.", Type::Integer))
);
problem_response!(
    /// Something failed on our side; the cause is logged, never answered.
    InternalServerError, 500, "Internal Server Error", "internal error"
);
problem_response!(
    /// The route exists but its logic is not written yet.
    NotImplemented, 501, "Not Implemented", "POST /api/v1/tasks/{id}/archive is not implemented yet"
);
problem_response!(
    /// A service TaskFlow depends on is throttling, failing or not answering in time; nothing
    /// was half-written. Retry after `Retry-After` seconds.
    ServiceUnavailable, 503, "Service Unavailable", "a service TaskFlow depends on is unavailable; retry after 2 seconds",
    |b| b.header("Retry-After", header("Seconds to wait before retrying.", Type::Integer))
);

macro_rules! response_group {
    ($(#[doc = $doc:literal])* $group:ident = [$($member:ident),+]) => {
        $(#[doc = $doc])*
        pub struct $group;

        impl utoipa::IntoResponses for $group {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$(($member::STATUS.to_string(), RefOr::Ref(Ref::from_response_name($member::NAME)))),+]
                    .into_iter()
                    .collect()
            }
        }
    };
}

response_group!(
    /// What every operation that reads a JSON body can answer about it.
    JsonBodyErrors = [BadRequest, PayloadTooLarge, UnsupportedMediaType, UnprocessableEntity]
);
response_group!(
    /// What a POST that takes an `Idempotency-Key` can answer about it: a malformed key (400),
    /// the key's first request still running (409), the key used with another request (422).
    IdempotencyErrors = [BadRequest, Conflict, UnprocessableEntity]
);
response_group!(
    /// What every operation that needs an access token and reaches the store can answer.
    AuthenticatedErrors = [Unauthorized, TooManyRequests, InternalServerError, ServiceUnavailable]
);

#[cfg(test)]
mod tests {
    use super::super::ApiError;
    use super::*;

    #[test]
    fn every_status_an_api_error_can_answer_is_documented() {
        let documented = [
            BadRequest::STATUS,
            Unauthorized::STATUS,
            Forbidden::STATUS,
            NotFound::STATUS,
            Conflict::STATUS,
            PreconditionFailed::STATUS,
            PayloadTooLarge::STATUS,
            UnsupportedMediaType::STATUS,
            UnprocessableEntity::STATUS,
            TooManyRequests::STATUS,
            InternalServerError::STATUS,
            NotImplemented::STATUS,
            ServiceUnavailable::STATUS,
        ];
        let every_error = [
            ApiError::BadRequest(String::new()),
            ApiError::validation("f", "d"),
            ApiError::Unauthenticated,
            ApiError::InvalidCredentials,
            ApiError::InvalidRefreshToken,
            ApiError::Forbidden(""),
            ApiError::NotFound(""),
            ApiError::Conflict(String::new()),
            ApiError::InProgress,
            ApiError::PreconditionFailed(String::new()),
            ApiError::PayloadTooLarge(1),
            ApiError::UnsupportedMediaType,
            ApiError::TooManyRequests(1),
            ApiError::Internal,
            ApiError::NotImplemented(""),
            ApiError::Unavailable,
            ApiError::Unreadable,
        ];
        for error in every_error {
            let status = error.status().as_u16();
            assert!(documented.contains(&status), "{error:?} answers {status}, which has no documented response");
        }
    }
}
