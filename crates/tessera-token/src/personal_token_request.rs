//! What makes a valid request for a personal token: which fields each kind
//! takes is decided here, once, for the account API and the CLI alike.

use std::time::Duration;

use tessera_proto::SecretString;
use tessera_store::{PersonalTokenKind, Timestamp};

use crate::TokenError;

/// A request to create a personal token, as the account API and the CLI
/// receive it. Which fields each kind takes is decided here, once, before any
/// other check.
#[derive(Debug, Clone)]
pub struct PersonalTokenRequest {
    pub kind: PersonalTokenKind,
    pub name: String,
    pub description: Option<String>,
    /// The user's current password; required when the user creates the token.
    pub password: Option<SecretString>,
    /// Expose tokens: how long the token lives (or give `expires_at`).
    pub lifetime: Option<Duration>,
    pub expires_at: Option<Timestamp>,
    /// Expose tokens: some of the realm's `expose_audience`; `None` means all.
    pub audience: Option<Vec<String>>,
    /// Client tokens: the client the session is for.
    pub client_id: Option<String>,
    /// Client tokens: an offline session.
    pub offline: bool,
}

/// A creation request checked for its kind: the fields only that kind takes.
pub(crate) enum KindRequest {
    Expose {
        lifetime: Option<Duration>,
        expires_at: Option<Timestamp>,
        audience: Option<Vec<String>>,
    },
    Client {
        client_id: String,
        offline: bool,
    },
}

impl PersonalTokenRequest {
    pub(crate) fn kind_request(&self) -> Result<KindRequest, TokenError> {
        match self.kind {
            PersonalTokenKind::Expose => {
                if self.client_id.is_some() || self.offline {
                    return Err(TokenError::InvalidRequest(
                        "expose tokens take a lifetime, an expiry and an audience, \
                         not a client_id or offline"
                            .to_owned(),
                    ));
                }
                Ok(KindRequest::Expose {
                    lifetime: self.lifetime,
                    expires_at: self.expires_at,
                    audience: self.audience.clone(),
                })
            }
            PersonalTokenKind::Profile => Err(TokenError::InvalidRequest(
                "token profiles are created through the management API".to_owned(),
            )),
            PersonalTokenKind::Client => match &self.client_id {
                Some(client_id)
                    if self.lifetime.is_none()
                        && self.expires_at.is_none()
                        && self.audience.is_none() =>
                {
                    Ok(KindRequest::Client {
                        client_id: client_id.clone(),
                        offline: self.offline,
                    })
                }
                _ => Err(TokenError::InvalidRequest(
                    "client tokens need a client_id and take no lifetime, expiry or audience"
                        .to_owned(),
                )),
            },
        }
    }
}
