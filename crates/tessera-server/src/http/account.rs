//! The account API: a signed-in user manages their personal access tokens.
//! Requests carry the user's access token as a bearer token; bodies are JSON.

use std::time::Duration;

use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_proto::{OAuthError, SecretString};
use tessera_token::{
    AuditActor, CreatedSecret, EventPage, PersonalToken, PersonalTokenId, PersonalTokenKind,
    PersonalTokenRequest, Timestamp, TokenSelection, Tracked,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::{for_bearer, AccountCaller, RealmPath};
use super::error::ApiError;
use super::form::{JsonBody, OAuthForm};
use super::refusals::AccountErrors;
use super::token_usage::UsageView;
use super::AppState;

/// The account API's routes, relative to `/realms/{realm}`, with their
/// OpenAPI descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token, delete_all_tokens))
        .routes(routes!(delete_token))
        .routes(routes!(token_events))
}

/// `POST /account/tokens`. Unknown fields are refused, so a typo is an error
/// rather than a silently ignored setting.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTokenBody {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[schema(value_type = String)]
    password: SecretString,
    /// Seconds.
    #[serde(default)]
    lifetime: Option<i64>,
    /// NumericDate (seconds since the epoch).
    #[serde(default)]
    expires_at: Option<i64>,
    /// Expose tokens: the resource servers that may accept it, some of the
    /// realm's `expose_audience` (default: all of them).
    #[serde(default)]
    audience: Option<Vec<String>>,
    /// Client tokens: the client the session is for.
    #[serde(default)]
    client_id: Option<String>,
    /// Client tokens: an offline session.
    #[serde(default)]
    offline: bool,
}

/// `GET …/account/tokens`: the user's tokens.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenList {
    tokens: Vec<TokenView>,
}

/// A token as listed: never its secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenView {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    description: Option<String>,
    /// Expose tokens: the resource servers that may accept it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    audience: Vec<String>,
    client_id: Option<String>,
    offline: bool,
    scope: String,
    /// NumericDates (seconds).
    created_at: i64,
    expires_at: Option<i64>,
    #[serde(flatten)]
    usage: UsageView,
    hint: String,
}

impl From<Tracked<PersonalToken>> for TokenView {
    fn from(Tracked { token, usage }: Tracked<PersonalToken>) -> Self {
        Self {
            id: token.id.into(),
            kind: token.kind.as_str(),
            name: token.name,
            description: token.description,
            audience: token.audience,
            client_id: token.client_id,
            offline: token.offline,
            scope: token.scope,
            created_at: token.created_at.unix_seconds(),
            expires_at: token.expires_at.map(Timestamp::unix_seconds),
            usage: usage.into(),
            hint: token.hint,
        }
    }
}

/// `…/account/tokens/{id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct TokenIdPath {
    /// The token's id.
    id: String,
}

/// Create a personal token
///
/// An expose token (opaque, checked by introspection) or a client token (a session of a client that accepts them). Takes the user's current password. Answers the secret, this once.
#[utoipa::path(
    post,
    path = "/account/tokens",
    params(RealmPath),
    request_body = CreateTokenBody,
    responses(
        (status = 201, description = "Created", body = CreatedTokenView),
        (status = 400, description = "Malformed body or settings", body = OAuthError),
        AccountErrors,
        (status = 409, description = "The user holds the most tokens allowed", body = OAuthError),
    ),
)]
pub async fn create_token(
    caller: AccountCaller,
    // Read after the realm and the bearer's presence are checked: a caller
    // without a token learns nothing about the body it sent.
    JsonBody(body): JsonBody<CreateTokenBody>,
) -> Result<Response, ApiError> {
    let kind = PersonalTokenKind::parse(&body.kind).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "type must be \"expose\" or \"client\", not {:?}",
            body.kind
        ))
    })?;
    let request = PersonalTokenRequest {
        kind,
        name: body.name,
        description: body.description,
        password: Some(body.password),
        // A negative lifetime is refused as too short, like a zero one.
        lifetime: body
            .lifetime
            .map(|seconds| u64::try_from(seconds).map_or(Duration::ZERO, Duration::from_secs)),
        expires_at: body.expires_at.map(Timestamp::from_unix_seconds),
        audience: body.audience,
        client_id: body.client_id,
        offline: body.offline,
    };
    let (token, secret) = caller
        .services()
        .personal_tokens
        .create_personal_token(
            &caller.realm,
            caller.principal.actor(),
            request,
            Some(&caller.address),
        )
        .await
        .map_err(for_bearer)?;
    let secrets = match secret {
        CreatedSecret::Expose(secret) => Secrets::Expose {
            token: secret.expose().to_owned(),
        },
        CreatedSecret::Client(response) => Secrets::Client {
            access_token: response.access_token,
            refresh_token: response.refresh_token,
            token_type: response.token_type,
            expires_in: response.expires_in,
            refresh_expires_in: response.refresh_expires_in,
        },
    };
    let created = CreatedTokenView {
        listed: Tracked::unused(token).into(),
        secrets,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// The creation answer: the listing fields plus the secrets, shown this once.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedTokenView {
    #[serde(flatten)]
    listed: TokenView,
    #[serde(flatten)]
    secrets: Secrets,
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum Secrets {
    /// An expose token: the token itself.
    Expose { token: String },
    /// A client token: what a token response would carry for the session.
    Client {
        access_token: String,
        refresh_token: Option<String>,
        token_type: String,
        expires_in: i64,
        /// 0 for an offline token (Keycloak's convention).
        refresh_expires_in: i64,
    },
}

/// List the user's personal tokens
///
/// Never their secrets.
#[utoipa::path(
    get,
    path = "/account/tokens",
    params(RealmPath),
    responses(
        (status = 200, description = "The tokens, newest first", body = TokenList),
        AccountErrors,
    ),
)]
pub async fn list_tokens(caller: AccountCaller) -> Result<Response, ApiError> {
    let tokens = caller
        .services()
        .personal_tokens
        .list_personal_tokens(&caller.realm, caller.principal.actor())
        .await
        .map_err(for_bearer)?;
    let tokens: Vec<TokenView> = tokens.into_iter().map(TokenView::from).collect();
    Ok(Json(TokenList { tokens }).into_response())
}

