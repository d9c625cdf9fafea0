//! The end-to-end tests: HTTP against the whole function set served by `cargo lambda watch`
//! over the emulator, which `make test` starts (tools/stack.sh). One test binary, one module
//! per area (zero2prod's layout): one link of the SDK instead of one per area, and one pool
//! in which cargo-nextest runs every test in a process of its own, many at once
//! (.config/nextest.toml). Each test makes organizations of its own, so none depends on
//! another or on their order.
//!
//! One area against a running stack: `make test-e2e T=webhooks` (README, Development).

mod accounts;
mod api_keys;
mod audit;
mod authorization;
mod deletion;
mod docs;
mod export;
mod faults;
mod idempotency;
mod isolation;
mod lifecycle;
mod metrics;
mod notifications;
mod rate_limits;
mod resilience;
mod samples;
mod tasks;
mod teams;
mod trust;
mod walkthrough;
mod webhook_client;
mod webhooks;
