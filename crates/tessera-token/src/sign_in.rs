//! Browser sign-in: the authorization endpoint's decisions, the sign-in form's
//! password check, browser sessions (single sign-on), authorization codes and
//! RP-initiated logout. The server renders the pages; every rule is here.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use tessera_proto::{IdTokenClaims, OpaqueTokenKind, ParsedOpaqueToken, SecretString};
use tessera_store::{
    BrowserSession, BrowserSessionId, NewAuthorizationCode, NewBrowserSession, SessionId,
    Timestamp, User,
};

use crate::authorization::{
    AuthorizationParams, AuthorizationRefusal, AuthorizationRequest, Prompt,
};
use crate::revocation::session_relevant_until;
use crate::service::{Core, SignInService};
use crate::{new_opaque_token, new_uuid, ClientRedirect, Realm, TokenError};

/// RFC 6749 §4.1.2 recommends at most ten minutes; Keycloak gives a minute.
pub const AUTHORIZATION_CODE_LIFETIME: Duration = Duration::from_secs(60);
/// A browser session's last use is recorded at most this often.
const SESSION_TOUCH_INTERVAL: Duration = Duration::from_secs(60);
/// How long a hosted page's form may be posted after it was rendered.
const FORM_LIFETIME: Duration = Duration::from_secs(3600);

/// A browser whose cookie names a live session of an active user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: BrowserSession,
    pub user: User,
}

/// What the authorization endpoint does with a valid request.
#[derive(Debug)]
pub enum AuthorizationStep {
    /// Send the browser back to the client with a code.
    Issued(AuthorizationResponse),
    /// Show the sign-in form.
    SignIn,
}

/// RFC 6749 §4.1.2, with RFC 9207's `iss`.
#[derive(Debug, Clone)]
pub struct AuthorizationResponse {
    pub redirect: ClientRedirect,
    pub code: String,
    pub issuer: String,
}

/// A successful sign-in with the form, and the browser session's new
/// secret, for the browser's cookie.
#[derive(Debug)]
pub struct SignInOutcome {
    pub signed_in: SignedIn,
    pub cookie: SecretString,
}

/// An RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0 §2).
#[derive(Debug, Default, Clone, Copy)]
pub struct LogoutParams<'a> {
    pub id_token_hint: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
}

/// A checked logout request: where the browser goes afterwards, and the
/// verified ID token hint, if any.
#[derive(Debug, Clone)]
pub struct LogoutRequest {
    pub redirect: Option<ClientRedirect>,
    /// The hint's subject: a hint for the browser's own user stands for
    /// the user's consent (no confirmation page).
    hinted_user: Option<String>,
    /// The session the hint names, to end when the browser has no cookie.
    hinted_session: Option<SessionId>,
}

impl LogoutRequest {
    /// Whether the browser is logged out without being asked: the ID token
    /// hint names its signed-in user. Another user's token, however valid,
    /// does not (RP-Initiated Logout 1.0 §2: the OP must then ask).
    pub fn confirmed_for(&self, signed_in: Option<&SignedIn>) -> bool {
        match (signed_in, &self.hinted_user) {
            (Some(signed_in), Some(user)) => signed_in.user.id.as_str() == user,
            (Some(_), None) => false,
            (None, _) => true,
        }
    }
}

impl SignInService {
    /// Validates an authorization request; see [`AuthorizationRefusal`].
    pub fn authorization_request(
        &self,
        realm: &str,
        params: &AuthorizationParams<'_>,
    ) -> Result<AuthorizationRequest, AuthorizationRefusal> {
        let state = self.core.realm(realm)?;
        Core::authorization_request(&state.config, params)
    }

    /// The browser session the cookie names, if it is live and its user may
    /// still sign in; each use starts its idle window again.
    pub async fn signed_in(
        &self,
        realm: &str,
        cookie: Option<&str>,
    ) -> Result<Option<SignedIn>, TokenError> {
        let state = self.core.realm(realm)?;
        let Some(cookie) = cookie else {
            return Ok(None);
        };
        match ParsedOpaqueToken::parse(cookie) {
            Ok(parsed) if parsed.kind == OpaqueTokenKind::BrowserSession => {}
            _ => return Ok(None),
        }
        let now = Timestamp::now();
        let Some((session, user)) = self
            .core
            .store
            .find_browser_session(&self.core.digester.digest(cookie))
            .await?
        else {
            return Ok(None);
        };
        if session.realm != realm
            || !session.is_live(now, state.config.tokens.session_idle)
            || !user.is_active(now)
        {
            return Ok(None);
        }
        // The idle window is coarse: one write a minute at most, not one a page.
        if now.saturating_duration_since(session.last_seen_at) >= SESSION_TOUCH_INTERVAL {
            self.core
                .store
                .touch_browser_session(&session.id, now)
                .await?;
        }
        Ok(Some(SignedIn { session, user }))
    }

