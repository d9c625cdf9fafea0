use std::convert::Infallible;
use std::future::Future;

use lambda_http::{Body, Request, RequestExt, Response, service_fn};
use tracing::Instrument;
use tracing::field::Empty;

use super::ApiError;
use crate::auth::Principal;

/// Runs an API handler on the Lambda runtime. Every request gets a span with the request
/// id, function name, method and path (the organization and user are added once known),
/// and every [`ApiError`] becomes its problem response here.
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
        );
        let answer = handler(req);
        async move {
            let response = answer.await.unwrap_or_else(|e| {
                if e.status().is_server_error() {
                    tracing::error!(status = e.status().as_u16(), "request failed");
                } else {
                    tracing::info!(status = e.status().as_u16(), problem = %e, "request refused");
                }
                e.into_response()
            });
            Ok::<_, Infallible>(response)
        }
        .instrument(span)
    }))
    .await
}

/// Adds the caller's organization and user to the current request's log span.
pub fn record_principal(principal: &Principal) {
    let span = tracing::Span::current();
    span.record("org_id", tracing::field::display(principal.org_id()));
    span.record("user_id", tracing::field::display(principal.user_id()));
}
