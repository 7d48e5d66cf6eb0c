//! The realm's OpenID Connect endpoints, Keycloak-compatible on the wire.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tessera_proto::{ProviderMetadata, RealmRepresentation};
use tessera_token::{ClientCredentials, GrantType, TokenError, TokenRequest};

use super::error::{token_error_body, ApiError};
use super::form::{bearer_token, client_credentials, OAuthForm};
use super::metrics::Outcome;
use super::AppState;

/// JWKS and discovery may be cached briefly; verifiers refetch on an unknown `kid`.
const PUBLIC_CACHE: &str = "public, max-age=60";

pub async fn token(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: OAuthForm,
) -> Response {
    let grant = form.get("grant_type").and_then(GrantType::parse);
    let address = peer.ip().to_string();
    let result = issue_token(&state, &realm, (&headers, &form, &address), grant).await;
    let (mut response, outcome) = match result {
        Ok(body) => (Json(body).into_response(), "success"),
        Err(error) => {
            let code = token_error_body(&error).1.error.as_str();
            (ApiError::from(error).into_response(), code)
        }
    };
    response.extensions_mut().insert(Outcome {
        grant: grant.map_or("other", GrantType::as_str),
        result: outcome,
    });
    response
}

async fn issue_token(
    state: &AppState,
    realm: &str,
    (headers, form, address): (&HeaderMap, &OAuthForm, &str),
    grant: Option<GrantType>,
) -> Result<tessera_proto::TokenResponse, TokenError> {
    let service = &state.services;
    service.realm(realm)?;
    let Some(grant) = grant else {
        return Err(match form.get("grant_type") {
            None => TokenError::missing_parameter("grant_type"),
            Some(_) => TokenError::UnsupportedGrantType,
        });
    };
    let credentials = client_credentials(headers, form)?;
    let scope = form.get("scope");
    let request = match grant {
        GrantType::Password => TokenRequest::Password {
            username: form.get("username"),
            password: form.secret("password"),
            scope,
        },
        GrantType::RefreshToken => TokenRequest::RefreshToken {
            refresh_token: form.get("refresh_token"),
            scope,
            address: Some(address),
        },
        GrantType::ClientCredentials => TokenRequest::ClientCredentials { scope },
        GrantType::AuthorizationCode => TokenRequest::AuthorizationCode {
            code: form.get("code"),
            redirect_uri: form.get("redirect_uri"),
            code_verifier: form.get("code_verifier"),
        },
        GrantType::DeviceCode => TokenRequest::DeviceCode {
            device_code: form.get("device_code"),
        },
    };
    service.oauth.token(realm, &credentials, request).await
}

/// A form posted by a client to an endpoint of an existing realm, with the
/// client's credentials (RFC 6749 §2.3.1) read from HTTP Basic or the form.
/// Refused in this order: a bad form (400), an unknown realm (404), bad
/// credentials.
pub struct ClientForm {
    pub(crate) realm: String,
    pub(crate) credentials: ClientCredentials,
    pub(crate) form: OAuthForm,
}

impl FromRequest<AppState> for ClientForm {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let Path(realm) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        let headers = parts.headers.clone();
        let form = OAuthForm::from_request(Request::from_parts(parts, body), state).await?;
        Self::from_form(state, realm, &headers, form)
    }
}

impl ClientForm {
    /// The form of a request already read, checked in the same order.
    pub(crate) fn from_form(
        state: &AppState,
        realm: String,
        headers: &HeaderMap,
        form: OAuthForm,
    ) -> Result<Self, ApiError> {
        state.services.realm(&realm)?;
        let credentials = client_credentials(headers, &form)?;
        Ok(Self {
            realm,
            credentials,
            form,
        })
    }
}

/// RFC 7662 introspection.
pub async fn introspect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    client: ClientForm,
) -> Result<Response, ApiError> {
    let address = peer.ip().to_string();
    let answer = state
        .services
        .oauth
        .introspect(
            &client.realm,
            &client.credentials,
            client.form.get("token"),
            Some(&address),
        )
        .await?;
    Ok(Json(answer).into_response())
}

/// RFC 7009 revocation.
pub async fn revoke(
    State(state): State<AppState>,
    client: ClientForm,
) -> Result<StatusCode, ApiError> {
    let token = client.form.get("token");
    let oauth = &state.services.oauth;
    oauth
        .revoke(&client.realm, &client.credentials, token)
        .await?;
    Ok(StatusCode::OK)
}

