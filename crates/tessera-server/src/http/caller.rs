//! Who calls a management route and on what: a user's access token from a
//! client the realm marks `management = true`, or a token profile's token, as
//! the token service decides; and the realm and resource the route's path
//! names. One extractor, so a handler's arguments are its call and its body.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tessera_token::{Principal, Services, TokenError};
use utoipa::IntoParams;

use super::error::ApiError;
use super::form::bearer_token;
use super::AppState;

/// `/admin/realms/{realm}`: the part of every management path that names the
/// realm. Resource paths (`CompanyPath`, …) hold only what follows it.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct RealmPath {
    /// The realm.
    realm: String,
}

/// The caller of a management route, authenticated by its bearer token; the
/// address it called from (for the audit trail); the realm and the rest of
/// the path `P` the route names.
pub(crate) struct Caller<P = ()> {
    pub realm: String,
    pub path: P,
    pub principal: Principal,
    pub address: String,
    state: AppState,
}

impl<P> Caller<P> {
    pub(crate) fn services(&self) -> &Services {
        &self.state.services
    }

    /// 201 Created, with `Location` naming the new resource at `path` under
    /// the realm's management API, `/admin/realms/{realm}`, and `body` if any.
    pub(crate) fn created(&self, path: &str, body: impl IntoResponse) -> Response {
        let location = format!(
            "{}/admin/realms/{}{path}",
            self.state.public_url, self.realm
        );
        let mut response = (StatusCode::CREATED, body).into_response();
        if let Ok(location) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

impl<P: DeserializeOwned + Send> FromRequestParts<AppState> for Caller<P> {
    /// A path that does not parse answers as axum's `Path` does; the rest as
    /// [`ApiError`] says.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path(path) = Path::<P>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(RealmPath { realm }) = Path::<RealmPath>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound.into_response())?;
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip().to_string())
            .unwrap_or_default();
        let principal = authenticate(state, &realm, &parts.headers, &address)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            realm,
            path,
            principal,
            address,
            state: state.clone(),
        })
    }
}

async fn authenticate(
    state: &AppState,
    realm: &str,
    headers: &HeaderMap,
    address: &str,
) -> Result<Principal, ApiError> {
    state.services.realm(realm)?;
    let bearer = bearer_token(headers, None).ok_or(ApiError::Bearer(None))?;
    state
        .services
        .token_profiles
        .principal(realm, bearer, Some(address))
        .await
        .map_err(|error| match error {
            TokenError::InvalidToken => ApiError::Bearer(Some(error)),
            other => ApiError::Token(other),
        })
}
