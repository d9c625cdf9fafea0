//! `Idempotency-Key` on the authenticated POST routes (IETF
//! draft-ietf-httpapi-idempotency-key-header): a retry with the same key and the same request
//! gets the first answer again, instead of doing the work twice.
//!
//! - no key: the request runs as it always did;
//! - a key that is not 1 to 255 visible ASCII characters: 400;
//! - the same key with a different request (method, path or body): 422;
//! - the same key while the first request still runs: 409;
//! - the same key and request later (within 24 hours): the first answer, with
//!   `Idempotent-Replayed: true`.
//!
//! Keys are per caller and organization. Answers of 5xx and of 408, 409, 425 and 429 are
//! not kept (a retry may succeed); every other answer is. Routes that answer tokens (login,
//! registration, refresh, accepting an invitation) and the unauthenticated routes have no
//! caller to key by and ignore the header: a stored answer would be a secret in a table.
//! Nor does the password change take one: its body is two passwords. A replay is answered
//! from the record alone: a caller demoted or removed since (whose token still verifies)
//! gets the answer they were given before, and nothing new.

use chrono::Utc;
use lambda_http::http::{HeaderName, HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};

use super::authenticate;
use crate::app::App;
use crate::domain::IdempotencyKey;
use crate::http::ApiError;
use crate::store::{Begun, IdempotencyClaim, StoredAnswer};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on an answer given again from its record.
pub const REPLAYED: &str = "idempotent-replayed";
/// The headers an answer is kept with.
const KEPT_HEADERS: [HeaderName; 6] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::ETAG,
    header::RETRY_AFTER,
    header::WWW_AUTHENTICATE,
    header::CACHE_CONTROL,
];

/// Runs `handler` for `req`, once per `Idempotency-Key`.
pub async fn idempotent<F, Fut>(app: &App, mut req: Request, handler: F) -> Result<Response<Body>, ApiError>
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Body>, ApiError>>,
{
    let Some(raw) = req.headers().get(IDEMPOTENCY_KEY) else {
        return handler(req).await;
    };
    let principal = authenticate(app, &req).await?;
    let key = raw
        .to_str()
        .ok()
        .and_then(IdempotencyKey::parse)
        .ok_or_else(|| ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into()))?;
    req.extensions_mut().insert(principal.clone());
    let scope = principal.scope();
    // The session is part of the request: another session's logout with the same key is
    // another request (422), never a replay that leaves it logged in.
    let session = principal.session_id().map(|s| s.to_string()).unwrap_or_default();
    let fingerprint = fingerprint(&req, &session);
    let claim =
        match app.store.idempotency().begin(&scope, &principal.subject(), &key, &fingerprint, Utc::now()).await? {
            Begun::Run(claim) => claim,
            Begun::Replay(answer) => return Ok(replay(answer)),
            Begun::Running => return Err(ApiError::InProgress),
            Begun::Mismatch => {
                return Err(ApiError::validation("Idempotency-Key", "was used before with a different request"));
            }
        };
    req.extensions_mut().insert(claim.clone());
    let response = match handler(req).await {
        Ok(response) => response,
        // Answered here rather than by `http::serve`, to be kept; logged as it would log it.
        Err(e) if e.status().is_server_error() => {
            tracing::error!(status = e.status().as_u16(), "request failed");
            e.into_response()
        }
        Err(e) => {
            tracing::info!(status = e.status().as_u16(), problem = %e, "request refused");
            e.into_response()
        }
    };
    let store = app.store.idempotency();
    let kept = match keepable(&response) {
        Some(answer) => store.finish(&claim, &answer).await,
        None => store.release(&claim).await,
    };
    if let Err(e) = kept {
        // The answer still goes out; a retry then finds the claim and waits out its lease.
        tracing::warn!(error = %e, "the idempotency record was not updated");
    }
    Ok(response)
}

/// For a handler that records its answer in its own write: the claim the request runs under
/// and `response` as the record keeps it, if the request has a key and the answer is kept.
pub fn answer_to_record(req: &Request, response: &Response<Body>) -> Option<(IdempotencyClaim, StoredAnswer)> {
    req.extensions().get::<IdempotencyClaim>().cloned().zip(keepable(response))
}

