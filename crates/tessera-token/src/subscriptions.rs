//! A company's subscriptions and who is assigned to them. Realm admins create,
//! change and delete subscriptions; a company admin reads them and manages
//! their assignments. Ending an assignment deletes the user's tokens for the
//! subscription; a disabled or expired subscription keeps its tokens but makes
//! them inactive, and every change of one tells verifiers to forget what they
//! cached.

use tessera_authz::{Permissions, TesseraAction};
use tessera_proto::AuthorizationDetail;
use tessera_store::{
    CompanyId, Member, Naming, Subscription, SubscriptionChanges, SubscriptionId, Timestamp, UserId,
};

use crate::company_access::CompanyAccess;
use crate::input::checked_text;
use crate::principal::Principal;
use crate::revocation::deletion_feed;
use crate::service::SubscriptionService;
use crate::{new_uuid, Realm, TokenError};

const MAX_NAME_CHARS: usize = 100;

/// A new subscription, as the management API and the CLI receive it.
#[derive(Debug, Clone)]
pub struct SubscriptionRequest {
    pub name: String,
    /// The client id of the API its tokens are for.
    pub audience: String,
    pub permissions: Vec<AuthorizationDetail>,
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    pub enabled: bool,
}

/// An edit of a subscription; `None` keeps the field, `Some(None)` clears a
/// validity bound.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionEdit {
    pub name: Option<String>,
    pub permissions: Option<Vec<AuthorizationDetail>>,
    pub valid_from: Option<Option<Timestamp>>,
    pub valid_until: Option<Option<Timestamp>>,
    pub enabled: Option<bool>,
}

/// A subscription's permissions, as the service wrote them after checking
/// them: a value that does not parse is corrupt.
pub fn subscription_permissions(subscription: &Subscription) -> Result<Permissions, TokenError> {
    crate::introspection::stored_permissions(&subscription.permissions)
}

/// What [`SubscriptionService::change_assignment`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentChange {
    Assign,
    Unassign,
}