/// Delete one personal token
///
/// Its secret is refused from now on; a client token's session ends.
#[utoipa::path(
    delete,
    path = "/account/tokens/{id}",
    params(RealmPath, TokenIdPath),
    responses((status = 204, description = "Deleted"), AccountErrors),
)]
pub async fn delete_token(caller: AccountCaller<TokenIdPath>) -> Result<StatusCode, ApiError> {
    let id = PersonalTokenId::new(&caller.path.id);
    delete(&caller, TokenSelection::One(&id)).await
}

/// Delete every personal token of the user
#[utoipa::path(
    delete,
    path = "/account/tokens",
    params(RealmPath),
    responses((status = 204, description = "Deleted"), AccountErrors),
)]
pub async fn delete_all_tokens(caller: AccountCaller) -> Result<StatusCode, ApiError> {
    delete(&caller, TokenSelection::All).await
}

async fn delete<P>(
    caller: &AccountCaller<P>,
    selection: TokenSelection<'_>,
) -> Result<StatusCode, ApiError> {
    caller
        .services()
        .personal_tokens
        .delete_personal_tokens(
            &caller.realm,
            caller.principal.actor(),
            selection,
            Some(&caller.address),
        )
        .await
        .map_err(for_bearer)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Events per page when the request names no `limit`.
const DEFAULT_EVENT_PAGE: i64 = 50;

/// `GET …/account/tokens/{id}/events`: a page of events, newest first, and
/// the `before` value of the next page when this one was full.
#[derive(Serialize, ToSchema)]
pub(crate) struct EventList {
    events: Vec<EventView>,
    next: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct EventView {
    id: i64,
    event: &'static str,
    actor: Option<&'static str>,
    client_id: Option<String>,
    address: Option<String>,
    outcome: &'static str,
    /// NumericDate (seconds).
    at: i64,
}

/// A page of a token's audit events
///
/// Newest first; pass `next` as `before` for the following page.
#[utoipa::path(
    get,
    path = "/account/tokens/{id}/events",
    params(RealmPath, TokenIdPath,
        ("limit" = Option<i64>, Query, description = "Events per page, 1 to 500 (default 50)"),
        ("before" = Option<i64>, Query, description = "The `next` of the previous page")),
    responses(
        (status = 200, description = "The events", body = EventList),
        (status = 400, description = "Bad limit or before", body = OAuthError),
        AccountErrors,
    ),
)]
pub async fn token_events(
    caller: AccountCaller<TokenIdPath>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = OAuthForm::parse(query.unwrap_or_default().as_bytes())?;
    let number = |name: &str| {
        query
            .get(name)
            .map(|value| {
                value
                    .parse::<i64>()
                    .map_err(|_| ApiError::BadRequest(format!("{name} must be a whole number")))
            })
            .transpose()
    };
    let page = EventPage {
        before: number("before")?,
        limit: number("limit")?.unwrap_or(DEFAULT_EVENT_PAGE),
    };
    let page = caller
        .services()
        .personal_tokens
        .personal_token_events(
            &caller.realm,
            caller.principal.actor(),
            &caller.path.id,
            page,
        )
        .await
        .map_err(for_bearer)?;
    let next = page.next_before.map(|before| before.to_string());
    let events: Vec<EventView> = page
        .events
        .into_iter()
        .map(|event| EventView {
            id: event.id,
            event: event.event.as_str(),
            actor: event.actor.map(AuditActor::as_str),
            client_id: event.client_id,
            address: event.address,
            outcome: event.outcome.as_str(),
            at: event.at.unix_seconds(),
        })
        .collect();
    Ok(Json(EventList { events, next }).into_response())
}
