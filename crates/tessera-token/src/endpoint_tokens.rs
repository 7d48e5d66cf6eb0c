//! Secondary endpoint tokens, one per consuming application, and the check a
//! platform makes of each call: may this token call this endpoint with this
//! method? A token works only while enabled, active and assigned to the
//! method. Malformed tokens are refused before any database access, and calls
//! with tokens nobody issued are only counted.

use tessera_authz::TesseraAction;
use tessera_proto::{OpaqueTokenKind, ParsedOpaqueToken, SecondaryEndpointToken, SecretString};
use tessera_store::{
    CallOutcome, CallerLookup, EndpointAuthentication, EndpointCall, EndpointCaller, EndpointId,
    EndpointMethod, EndpointToken, EndpointTokenChanges, EndpointTokenId, EndpointTokenKind, Page,
    RevealTarget, Timestamp,
};

use crate::endpoints::{checked_description, checked_name, secondary_seal_context};
use crate::ids::new_secondary_endpoint_token;
use crate::ids::tail_hint;
use crate::principal::Principal;
use crate::service::{ClientCredentials, EndpointService, EndpointTokenService};
use crate::{new_uuid, TokenError};

/// A call to check, as the platform describes it.
#[derive(Debug, Clone, Copy)]
pub struct CallToCheck<'a> {
    pub endpoint: &'a EndpointId,
    /// The HTTP method of the call, as received.
    pub method: &'a str,
    pub token: &'a str,
}

/// The token that made an allowed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedCaller {
    pub kind: EndpointTokenKind,
    pub id: String,
    pub name: String,
}

/// What a check answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckAnswer {
    /// Allowed; `None` when the endpoint needs no token.
    Allowed(Option<AllowedCaller>),
    Refused(CallOutcome),
    UnknownEndpoint,
}

/// Which kind of endpoint token `token` has the shape of; `None`: neither.
fn token_kind(token: &str) -> Option<EndpointTokenKind> {
    match ParsedOpaqueToken::parse(token) {
        Ok(parsed) if parsed.kind == OpaqueTokenKind::EndpointPrimary => {
            Some(EndpointTokenKind::Primary)
        }
        Ok(_) => None,
        Err(_) => SecondaryEndpointToken::check(token)
            .ok()
            .map(|()| EndpointTokenKind::Secondary),
    }
}

/// What a known token calling with `method` comes to.
fn outcome_of(caller: &EndpointCaller, method: EndpointMethod) -> CallOutcome {
    if !caller.enabled {
        CallOutcome::Disabled
    } else if !caller.active {
        CallOutcome::Inactive
    } else if caller.methods.is_empty() {
        CallOutcome::Unassigned
    } else if !caller.methods.contains(&method) {
        CallOutcome::MethodNotAllowed
    } else {
        CallOutcome::Allowed
    }
}

