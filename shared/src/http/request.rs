use lambda_http::http::header;
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::ApiError;
use crate::domain::events::Origin;

/// Bodies above 64 KiB are refused before parsing (no task or organization needs more).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Parses the body as one JSON object of type `T`. Syntax errors answer 400; a well-formed
/// body with a wrong type, an unknown or missing field or an invalid value answers 422
/// naming the field.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
        let essence = content_type.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let bytes: &[u8] = match req.body() {
        Body::Empty => b"",
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::BadRequest("the request body must be a JSON object".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            Category::Data => ApiError::validation(field_name(&path, &inner.to_string()), data_detail(&inner)),
            Category::Syntax | Category::Eof | Category::Io => ApiError::BadRequest(format!("malformed JSON: {inner}")),
        }
    })?;
    de.end().map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// The offending field: serde's path when it points into the object, else the field named
/// in the message (unknown and missing fields are reported at the object itself).
fn field_name(path: &str, message: &str) -> String {
    if path != "." && !path.is_empty() {
        return path.to_owned();
    }
    message.split('`').nth(1).unwrap_or("body").to_owned()
}

/// serde's message without its " at line 1 column 42" suffix.
fn data_detail(err: &serde_json::Error) -> String {
    let message = err.to_string();
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    }
}

/// The caller's address as API Gateway saw it (not a header a client could set).
pub fn source_ip(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        lambda_http::request::RequestContext::ApiGatewayV2(context) => context.http.source_ip.clone(),
        _ => None,
    }
}

/// Where the request came from, for the events it causes: the address API Gateway saw and
/// the `User-Agent` the client sent (cut short, see [`Origin::new`]).
pub fn origin(req: &Request) -> Origin {
    let user_agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    Origin::new(source_ip(req).as_deref(), user_agent)
}

/// The bearer token of the `Authorization` header, if there is one.
pub fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// A path parameter parsed with `parse`; what does not parse is a 400, not a 404, so that
/// a client's bug is told apart from a missing resource.
pub fn path_id<T>(req: &Request, name: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, ApiError> {
    let raw = req
        .path_parameters_ref()
        .and_then(|p| p.first(name))
        .ok_or_else(|| ApiError::BadRequest(format!("path parameter {name} is missing")))?;
    parse(raw).ok_or_else(|| ApiError::BadRequest(format!("path parameter {name} must be a UUID")))
}

/// A query parameter parsed with `parse`, which says what is wrong with a bad value.
pub fn query_param<T>(
    req: &Request,
    name: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, ApiError> {
    match req.query_string_parameters_ref().and_then(|q| q.first(name)) {
        None => Ok(None),
        Some(raw) => parse(raw).map(Some).map_err(|why| ApiError::BadRequest(format!("query parameter {name} {why}"))),
    }
}

/// The version named by `If-Match`, if the header is there. Accepts `3`, `"3"` and
/// `W/"3"` (the form `ETag` answers with); `*` means any version.
pub fn if_match_version(req: &Request) -> Result<Option<u64>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = value.to_str().unwrap_or("").trim();
    if raw == "*" {
        return Ok(None);
    }
    let unquoted = raw.trim_start_matches("W/").trim_matches('"');
    unquoted
        .parse::<u64>()
        .map(Some)
        .map_err(|_| ApiError::BadRequest("If-Match must be a task version, like \"3\"".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body2 {
        title: String,
        count: Option<u32>,
    }

    fn request(body: &str) -> Request {
        lambda_http::http::Request::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::Text(body.into()))
            .unwrap()
    }

    fn status(body: &str) -> u16 {
        json_body::<Body2>(&request(body)).unwrap_err().status().as_u16()
    }

    /// Found by the contract fuzzer: API Gateway hands a body that is not UTF-8 text to the
    /// function as bytes; it is malformed JSON like any other.
    #[test]
    fn a_body_that_is_not_utf8_is_400() {
        for bytes in [&b"\xff\xfe{"[..], b"{\"title\":\"\xed\xa0\x80\"}", b"\x80"] {
            let req = lambda_http::http::Request::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::Binary(bytes.to_vec()))
                .unwrap();
            assert_eq!(json_body::<Body2>(&req).unwrap_err().status().as_u16(), 400, "{bytes:?}");
        }
    }

    #[test]
    fn syntax_errors_are_400_and_data_errors_422() {
        assert_eq!(status("{"), 400);
        assert_eq!(status(""), 400);
        assert_eq!(status("[]"), 400);
        assert_eq!(status(r#"{"title":"a"} trailing"#), 400);
        assert_eq!(status(r#"{"title":1}"#), 422);
        assert_eq!(status(r#"{"count":1}"#), 422);
        assert_eq!(status(r#"{"title":"a","count":-1}"#), 422);
    }

    #[test]
    fn validation_errors_name_the_offending_field() {
        for (body, field) in
            [(r#"{"title":1}"#, "title"), (r#"{"title":"a","id":"x"}"#, "id"), (r#"{"count":1}"#, "title")]
        {
            match json_body::<Body2>(&request(body)) {
                Err(ApiError::Validation { field: f, .. }) => assert_eq!(f, field, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn oversized_and_non_json_bodies_are_refused() {
        let big = format!(r#"{{"title":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert_eq!(status(&big), 413);
        let form = lambda_http::http::Request::builder()
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::Text("title=a".into()))
            .unwrap();
        assert_eq!(json_body::<Body2>(&form).unwrap_err().status(), 415);
    }

    #[test]
    fn if_match_accepts_bare_quoted_and_weak_versions() {
        let with = |v: &str| {
            let r: Request =
                lambda_http::http::Request::builder().header(header::IF_MATCH, v).body(Body::Empty).unwrap();
            if_match_version(&r)
        };
        assert_eq!(with("3").unwrap(), Some(3));
        assert_eq!(with("\"3\"").unwrap(), Some(3));
        assert_eq!(with("W/\"3\"").unwrap(), Some(3));
        assert_eq!(with("*").unwrap(), None);
        assert!(with("three").is_err());
    }

    #[test]
    fn bearer_tokens_need_the_bearer_scheme() {
        let with = |v: &str| {
            let r: Request =
                lambda_http::http::Request::builder().header(header::AUTHORIZATION, v).body(Body::Empty).unwrap();
            bearer_token(&r).map(str::to_owned)
        };
        assert_eq!(with("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("Basic abc"), None);
        assert_eq!(with("Bearer "), None);
    }
}
