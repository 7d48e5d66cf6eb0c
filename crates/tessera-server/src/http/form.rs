//! Request parsing shared by the OAuth endpoints: the form body and client
//! credentials, with every malformation answered as `invalid_request`.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tessera_proto::SecretString;
use tessera_token::{ClientCredentials, TokenError};

use super::error::ApiError;

/// An `application/x-www-form-urlencoded` body (RFC 6749 Appendix B).
///
/// Empty values count as absent, because Keycloak client libraries send `code=`
/// and `redirect_uri=` on every call; a parameter given twice is rejected
/// (RFC 6749 §3.2); so is anything that is not UTF-8.
#[derive(Default)]
pub struct OAuthForm(HashMap<String, String>);

/// Names only: values include passwords, client secrets and tokens.
impl std::fmt::Debug for OAuthForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("OAuthForm")
            .field("parameters", &names)
            .finish_non_exhaustive()
    }
}

impl OAuthForm {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn secret(&self, name: &str) -> Option<SecretString> {
        self.get(name).map(SecretString::new)
    }

    pub fn is_form(headers: &HeaderMap) -> bool {
        has_content_type(headers, "application/x-www-form-urlencoded")
    }

    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let Ok(body) = std::str::from_utf8(body) else {
            return Err(ApiError::BadRequest(
                "Request body is not valid UTF-8".to_owned(),
            ));
        };
        let not_utf8 = || ApiError::BadRequest("Form parameters must be valid UTF-8".to_owned());
        let mut params = HashMap::new();
        for pair in body.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode_form_component(value).ok_or_else(not_utf8)?;
            if value.is_empty() {
                continue;
            }
            let name = decode_form_component(name).ok_or_else(not_utf8)?;
            match params.entry(name) {
                Entry::Occupied(entry) => {
                    return Err(ApiError::BadRequest(format!(
                        "Duplicate parameter: {}",
                        entry.key()
                    )))
                }
                Entry::Vacant(entry) => {
                    entry.insert(value);
                }
            }
        }
        Ok(Self(params))
    }
}

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !Self::is_form(request.headers()) {
            return Err(ApiError::BadRequest(
                "Content-Type must be application/x-www-form-urlencoded".to_owned(),
            ));
        }
        let body = read_body(request, state).await?;
        Self::parse(&body)
    }
}

/// Whether the request's `Content-Type` is `mime`, parameters (`; charset=…`) aside.
pub fn has_content_type(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|found| found.trim().eq_ignore_ascii_case(mime))
}

/// A JSON request body of type `T`: `application/json`, within the body
/// limit, then well formed; every refusal is an RFC-shaped error.
pub(crate) struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_content_type(request.headers(), "application/json") {
            return Err(ApiError::BadRequest(
                "Content-Type must be application/json".to_owned(),
            ));
        }
        let body = read_body(request, state).await?;
        serde_json::from_slice(&body)
            .map(Self)
            .map_err(|error| ApiError::BadRequest(format!("Invalid body: {error}")))
    }
}

/// For a field that may be absent (`None`, with `#[serde(default)]`), `null`
/// (`Some(None)`: cleared) or a value.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// For an `enabled` flag a body may leave out: what it creates starts enabled.
pub(crate) fn enabled_by_default() -> bool {
    true
}

/// A query string of type `T`; one that does not parse is an RFC-shaped 400.
pub(crate) struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(Self)
            .map_err(|error| ApiError::BadRequest(format!("Invalid query: {error}")))
    }
}

/// The whole body, or 413 past the limit.
async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest("Could not read the request body".to_owned())
            }
        })
}

/// Client credentials from HTTP Basic (`client_secret_basic`) or the form
/// (`client_secret_post`), RFC 6749 §2.3.1. Using both at once is refused.
pub fn client_credentials(
    headers: &HeaderMap,
    form: &OAuthForm,
) -> Result<ClientCredentials, TokenError> {
    let basic = basic_credentials(headers)?;
    let form_id = form.get("client_id");
    let form_secret = form.secret("client_secret");
    match basic {
        Some((id, secret)) => {
            if form_secret.is_some() {
                return Err(TokenError::InvalidRequest(
                    "Use only one client authentication method".to_owned(),
                ));
            }
            if form_id.is_some_and(|form_id| form_id != id) {
                return Err(TokenError::InvalidRequest(
                    "client_id does not match the authenticated client".to_owned(),
                ));
            }
            Ok(ClientCredentials {
                client_id: id,
                secret: Some(SecretString::new(secret)),
            })
        }
        None => Ok(ClientCredentials {
            client_id: form_id.ok_or(TokenError::UnknownClient)?.to_owned(),
            secret: form_secret,
        }),
    }
}

pub(crate) fn basic_credentials(
    headers: &HeaderMap,
) -> Result<Option<(String, String)>, TokenError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let invalid = || TokenError::InvalidRequest("Invalid Basic authorization header".to_owned());
    let value = value.to_str().map_err(|_| invalid())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    let decode = |part: &str| decode_form_component(part).ok_or_else(invalid);
    Ok(Some((decode(id)?, decode(secret)?)))
}

/// One name or value of `application/x-www-form-urlencoded` data: `+` is a
/// space, `%XX` a byte, and the bytes must be UTF-8. Unlike a lossy decoder,
/// this refuses bad bytes rather than turning them into U+FFFD, so a genuine
/// U+FFFD in a password still arrives intact.
fn decode_form_component(component: &str) -> Option<String> {
    percent_encoding::percent_decode_str(&component.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(|text| text.into_owned())
}

/// The bearer token of a protected-resource request: the `Authorization` header,
/// or the `access_token` form field (RFC 6750 §2.1 and §2.2).
pub fn bearer_token<'a>(headers: &'a HeaderMap, form: Option<&'a OAuthForm>) -> Option<&'a str> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    from_header.or_else(|| form.and_then(|form| form.get("access_token")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_absent_and_duplicates_rejected() {
        let form = OAuthForm::parse(b"grant_type=password&code=&redirect_uri=&scope=a+b").unwrap();
        assert_eq!(form.get("grant_type"), Some("password"));
        assert_eq!(form.get("code"), None);
        assert_eq!(form.get("scope"), Some("a b"));
        assert!(OAuthForm::parse(b"a=1&a=2").is_err());
        assert!(OAuthForm::parse(b"a=%FF").is_err());
        assert!(OAuthForm::parse(&[b'a', b'=', 0xff]).is_err());
    }

    /// Found by `fuzz_token_form_round_trips`: the lossy decoder's U+FFFD
    /// check refused a password that really contains U+FFFD.
    #[test]
    fn a_percent_encoded_replacement_character_is_a_character_like_any_other() {
        let form = OAuthForm::parse(b"password=%EF%BF%BD&username=%EF%BF%BD").unwrap();
        assert_eq!(form.get("password"), Some("\u{FFFD}"));
        assert_eq!(form.get("username"), Some("\u{FFFD}"));
        assert!(OAuthForm::parse(b"password=%EF%BF").is_err());
    }

    #[test]
    fn debug_output_names_parameters_without_their_values() {
        let form =
            OAuthForm::parse(b"grant_type=password&password=hunter2&client_secret=s3cr3t").unwrap();
        let debug = format!("{form:?}");
        assert!(
            debug.contains("password") && debug.contains("client_secret"),
            "{debug}"
        );
        assert!(
            !debug.contains("hunter2") && !debug.contains("s3cr3t"),
            "{debug}"
        );
    }
}