    /// Issues a code to a signed-in browser that the request lets through
    /// without the form; otherwise the form, or `login_required` for
    /// `prompt=none` (OpenID Connect Core §3.1.2.3).
    pub async fn authorize(
        &self,
        realm: &str,
        request: &AuthorizationRequest,
        signed_in: Option<&SignedIn>,
    ) -> Result<AuthorizationStep, AuthorizationRefusal> {
        let now = Timestamp::now();
        let fresh_enough = |signed_in: &SignedIn| {
            request.max_age.is_none_or(|max_age| {
                now.saturating_duration_since(signed_in.session.auth_time) <= max_age
            })
        };
        match (signed_in, request.prompt) {
            (Some(signed_in), Prompt::Default | Prompt::None) if fresh_enough(signed_in) => self
                .issue_code(realm, request, signed_in)
                .await
                .map(AuthorizationStep::Issued),
            (_, Prompt::None) => Err(AuthorizationRefusal::Redirected(
                request.redirect(),
                TokenError::LoginRequired,
            )),
            _ => Ok(AuthorizationStep::SignIn),
        }
    }

    /// Checks the form's username and password exactly as the password grant
    /// does (brute-force counting, one answer for every failure), then signs
    /// the browser in with a new cookie secret, whatever it held before
    /// (OWASP: a new session identifier after every authentication). The same
    /// user keeps their browser session, with a new `auth_time`; anyone else's
    /// session in this browser ends, and a new one starts.
    pub async fn sign_in(
        &self,
        realm: &str,
        (username, password): (&str, SecretString),
        current: Option<SignedIn>,
    ) -> Result<SignInOutcome, TokenError> {
        let state = self.core.realm(realm)?;
        let (user, now) = self
            .core
            .authenticate_active_user(&state.config, username, password)
            .await?;
        let cookie = new_opaque_token(OpaqueTokenKind::BrowserSession)?;
        let digest = self.core.digester.digest(&cookie);
        let cookie = SecretString::new(cookie);
        match current {
            Some(mut signed_in) if signed_in.user.id == user.id => {
                let renewed = self
                    .core
                    .store
                    .reauthenticate_browser_session(&signed_in.session.id, &digest, now)
                    .await?;
                if renewed {
                    signed_in.session.auth_time = now;
                    signed_in.user = user;
                    return Ok(SignInOutcome { signed_in, cookie });
                }
            }
            Some(other) => {
                let until = session_relevant_until(&state.config, now);
                self.core
                    .store
                    .end_browser_session(&other.session.id, now, until)
                    .await?;
            }
            None => {}
        }
        let session = BrowserSession {
            id: BrowserSessionId::new(new_uuid()?),
            realm: realm.to_owned(),
            user_id: user.id.clone(),
            auth_time: now,
            created_at: now,
            last_seen_at: now,
            expires_at: now.saturating_add(state.config.tokens.session_max),
            ended_at: None,
        };
        self.core
            .store
            .create_browser_session(&NewBrowserSession {
                session: session.clone(),
                digest,
            })
            .await?;
        Ok(SignInOutcome {
            signed_in: SignedIn { session, user },
            cookie,
        })
    }

    /// Issues a code for the request to the signed-in browser.
    pub async fn issue_code(
        &self,
        realm: &str,
        request: &AuthorizationRequest,
        signed_in: &SignedIn,
    ) -> Result<AuthorizationResponse, AuthorizationRefusal> {
        let issued = async {
            let state = self.core.realm(realm)?;
            let code = new_opaque_token(OpaqueTokenKind::AuthorizationCode)?;
            let now = Timestamp::now();
            self.core
                .store
                .insert_authorization_code(&NewAuthorizationCode {
                    digest: self.core.digester.digest(&code),
                    realm: realm.to_owned(),
                    client_id: request.client_id.clone(),
                    browser_session_id: signed_in.session.id.clone(),
                    redirect_uri: request.redirect_uri.clone(),
                    scope: request.scopes.join(" "),
                    nonce: request.nonce.clone(),
                    code_challenge: request.code_challenge.clone(),
                    created_at: now,
                    expires_at: now.saturating_add(AUTHORIZATION_CODE_LIFETIME),
                })
                .await?;
            Ok(AuthorizationResponse {
                redirect: request.redirect(),
                code,
                issuer: state.config.issuer.clone(),
            })
        };
        issued
            .await
            .map_err(|error| AuthorizationRefusal::Redirected(request.redirect(), error))
    }

