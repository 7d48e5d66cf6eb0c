//! `/admin/realms/{realm}/endpoint-tokens`: secondary endpoint tokens, one
//! per consuming application, and the check a platform makes of each call
//! (`POST /realms/{realm}/endpoints/check`).

use std::net::SocketAddr;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_proto::EndpointCheckResponse;
use tessera_token::{
    CallToCheck, CheckAnswer, EndpointId, EndpointToken, EndpointTokenChanges, EndpointTokenId,
    TokenError,
};
use utoipa::{IntoParams, ToSchema};

use super::caller::{Caller, RealmPath};
use super::companies::PageQuery;
use super::endpoints::RevealedSecret;
use super::error::ApiError;
use super::form::{JsonBody, QueryParams};
use super::oidc::ClientForm;
use super::refusals::{MalformedBody, MalformedQuery, ManagementErrors};
use super::AppState;

/// This module's routes, relative to `/admin/realms/{realm}`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, delete))
        .routes(routes!(reveal))
}

/// `…/endpoint-tokens/{token}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct TokenPath {
    /// The secondary token's id.
    token: String,
}

/// `GET …/endpoint-tokens`: the active list, or the inactive one.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// List the inactive tokens instead of the active ones.
    #[serde(default)]
    inactive: bool,
}

/// `POST …/endpoint-tokens`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTokenBody {
    /// The consuming application's name.
    name: String,
    #[serde(default)]
    description: String,
}

/// `PATCH …/endpoint-tokens/{token}`: absent fields are kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTokenBody {
    name: Option<String>,
    description: Option<String>,
    /// Off: the token stops working but stays in its list.
    enabled: Option<bool>,
    /// Off: the token moves to the inactive list and stops working.
    active: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct EndpointTokenView {
    id: String,
    name: String,
    description: String,
    /// The token's last characters.
    hint: String,
    enabled: bool,
    active: bool,
    created_at: i64,
    updated_at: Option<i64>,
}

impl From<EndpointToken> for EndpointTokenView {
    fn from(token: EndpointToken) -> Self {
        Self {
            id: token.id.into(),
            name: token.name,
            description: token.description,
            hint: token.hint,
            enabled: token.enabled,
            active: token.active,
            created_at: token.created_at.unix_seconds(),
            updated_at: token.updated_at.map(|at| at.unix_seconds()),
        }
    }
}

/// A secondary token just created: `token` (64 alphanumeric characters) is
/// shown this once.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedEndpointToken {
    #[serde(flatten)]
    view: EndpointTokenView,
    token: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct EndpointTokenList {
    tokens: Vec<EndpointTokenView>,
}

/// Create a secondary endpoint token
///
/// Requires `endpoint:ManageEndpointTokens` on every endpoint. The token is shown this once; assign it to endpoints to let it call them.
#[utoipa::path(
    post,
    path = "/endpoint-tokens",
    params(RealmPath),
    request_body = CreateTokenBody,
    responses(
        (status = 201, description = "Created; `Location` names it", body = CreatedEndpointToken),
        MalformedBody,
        ManagementErrors,
    ),
)]
pub(crate) async fn create(
    caller: Caller,
    JsonBody(body): JsonBody<CreateTokenBody>,
) -> Result<Response, ApiError> {
    let (token, secret) = caller
        .services()
        .endpoint_tokens
        .create_endpoint_token(
            &caller.realm,
            &caller.principal,
            (body.name, body.description),
        )
        .await?;
    let path = format!("/endpoint-tokens/{}", token.id);
    Ok(caller.created(
        &path,
        Json(CreatedEndpointToken {
            view: token.into(),
            token: secret.expose().to_owned(),
        }),
    ))
}

/// List secondary endpoint tokens
///
/// Requires `endpoint:ManageEndpointTokens` on every endpoint. The active tokens, or with `inactive=true` the inactive ones, by name.
#[utoipa::path(
    get,
    path = "/endpoint-tokens",
    params(RealmPath, ListQuery, PageQuery),
    responses(
        (status = 200, description = "By name", body = EndpointTokenList),
        MalformedQuery,
        ManagementErrors,
    ),
)]
pub(crate) async fn list(
    caller: Caller,
    QueryParams(list): QueryParams<ListQuery>,
    QueryParams(page): QueryParams<PageQuery>,
) -> Result<Json<EndpointTokenList>, ApiError> {
    let tokens = caller
        .services()
        .endpoint_tokens
        .list_endpoint_tokens(
            &caller.realm,
            &caller.principal,
            !list.inactive,
            page.page(),
        )
        .await?;
    Ok(Json(EndpointTokenList {
        tokens: tokens.into_iter().map(Into::into).collect(),
    }))
}