impl SubscriptionService {
    /// Creates a subscription; needs `subscription:CreateSubscription` on
    /// every subscription (a realm admin's).
    pub async fn create_subscription(
        &self,
        realm: &str,
        principal: &Principal,
        company: &CompanyId,
        (request, address): (SubscriptionRequest, Option<&str>),
    ) -> Result<Subscription, TokenError> {
        self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::CreateSubscription)?;
        let action = (TesseraAction::ListSubscriptions, None);
        let access = self
            .core
            .company_access((realm, company), principal, action)
            .await?;
        if !access.realm.config.clients.contains_key(&request.audience) {
            return Err(TokenError::InvalidRequest(format!(
                "audience must be a client id of the realm, not {:?}",
                request.audience
            )));
        }
        checked_window(request.valid_from, request.valid_until)?;
        let subscription = Subscription {
            id: SubscriptionId::new(new_uuid()?),
            company_id: access.company.id.clone(),
            name: checked_text("name", request.name, MAX_NAME_CHARS)?,
            audience: request.audience,
            permissions: checked_permissions(
                &access.realm.config,
                principal,
                &request.permissions,
            )?,
            valid_from: request.valid_from,
            valid_until: request.valid_until,
            enabled: request.enabled,
            created_at: Timestamp::now(),
            updated_at: None,
        };
        let audit = principal.audit(address);
        let inserted = self
            .core
            .store
            .insert_subscription((&access.company, &subscription), audit)
            .await?;
        TokenError::when_done(
            inserted,
            subscription,
            TokenError::DuplicateSubscriptionName,
        )
    }

    /// The company's subscriptions the caller may list, by name.
    pub async fn list_subscriptions(
        &self,
        realm: &str,
        principal: &Principal,
        company: &CompanyId,
    ) -> Result<Vec<Subscription>, TokenError> {
        let action = (TesseraAction::ListSubscriptions, None);
        let access = self
            .core
            .company_access((realm, company), principal, action)
            .await?;
        let subscriptions = self
            .core
            .store
            .list_subscriptions(&access.company.id)
            .await?;
        Ok(subscriptions
            .into_iter()
            .filter(|subscription| {
                access.allows(TesseraAction::ListSubscriptions, Some(&subscription.id))
            })
            .collect())
    }

    pub async fn subscription(
        &self,
        realm: &str,
        principal: &Principal,
        (company, id): (&CompanyId, &SubscriptionId),
    ) -> Result<Subscription, TokenError> {
        let action = TesseraAction::ReadSubscriptionConfig;
        let (_, subscription) = self.access(realm, principal, (company, id), action).await?;
        Ok(subscription)
    }

    /// Edits a subscription: at once here, within one feed poll at every
    /// verifier that cached one of its tokens.
    pub async fn update_subscription(
        &self,
        realm: &str,
        principal: &Principal,
        (company, id): (&CompanyId, &SubscriptionId),
        (edit, address): (SubscriptionEdit, Option<&str>),
    ) -> Result<Subscription, TokenError> {
        let action = TesseraAction::UpdateSubscription;
        let (access, current) = self.access(realm, principal, (company, id), action).await?;
        let changes = SubscriptionChanges {
            name: edit
                .name
                .map(|name| checked_text("name", name, MAX_NAME_CHARS))
                .transpose()?,
            permissions: edit
                .permissions
                .map(|details| checked_permissions(&access.realm.config, principal, &details))
                .transpose()?,
            valid_from: edit.valid_from,
            valid_until: edit.valid_until,
            enabled: edit.enabled,
        };
        if changes == SubscriptionChanges::default() {
            return Err(TokenError::InvalidRequest(
                "nothing to change: give a name, permissions, valid_from, valid_until or enabled"
                    .to_owned(),
            ));
        }
        checked_window(
            changes.valid_from.unwrap_or(current.valid_from),
            changes.valid_until.unwrap_or(current.valid_until),
        )?;
        let now = Timestamp::now();
        let notice_until = deletion_feed(&access.realm.config, now).expose_until;
        let audit = principal.audit(address);
        match self
            .core
            .store
            .update_subscription((&access.company, id), &changes, (now, notice_until), audit)
            .await?
        {
            (Naming::Done, Some(subscription)) => Ok(subscription),
            (Naming::Taken, _) => Err(TokenError::DuplicateSubscriptionName),
            (Naming::Done | Naming::Missing, _) => Err(TokenError::SubscriptionNotFound),
        }
    }

    /// Deletes a subscription with its assignments and tokens.
    pub async fn delete_subscription(
        &self,
        realm: &str,
        principal: &Principal,
        (company, id): (&CompanyId, &SubscriptionId),
        address: Option<&str>,
    ) -> Result<(), TokenError> {
        let action = TesseraAction::DeleteSubscription;
        let (access, _) = self.access(realm, principal, (company, id), action).await?;
        let (now, feed, audit) = access.deletion(address);
        let done = self
            .core
            .store
            .delete_subscription((&access.company, id), (now, &feed), audit)
            .await?;
        TokenError::when_done(done, (), TokenError::SubscriptionNotFound)
    }

    /// The members assigned to the subscription, by username.
    pub async fn assignees(
        &self,
        realm: &str,
        principal: &Principal,
        (company, id): (&CompanyId, &SubscriptionId),
    ) -> Result<Vec<Member>, TokenError> {
        let action = TesseraAction::ReadSubscriptionConfig;
        self.access(realm, principal, (company, id), action).await?;
        Ok(self.core.store.subscription_assignees(id).await?)
    }

    /// Assigns a member of the company to the subscription (a user who is no
    /// member is a conflict; assigning twice changes nothing), or ends an
    /// assignment, and the user's tokens for the subscription with it.
    pub async fn change_assignment(
        &self,
        realm: &str,
        principal: &Principal,
        (company, id, user_id): (&CompanyId, &SubscriptionId, &UserId),
        (change, address): (AssignmentChange, Option<&str>),
    ) -> Result<(), TokenError> {
        let action = TesseraAction::AssignSubscriptionUsers;
        let (access, _) = self.access(realm, principal, (company, id), action).await?;
        match change {
            AssignmentChange::Assign => {
                let user = self.core.realm_user(realm, user_id).await?;
                let store = &self.core.store;
                if store
                    .company_member(&access.company.id, &user.id)
                    .await?
                    .is_none()
                {
                    return Err(TokenError::NotCompanyMember);
                }
                let audit = principal.audit(address);
                store
                    .assign_subscription((&access.company, id), &user.id, (Timestamp::now(), audit))
                    .await?;
                Ok(())
            }
            AssignmentChange::Unassign => {
                let (now, feed, audit) = access.deletion(address);
                let done = self
                    .core
                    .store
                    .unassign_subscription((&access.company, id), user_id, (now, &feed), audit)
                    .await?;
                TokenError::when_done(done, (), TokenError::NotAssigned)
            }
        }
    }

    /// The caller's access to the company, refused unless it allows `action`
    /// on the subscription `id` of it, and the subscription; one of another
    /// company is not found.
    pub(crate) async fn access<'a>(
        &self,
        realm: &str,
        principal: &'a Principal,
        (company, id): (&CompanyId, &SubscriptionId),
        action: TesseraAction,
    ) -> Result<(CompanyAccess<'a>, Subscription), TokenError> {
        // An unknown realm is answered before any lookup.
        self.core.realm(realm)?;
        let access = self
            .core
            .company_access((realm, company), principal, (action, Some(id)))
            .await;
        // A subscription of another company is not found, even by a caller
        // who may act on the id: look it up before telling a refusal.
        let subscription = self
            .core
            .store
            .find_subscription(company, id)
            .await?
            .ok_or(TokenError::SubscriptionNotFound);
        match (access, subscription) {
            (Err(unknown @ TokenError::CompanyNotFound), _) => Err(unknown),
            (_, Err(missing)) => Err(missing),
            (Err(refused), _) => Err(refused),
            (Ok(access), Ok(subscription)) => Ok((access, subscription)),
        }
    }
}

/// A validity window that ends after it starts.
fn checked_window(
    valid_from: Option<Timestamp>,
    valid_until: Option<Timestamp>,
) -> Result<(), TokenError> {
    match (valid_from, valid_until) {
        (Some(from), Some(until)) if until <= from => Err(TokenError::InvalidRequest(
            "valid_until must come after valid_from".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// The grants requested for the subscription's tokens, in their stored form:
/// well formed, known to the realm's catalog, and no wider than what the
/// caller may grant.
fn checked_permissions(
    realm: &Realm,
    principal: &Principal,
    details: &[AuthorizationDetail],
) -> Result<String, TokenError> {
    let permissions = crate::profiles::checked_permissions(realm, principal, details)?;
    crate::profiles::stored_form(&permissions)
}
