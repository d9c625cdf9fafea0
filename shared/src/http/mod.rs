//! The edge: parsing requests, answering JSON, and the one place where errors become
//! `application/problem+json` responses.

mod problem;
mod request;
mod response;
pub mod responses;
mod serve;

pub use problem::{ApiError, Problem};
pub use request::{MAX_BODY_BYTES, bearer_token, if_match_version, json_body, path_id, query_param, source_ip};
pub use response::{json, no_content, text};
pub use serve::{record_principal, serve};
