//! `…/endpoints/{endpoint}/calls` and `…/callers`: the usage view of an
//! endpoint, every checked call by a known token and a summary per token.

use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_token::{CallerSummary, EndpointCallRecord, EndpointId, MAX_ENDPOINT_PAGE};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::{Caller, RealmPath};
use super::endpoints::{EndpointPath, Method};
use super::error::ApiError;
use super::form::QueryParams;
use super::refusals::{MalformedQuery, ManagementErrors};
use super::AppState;

/// This module's routes, relative to `/admin/realms/{realm}`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(calls))
        .routes(routes!(callers))
}

/// Calls per page when `max` is not given.
const DEFAULT_CALL_PAGE: i64 = 100;

/// `GET …/calls`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallQuery {
    /// Only this token's calls (a primary or secondary token id).
    token: Option<String>,
    /// Only calls older than this call id (the `next_before` of the previous
    /// page).
    before: Option<i64>,
    /// How many at most (default 100, at most 500).
    max: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CallView {
    id: i64,
    method: Method,
    /// `primary` or `secondary`.
    token_kind: String,
    token_id: String,
    /// The application's name (a secondary token's), or `GET primary`, ….
    token_name: String,
    /// `allowed`, `disabled`, `inactive`, `unassigned`, `method_not_allowed`.
    outcome: String,
    address: Option<String>,
    /// NumericDate (seconds).
    at: i64,
}

impl From<EndpointCallRecord> for CallView {
    fn from(call: EndpointCallRecord) -> Self {
        Self {
            id: call.id,
            method: call.method.into(),
            token_kind: call.token_kind.as_str().to_owned(),
            token_id: call.token_id,
            token_name: call.token_name,
            outcome: call.outcome.as_str().to_owned(),
            address: call.address,
            at: call.at.unix_seconds(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CallPage {
    calls: Vec<CallView>,
    /// Pass as `before` for the next page; absent on the last.
    next_before: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CallerView {
    token_kind: String,
    token_id: String,
    token_name: String,
    /// Allowed calls.
    calls: i64,
    refused_calls: i64,
    /// NumericDate (seconds) of its latest call.
    last_called_at: i64,
    last_address: Option<String>,
}

impl From<CallerSummary> for CallerView {
    fn from(caller: CallerSummary) -> Self {
        Self {
            token_kind: caller.token_kind.as_str().to_owned(),
            token_id: caller.token_id,
            token_name: caller.token_name,
            calls: caller.calls,
            refused_calls: caller.refused_calls,
            last_called_at: caller.last_called_at.unix_seconds(),
            last_address: caller.last_address,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CallerList {
    callers: Vec<CallerView>,
}

/// The endpoint's calls
///
/// Requires `endpoint:ReadEndpointCalls` on it. Every checked call made with a known token, accepted or refused, newest first; `token` filters by one token.
#[utoipa::path(
    get,
    path = "/endpoints/{endpoint}/calls",
    params(RealmPath, EndpointPath, CallQuery),
    responses(
        (status = 200, description = "A page, newest first", body = CallPage),
        MalformedQuery,
        ManagementErrors,
    ),
)]
pub(crate) async fn calls(
    caller: Caller<EndpointPath>,
    QueryParams(query): QueryParams<CallQuery>,
) -> Result<Json<CallPage>, ApiError> {
    let max = query
        .max
        .unwrap_or(DEFAULT_CALL_PAGE)
        .clamp(1, MAX_ENDPOINT_PAGE);
    let calls = caller
        .services()
        .endpoints
        .endpoint_calls(
            &caller.realm,
            &caller.principal,
            &EndpointId::new(&caller.path.endpoint),
            (query.token.as_deref(), query.before),
            max,
        )
        .await?;
    let full = i64::try_from(calls.len()).is_ok_and(|len| len == max);
    let next_before = calls.last().filter(|_| full).map(|call| call.id);
    Ok(Json(CallPage {
        calls: calls.into_iter().map(Into::into).collect(),
        next_before,
    }))
}

/// Which applications call the endpoint
///
/// Requires `endpoint:ReadEndpointCalls` on it. Per token: calls, refused calls, and the latest, the latest caller first.
#[utoipa::path(
    get,
    path = "/endpoints/{endpoint}/callers",
    params(RealmPath, EndpointPath),
    responses((status = 200, description = "Per token", body = CallerList), ManagementErrors),
)]
pub(crate) async fn callers(caller: Caller<EndpointPath>) -> Result<Json<CallerList>, ApiError> {
    let callers = caller
        .services()
        .endpoints
        .endpoint_callers(
            &caller.realm,
            &caller.principal,
            &EndpointId::new(&caller.path.endpoint),
        )
        .await?;
    Ok(Json(CallerList {
        callers: callers.into_iter().map(Into::into).collect(),
    }))
}
