//! The authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1)
//! and PKCE (RFC 7636): what makes a request valid, decided before anything
//! is shown or stored.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest::{digest, SHA256};

use crate::service::Core;
use crate::{Client, GrantType, Realm, TokenError};

/// The parameters of an authorization request, as the browser sent them.
#[derive(Debug, Default, Clone, Copy)]
pub struct AuthorizationParams<'a> {
    pub response_type: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
    pub scope: Option<&'a str>,
    pub state: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub code_challenge_method: Option<&'a str>,
    pub prompt: Option<&'a str>,
    pub max_age: Option<&'a str>,
    pub response_mode: Option<&'a str>,
}

/// What the request asks of a signed-in browser (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// Sign in with the form unless the browser is signed in already.
    Default,
    /// Never show a page: answer `login_required` without a signed-in browser.
    None,
    /// Ask for the password even when the browser is signed in.
    Login,
}

/// A valid authorization request of a known client.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    /// The S256 `code_challenge`; required of public clients.
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    /// The sign-in may be at most this old (`max_age`), or the form is shown.
    pub max_age: Option<Duration>,
}

/// Where an answer to the client goes: its registered redirect URI, with the
/// request's `state` (RFC 6749 §4.1.2).
#[derive(Debug, Clone)]
pub struct ClientRedirect {
    pub redirect_uri: String,
    pub state: Option<String>,
}

/// Why an authorization request is refused, and how the refusal is delivered.
#[derive(Debug)]
pub enum AuthorizationRefusal {
    /// RFC 6749 §4.1.2.1: the client or the redirect URI is missing, unknown
    /// or unregistered. The browser is shown the error and never redirected.
    Shown(TokenError),
    /// Every other refusal goes back to the client, at its redirect URI.
    Redirected(ClientRedirect, TokenError),
}

impl From<TokenError> for AuthorizationRefusal {
    fn from(error: TokenError) -> Self {
        Self::Shown(error)
    }
}

