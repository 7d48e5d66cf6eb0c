//! `…/endpoints/{endpoint}/tokens`: which secondary tokens may call an
//! endpoint, and with which of its methods.

use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_proto::OAuthError;
use tessera_token::{EndpointId, EndpointMethod, EndpointToken, EndpointTokenId};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::{Caller, RealmPath};
use super::endpoints::{EndpointPath, Method};
use super::error::ApiError;
use super::form::{JsonBody, QueryParams};
use super::refusals::{MalformedBody, MalformedQuery, ManagementErrors};
use super::AppState;

/// This module's routes, relative to `/admin/realms/{realm}`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token_view))
        .routes(routes!(assign, unassign))
}

/// `…/endpoints/{endpoint}/tokens/{token}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AssignmentPath {
    /// The endpoint's id.
    endpoint: String,
    /// The secondary token's id.
    token: String,
}

/// `PUT …/endpoints/{endpoint}/tokens/{token}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignmentBody {
    /// The methods the token may call the endpoint with; each needs the
    /// endpoint's primary token for it.
    methods: Vec<Method>,
}

/// `GET …/tokens`: hide the unassigned.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ViewQuery {
    /// Only the tokens assigned to the endpoint.
    #[serde(default)]
    assigned: bool,
}

/// A secondary token as the endpoint's view lists it.
#[derive(Serialize, ToSchema)]
pub(crate) struct AssignedTokenView {
    id: String,
    name: String,
    enabled: bool,
    active: bool,
    /// Whether it may call the endpoint at all.
    assigned: bool,
    /// The methods it may call it with.
    methods: Vec<Method>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AssignedTokenList {
    tokens: Vec<AssignedTokenView>,
}

impl From<(EndpointToken, Vec<EndpointMethod>)> for AssignedTokenView {
    fn from((token, methods): (EndpointToken, Vec<EndpointMethod>)) -> Self {
        Self {
            id: token.id.into(),
            name: token.name,
            enabled: token.enabled,
            active: token.active,
            assigned: !methods.is_empty(),
            methods: methods.into_iter().map(Into::into).collect(),
        }
    }
}

/// The endpoint's view of the secondary tokens
///
/// Requires `endpoint:ReadEndpointConfig` on it. Every secondary token of the realm, with whether (and for which methods) it is assigned to this endpoint; `assigned=true` hides the others.
#[utoipa::path(
    get,
    path = "/endpoints/{endpoint}/tokens",
    params(RealmPath, EndpointPath, ViewQuery),
    responses(
        (status = 200, description = "By name", body = AssignedTokenList),
        MalformedQuery,
        ManagementErrors,
    ),
)]
pub(crate) async fn token_view(
    caller: Caller<EndpointPath>,
    QueryParams(query): QueryParams<ViewQuery>,
) -> Result<Json<AssignedTokenList>, ApiError> {
    let view = caller
        .services()
        .endpoints
        .endpoint_token_view(
            &caller.realm,
            &caller.principal,
            &EndpointId::new(&caller.path.endpoint),
            query.assigned,
        )
        .await?;
    Ok(Json(AssignedTokenList {
        tokens: view.into_iter().map(Into::into).collect(),
    }))
}

/// Assign a secondary token to some of the endpoint's methods
///
/// Requires `endpoint:ManageEndpointTokens` on it. Replaces the token's methods on this endpoint; an empty list unassigns it.
#[utoipa::path(
    put,
    path = "/endpoints/{endpoint}/tokens/{token}",
    params(RealmPath, AssignmentPath),
    request_body = AssignmentBody,
    responses(
        (status = 204, description = "Assigned"),
        MalformedBody,
        ManagementErrors,
        (status = 409, description = "The endpoint has no primary token for a method", body = OAuthError),
    ),
)]
pub(crate) async fn assign(
    caller: Caller<AssignmentPath>,
    JsonBody(body): JsonBody<AssignmentBody>,
) -> Result<StatusCode, ApiError> {
    let methods = body.methods.into_iter().map(Into::into).collect();
    assignment(&caller, methods).await
}

/// Unassign a secondary token from the endpoint
///
/// Requires `endpoint:ManageEndpointTokens` on it. That one application's calls stop at once; the others are untouched.
#[utoipa::path(
    delete,
    path = "/endpoints/{endpoint}/tokens/{token}",
    params(RealmPath, AssignmentPath),
    responses((status = 204, description = "Unassigned"), ManagementErrors),
)]
pub(crate) async fn unassign(caller: Caller<AssignmentPath>) -> Result<StatusCode, ApiError> {
    assignment(&caller, Vec::new()).await
}

async fn assignment(
    caller: &Caller<AssignmentPath>,
    methods: Vec<EndpointMethod>,
) -> Result<StatusCode, ApiError> {
    let AssignmentPath { endpoint, token } = &caller.path;
    caller
        .services()
        .endpoints
        .assign_endpoint_token(
            &caller.realm,
            &caller.principal,
            (&EndpointId::new(endpoint), &EndpointTokenId::new(token)),
            methods,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
