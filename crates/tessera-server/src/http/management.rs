//! The management API, under Keycloak's admin path `/admin/realms/{realm}/`.
//! JSON, bearer tokens only: a user's access token from a client the realm
//! marks `management = true`, or a token profile's token. Every route states
//! the permission it needs; the decisions are the token service's
//! ([`tessera_token::Principal`]). 401 without a valid token, 403 when the
//! caller lacks the permission, 404 for what it may not even see.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts, RawPathParams},
    http::request::Parts,
};
use tessera_token::{Principal, TokenError};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{error::ApiError, form::bearer_token, token_profiles, users, AppState};

/// The management API's routes, relative to `/admin/realms/{realm}`, with
/// their OpenAPI descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::count))
        .routes(routes!(users::read, users::update, users::delete))
        .routes(routes!(users::reset_password))
        .routes(routes!(
            users::role_mappings,
            users::add_role_mappings,
            users::remove_role_mappings
        ))
        .routes(routes!(users::roles))
        .routes(routes!(users::role))
        .routes(routes!(
            token_profiles::list,
            token_profiles::create,
            token_profiles::delete_many
        ))
        .routes(routes!(
            token_profiles::read,
            token_profiles::update,
            token_profiles::delete_one
        ))
}

/// The caller of a management route, authenticated by its bearer token, and
/// the address it called from (for the audit trail).
pub(crate) struct Caller {
    pub principal: Principal,
    pub address: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        let realm = params
            .iter()
            .find(|(name, _)| *name == "realm")
            .map(|(_, realm)| realm.to_owned())
            .ok_or(ApiError::NotFound)?;
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip().to_string())
            .unwrap_or_default();
        state.services.realm(&realm)?;
        let bearer = bearer_token(&parts.headers, None).ok_or(ApiError::Bearer(None))?;
        let principal = state
            .services
            .token_profiles
            .principal(&realm, bearer, Some(&address))
            .await
            .map_err(|error| match error {
                TokenError::InvalidToken => ApiError::Bearer(Some(error)),
                other => ApiError::Token(other),
            })?;
        Ok(Self { principal, address })
    }
}
