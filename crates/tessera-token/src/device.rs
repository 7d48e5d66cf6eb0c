//! The device authorization grant (RFC 8628): a device (a command-line
//! add-on) gets a device code and a user code, its user approves on the
//! verification page, and the device polls the token endpoint.

use tessera_proto::{
    DeviceAuthorizationResponse, OpaqueTokenKind, ParsedOpaqueToken, TokenResponse,
};
use tessera_store::{DeviceAuthorization, DeviceDecision, NewDeviceAuthorization, Timestamp};

use crate::ids::random_string;
use crate::service::{AccountAccess, Core, OAuthService, SignInService};
use crate::{new_opaque_token, ClientCredentials, GrantType, SignedIn, TokenError};

/// RFC 8628 §6.1: consonants only (no vowels, so no words), case-insensitive.
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// 20^8 ≈ 2^34.6 codes: with a ten-minute lifetime and sign-in required to
/// enter one, guessing a live code is out of reach (RFC 8628 §5.1).
const USER_CODE_LEN: usize = 8;
/// RFC 8628 §3.5: each `slow_down` adds five seconds to the interval.
const SLOW_DOWN_STEP: std::time::Duration = std::time::Duration::from_secs(5);
/// New user codes drawn when one is taken before giving up.
const USER_CODE_ATTEMPTS: usize = 3;
const INVALID_DEVICE_CODE: &str = "Invalid device code";

/// A pending device authorization, as the verification page shows it.
#[derive(Debug, Clone)]
pub struct PendingDevice {
    /// The user code as the user should see it, `XXXX-XXXX`.
    pub user_code: String,
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// The user code without separators or case; `None` when it cannot be one.
fn normalize_user_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

fn display_user_code(code: &str) -> String {
    let (first, second) = code.split_at(USER_CODE_LEN / 2);
    format!("{first}-{second}")
}

fn new_user_code() -> Result<String, TokenError> {
    random_string(USER_CODE_ALPHABET, USER_CODE_LEN)
}

impl Core {
    fn user_code_digest(&self, normalized: &str) -> Vec<u8> {
        self.digester.digest(&format!("user_code\0{normalized}"))
    }

    /// The pending authorization a user code names, or [`TokenError::UnknownUserCode`].
    async fn pending_device_authorization(
        &self,
        realm: &str,
        user_code: &str,
        now: Timestamp,
    ) -> Result<(String, DeviceAuthorization), TokenError> {
        let code = normalize_user_code(user_code).ok_or(TokenError::UnknownUserCode)?;
        let authorization = self
            .store
            .find_device_authorization_by_user_code(realm, &self.user_code_digest(&code))
            .await?
            .filter(|found| found.decision.is_none() && now < found.request.expires_at)
            .ok_or(TokenError::UnknownUserCode)?;
        Ok((code, authorization))
    }
}

impl OAuthService {
    /// RFC 8628 §3.1–3.2: starts a device authorization for a client allowed
    /// the device grant.
    pub async fn start_device_authorization(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        scope: Option<&str>,
    ) -> Result<DeviceAuthorizationResponse, TokenError> {
        let state = self.core.realm(realm)?;
        let client =
            self.core
                .client_for_grant(&state.config, credentials, GrantType::DeviceCode)?;
        let scopes = Core::resolve_scopes(client, scope)?;
        let settings = &state.config.device_flow;
        let now = Timestamp::now();
        let device_code = new_opaque_token(OpaqueTokenKind::DeviceCode)?;
        for _ in 0..USER_CODE_ATTEMPTS {
            let user_code = new_user_code()?;
            let stored = self
                .core
                .store
                .insert_device_authorization(&NewDeviceAuthorization {
                    digest: self.core.digester.digest(&device_code),
                    realm: realm.to_owned(),
                    user_code_digest: self.core.user_code_digest(&user_code),
                    client_id: client.client_id.clone(),
                    scope: scopes.join(" "),
                    created_at: now,
                    expires_at: now.saturating_add(settings.code_lifetime),
                    interval: settings.interval,
                })
                .await?;
            if stored {
                let user_code = display_user_code(&user_code);
                let verification_uri = format!("{}/device", state.config.issuer);
                return Ok(DeviceAuthorizationResponse {
                    device_code,
                    verification_uri_complete: format!("{verification_uri}?user_code={user_code}"),
                    user_code,
                    verification_uri,
                    expires_in: i64::try_from(settings.code_lifetime.as_secs()).unwrap_or(i64::MAX),
                    interval: i64::try_from(settings.interval.as_secs()).unwrap_or(i64::MAX),
                });
            }
        }
        Err(TokenError::TemporarilyUnavailable)
    }

