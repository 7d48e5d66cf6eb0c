//! Company tokens: what a company admin generates for a subscription, for an
//! assigned member or userless (for a machine). The secret is shown once, at
//! creation. Introspection by a client in the subscription's audience tells
//! the company, the subscription, the user (for a user token), the token's id,
//! name and grants; every use is recorded with the token's id.

use std::time::Duration;

use tessera_authz::TesseraAction;
use tessera_proto::{Audience, IntrospectionResponse, OpaqueTokenKind, SecretString};
use tessera_store::{
    CompanyBearer, CompanyId, CompanyToken, CompanyTokenHolder, CompanyTokenId,
    CompanyTokenInsertion, CompanyTokenLimits, CompanyTokenScope, CompanyTokenUse, NewCompanyToken,
    Page, Presentation, SubscriptionId, Timestamp, Tracked, UseOutcome, UserId,
};

use crate::ids::hint;
use crate::input::{checked_text, expiry};
use crate::introspection::{stored_details, Introspection};
use crate::principal::Principal;
use crate::service::{Core, SubscriptionService};
use crate::{new_opaque_token, new_uuid, TokenError};

const MAX_NAME_CHARS: usize = 100;
/// Tokens per page of a listing at most.
pub const MAX_COMPANY_TOKEN_PAGE: i64 = 500;

/// A new company token: for the user, or userless with `None`.
#[derive(Debug, Clone)]
pub struct CompanyTokenRequest {
    pub user: Option<UserId>,
    pub name: String,
    /// `None`: the realm's default lifetime.
    pub lifetime: Option<Duration>,
}

/// A token just generated: as listed, its user's username (none for a
/// userless one), and its secret, which exists nowhere else.
#[derive(Debug)]
pub struct GeneratedCompanyToken {
    pub token: CompanyToken,
    pub username: Option<String>,
    pub secret: SecretString,
}

/// Which of a subscription's tokens a deletion concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanyTokenSelection<'a> {
    One(&'a CompanyTokenId),
    /// Every token of the subscription for this user.
    User(&'a UserId),
    /// Every userless token of the subscription.
    Userless,
}

/// Which of a company's tokens a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompanyTokenFilter<'a> {
    pub subscription: Option<&'a SubscriptionId>,
    pub holder: CompanyTokenHolder<'a>,
}

impl SubscriptionService {
    /// Generates a token for the subscription. A user token needs its user
    /// assigned.
    pub async fn create_company_token(
        &self,
        realm: &str,
        principal: &Principal,
        (company, subscription): (&CompanyId, &SubscriptionId),
        (request, address): (CompanyTokenRequest, Option<&str>),
    ) -> Result<GeneratedCompanyToken, TokenError> {
        let action = TesseraAction::CreateSubscriptionTokens;
        let (access, subscription) = self
            .access(realm, principal, (company, subscription), action)
            .await?;
        let name = checked_text("name", request.name, MAX_NAME_CHARS)?;
        let settings = &access.realm.config.company_tokens;
        let now = Timestamp::now();
        let expires_at = expiry(settings.lifetimes(), now, request.lifetime, None)?;
        let user = match &request.user {
            Some(id) => Some(self.core.realm_user(realm, id).await?),
            None => None,
        };
        let secret = new_opaque_token(OpaqueTokenKind::Company)?;
        let row = NewCompanyToken {
            token: CompanyToken {
                id: CompanyTokenId::new(new_uuid()?),
                realm: realm.to_owned(),
                company_id: access.company.id.clone(),
                subscription_id: subscription.id,
                user_id: user.as_ref().map(|user| user.id.clone()),
                name,
                hint: hint(OpaqueTokenKind::Company, &secret),
                created_at: now,
                expires_at,
            },
            digest: self.core.digester.digest(&secret),
        };
        let limits = CompanyTokenLimits {
            per_user: settings.max_per_user,
            per_subscription: settings.max_per_subscription,
        };
        let audit = principal.audit(address);
        match self
            .core
            .store
            .insert_company_token((&access.company, &row), limits, audit)
            .await?
        {
            CompanyTokenInsertion::Stored => Ok(GeneratedCompanyToken {
                token: row.token,
                username: user.map(|user| user.username),
                secret: SecretString::new(secret),
            }),
            CompanyTokenInsertion::NotAssigned => Err(TokenError::NotAssigned),
            CompanyTokenInsertion::UserLimitReached => Err(TokenError::CompanyTokenLimitReached(
                "per user and subscription",
            )),
            CompanyTokenInsertion::SubscriptionLimitReached => {
                Err(TokenError::CompanyTokenLimitReached("per subscription"))
            }
        }
    }

