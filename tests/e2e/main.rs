//! The black-box end-to-end suite: one test binary, a real server per test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kit;

mod audiences;
mod bad_input;
mod browser;
mod browser_logout;
mod browser_refusals;
mod chromium;
mod cli;
mod companies;
mod device_flow;
mod endpoints;
mod errors;
mod introspection_cache;
mod keys;
mod listeners;
mod login_limits;
mod multi_node;
mod offline;
mod oidc_client;
mod openapi;
mod password_grant;
mod personal_tokens;
mod query_plans;
mod refresh;
mod reload;
mod resource_server;
mod retention;
mod revocation;
mod revocation_feed;
mod schema;
mod token_profiles;
mod users;
