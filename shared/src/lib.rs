//! TaskFlow's one library crate. A request flows in one direction:
//! `functions/*` → [`api`] (handlers) → [`http`] (parsing, problem+json) → [`auth`]
//! (who is calling, and the tenant scope that proves it) → [`domain`] / [`store`].
//! Nothing below calls back up.

pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod domain;
pub mod events;
pub mod http;
pub mod mailer;
pub mod notifications;
pub mod openapi;
pub mod store;
