//! Who calls a management route: a user's access token from a client the realm
//! marks `management = true`, or a token profile's token, as the token service
//! decides.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use tessera_token::{Principal, TokenError};

use super::error::ApiError;
use super::form::bearer_token;
use super::AppState;

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
