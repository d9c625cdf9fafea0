//! The edge: parsing requests, answering JSON, and the one place where errors become
//! `application/problem+json` responses.

mod answer;
pub mod error_responses;
mod problem;
mod request;
mod serve;

pub use answer::{json, no_content, text};
pub use problem::{ApiError, Problem};
pub use request::{MAX_BODY_BYTES, bearer_token, if_match_version, json_body, origin, path_id, query_param, source_ip};
pub use serve::{record_principal, record_rate, serve};