    /// RFC 8628 §3.4–3.5: a device's poll. Answers `authorization_pending`
    /// until the user decides (`slow_down`, with five more seconds to wait,
    /// when the device polls early), then `access_denied` or the tokens, once;
    /// `expired_token` after the code's lifetime.
    pub(crate) async fn device_code_grant(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        device_code: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let state = self.core.realm(realm)?;
        let client =
            self.core
                .client_for_grant(&state.config, credentials, GrantType::DeviceCode)?;
        let device_code =
            device_code.ok_or_else(|| TokenError::missing_parameter("device_code"))?;
        match ParsedOpaqueToken::parse(device_code) {
            Ok(parsed) if parsed.kind == OpaqueTokenKind::DeviceCode => {}
            _ => return Err(TokenError::InvalidGrant(INVALID_DEVICE_CODE)),
        }
        let digest = self.core.digester.digest(device_code);
        let found = self
            .core
            .store
            .find_device_authorization(&digest)
            .await?
            .filter(|found| {
                found.request.realm == realm && found.request.client_id == client.client_id
            })
            .ok_or(TokenError::InvalidGrant(INVALID_DEVICE_CODE))?;
        let now = Timestamp::now();
        if found.consumed_at.is_some() {
            return Err(TokenError::InvalidGrant(INVALID_DEVICE_CODE));
        }
        if now >= found.request.expires_at {
            return Err(TokenError::ExpiredToken);
        }
        match (found.decision, found.decided_by) {
            (Some(DeviceDecision::Denied), _) => Err(TokenError::AccessDenied),
            (Some(DeviceDecision::Approved), Some((session, user))) => {
                // Approved in a browser session that has since ended: the
                // approval went with it.
                if !session.is_live(now, state.config.tokens.session_idle) {
                    return Err(TokenError::AccessDenied);
                }
                self.core.ensure_user_active(&user, now).await?;
                let family =
                    Core::new_browser_family((realm, client), &session, &found.request.scope, now)?;
                let (refresh_token, refresh_row) =
                    self.core.new_refresh_token(client, &family, now)?;
                if !self
                    .core
                    .store
                    .redeem_device_authorization(&digest, (now, &family, &refresh_row))
                    .await?
                {
                    // Another poll got the tokens, or the session ended meanwhile.
                    let current = self.core.store.find_device_authorization(&digest).await?;
                    return Err(match current.and_then(|found| found.consumed_at) {
                        Some(_) => TokenError::InvalidGrant(INVALID_DEVICE_CODE),
                        None => TokenError::AccessDenied,
                    });
                }
                self.core.respond_for_session(
                    (&state, client, now),
                    (&user, &family, AccountAccess::of_session(client, false)),
                    (&family.scope, None),
                    (refresh_token, refresh_row.expires_at),
                )
            }
            // Approved in a browser session that has since been deleted.
            (Some(DeviceDecision::Approved), None) => Err(TokenError::AccessDenied),
            (None, _) => {
                let interval = found.request.interval;
                let early = found
                    .last_polled_at
                    .is_some_and(|last| now.saturating_duration_since(last) < interval);
                let interval = if early {
                    interval.saturating_add(SLOW_DOWN_STEP)
                } else {
                    interval
                };
                self.core
                    .store
                    .record_device_poll(&digest, now, interval)
                    .await?;
                Err(if early {
                    TokenError::SlowDown
                } else {
                    TokenError::AuthorizationPending
                })
            }
        }
    }
}

impl SignInService {
    /// The pending device authorization of a user code, for the verification page.
    pub async fn pending_device(
        &self,
        realm: &str,
        user_code: &str,
    ) -> Result<PendingDevice, TokenError> {
        self.core.realm(realm)?;
        let (code, found) = self
            .core
            .pending_device_authorization(realm, user_code, Timestamp::now())
            .await?;
        Ok(PendingDevice {
            user_code: display_user_code(&code),
            client_id: found.request.client_id,
            scopes: found
                .request
                .scope
                .split_ascii_whitespace()
                .map(str::to_owned)
                .collect(),
        })
    }

    /// The signed-in user's answer on the verification page.
    pub async fn decide_device(
        &self,
        realm: &str,
        user_code: &str,
        signed_in: &SignedIn,
        decision: DeviceDecision,
    ) -> Result<(), TokenError> {
        self.core.realm(realm)?;
        let now = Timestamp::now();
        let (code, _) = self
            .core
            .pending_device_authorization(realm, user_code, now)
            .await?;
        let digest = self.core.user_code_digest(&code);
        let done = self
            .core
            .store
            .decide_device_authorization((realm, &digest), decision, &signed_in.session.id, now)
            .await?;
        TokenError::when_done(done, (), TokenError::UnknownUserCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_read_without_case_or_separators() {
        let code = new_user_code().unwrap();
        assert_eq!(code.len(), USER_CODE_LEN);
        let shown = display_user_code(&code);
        assert_eq!(shown.len(), USER_CODE_LEN + 1);
        assert_eq!(
            normalize_user_code(&shown.to_lowercase()).as_deref(),
            Some(code.as_str())
        );
        assert_eq!(normalize_user_code("BCDF-GHJ"), None);
        assert_eq!(
            normalize_user_code("ABCD-EFGH"),
            None,
            "vowels are never drawn"
        );
    }
}
