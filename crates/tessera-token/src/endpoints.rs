//! Endpoints of an integration platform. Turning token authentication on
//! gives an endpoint a primary token per allowed method (GET, POST, and
//! DELETE while deleting is allowed); secondary tokens of consuming
//! applications are assigned to some of those methods. Every change that
//! alters what a check answers reaches verifiers on the revocation feed.

use tessera_authz::TesseraAction;
use tessera_proto::{OpaqueTokenKind, SecretString};
use tessera_store::{
    Assignment, CallerSummary, Endpoint, EndpointAuthentication, EndpointCallRecord,
    EndpointChanges, EndpointEdit, EndpointId, EndpointMethod, EndpointToken, EndpointTokenId,
    NewPrimaryToken, Page, PrimaryToken, PrimaryTokenId, RevealTarget, Timestamp,
};

use crate::ids::hint;
use crate::input::checked_text;
use crate::principal::Principal;
use crate::revocation::deletion_feed;
use crate::service::{Core, EndpointService};
use crate::{new_opaque_token, new_uuid, TokenError};

const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 500;
const MAX_PATH_CHARS: usize = 500;
/// Endpoints and calls per page at most.
pub const MAX_ENDPOINT_PAGE: i64 = 500;

/// A new endpoint, as the management API and the CLI receive it.
#[derive(Debug, Clone)]
pub struct EndpointRequest {
    pub name: String,
    pub description: String,
    pub path: String,
    pub authentication: EndpointAuthentication,
    pub allow_delete: bool,
}

/// A primary token just generated: its secret exists nowhere else.
#[derive(Debug)]
pub struct GeneratedPrimaryToken {
    pub id: PrimaryTokenId,
    pub method: EndpointMethod,
    pub secret: SecretString,
}

/// What a primary token's seal is bound to: its endpoint and method, which a
/// regeneration keeps.
fn primary_seal_context(endpoint: &EndpointId, method: EndpointMethod) -> String {
    format!("endpoint primary token {endpoint} {method}")
}

/// What a secondary token's seal is bound to: its id.
pub(crate) fn secondary_seal_context(id: &str) -> String {
    format!("endpoint token {id}")
}

/// An endpoint path: absolute, printable, no whitespace.
fn checked_path(path: String) -> Result<String, TokenError> {
    let path = path.trim().to_owned();
    if !path.starts_with('/')
        || path.chars().count() > MAX_PATH_CHARS
        || path.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(TokenError::InvalidRequest(format!(
            "path must start with / and have at most {MAX_PATH_CHARS} characters, none of them \
             blank or control characters"
        )));
    }
    Ok(path)
}

pub(crate) fn checked_description(description: String) -> Result<String, TokenError> {
    if description.trim().is_empty() {
        return Ok(String::new());
    }
    checked_text("description", description, MAX_DESCRIPTION_CHARS)
}

pub(crate) fn checked_name(name: String) -> Result<String, TokenError> {
    checked_text("name", name, MAX_NAME_CHARS)
}

impl Core {
    /// A candidate primary token of `endpoint` for each method, with its
    /// secret (sealed too when the realm keeps endpoint tokens recoverable):
    /// a store edit takes those the endpoint's configuration calls for.
    fn primary_candidates(
        &self,
        (realm, endpoint): (&str, &EndpointId),
        methods: &[EndpointMethod],
    ) -> Result<(Vec<NewPrimaryToken>, Vec<GeneratedPrimaryToken>), TokenError> {
        let recoverable = self.realm(realm)?.config.recoverable_endpoint_tokens;
        let mut rows = Vec::with_capacity(methods.len());
        let mut secrets = Vec::with_capacity(methods.len());
        for &method in methods {
            let id = PrimaryTokenId::new(new_uuid()?);
            let secret = new_opaque_token(OpaqueTokenKind::EndpointPrimary)?;
            let sealed = recoverable
                .then(|| {
                    self.seal_endpoint_secret(&secret, &primary_seal_context(endpoint, method))
                })
                .transpose()?;
            rows.push(NewPrimaryToken {
                id: id.clone(),
                method,
                digest: self.digester.digest(&secret),
                hint: hint(OpaqueTokenKind::EndpointPrimary, &secret),
                sealed,
            });
            secrets.push(GeneratedPrimaryToken {
                id,
                method,
                secret: SecretString::new(secret),
            });
        }
        Ok((rows, secrets))
    }

