//! Who calls a management or account route, and on what. A management caller
//! holds a user's access token from a client the realm marks
//! `management = true`, or a token profile's token, as the token service
//! decides; an account caller, a user's access token. One extractor reads
//! both, with the realm and the resource the route's path names, so a
//! handler's arguments are its caller and its body.

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tessera_proto::SecretString;
use tessera_token::{Actor, Principal, Services, TokenError};
use utoipa::IntoParams;

use super::error::ApiError;
use super::form::bearer_token;
use super::AppState;

/// `{realm}`, the part of every management and account path that names the
/// realm. Resource paths (`CompanyPath`, …) hold only what follows it.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct RealmPath {
    /// The realm.
    realm: String,
}

/// A call: who makes it (`W`), by its bearer token; the address it came from
/// (for the audit trail); the realm and the rest of the path `P` the route
/// names.
pub(crate) struct Call<P, W> {
    pub realm: String,
    pub path: P,
    pub principal: W,
    pub address: String,
    state: AppState,
}

/// The caller of a management route, authenticated before the handler runs.
pub(crate) type Caller<P = ()> = Call<P, Principal>;

/// The signed-in user calling the account API. Their access token is checked
/// by the token service at each call.
pub(crate) type AccountCaller<P = ()> = Call<P, AccountBearer>;

/// An account caller's access token, not yet checked.
pub(crate) struct AccountBearer(SecretString);

impl AccountBearer {
    pub(crate) fn actor(&self) -> Actor<'_> {
        Actor::User {
            bearer: self.0.expose(),
        }
    }
}

/// Who the bearer token a request carries makes the caller, as one kind of
/// route needs to know.
pub(crate) trait BearerIdentity: Sized {
    /// `call` is the realm and the caller's address.
    fn identify(
        state: &AppState,
        call: (&str, &str),
        bearer: &str,
    ) -> impl Future<Output = Result<Self, ApiError>> + Send;
}

impl BearerIdentity for Principal {
    async fn identify(
        state: &AppState,
        (realm, address): (&str, &str),
        bearer: &str,
    ) -> Result<Self, ApiError> {
        state
            .services
            .token_profiles
            .principal(realm, bearer, Some(address))
            .await
            .map_err(for_bearer)
    }
}

impl BearerIdentity for AccountBearer {
    async fn identify(_: &AppState, _: (&str, &str), bearer: &str) -> Result<Self, ApiError> {
        Ok(Self(SecretString::new(bearer)))
    }
}

impl<P, W> Call<P, W> {
    pub(crate) fn services(&self) -> &Services {
        &self.state.services
    }
}

impl<P> Caller<P> {
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

impl<P, W> FromRequestParts<AppState> for Call<P, W>
where
    P: DeserializeOwned + Send,
    W: BearerIdentity,
{
    /// A path that does not parse answers as axum's `Path` does; an unknown
    /// realm is a 404 before the token is looked at; the rest as [`ApiError`]
    /// says.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path(path) = Path::<P>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (realm, address) = realm_and_address(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let bearer = bearer_token(&parts.headers, None)
            .ok_or(ApiError::Bearer(None))
            .map_err(IntoResponse::into_response)?;
        let principal = W::identify(state, (&realm, &address), bearer)
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

/// The realm the path names, once it is known to exist, and the address the
/// call came from.
async fn realm_and_address(
    parts: &mut Parts,
    state: &AppState,
) -> Result<(String, String), ApiError> {
    let Path(RealmPath { realm }) = Path::<RealmPath>::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::NotFound)?;
    state.services.realm(&realm)?;
    let address = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip().to_string())
        .unwrap_or_default();
    Ok((realm, address))
}

/// Maps an invalid bearer token to RFC 6750's 401; other errors keep their own.
pub(crate) fn for_bearer(error: TokenError) -> ApiError {
    match error {
        TokenError::InvalidToken => ApiError::Bearer(Some(error)),
        other => ApiError::Token(other),
    }
}
