//! `/admin/realms/{realm}/endpoints`: endpoints of an integration platform
//! and their primary tokens. Which secondary tokens are assigned to them is
//! in `endpoint_assignments.rs`, the usage view of their calls in
//! `endpoint_usage.rs`.

use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_proto::OAuthError;
use tessera_token::{
    Endpoint, EndpointAuthentication, EndpointChanges, EndpointId, EndpointMethod, EndpointRequest,
    GeneratedPrimaryToken, PrimaryToken,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::{Caller, RealmPath};
use super::companies::PageQuery;
use super::error::ApiError;
use super::form::{JsonBody, QueryParams};
use super::refusals::{MalformedBody, MalformedQuery, ManagementErrors};
use super::AppState;

/// This module's routes, relative to `/admin/realms/{realm}`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, delete))
        .routes(routes!(regenerate))
        .routes(routes!(reveal_primary))
}

/// `…/endpoints/{endpoint}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct EndpointPath {
    /// The endpoint's id.
    pub(crate) endpoint: String,
}

/// `…/endpoints/{endpoint}/primary-tokens/{method}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PrimaryPath {
    /// The endpoint's id.
    endpoint: String,
    /// The method whose primary token to regenerate: `GET`, `POST` or
    /// `DELETE`.
    method: String,
}

impl PrimaryPath {
    /// The endpoint and the method; an unknown method is a 400.
    fn ids(&self) -> Result<(EndpointId, EndpointMethod), ApiError> {
        let method = EndpointMethod::parse(&self.method)
            .ok_or_else(|| ApiError::BadRequest("method must be GET, POST or DELETE".to_owned()))?;
        Ok((EndpointId::new(&self.endpoint), method))
    }
}

/// An endpoint method.
// The API writes it `GET`, the CLI `--method get`: one type serves both.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
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

/// Create an endpoint
///
/// Requires `endpoint:CreateEndpoint` on every endpoint. With `authentication: token` the answer carries the GET and POST primary tokens (and DELETE with `allow_delete`), shown this once.
#[utoipa::path(
    post,
    path = "/endpoints",
    params(RealmPath),
    request_body = CreateEndpointBody,
    responses(
        (status = 201, description = "Created; `Location` names it", body = EndpointChange),
        MalformedBody,
        ManagementErrors,
        (status = 409, description = "The realm has an endpoint with this path", body = OAuthError),
    ),
)]
pub(crate) async fn create(
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
    let change = caller
        .services()
        .endpoints
        .create_endpoint(&caller.realm, &caller.principal, request)
        .await?;
    let path = format!("/endpoints/{}", change.0.id);
    Ok(caller.created(&path, Json(EndpointChange::new(change))))
}

/// List endpoints
///
/// Requires `endpoint:ListEndpoints`; lists the endpoints it covers, by path.
#[utoipa::path(
    get,
    path = "/endpoints",
    params(RealmPath, PageQuery),
    responses(
        (status = 200, description = "By path", body = EndpointList),
        MalformedQuery,
        ManagementErrors,
    ),
)]
pub(crate) async fn list(
    caller: Caller,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<EndpointList>, ApiError> {
    let endpoints = caller
        .services()
        .endpoints
        .list_endpoints(&caller.realm, &caller.principal, query.page())
        .await?;
    Ok(Json(EndpointList {
        endpoints: endpoints.into_iter().map(Into::into).collect(),
    }))
}

/// Read an endpoint and its primary tokens
///
/// Requires `endpoint:ReadEndpointConfig` on it. Primary tokens are listed by hint; their secrets are never shown again.
#[utoipa::path(
    get,
    path = "/endpoints/{endpoint}",
    params(RealmPath, EndpointPath),
    responses(
        (status = 200, description = "The endpoint", body = EndpointDetail),
        ManagementErrors,
    ),
)]
pub(crate) async fn read(caller: Caller<EndpointPath>) -> Result<Json<EndpointDetail>, ApiError> {
    let (endpoint, primaries) = caller
        .services()
        .endpoints
        .endpoint(
            &caller.realm,
            &caller.principal,
            &EndpointId::new(&caller.path.endpoint),
        )
        .await?;
    Ok(Json(EndpointDetail {
        endpoint: endpoint.into(),
        primary_tokens: primaries.into_iter().map(Into::into).collect(),
    }))
}

