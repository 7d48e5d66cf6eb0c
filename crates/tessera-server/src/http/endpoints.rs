//! `/admin/realms/{realm}/endpoints`: endpoints of an integration platform,
//! their primary tokens, which secondary tokens are assigned to them, and the
//! usage view of their calls.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    Json,
};
use serde::{Deserialize, Serialize};
use tessera_proto::OAuthError;
use tessera_token::{
    CallerSummary, Endpoint, EndpointAuthentication, EndpointCallRecord, EndpointChanges,
    EndpointId, EndpointMethod, EndpointRequest, EndpointToken, EndpointTokenId,
    GeneratedPrimaryToken, PrimaryToken, MAX_ENDPOINT_PAGE,
};
use utoipa::{IntoParams, ToSchema};

use super::{
    caller::Caller,
    companies::PageQuery,
    error::ApiError,
    form::{JsonBody, QueryParams},
    refusals::ManagementErrors,
    reply::created,
    AppState,
};

/// Calls per page when `max` is not given.
const DEFAULT_CALL_PAGE: i64 = 100;

/// `…/endpoints`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct EndpointsPath {
    /// The realm.
    realm: String,
}

/// `…/endpoints/{endpoint}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct EndpointPath {
    /// The realm.
    realm: String,
    /// The endpoint's id.
    endpoint: String,
}

/// `…/endpoints/{endpoint}/primary-tokens/{method}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PrimaryPath {
    /// The realm.
    realm: String,
    /// The endpoint's id.
    endpoint: String,
    /// The method whose primary token to regenerate: `GET`, `POST` or
    /// `DELETE`.
    method: String,
}

/// `…/endpoints/{endpoint}/tokens/{token}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AssignmentPath {
    /// The realm.
    realm: String,
    /// The endpoint's id.
    endpoint: String,
    /// The secondary token's id.
    token: String,
}

/// An endpoint method.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Method {
    Get,
    Post,
    Delete,
}

impl From<Method> for EndpointMethod {
    fn from(method: Method) -> Self {
        match method {
            Method::Get => Self::Get,
            Method::Post => Self::Post,
            Method::Delete => Self::Delete,
        }
    }
}

impl From<EndpointMethod> for Method {
    fn from(method: EndpointMethod) -> Self {
        match method {
            EndpointMethod::Get => Self::Get,
            EndpointMethod::Post => Self::Post,
            EndpointMethod::Delete => Self::Delete,
        }
    }
}

/// Whether calling the endpoint needs a token.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Authentication {
    #[default]
    None,
    Token,
}

impl From<Authentication> for EndpointAuthentication {
    fn from(authentication: Authentication) -> Self {
        match authentication {
            Authentication::None => Self::None,
            Authentication::Token => Self::Token,
        }
    }
}

impl From<EndpointAuthentication> for Authentication {
    fn from(authentication: EndpointAuthentication) -> Self {
        match authentication {
            EndpointAuthentication::None => Self::None,
            EndpointAuthentication::Token => Self::Token,
        }
    }
}

/// `POST …/endpoints`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateEndpointBody {
    name: String,
    #[serde(default)]
    description: String,
    /// Absolute, e.g. `/ingest/orders`; unique in the realm.
    path: String,
    /// `token` generates the primary tokens.
    #[serde(default)]
    authentication: Authentication,
    /// Whether the endpoint takes DELETE (and so has a DELETE token).
    #[serde(default)]
    allow_delete: bool,
}

/// `PATCH …/endpoints/{endpoint}`: absent fields are kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateEndpointBody {
    name: Option<String>,
    description: Option<String>,
    path: Option<String>,
    authentication: Option<Authentication>,
    allow_delete: Option<bool>,
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
pub(crate) struct PrimaryTokenView {
    id: String,
    method: Method,
    /// The token's kind prefix and last characters.
    hint: String,
    /// NumericDate (seconds): when it was generated, or last regenerated.
    created_at: i64,
}

impl From<PrimaryToken> for PrimaryTokenView {
    fn from(token: PrimaryToken) -> Self {
        Self {
            id: token.id.into(),
            method: token.method.into(),
            hint: token.hint,
            created_at: token.created_at.unix_seconds(),
        }
    }
}

/// A primary token just generated: `token` is shown this once.
#[derive(Serialize, ToSchema)]
pub(crate) struct GeneratedPrimaryView {
    id: String,
    method: Method,
    token: String,
}