    /// A token for a hosted page's form, bound to `binding` (the browser's
    /// CSRF cookie): only a page this server rendered for this browser has it.
    /// It records when it was issued, and is good for an hour.
    pub fn form_token(&self, binding: &str) -> String {
        let issued = Timestamp::now().unix_seconds();
        let mac = self.core.digester.digest(&form_binding(binding, issued));
        format!("{issued}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// Whether `token` is a [`Self::form_token`] of `binding` issued within
    /// the last hour, compared in constant time.
    pub fn form_token_matches(&self, binding: &str, token: &str) -> bool {
        let Some((issued, mac)) = token.split_once('.') else {
            return false;
        };
        let Ok(issued) = issued.parse::<i64>() else {
            return false;
        };
        let age = Timestamp::now().saturating_duration_since(Timestamp::from_unix_seconds(issued));
        let fresh =
            Timestamp::from_unix_seconds(issued) <= Timestamp::now() && age <= FORM_LIFETIME;
        fresh
            && URL_SAFE_NO_PAD.decode(mac).is_ok_and(|mac| {
                self.core
                    .digester
                    .matches(&form_binding(binding, issued), &mac)
            })
    }

    /// Checks an RP-initiated logout request. A `post_logout_redirect_uri`
    /// must be registered for the client that the ID token hint (or, without
    /// one, `client_id`) names; without either there is no redirect. Errors
    /// are shown, never redirected.
    pub fn logout_request(
        &self,
        realm: &str,
        params: &LogoutParams<'_>,
    ) -> Result<LogoutRequest, TokenError> {
        let state = self.core.realm(realm)?;
        let hint = params
            .id_token_hint
            .map(|hint| verified_id_token(&state.config, &state.keys, hint))
            .transpose()?;
        let client_id = match (&hint, params.client_id) {
            (Some(hint), Some(client_id)) if hint.aud != client_id => {
                return Err(TokenError::InvalidRequest(
                    "client_id does not match the ID token hint".to_owned(),
                ))
            }
            (Some(hint), _) => Some(hint.aud.as_str()),
            (None, client_id) => client_id,
        };
        let redirect = match params.post_logout_redirect_uri {
            None => None,
            Some(uri) => {
                let client = client_id
                    .ok_or_else(|| TokenError::missing_parameter("id_token_hint or client_id"))?;
                let client = state
                    .config
                    .clients
                    .get(client)
                    .ok_or(TokenError::UnknownClient)?;
                if !client.allows_post_logout_redirect_uri(uri) {
                    return Err(TokenError::InvalidRedirectUri);
                }
                Some(ClientRedirect {
                    redirect_uri: uri.to_owned(),
                    state: params.state.map(str::to_owned),
                })
            }
        };
        Ok(LogoutRequest {
            redirect,
            hinted_user: hint.as_ref().map(|hint| hint.sub.clone()),
            hinted_session: hint.and_then(|hint| hint.identity.sid).map(SessionId::new),
        })
    }

    /// Ends the browser's session (or, without a cookie, the browser session
    /// the hint's session was signed in through) and every online session
    /// started from it, with their revocation-feed entries.
    pub async fn log_out(
        &self,
        realm: &str,
        request: &LogoutRequest,
        signed_in: Option<&SignedIn>,
    ) -> Result<(), TokenError> {
        let state = self.core.realm(realm)?;
        let session = match (signed_in, &request.hinted_session) {
            (Some(signed_in), _) => Some(signed_in.session.id.clone()),
            (None, Some(family)) => self
                .core
                .store
                .find_family(family)
                .await?
                .filter(|family| family.realm == realm)
                .and_then(|family| family.browser_session),
            (None, None) => None,
        };
        if let Some(session) = session {
            let now = Timestamp::now();
            let until = session_relevant_until(&state.config, now);
            self.core
                .store
                .end_browser_session(&session, now, until)
                .await?;
        }
        Ok(())
    }
}

impl AuthorizationRequest {
    /// Where answers to this request go.
    pub fn redirect(&self) -> ClientRedirect {
        ClientRedirect {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
        }
    }
}

fn form_binding(binding: &str, issued: i64) -> String {
    format!("form\0{binding}\0{issued}")
}

/// An ID token this realm issued, expired or not: RP-initiated logout accepts
/// those of past sessions too (RP-Initiated Logout 1.0 §2).
fn verified_id_token(
    realm: &Realm,
    keys: &crate::RealmKeys,
    token: &str,
) -> Result<IdTokenClaims, TokenError> {
    let claims: IdTokenClaims = keys
        .current()
        .ring
        .verify_jwt(token, "JWT")
        .map_err(|_| TokenError::InvalidRequest("Invalid id_token_hint".to_owned()))?;
    if claims.iss != realm.issuer || claims.typ != "ID" {
        return Err(TokenError::InvalidRequest(
            "Invalid id_token_hint".to_owned(),
        ));
    }
    Ok(claims)
}