/// Keycloak's logout: ends the session of a refresh token.
pub async fn logout(
    State(state): State<AppState>,
    client: ClientForm,
) -> Result<StatusCode, ApiError> {
    let token = client.form.get("refresh_token");
    let oauth = &state.services.oauth;
    oauth
        .logout(&client.realm, &client.credentials, token)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn userinfo_get(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    userinfo(&state, &realm, bearer_token(&headers, None)).await
}

pub async fn userinfo_post(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // RFC 6750 §2.2: the token may come in a form body instead of the header.
    let form = if OAuthForm::is_form(&headers) {
        Some(OAuthForm::parse(&body)?)
    } else {
        None
    };
    userinfo(&state, &realm, bearer_token(&headers, form.as_ref())).await
}

async fn userinfo(
    state: &AppState,
    realm: &str,
    bearer: Option<&str>,
) -> Result<Response, ApiError> {
    state.services.realm(realm)?;
    let bearer = bearer.ok_or(ApiError::Bearer(None))?;
    let info = state
        .services
        .oauth
        .userinfo(realm, bearer)
        .await
        .map_err(|error| ApiError::Bearer(Some(error)))?;
    Ok(Json(info).into_response())
}

/// The revocation feed (docs/verifying-tokens.md): sessions and access tokens
/// revoked since a cursor, for resource servers that verify JWTs locally. The
/// client authenticates with HTTP Basic, the only method a GET can carry.
pub async fn revocations(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    state.services.realm(&realm)?;
    let query = OAuthForm::parse(query.unwrap_or_default().as_bytes())?;
    let credentials = client_credentials(&headers, &OAuthForm::default())?;
    let feed = state
        .services
        .oauth
        .revocation_feed(&realm, &credentials, query.get("since"), query.get("limit"))
        .await?;
    Ok(Json(feed).into_response())
}

pub async fn certs(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> Result<Response, ApiError> {
    let jwks = state.services.keys.jwks(&realm)?;
    Ok(([(header::CACHE_CONTROL, PUBLIC_CACHE)], Json(jwks)).into_response())
}

/// Keycloak's realm representation, read by older adapters for `public_key`.
pub async fn realm_info(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> Result<Json<RealmRepresentation>, ApiError> {
    let public_key = STANDARD.encode(state.services.keys.active_public_key(&realm)?);
    let issuer = format!("{}/realms/{realm}", state.public_url);
    Ok(Json(RealmRepresentation {
        realm,
        public_key,
        token_service: format!("{issuer}/protocol/openid-connect"),
        account_service: format!("{issuer}/account"),
        tokens_not_before: 0,
    }))
}

/// OpenID Connect Discovery 1.0 §3 and RFC 8414 §2 metadata (one document serves both).
pub async fn discovery(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> Result<Response, ApiError> {
    let realm_state = state.services.realm(&realm)?;
    let config = &realm_state.config;
    let issuer = &config.issuer;
    let endpoint = |path: &str| format!("{issuer}/protocol/openid-connect/{path}");
    let mut scopes: Vec<String> = config
        .clients
        .values()
        .flat_map(|client| client.allowed_scopes.iter().cloned())
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    let names = |list: &[&str]| list.iter().map(|name| (*name).to_owned()).collect();
    let auth_methods: Vec<String> = names(&["client_secret_basic", "client_secret_post"]);
    let document = ProviderMetadata {
        issuer: issuer.clone(),
        authorization_endpoint: endpoint("auth"),
        token_endpoint: endpoint("token"),
        device_authorization_endpoint: endpoint("auth/device"),
        jwks_uri: endpoint("certs"),
        userinfo_endpoint: endpoint("userinfo"),
        introspection_endpoint: endpoint("token/introspect"),
        revocation_endpoint: endpoint("revoke"),
        end_session_endpoint: endpoint("logout"),
        revocation_feed_endpoint: endpoint("revocations"),
        grant_types_supported: GrantType::ALL
            .iter()
            .map(|grant| grant.as_str().to_owned())
            .collect(),
        response_types_supported: names(&["code"]),
        response_modes_supported: names(&["query"]),
        code_challenge_methods_supported: names(&["S256"]),
        authorization_response_iss_parameter_supported: true,
        subject_types_supported: names(&["public"]),
        id_token_signing_alg_values_supported: names(&[config.algorithm.as_str()]),
        userinfo_signing_alg_values_supported: names(&["none"]),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        introspection_endpoint_auth_methods_supported: auth_methods.clone(),
        revocation_endpoint_auth_methods_supported: auth_methods,
        scopes_supported: scopes,
        claims_supported: names(&[
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "jti",
            "azp",
            "sid",
            "client_id",
            "scope",
            "preferred_username",
            "email",
            "realm_access",
        ]),
    };
    Ok(([(header::CACHE_CONTROL, PUBLIC_CACHE)], Json(document)).into_response())
}