impl From<GeneratedPrimaryToken> for GeneratedPrimaryView {
    fn from(generated: GeneratedPrimaryToken) -> Self {
        Self {
            id: generated.id.into(),
            method: generated.method.into(),
            token: generated.secret.expose().to_owned(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct EndpointView {
    id: String,
    name: String,
    description: String,
    path: String,
    authentication: Authentication,
    allow_delete: bool,
    /// Calls refused with tokens nobody issued (malformed, forged or
    /// retired): counted, not listed.
    refused_calls: i64,
    last_refused_at: Option<i64>,
    created_at: i64,
    updated_at: Option<i64>,
}

impl From<Endpoint> for EndpointView {
    fn from(endpoint: Endpoint) -> Self {
        Self {
            id: endpoint.id.into(),
            name: endpoint.name,
            description: endpoint.description,
            path: endpoint.path,
            authentication: endpoint.authentication.into(),
            allow_delete: endpoint.allow_delete,
            refused_calls: endpoint.refused_calls,
            last_refused_at: endpoint.last_refused_at.map(|at| at.unix_seconds()),
            created_at: endpoint.created_at.unix_seconds(),
            updated_at: endpoint.updated_at.map(|at| at.unix_seconds()),
        }
    }
}

/// An endpoint with its primary tokens (never their secrets).
#[derive(Serialize, ToSchema)]
pub(crate) struct EndpointDetail {
    endpoint: EndpointView,
    primary_tokens: Vec<PrimaryTokenView>,
}

/// An endpoint created or changed, with the primary tokens that generated:
/// their secrets are shown this once.
#[derive(Serialize, ToSchema)]
pub(crate) struct EndpointChange {
    endpoint: EndpointView,
    generated_tokens: Vec<GeneratedPrimaryView>,
}

impl EndpointChange {
    fn new((endpoint, generated): (Endpoint, Vec<GeneratedPrimaryToken>)) -> Self {
        Self {
            endpoint: endpoint.into(),
            generated_tokens: generated.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct EndpointList {
    endpoints: Vec<EndpointView>,
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

#[utoipa::path(
    post,
    path = "/endpoints",
    tag = "endpoints",
    summary = "Create an endpoint",
    description = "Requires `endpoint:CreateEndpoint` on every endpoint. With `authentication: token` the answer carries the GET and POST primary tokens (and DELETE with `allow_delete`), shown this once.",
    params(EndpointsPath),
    request_body = CreateEndpointBody,
    responses(
        (status = 201, description = "Created; `Location` names it", body = EndpointChange),
        (status = 400, description = "Malformed body", body = OAuthError),
        ManagementErrors,
        (status = 409, description = "The realm has an endpoint with this path", body = OAuthError),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Path(EndpointsPath { realm }): Path<EndpointsPath>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateEndpointBody>,
) -> Result<Response, ApiError> {
    let request = EndpointRequest {
        name: body.name,
        description: body.description,
        path: body.path,
        authentication: body.authentication.into(),
        allow_delete: body.allow_delete,
    };
    let change = state
        .services
        .endpoints
        .create_endpoint(&realm, &caller.principal, request)
        .await?;
    let path = format!("/endpoints/{}", change.0.id);
    Ok(created(
        &state,
        (&realm, &path),
        Json(EndpointChange::new(change)),
    ))
}

#[utoipa::path(
    get,
    path = "/endpoints",
    tag = "endpoints",
    summary = "List endpoints",
    description = "Requires `endpoint:ListEndpoints`; lists the endpoints it covers, by path.",
    params(EndpointsPath, PageQuery),
    responses(
        (status = 200, description = "By path", body = EndpointList),
        (status = 400, description = "Malformed query", body = OAuthError),
        ManagementErrors,
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Path(EndpointsPath { realm }): Path<EndpointsPath>,
    caller: Caller,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<EndpointList>, ApiError> {
    let endpoints = state
        .services
        .endpoints
        .list_endpoints(&realm, &caller.principal, query.page())
        .await?;
    Ok(Json(EndpointList {
        endpoints: endpoints.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/endpoints/{endpoint}",
    tag = "endpoints",
    summary = "Read an endpoint and its primary tokens",
    description = "Requires `endpoint:ReadEndpointConfig` on it. Primary tokens are listed by hint; their secrets are never shown again.",
    params(EndpointPath),
    responses(
        (status = 200, description = "The endpoint", body = EndpointDetail),
        ManagementErrors,
    ),
)]
pub(crate) async fn read(
    State(state): State<AppState>,
    Path(EndpointPath { realm, endpoint }): Path<EndpointPath>,
    caller: Caller,
) -> Result<Json<EndpointDetail>, ApiError> {
    let (endpoint, primaries) = state
        .services
        .endpoints
        .endpoint(&realm, &caller.principal, &EndpointId::new(endpoint))
        .await?;
    Ok(Json(EndpointDetail {
        endpoint: endpoint.into(),
        primary_tokens: primaries.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    patch,
    path = "/endpoints/{endpoint}",
    tag = "endpoints",
    summary = "Change an endpoint",
    description = "Requires `endpoint:UpdateEndpoint` on it. Turning token authentication on, or allowing deletion, generates the missing primary tokens (shown this once); turning either off removes the primary tokens concerned, and what was assigned to them, at once.",
    params(EndpointPath),
    request_body = UpdateEndpointBody,
    responses(
        (status = 200, description = "The endpoint as it is now", body = EndpointChange),
        (status = 400, description = "Malformed body", body = OAuthError),
        ManagementErrors,
        (status = 409, description = "The realm has an endpoint with this path", body = OAuthError),
    ),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(EndpointPath { realm, endpoint }): Path<EndpointPath>,
    caller: Caller,
    JsonBody(body): JsonBody<UpdateEndpointBody>,
) -> Result<Json<EndpointChange>, ApiError> {
    let changes = EndpointChanges {
        name: body.name,
        description: body.description,
        path: body.path,
        authentication: body.authentication.map(Into::into),
        allow_delete: body.allow_delete,
    };
    let change = state
        .services
        .endpoints
        .update_endpoint(
            &realm,
            &caller.principal,
            &EndpointId::new(endpoint),
            changes,
        )
        .await?;
    Ok(Json(EndpointChange::new(change)))
}

#[utoipa::path(
    delete,
    path = "/endpoints/{endpoint}",
    tag = "endpoints",
    summary = "Delete an endpoint",
    description = "Requires `endpoint:DeleteEndpoint` on it. Its primary tokens and assignments go at once; its calls stay in the usage trail.",
    params(EndpointPath),
    responses(
        (status = 204, description = "Deleted"),
        ManagementErrors,
    ),
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(EndpointPath { realm, endpoint }): Path<EndpointPath>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .endpoints
        .delete_endpoint(&realm, &caller.principal, &EndpointId::new(endpoint))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/endpoints/{endpoint}/primary-tokens/{method}",
    tag = "endpoints",
    summary = "Regenerate a primary token",
    description = "Requires `endpoint:UpdateEndpoint` on it. The old secret stops working at once (and goes on the revocation feed); the new one is shown this once.",
    params(PrimaryPath),
    responses(
        (status = 200, description = "The new primary token", body = GeneratedPrimaryView),
        (status = 400, description = "Unknown method", body = OAuthError),
        ManagementErrors,
        (status = 409, description = "The endpoint has no primary token for this method", body = OAuthError),
    ),
)]
pub(crate) async fn regenerate(
    State(state): State<AppState>,
    Path(PrimaryPath {
        realm,
        endpoint,
        method,
    }): Path<PrimaryPath>,
    caller: Caller,
) -> Result<Json<GeneratedPrimaryView>, ApiError> {
    let method = parse_method(&method)?;
    let generated = state
        .services
        .endpoints
        .regenerate_primary_token(
            &realm,
            &caller.principal,
            &EndpointId::new(endpoint),
            method,
        )
        .await?;
    Ok(Json(generated.into()))
}

/// A recoverable endpoint token's secret, revealed.
#[derive(Serialize, ToSchema)]
pub(crate) struct RevealedSecret {
    pub(crate) token: String,
}

#[utoipa::path(
    get,
    path = "/endpoints/{endpoint}/primary-tokens/{method}/secret",
    tag = "endpoints",
    summary = "Reveal a primary token",
    description = "Requires `endpoint:RevealEndpointTokens` on the endpoint, and the realm setting `recoverable_endpoint_tokens`: without it, 404 (only digests are stored). Every reveal is recorded with who asked.",
    params(PrimaryPath),
    responses(
        (status = 200, description = "The secret", body = RevealedSecret),
        (status = 400, description = "Unknown method", body = OAuthError),
        ManagementErrors,
    ),
)]
pub(crate) async fn reveal_primary(
    State(state): State<AppState>,
    Path(PrimaryPath {
        realm,
        endpoint,
        method,
    }): Path<PrimaryPath>,
    caller: Caller,
) -> Result<Json<RevealedSecret>, ApiError> {
    let method = parse_method(&method)?;
    let secret = state
        .services
        .endpoints
        .reveal_primary_token(
            (&realm, &caller.principal, Some(&caller.address)),
            &EndpointId::new(endpoint),
            method,
        )
        .await?;
    Ok(Json(RevealedSecret {
        token: secret.expose().to_owned(),
    }))
}

fn parse_method(method: &str) -> Result<EndpointMethod, ApiError> {
    EndpointMethod::parse(method)
        .ok_or_else(|| ApiError::BadRequest("method must be GET, POST or DELETE".to_owned()))
}

#[utoipa::path(
    get,
    path = "/endpoints/{endpoint}/tokens",
    tag = "endpoints",
    summary = "The endpoint's view of the secondary tokens",
    description = "Requires `endpoint:ReadEndpointConfig` on it. Every secondary token of the realm, with whether (and for which methods) it is assigned to this endpoint; `assigned=true` hides the others.",
    params(EndpointPath, ViewQuery),
    responses(
        (status = 200, description = "By name", body = AssignedTokenList),
        (status = 400, description = "Malformed query", body = OAuthError),
        ManagementErrors,
    ),
)]
pub(crate) async fn token_view(
    State(state): State<AppState>,
    Path(EndpointPath { realm, endpoint }): Path<EndpointPath>,
    caller: Caller,
    QueryParams(query): QueryParams<ViewQuery>,
) -> Result<Json<AssignedTokenList>, ApiError> {
    let view = state
        .services
        .endpoints
        .endpoint_token_view(
            &realm,
            &caller.principal,
            &EndpointId::new(endpoint),
            query.assigned,
        )
        .await?;
    Ok(Json(AssignedTokenList {
        tokens: view.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    put,
    path = "/endpoints/{endpoint}/tokens/{token}",
    tag = "endpoints",
    summary = "Assign a secondary token to some of the endpoint's methods",
    description = "Requires `endpoint:ManageEndpointTokens` on it. Replaces the token's methods on this endpoint; an empty list unassigns it.",
    params(AssignmentPath),
    request_body = AssignmentBody,
    responses(
        (status = 204, description = "Assigned"),
        (status = 400, description = "Malformed body", body = OAuthError),
        ManagementErrors,
        (status = 409, description = "The endpoint has no primary token for a method", body = OAuthError),
    ),
)]
pub(crate) async fn assign(
    State(state): State<AppState>,
    Path(path): Path<AssignmentPath>,
    caller: Caller,
    JsonBody(body): JsonBody<AssignmentBody>,
) -> Result<StatusCode, ApiError> {
    let methods = body.methods.into_iter().map(Into::into).collect();
    assignment(&state, path, &caller, methods).await
}

#[utoipa::path(
    delete,
    path = "/endpoints/{endpoint}/tokens/{token}",
    tag = "endpoints",
    summary = "Unassign a secondary token from the endpoint",
    description = "Requires `endpoint:ManageEndpointTokens` on it. That one application's calls stop at once; the others are untouched.",
    params(AssignmentPath),
    responses(
        (status = 204, description = "Unassigned"),
        ManagementErrors,
    ),
)]
pub(crate) async fn unassign(
    State(state): State<AppState>,
    Path(path): Path<AssignmentPath>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    assignment(&state, path, &caller, Vec::new()).await
}

async fn assignment(
    state: &AppState,
    AssignmentPath {
        realm,
        endpoint,
        token,
    }: AssignmentPath,
    caller: &Caller,
    methods: Vec<EndpointMethod>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .endpoints
        .assign_endpoint_token(
            &realm,
            &caller.principal,
            (&EndpointId::new(endpoint), &EndpointTokenId::new(token)),
            methods,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/endpoints/{endpoint}/calls",
    tag = "endpoints",
    summary = "The endpoint's calls",
    description = "Requires `endpoint:ReadEndpointCalls` on it. Every checked call made with a known token, accepted or refused, newest first; `token` filters by one token.",
    params(EndpointPath, CallQuery),
    responses(
        (status = 200, description = "A page, newest first", body = CallPage),
        (status = 400, description = "Malformed query", body = OAuthError),
        ManagementErrors,
    ),
)]
pub(crate) async fn calls(
    State(state): State<AppState>,
    Path(EndpointPath { realm, endpoint }): Path<EndpointPath>,
    caller: Caller,
    QueryParams(query): QueryParams<CallQuery>,
) -> Result<Json<CallPage>, ApiError> {
    let max = query
        .max
        .unwrap_or(DEFAULT_CALL_PAGE)
        .clamp(1, MAX_ENDPOINT_PAGE);
    let calls = state
        .services
        .endpoints
        .endpoint_calls(
            &realm,
            &caller.principal,
            &EndpointId::new(endpoint),
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

#[utoipa::path(
    get,
    path = "/endpoints/{endpoint}/callers",
    tag = "endpoints",
    summary = "Which applications call the endpoint",
    description = "Requires `endpoint:ReadEndpointCalls` on it. Per token: calls, refused calls, and the latest, the latest caller first.",
    params(EndpointPath),
    responses(
        (status = 200, description = "Per token", body = CallerList),
        ManagementErrors,
    ),
)]
pub(crate) async fn callers(
    State(state): State<AppState>,
    Path(EndpointPath { realm, endpoint }): Path<EndpointPath>,
    caller: Caller,
) -> Result<Json<CallerList>, ApiError> {
    let callers = state
        .services
        .endpoints
        .endpoint_callers(&realm, &caller.principal, &EndpointId::new(endpoint))
        .await?;
    Ok(Json(CallerList {
        callers: callers.into_iter().map(Into::into).collect(),
    }))
}