/// The answer as a record keeps it, if it is one to keep.
pub fn keepable(response: &Response<Body>) -> Option<StoredAnswer> {
    let status = response.status();
    let retryable =
        [StatusCode::REQUEST_TIMEOUT, StatusCode::CONFLICT, StatusCode::TOO_EARLY, StatusCode::TOO_MANY_REQUESTS];
    if status.is_server_error() || retryable.contains(&status) {
        return None;
    }
    let body = match response.body() {
        Body::Empty => String::new(),
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8(bytes.clone()).ok()?,
        _ => return None,
    };
    let headers = KEPT_HEADERS
        .iter()
        .filter_map(|name| Some((name.as_str().to_owned(), response.headers().get(name)?.to_str().ok()?.to_owned())))
        .collect();
    Some(StoredAnswer { status: status.as_u16(), headers, body })
}

fn replay(answer: StoredAnswer) -> Response<Body> {
    let mut builder = Response::builder().status(answer.status).header(REPLAYED, HeaderValue::from_static("true"));
    for (name, value) in &answer.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = if answer.body.is_empty() { Body::Empty } else { Body::Text(answer.body) };
    builder.body(body).unwrap_or_else(|_| ApiError::Internal.into_response())
}

/// SHA-256 of the method, the path, the caller's session and the body, each length-prefixed.
/// Kept in the record: no wrapped route takes a secret in its body (the password change,
/// whose body is two passwords, is not wrapped: its fingerprint would be a fast hash of them).
fn fingerprint(req: &Request, session: &str) -> String {
    let mut digest = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let parts =
        [req.method().as_str().as_bytes(), req.uri().path().as_bytes(), session.as_bytes(), req.body().as_ref()];
    for part in parts {
        digest.update(&(part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    digest.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, body: &str) -> Request {
        let mut req = Request::new(Body::Text(body.into()));
        *req.method_mut() = method.parse().unwrap();
        *req.uri_mut() = path.parse().unwrap();
        req
    }

    #[test]
    fn the_fingerprint_tells_method_path_session_and_body_apart() {
        let base = fingerprint(&request("POST", "/api/v1/tasks", r#"{"title":"a"}"#), "s");
        assert_eq!(base, fingerprint(&request("POST", "/api/v1/tasks", r#"{"title":"a"}"#), "s"));
        assert_ne!(base, fingerprint(&request("POST", "/api/v1/tasks", r#"{"title":"b"}"#), "s"));
        assert_ne!(base, fingerprint(&request("POST", "/api/v1/invitations", r#"{"title":"a"}"#), "s"));
        assert_ne!(base, fingerprint(&request("PUT", "/api/v1/tasks", r#"{"title":"a"}"#), "s"));
        assert_ne!(base, fingerprint(&request("POST", "/api/v1/tasks", r#"{"title":"a"}"#), "t"), "another session");
    }

    #[test]
    fn answers_a_retry_may_mend_are_not_kept() {
        for status in [500, 503, 408, 409, 425, 429] {
            let response = Response::builder().status(status).body(Body::Empty).unwrap();
            assert_eq!(keepable(&response), None, "{status}");
        }
        let response = Response::builder()
            .status(201)
            .header("content-type", "application/json")
            .header("location", "/api/v1/tasks/x")
            .header("x-other", "dropped")
            .body(Body::Text("{}".into()))
            .unwrap();
        let kept = keepable(&response).unwrap();
        assert_eq!(kept.status, 201);
        assert_eq!(
            kept.headers,
            [("content-type".into(), "application/json".into()), ("location".into(), "/api/v1/tasks/x".into())]
        );
        let again = replay(kept);
        assert_eq!(
            (again.status(), &again.headers()[REPLAYED]),
            (StatusCode::CREATED, &HeaderValue::from_static("true"))
        );
        for status in [400, 404, 422] {
            assert!(keepable(&Response::builder().status(status).body(Body::Empty).unwrap()).is_some());
        }
    }
}