/// Change an endpoint
///
/// Requires `endpoint:UpdateEndpoint` on it. Turning token authentication on, or allowing deletion, generates the missing primary tokens (shown this once); turning either off removes the primary tokens concerned, and what was assigned to them, at once.
#[utoipa::path(
    patch,
    path = "/endpoints/{endpoint}",
    params(RealmPath, EndpointPath),
    request_body = UpdateEndpointBody,
    responses(
        (status = 200, description = "The endpoint as it is now", body = EndpointChange),
        MalformedBody,
        ManagementErrors,
        (status = 409, description = "The realm has an endpoint with this path", body = OAuthError),
    ),
)]
pub(crate) async fn update(
    caller: Caller<EndpointPath>,
    JsonBody(body): JsonBody<UpdateEndpointBody>,
) -> Result<Json<EndpointChange>, ApiError> {
    let changes = EndpointChanges {
        name: body.name,
        description: body.description,
        path: body.path,
        authentication: body.authentication.map(Into::into),
        allow_delete: body.allow_delete,
    };
    let change = caller
        .services()
        .endpoints
        .update_endpoint(
            &caller.realm,
            &caller.principal,
            &EndpointId::new(&caller.path.endpoint),
            changes,
        )
        .await?;
    Ok(Json(EndpointChange::new(change)))
}

/// Delete an endpoint
///
/// Requires `endpoint:DeleteEndpoint` on it. Its primary tokens and assignments go at once; its calls stay in the usage trail.
#[utoipa::path(
    delete,
    path = "/endpoints/{endpoint}",
    params(RealmPath, EndpointPath),
    responses((status = 204, description = "Deleted"), ManagementErrors),
)]
pub(crate) async fn delete(caller: Caller<EndpointPath>) -> Result<StatusCode, ApiError> {
    caller
        .services()
        .endpoints
        .delete_endpoint(
            &caller.realm,
            &caller.principal,
            &EndpointId::new(&caller.path.endpoint),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Regenerate a primary token
///
/// Requires `endpoint:UpdateEndpoint` on it. The old secret stops working at once (and goes on the revocation feed); the new one is shown this once.
#[utoipa::path(
    post,
    path = "/endpoints/{endpoint}/primary-tokens/{method}",
    params(RealmPath, PrimaryPath),
    responses(
        (status = 200, description = "The new primary token", body = GeneratedPrimaryView),
        (status = 400, description = "Unknown method", body = OAuthError),
        ManagementErrors,
        (status = 409, description = "The endpoint has no primary token for this method", body = OAuthError),
    ),
)]
pub(crate) async fn regenerate(
    caller: Caller<PrimaryPath>,
) -> Result<Json<GeneratedPrimaryView>, ApiError> {
    let (endpoint, method) = caller.path.ids()?;
    let generated = caller
        .services()
        .endpoints
        .regenerate_primary_token(&caller.realm, &caller.principal, &endpoint, method)
        .await?;
    Ok(Json(generated.into()))
}

/// A recoverable endpoint token's secret, revealed.
#[derive(Serialize, ToSchema)]
pub(crate) struct RevealedSecret {
    pub(crate) token: String,
}

/// Reveal a primary token
///
/// Requires `endpoint:RevealEndpointTokens` on the endpoint, and the realm setting `recoverable_endpoint_tokens`: without it, 404 (only digests are stored). Every reveal is recorded with who asked.
#[utoipa::path(
    get,
    path = "/endpoints/{endpoint}/primary-tokens/{method}/secret",
    params(RealmPath, PrimaryPath),
    responses(
        (status = 200, description = "The secret", body = RevealedSecret),
        (status = 400, description = "Unknown method", body = OAuthError),
        ManagementErrors,
    ),
)]
pub(crate) async fn reveal_primary(
    caller: Caller<PrimaryPath>,
) -> Result<Json<RevealedSecret>, ApiError> {
    let (endpoint, method) = caller.path.ids()?;
    let secret = caller
        .services()
        .endpoints
        .reveal_primary_token(
            (&caller.realm, &caller.principal, Some(&caller.address)),
            &endpoint,
            method,
        )
        .await?;
    Ok(Json(RevealedSecret {
        token: secret.expose().to_owned(),
    }))
}
