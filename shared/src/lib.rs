//! TaskFlow's one library crate. Its modules form layers, and a module uses only the ones
//! below it (`tests/layering.rs` keeps it so):
//!
//! - [`openapi`]: the API's document, from the handlers' annotations;
//! - [`api`]: one handler per route, and [`app`], what every handler is given;
//! - [`http`]: parsing requests, answering, and the one place errors become problem+json;
//! - [`config`]: the environment and the clients, built once per cold start;
//! - [`lifecycle`]: the jobs off their queues: an organization's deletion and export, its
//!   audit log;
//! - [`notifications`]: publishing events and mailing them;
//! - [`auth`]: who is calling, and the [`store::TenantScope`] that proves it;
//! - [`store`]: the tenant-keyed DynamoDB table;
//! - [`metrics`]: what each invocation counted, as CloudWatch Embedded Metric Format;
//! - [`domain`]: types and rules with no AWS in them, the events among them.
//!
//! `functions/*` sit on top: each parses nothing itself and calls one handler.

pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod domain;
pub mod http;
pub mod lifecycle;
pub mod metrics;
pub mod notifications;
pub mod openapi;
pub mod store;