/// Read a secondary endpoint token
///
/// Requires `endpoint:ManageEndpointTokens` on every endpoint. Never the secret.
#[utoipa::path(
    get,
    path = "/endpoint-tokens/{token}",
    params(RealmPath, TokenPath),
    responses(
        (status = 200, description = "The token", body = EndpointTokenView),
        ManagementErrors,
    ),
)]
pub(crate) async fn read(caller: Caller<TokenPath>) -> Result<Json<EndpointTokenView>, ApiError> {
    let token = caller
        .services()
        .endpoint_tokens
        .endpoint_token(
            &caller.realm,
            &caller.principal,
            &EndpointTokenId::new(&caller.path.token),
        )
        .await?;
    Ok(Json(token.into()))
}

/// Rename, enable, disable, activate or deactivate a secondary token
///
/// Requires `endpoint:ManageEndpointTokens` on every endpoint. A disabled or inactive token stops working at once, and verifiers forget what they cached of it within one poll of the revocation feed.
#[utoipa::path(
    patch,
    path = "/endpoint-tokens/{token}",
    params(RealmPath, TokenPath),
    request_body = UpdateTokenBody,
    responses(
        (status = 200, description = "The token as it is now", body = EndpointTokenView),
        MalformedBody,
        ManagementErrors,
    ),
)]
pub(crate) async fn update(
    caller: Caller<TokenPath>,
    JsonBody(body): JsonBody<UpdateTokenBody>,
) -> Result<Json<EndpointTokenView>, ApiError> {
    let changes = EndpointTokenChanges {
        name: body.name,
        description: body.description,
        enabled: body.enabled,
        active: body.active,
    };
    let token = caller
        .services()
        .endpoint_tokens
        .update_endpoint_token(
            &caller.realm,
            &caller.principal,
            &EndpointTokenId::new(&caller.path.token),
            changes,
        )
        .await?;
    Ok(Json(token.into()))
}

/// Reveal a secondary endpoint token
///
/// Requires `endpoint:RevealEndpointTokens` on every endpoint, and the realm setting `recoverable_endpoint_tokens`: without it, 404 (only digests are stored). Every reveal is recorded with who asked.
#[utoipa::path(
    get,
    path = "/endpoint-tokens/{token}/secret",
    params(RealmPath, TokenPath),
    responses((status = 200, description = "The secret", body = RevealedSecret), ManagementErrors),
)]
pub(crate) async fn reveal(caller: Caller<TokenPath>) -> Result<Json<RevealedSecret>, ApiError> {
    let secret = caller
        .services()
        .endpoint_tokens
        .reveal_endpoint_token(
            (&caller.realm, &caller.principal, Some(&caller.address)),
            &EndpointTokenId::new(&caller.path.token),
        )
        .await?;
    Ok(Json(RevealedSecret {
        token: secret.expose().to_owned(),
    }))
}

/// Delete a secondary endpoint token
///
/// Requires `endpoint:ManageEndpointTokens` on every endpoint. Its assignments go with it.
#[utoipa::path(
    delete,
    path = "/endpoint-tokens/{token}",
    params(RealmPath, TokenPath),
    responses((status = 204, description = "Deleted"), ManagementErrors),
)]
pub(crate) async fn delete(caller: Caller<TokenPath>) -> Result<StatusCode, ApiError> {
    caller
        .services()
        .endpoint_tokens
        .delete_endpoint_token(
            &caller.realm,
            &caller.principal,
            &EndpointTokenId::new(&caller.path.token),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /realms/{realm}/endpoints/check`: may the form's `token` call the
/// endpoint `endpoint` with `method`? For a confidential client (the
/// platform), authenticated like an introspecting client (RFC 7662 §2.1).
pub async fn check(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    client: ClientForm,
) -> Result<Json<EndpointCheckResponse>, ApiError> {
    let required = |name: &str| {
        client
            .form
            .get(name)
            .ok_or_else(|| TokenError::missing_parameter(name))
    };
    let endpoint = EndpointId::new(required("endpoint")?);
    let call = CallToCheck {
        endpoint: &endpoint,
        method: required("method")?,
        token: required("token")?,
    };
    let address = peer.ip().to_string();
    let answer = state
        .services
        .endpoints
        .check_call(&client.realm, &client.credentials, call, Some(&address))
        .await?;
    Ok(Json(match answer {
        CheckAnswer::Allowed(None) => EndpointCheckResponse::allowed(None),
        CheckAnswer::Allowed(Some(caller)) => {
            EndpointCheckResponse::allowed(Some((caller.kind.as_str(), caller.id, caller.name)))
        }
        CheckAnswer::Refused(outcome) => EndpointCheckResponse::refused(outcome.as_str()),
        CheckAnswer::UnknownEndpoint => EndpointCheckResponse::refused("unknown_endpoint"),
    }))
}