    /// The endpoint `id` of `realm`, if the caller may do `action` on it.
    async fn visible_endpoint(
        &self,
        (realm, id): (&str, &EndpointId),
        principal: &Principal,
        action: TesseraAction,
    ) -> Result<Endpoint, TokenError> {
        self.realm(realm)?;
        principal.require_action_on(action, id.as_str(), TokenError::EndpointNotFound)?;
        self.store
            .find_endpoint(realm, id)
            .await?
            .ok_or(TokenError::EndpointNotFound)
    }

    pub(crate) fn seal_endpoint_secret(
        &self,
        secret: &str,
        context: &str,
    ) -> Result<Vec<u8>, TokenError> {
        Ok(self.sealer.seal(secret.as_bytes(), context)?)
    }

    /// The secret of a recoverable endpoint token, for a caller that may do
    /// `endpoint:RevealEndpointTokens`; recorded in the endpoints' trail. Not
    /// found when the realm keeps no endpoint token recoverable.
    pub(crate) async fn reveal_endpoint_secret(
        &self,
        (realm, principal, address): (&str, &Principal, Option<&str>),
        target: RevealTarget<'_>,
        context: impl FnOnce(&str) -> String,
    ) -> Result<SecretString, TokenError> {
        if !self.realm(realm)?.config.recoverable_endpoint_tokens {
            return Err(TokenError::EndpointTokenNotFound);
        }
        let (id, sealed) = self
            .store
            .reveal_endpoint_secret(realm, target, (principal.audit(address), Timestamp::now()))
            .await?
            .ok_or(TokenError::EndpointTokenNotFound)?;
        let secret = self.sealer.open(&sealed, &context(&id))?;
        String::from_utf8(secret)
            .map(SecretString::new)
            .map_err(|_| {
                TokenError::Store(tessera_store::StoreError::Corrupt("sealed endpoint token"))
            })
    }

    /// When a `changed` feed entry made now stops mattering.
    pub(crate) fn notice_until(
        &self,
        realm: &str,
        now: Timestamp,
    ) -> Result<Timestamp, TokenError> {
        let state = self.realm(realm)?;
        Ok(deletion_feed(&state.config, now).expose_until)
    }
}