    /// A page of the company's tokens the caller may list, newest first: the
    /// overview (all subscriptions) or one subscription's, of anyone, one user
    /// or userless. Never a secret.
    pub async fn company_tokens(
        &self,
        realm: &str,
        principal: &Principal,
        company: &CompanyId,
        (filter, page): (CompanyTokenFilter<'_>, Page),
    ) -> Result<Vec<Tracked<CompanyToken>>, TokenError> {
        let action = TesseraAction::ListSubscriptionTokens;
        let access = match filter.subscription {
            Some(id) => {
                self.access(realm, principal, (company, id), action)
                    .await?
                    .0
            }
            None => {
                self.core
                    .company_access((realm, company), principal, (action, None))
                    .await?
            }
        };
        let page = Page {
            first: page.first.max(0),
            max: page.max.clamp(1, MAX_COMPANY_TOKEN_PAGE),
        };
        let tokens = self
            .core
            .store
            .company_tokens(
                &access.company.id,
                (filter.subscription, filter.holder),
                page,
            )
            .await?;
        Ok(tokens
            .into_iter()
            .filter(|listed| access.allows(action, Some(&listed.token.subscription_id)))
            .collect())
    }

    pub async fn rename_company_token(
        &self,
        realm: &str,
        principal: &Principal,
        (company, subscription, id): (&CompanyId, &SubscriptionId, &CompanyTokenId),
        (name, address): (String, Option<&str>),
    ) -> Result<Tracked<CompanyToken>, TokenError> {
        self.core.realm(realm)?;
        let name = checked_text("name", name, MAX_NAME_CHARS)?;
        let action = TesseraAction::UpdateSubscriptionTokens;
        let (access, _) = self
            .access(realm, principal, (company, subscription), action)
            .await?;
        let audit = principal.audit(address);
        self.core
            .store
            .rename_company_token(
                (&access.company, subscription, id),
                &name,
                (Timestamp::now(), audit),
            )
            .await?
            .ok_or(TokenError::TokenNotFound)
    }

    /// Deletes one token, a user's or the userless ones of the subscription;
    /// returns how many. Deleting one that is gone is not found.
    pub async fn delete_company_tokens(
        &self,
        realm: &str,
        principal: &Principal,
        (company, subscription): (&CompanyId, &SubscriptionId),
        (selection, address): (CompanyTokenSelection<'_>, Option<&str>),
    ) -> Result<u64, TokenError> {
        let action = TesseraAction::DeleteSubscriptionTokens;
        let (access, _) = self
            .access(realm, principal, (company, subscription), action)
            .await?;
        let scope = match selection {
            CompanyTokenSelection::One(id) => CompanyTokenScope::One(subscription, id),
            CompanyTokenSelection::User(user) => CompanyTokenScope::Assignment(subscription, user),
            CompanyTokenSelection::Userless => CompanyTokenScope::Userless(subscription),
        };
        let (now, feed, audit) = access.deletion(address);
        let deleted = self
            .core
            .store
            .delete_company_tokens(scope, (now, &feed), audit)
            .await?;
        if deleted == 0 && matches!(selection, CompanyTokenSelection::One(_)) {
            return Err(TokenError::TokenNotFound);
        }
        Ok(deleted)
    }
}

impl Core {
    /// RFC 7662 introspection of a company token for the confidential client
    /// `client_id`: only the subscription's audience learns that it is active
    /// (RFC 7662 §4). Every use of a known token is recorded, off the request
    /// path.
    pub(crate) async fn introspect_company_token(
        &self,
        request: Introspection<'_>,
    ) -> Result<IntrospectionResponse, TokenError> {
        let bearer = self
            .store
            .find_company_bearer(&request.realm.name, &self.digester.digest(request.token))
            .await?
            .ok_or(TokenError::InvalidToken)?;
        let now = Timestamp::now();
        let outcome = company_token_outcome(&bearer, request.client_id, now);
        self.usage
            .record_company(CompanyTokenUse {
                token_id: bearer.token_id.clone(),
                realm: bearer.realm,
                company_id: bearer.company_id.clone(),
                subscription_id: bearer.subscription_id.clone(),
                user_id: bearer.user.as_ref().map(|user| user.id.clone()),
                presentation: Presentation::new(request.presenter(), outcome, now),
            })
            .await;
        if outcome != UseOutcome::Active {
            return Err(TokenError::InvalidToken);
        }
        let details = stored_details(&bearer.permissions)?;
        let (sub, username) = match bearer.user {
            Some(user) => (Some(user.id.into()), Some(user.username)),
            None => (None, None),
        };
        Ok(IntrospectionResponse {
            active: true,
            token_type: Some("company".to_owned()),
            username: username.clone(),
            preferred_username: username,
            sub,
            exp: Some(bearer.expires_at.unix_seconds()),
            iat: Some(bearer.created_at.unix_seconds()),
            aud: Some(Audience::from_list(vec![bearer.audience])),
            iss: Some(request.realm.issuer.clone()),
            jti: Some(bearer.token_id.clone().into()),
            token_id: Some(bearer.token_id.into()),
            name: Some(bearer.name),
            authorization_details: Some(details),
            company_id: Some(bearer.company_id.into()),
            subscription_id: Some(bearer.subscription_id.into()),
            ..IntrospectionResponse::default()
        })
    }
}

/// What using the token now, for `client_id`, comes to.
fn company_token_outcome(bearer: &CompanyBearer, client_id: &str, now: Timestamp) -> UseOutcome {
    if bearer.audience != client_id {
        UseOutcome::WrongAudience
    } else if !bearer.subscription.in_force(now) {
        UseOutcome::Disabled
    } else if now >= bearer.expires_at {
        UseOutcome::Expired
    } else if bearer
        .user
        .as_ref()
        .is_some_and(|user| !user.standing.in_force(now))
    {
        UseOutcome::UserInactive
    } else {
        UseOutcome::Active
    }
}
