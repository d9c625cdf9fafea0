use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;

use lambda_http::{Body, Request, RequestExt, Response, service_fn};
use tracing::Instrument;
use tracing::field::Empty;

use super::ApiError;
use crate::auth::Principal;
use crate::domain::RateState;
use crate::metrics::{self, Kind, Metric, Property};

/// Runs an API handler on the Lambda runtime. Every request gets a span with the request
/// id, function name, method and path (the organization and user are added once known),
/// and every [`ApiError`] becomes its problem response here. Each request is measured
/// ([`metrics::measure`]): a request, its status class, 429s as throttled, its latency.
/// An answer to a request that counted against its organization's budget carries the
/// `RateLimit-Policy` and `RateLimit` headers, whatever its status.
pub async fn serve<'a, H, F>(handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(Request) -> F + 'a,
    F: Future<Output = Result<Response<Body>, ApiError>> + Send + 'a,
{
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    lambda_http::run(service_fn(move |req: Request| {
        let request_id = req.lambda_context_ref().map(|c| c.request_id.clone()).unwrap_or_default();
        let span = tracing::info_span!(
            "request",
            request_id = %request_id,
            function = %function,
            method = %req.method(),
            path = %req.uri().path(),
            org_id = Empty,
            user_id = Empty,
            api_key_id = Empty,
        );
        let answer = handler(req);
        let answered = RATE
            .scope(Cell::new(None), async move {
                let mut response = answer.await.unwrap_or_else(|e| {
                    if e.status().is_server_error() {
                        tracing::error!(status = e.status().as_u16(), "request failed");
                    } else {
                        tracing::info!(status = e.status().as_u16(), problem = %e, "request refused");
                    }
                    e.into_response()
                });
                if let Some(state) = RATE.with(Cell::get) {
                    let headers = response.headers_mut();
                    for (name, value) in rate_headers(&state) {
                        headers.insert(name, value.parse().expect("digits, quotes and separators are a header value"));
                    }
                }
                count_answer(response.status().as_u16(), &request_id);
                Ok::<_, Infallible>(response)
            })
            .instrument(span);
        metrics::measure(Kind::Api, answered)
    }))
    .await
}

tokio::task_local! {
    static RATE: Cell<Option<RateState>>;
}

/// Records where the request left its organization's budget, for [`serve`] to answer in
/// its headers; nothing outside a request.
pub fn record_rate(state: RateState) {
    let _ = RATE.try_with(|rate| rate.set(Some(state)));
}

/// The name of the one policy the headers describe: the organization's budget.
const RATE_POLICY: &str = "\"organization\"";

/// The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers): the policy
/// (`q` requests per window of `w` seconds) and where this request left it (`r` remaining,
/// `t` seconds until the window resets).
fn rate_headers(state: &RateState) -> [(&'static str, String); 2] {
    [
        ("ratelimit-policy", format!("{RATE_POLICY};q={};w={}", state.quota, state.window_seconds)),
        ("ratelimit", format!("{RATE_POLICY};r={};t={}", state.remaining, state.reset_seconds)),
    ]
}

fn count_answer(status: u16, request_id: &str) {
    metrics::add(Metric::Requests, 1.0);
    if let Some(class) = Metric::of_status(status) {
        metrics::add(class, 1.0);
    }
    if status == 429 {
        metrics::add(Metric::Throttled, 1.0);
    }
    metrics::set(Property::Status, status);
    metrics::set(Property::RequestId, request_id);
}

/// Adds the caller's organization and user to the current request's log span, and the
/// organization to its metrics (a property, not a dimension).
pub fn record_principal(principal: &Principal) {
    metrics::set(Property::OrgId, principal.org_id());
    let span = tracing::Span::current();
    span.record("org_id", tracing::field::display(principal.org_id()));
    span.record("user_id", tracing::field::display(principal.user_id()));
    if let Some(key) = principal.api_key_id() {
        span.record("api_key_id", tracing::field::display(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_headers_are_structured_fields_of_the_drafts_parameters() {
        let state = RateState { quota: 100, window_seconds: 2, remaining: 57, reset_seconds: 1, over: false };
        assert_eq!(
            rate_headers(&state),
            [
                ("ratelimit-policy", r#""organization";q=100;w=2"#.to_owned()),
                ("ratelimit", r#""organization";r=57;t=1"#.to_owned()),
            ]
        );
    }
}