impl EndpointService {
    /// Creates an endpoint, with its primary tokens when its authentication
    /// is `token`; needs `endpoint:CreateEndpoint` on every endpoint.
    pub async fn create_endpoint(
        &self,
        realm: &str,
        principal: &Principal,
        request: EndpointRequest,
    ) -> Result<(Endpoint, Vec<GeneratedPrimaryToken>), TokenError> {
        self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::CreateEndpoint)?;
        let endpoint = Endpoint {
            id: EndpointId::new(new_uuid()?),
            realm: realm.to_owned(),
            name: checked_name(request.name)?,
            description: checked_description(request.description)?,
            path: checked_path(request.path)?,
            authentication: request.authentication,
            allow_delete: request.allow_delete,
            refused_calls: 0,
            last_refused_at: None,
            created_at: Timestamp::now(),
            updated_at: None,
        };
        let (rows, secrets) = self
            .core
            .primary_candidates((realm, &endpoint.id), &endpoint.token_methods())?;
        let inserted = self.core.store.insert_endpoint(&endpoint, &rows).await?;
        TokenError::when_done(
            inserted,
            (endpoint, secrets),
            TokenError::DuplicateEndpointPath,
        )
    }

    /// A page of the endpoints the caller may list, by path.
    pub async fn list_endpoints(
        &self,
        realm: &str,
        principal: &Principal,
        page: Page,
    ) -> Result<Vec<Endpoint>, TokenError> {
        self.core.realm(realm)?;
        if !principal.may(TesseraAction::ListEndpoints, None) {
            return Err(TokenError::Forbidden(TesseraAction::ListEndpoints));
        }
        let endpoints = self.core.store.list_endpoints(realm, page).await?;
        Ok(endpoints
            .into_iter()
            .filter(|endpoint| {
                principal.may(TesseraAction::ListEndpoints, Some(endpoint.id.as_str()))
            })
            .collect())
    }

    /// The endpoint and its primary tokens (never their secrets).
    pub async fn endpoint(
        &self,
        realm: &str,
        principal: &Principal,
        id: &EndpointId,
    ) -> Result<(Endpoint, Vec<PrimaryToken>), TokenError> {
        let endpoint = self
            .core
            .visible_endpoint((realm, id), principal, TesseraAction::ReadEndpointConfig)
            .await?;
        let primaries = self.core.store.primary_tokens(id).await?;
        Ok((endpoint, primaries))
    }

    /// Applies `changes`; returns the endpoint and the primary tokens it
    /// gained (turning token authentication on, or allowing deletion). Those
    /// it lost stop working at once.
    pub async fn update_endpoint(
        &self,
        realm: &str,
        principal: &Principal,
        id: &EndpointId,
        changes: EndpointChanges,
    ) -> Result<(Endpoint, Vec<GeneratedPrimaryToken>), TokenError> {
        self.core
            .visible_endpoint((realm, id), principal, TesseraAction::UpdateEndpoint)
            .await?;
        let changes = EndpointChanges {
            name: changes.name.map(checked_name).transpose()?,
            description: changes.description.map(checked_description).transpose()?,
            path: changes.path.map(checked_path).transpose()?,
            ..changes
        };
        let (rows, mut secrets) = self
            .core
            .primary_candidates((realm, id), &EndpointMethod::ALL)?;
        let now = Timestamp::now();
        let notice_until = self.core.notice_until(realm, now)?;
        match self
            .core
            .store
            .update_endpoint((realm, id), &changes, &rows, (now, notice_until))
            .await?
        {
            EndpointEdit::Done(endpoint, gained) => {
                secrets.retain(|secret| gained.contains(&secret.id));
                Ok((endpoint, secrets))
            }
            EndpointEdit::NotFound => Err(TokenError::EndpointNotFound),
            EndpointEdit::PathTaken => Err(TokenError::DuplicateEndpointPath),
        }
    }

    /// Deletes the endpoint with its primary tokens and assignments; its
    /// calls stay in the usage trail.
    pub async fn delete_endpoint(
        &self,
        realm: &str,
        principal: &Principal,
        id: &EndpointId,
    ) -> Result<(), TokenError> {
        self.core
            .visible_endpoint((realm, id), principal, TesseraAction::DeleteEndpoint)
            .await?;
        let now = Timestamp::now();
        let notice_until = self.core.notice_until(realm, now)?;
        let done = self
            .core
            .store
            .delete_endpoint((realm, id), (now, notice_until))
            .await?;
        TokenError::when_done(done, (), TokenError::EndpointNotFound)
    }

    /// Replaces the primary token for `method`: the old secret stops
    /// working at once.
    pub async fn regenerate_primary_token(
        &self,
        realm: &str,
        principal: &Principal,
        id: &EndpointId,
        method: EndpointMethod,
    ) -> Result<GeneratedPrimaryToken, TokenError> {
        self.core
            .visible_endpoint((realm, id), principal, TesseraAction::UpdateEndpoint)
            .await?;
        let (rows, secrets) = self.core.primary_candidates((realm, id), &[method])?;
        let (Some(row), Some(secret)) = (rows.first(), secrets.into_iter().next()) else {
            return Err(TokenError::Random);
        };
        let now = Timestamp::now();
        let notice_until = self.core.notice_until(realm, now)?;
        let regenerated = self
            .core
            .store
            .regenerate_primary_token((realm, id), row, (now, notice_until))
            .await?
            .ok_or(TokenError::NoPrimaryToken(method))?;
        Ok(GeneratedPrimaryToken {
            id: regenerated.id,
            ..secret
        })
    }

    /// The secret of the endpoint's primary token for `method`, when the
    /// realm keeps endpoint tokens recoverable; needs
    /// `endpoint:RevealEndpointTokens` on the endpoint, and is audited.
    pub async fn reveal_primary_token(
        &self,
        (realm, principal, address): (&str, &Principal, Option<&str>),
        id: &EndpointId,
        method: EndpointMethod,
    ) -> Result<SecretString, TokenError> {
        self.core
            .visible_endpoint((realm, id), principal, TesseraAction::RevealEndpointTokens)
            .await?;
        self.core
            .reveal_endpoint_secret(
                (realm, principal, address),
                RevealTarget::Primary(id, method),
                |_| primary_seal_context(id, method),
            )
            .await
    }

    /// Every secondary token of the realm, with the endpoint's methods it is
    /// assigned for; only the assigned ones when asked.
    pub async fn endpoint_token_view(
        &self,
        realm: &str,
        principal: &Principal,
        id: &EndpointId,
        assigned_only: bool,
    ) -> Result<Vec<(EndpointToken, Vec<EndpointMethod>)>, TokenError> {
        self.core
            .visible_endpoint((realm, id), principal, TesseraAction::ReadEndpointConfig)
            .await?;
        Ok(self
            .core
            .store
            .endpoint_token_view((realm, id), assigned_only)
            .await?)
    }

    /// Sets which of the endpoint's methods the secondary token may call;
    /// none unassigns it, switching that one integration off.
    pub async fn assign_endpoint_token(
        &self,
        realm: &str,
        principal: &Principal,
        (id, token): (&EndpointId, &EndpointTokenId),
        mut methods: Vec<EndpointMethod>,
    ) -> Result<(), TokenError> {
        self.core
            .visible_endpoint((realm, id), principal, TesseraAction::ManageEndpointTokens)
            .await?;
        methods.sort();
        methods.dedup();
        let now = Timestamp::now();
        let notice_until = self.core.notice_until(realm, now)?;
        match self
            .core
            .store
            .assign_endpoint_token((realm, id, token), &methods, (now, notice_until))
            .await?
        {
            Assignment::Done => Ok(()),
            Assignment::NotFound => Err(TokenError::EndpointTokenNotFound),
            Assignment::NoPrimaryToken(method) => Err(TokenError::NoPrimaryToken(method)),
        }
    }

    /// A page of the endpoint's calls, newest first, before the call
    /// `before`; one token's only when asked.
    pub async fn endpoint_calls(
        &self,
        realm: &str,
        principal: &Principal,
        id: &EndpointId,
        (token, before): (Option<&str>, Option<i64>),
        max: i64,
    ) -> Result<Vec<EndpointCallRecord>, TokenError> {
        self.core
            .visible_endpoint((realm, id), principal, TesseraAction::ReadEndpointCalls)
            .await?;
        let max = max.clamp(1, MAX_ENDPOINT_PAGE);
        Ok(self
            .core
            .store
            .endpoint_calls(id, (token, before), max)
            .await?)
    }

    /// Which tokens call the endpoint, and when they last did.
    pub async fn endpoint_callers(
        &self,
        realm: &str,
        principal: &Principal,
        id: &EndpointId,
    ) -> Result<Vec<CallerSummary>, TokenError> {
        self.core
            .visible_endpoint((realm, id), principal, TesseraAction::ReadEndpointCalls)
            .await?;
        Ok(self.core.store.endpoint_callers(id).await?)
    }
}