/// RFC 7636 §4.1: 43 to 128 characters of the unreserved set.
fn is_pkce_string(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(code_verifier)) == code_challenge`.
pub(crate) fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    if !is_pkce_string(verifier) {
        return false;
    }
    // The challenge is public (it crossed the browser): comparing hashes of
    // the secret verifier leaks nothing about the verifier itself.
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes())) == challenge
}

/// The client and the redirect URI, which must be right before anything can
/// be sent back to the client.
fn client_and_redirect<'r>(
    realm: &'r Realm,
    params: &AuthorizationParams<'_>,
) -> Result<(&'r Client, String), TokenError> {
    let client_id = params
        .client_id
        .ok_or_else(|| TokenError::missing_parameter("client_id"))?;
    let client = realm
        .clients
        .get(client_id)
        .ok_or(TokenError::UnknownClient)?;
    let redirect_uri = params
        .redirect_uri
        .ok_or_else(|| TokenError::missing_parameter("redirect_uri"))?;
    if !client.allows_redirect_uri(redirect_uri) {
        return Err(TokenError::InvalidRedirectUri);
    }
    Ok((client, redirect_uri.to_owned()))
}

impl Core {
    /// Validates an authorization request. A bad client or redirect URI is
    /// [`AuthorizationRefusal::Shown`]; everything after that is redirected.
    pub(crate) fn authorization_request(
        realm: &Realm,
        params: &AuthorizationParams<'_>,
    ) -> Result<AuthorizationRequest, AuthorizationRefusal> {
        let (client, redirect_uri) = client_and_redirect(realm, params)?;
        let redirect = ClientRedirect {
            redirect_uri: redirect_uri.clone(),
            state: params.state.map(str::to_owned),
        };
        Self::checked_request(client, redirect_uri, params)
            .map_err(|error| AuthorizationRefusal::Redirected(redirect, error))
    }

    /// The checks whose failures are redirected to the client, in the order
    /// RFC 6749 §4.1.2.1 lists them.
    fn checked_request(
        client: &Client,
        redirect_uri: String,
        params: &AuthorizationParams<'_>,
    ) -> Result<AuthorizationRequest, TokenError> {
        match params.response_type {
            None => return Err(TokenError::missing_parameter("response_type")),
            Some("code") => {}
            Some(_) => return Err(TokenError::UnsupportedResponseType),
        }
        if params.response_mode.is_some_and(|mode| mode != "query") {
            return Err(TokenError::InvalidRequest(
                "Invalid parameter: response_mode (only query is supported)".to_owned(),
            ));
        }
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(TokenError::UnauthorizedClient(
                "Client is not allowed to initiate browser login with given response_type",
            ));
        }
        let code_challenge = match (params.code_challenge, params.code_challenge_method) {
            (None, None) if client.is_confidential() => None,
            (None, _) => return Err(TokenError::missing_parameter("code_challenge")),
            // RFC 7636 §4.3 defaults to `plain`, which RFC 9700 §2.1.1 rules out.
            (Some(_), None | Some("plain")) => {
                return Err(TokenError::InvalidRequest(
                    "Invalid parameter: code_challenge_method (S256 is required)".to_owned(),
                ))
            }
            (Some(challenge), Some("S256")) if is_pkce_string(challenge) => {
                Some(challenge.to_owned())
            }
            (Some(_), Some("S256")) => {
                return Err(TokenError::InvalidRequest(
                    "Invalid parameter: code_challenge".to_owned(),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(TokenError::InvalidRequest(
                    "Invalid parameter: code_challenge_method".to_owned(),
                ))
            }
        };
        Ok(AuthorizationRequest {
            client_id: client.client_id.clone(),
            redirect_uri,
            state: params.state.map(str::to_owned),
            nonce: params.nonce.map(str::to_owned),
            scopes: Core::resolve_scopes(client, params.scope)?,
            code_challenge,
            prompt: parse_prompt(params.prompt)?,
            max_age: parse_max_age(params.max_age)?,
        })
    }
}

/// `prompt` is a space-separated list; `none` stands alone (OpenID Connect
/// Core §3.1.2.1). `consent` and `select_account` ask for nothing here: there
/// is no consent screen, and a browser holds one account.
fn parse_prompt(prompt: Option<&str>) -> Result<Prompt, TokenError> {
    let values: Vec<&str> = prompt
        .unwrap_or_default()
        .split_ascii_whitespace()
        .collect();
    if values.contains(&"none") {
        return if values.len() == 1 {
            Ok(Prompt::None)
        } else {
            Err(TokenError::InvalidRequest(
                "Invalid parameter: prompt (none stands alone)".to_owned(),
            ))
        };
    }
    for value in &values {
        if !matches!(*value, "login" | "consent" | "select_account") {
            return Err(TokenError::InvalidRequest(format!(
                "Invalid parameter: prompt ({value})"
            )));
        }
    }
    Ok(if values.contains(&"login") {
        Prompt::Login
    } else {
        Prompt::Default
    })
}

fn parse_max_age(max_age: Option<&str>) -> Result<Option<Duration>, TokenError> {
    max_age
        .map(|value| {
            value
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| TokenError::InvalidRequest("Invalid parameter: max_age".to_owned()))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verifier_matches(verifier, challenge));
        assert!(!verifier_matches(&verifier.replace('d', "e"), challenge));
        assert!(!verifier_matches("short", challenge));
    }

    #[test]
    fn prompt_none_stands_alone_and_unknown_values_are_refused() {
        assert_eq!(parse_prompt(None).ok(), Some(Prompt::Default));
        assert_eq!(parse_prompt(Some("none")).ok(), Some(Prompt::None));
        assert_eq!(
            parse_prompt(Some("consent login")).ok(),
            Some(Prompt::Login)
        );
        assert!(parse_prompt(Some("none login")).is_err());
        assert!(parse_prompt(Some("bogus")).is_err());
        assert!(parse_max_age(Some("-1")).is_err());
        assert_eq!(parse_max_age(Some("0")).ok(), Some(Some(Duration::ZERO)));
    }
}