impl EndpointTokenService {
    /// Creates a secondary token for the application `name`; returns it and
    /// its secret, which exists nowhere else. Needs
    /// `endpoint:ManageEndpointTokens` on every endpoint.
    pub async fn create_endpoint_token(
        &self,
        realm: &str,
        principal: &Principal,
        (name, description): (String, String),
    ) -> Result<(EndpointToken, SecretString), TokenError> {
        self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::ManageEndpointTokens)?;
        let secret = new_secondary_endpoint_token()?;
        let token = EndpointToken {
            id: EndpointTokenId::new(new_uuid()?),
            realm: realm.to_owned(),
            name: checked_name(name)?,
            description: checked_description(description)?,
            hint: tail_hint(&secret),
            enabled: true,
            active: true,
            created_at: Timestamp::now(),
            updated_at: None,
        };
        let digest = self.core.digester.digest(&secret);
        let recoverable = self.core.realm(realm)?.config.recoverable_endpoint_tokens;
        let sealed = recoverable
            .then(|| {
                self.core
                    .seal_endpoint_secret(&secret, &secondary_seal_context(token.id.as_str()))
            })
            .transpose()?;
        self.core
            .store
            .insert_endpoint_token(&token, (&digest, sealed.as_deref()))
            .await?;
        Ok((token, SecretString::new(secret)))
    }

    /// A page of the realm's active secondary tokens, or of the inactive ones.
    pub async fn list_endpoint_tokens(
        &self,
        realm: &str,
        principal: &Principal,
        active: bool,
        page: Page,
    ) -> Result<Vec<EndpointToken>, TokenError> {
        self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::ManageEndpointTokens)?;
        Ok(self
            .core
            .store
            .list_endpoint_tokens(realm, active, page)
            .await?)
    }

    pub async fn endpoint_token(
        &self,
        realm: &str,
        principal: &Principal,
        id: &EndpointTokenId,
    ) -> Result<EndpointToken, TokenError> {
        self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::ManageEndpointTokens)?;
        self.core
            .store
            .find_endpoint_token(realm, id)
            .await?
            .ok_or(TokenError::EndpointTokenNotFound)
    }

    /// Renames, describes, enables or disables, activates or deactivates a
    /// secondary token; a verifier forgets what it cached of it.
    pub async fn update_endpoint_token(
        &self,
        realm: &str,
        principal: &Principal,
        id: &EndpointTokenId,
        changes: EndpointTokenChanges,
    ) -> Result<EndpointToken, TokenError> {
        self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::ManageEndpointTokens)?;
        let changes = EndpointTokenChanges {
            name: changes.name.map(checked_name).transpose()?,
            description: changes.description.map(checked_description).transpose()?,
            ..changes
        };
        let now = Timestamp::now();
        let notice_until = self.core.notice_until(realm, now)?;
        self.core
            .store
            .update_endpoint_token((realm, id), &changes, (now, notice_until))
            .await?
            .ok_or(TokenError::EndpointTokenNotFound)
    }

    /// The secret of a secondary token, when the realm keeps endpoint tokens
    /// recoverable; needs `endpoint:RevealEndpointTokens` on every endpoint,
    /// and is audited.
    pub async fn reveal_endpoint_token(
        &self,
        (realm, principal, address): (&str, &Principal, Option<&str>),
        id: &EndpointTokenId,
    ) -> Result<SecretString, TokenError> {
        self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::RevealEndpointTokens)?;
        self.core
            .reveal_endpoint_secret(
                (realm, principal, address),
                RevealTarget::Secondary(id),
                secondary_seal_context,
            )
            .await
    }

    pub async fn delete_endpoint_token(
        &self,
        realm: &str,
        principal: &Principal,
        id: &EndpointTokenId,
    ) -> Result<(), TokenError> {
        self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::ManageEndpointTokens)?;
        let now = Timestamp::now();
        let notice_until = self.core.notice_until(realm, now)?;
        let done = self
            .core
            .store
            .delete_endpoint_token((realm, id), (now, notice_until))
            .await?;
        TokenError::when_done(done, (), TokenError::EndpointTokenNotFound)
    }
}

impl EndpointService {
    /// Whether `call` may go through, for the confidential client
    /// `credentials` (the platform). Every check of a known token is
    /// recorded, off the request path; one of a token nobody issued is only
    /// counted on the endpoint.
    pub async fn check_call(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        call: CallToCheck<'_>,
        address: Option<&str>,
    ) -> Result<CheckAnswer, TokenError> {
        let state = self.core.realm(realm)?;
        let client = self.core.authenticate_client(&state.config, credentials)?;
        if !client.is_confidential() {
            return Err(TokenError::ConfidentialClientRequired);
        }
        let now = Timestamp::now();
        let record = |method: Option<EndpointMethod>, caller: Option<&EndpointCaller>, outcome| {
            EndpointCall {
                realm: realm.to_owned(),
                endpoint_id: call.endpoint.clone(),
                method,
                caller: caller.map(|caller| (caller.kind, caller.id.clone(), caller.name.clone())),
                outcome,
                address: address.map(str::to_owned),
                at: now,
            }
        };
        let method = EndpointMethod::parse(call.method);
        let Some(kind) = token_kind(call.token) else {
            // Refused before any database access; counted off the request path.
            let outcome = CallOutcome::MalformedToken;
            self.core
                .usage
                .record_endpoint_call(record(method, None, outcome))
                .await;
            return Ok(CheckAnswer::Refused(outcome));
        };
        let digest = self.core.digester.digest(call.token);
        let lookup = self
            .core
            .store
            .find_endpoint_caller((realm, call.endpoint), kind, &digest)
            .await?;
        let (authentication, caller) = match lookup {
            CallerLookup::UnknownEndpoint => return Ok(CheckAnswer::UnknownEndpoint),
            CallerLookup::Endpoint {
                authentication,
                caller,
            } => (authentication, caller),
        };
        if authentication == EndpointAuthentication::None {
            return Ok(CheckAnswer::Allowed(None));
        }
        let (Some(method), Some(caller)) = (method, caller.as_ref()) else {
            let outcome = match caller {
                None => CallOutcome::UnknownToken,
                Some(_) => CallOutcome::MethodNotAllowed,
            };
            self.core
                .usage
                .record_endpoint_call(record(method, None, outcome))
                .await;
            return Ok(CheckAnswer::Refused(outcome));
        };
        let outcome = outcome_of(caller, method);
        self.core
            .usage
            .record_endpoint_call(record(Some(method), Some(caller), outcome))
            .await;
        Ok(match outcome {
            CallOutcome::Allowed => CheckAnswer::Allowed(Some(AllowedCaller {
                kind: caller.kind,
                id: caller.id.clone(),
                name: caller.name.clone(),
            })),
            refused => CheckAnswer::Refused(refused),
        })
    }
}
