//! What a caller may do in one company: what their own grants allow (a realm
//! admin's reach every company), and, for a member holding `company-admin`
//! there, what that role gives in that company only. A company the caller
//! neither holds a grant on nor belongs to is not even seen (404); a member
//! without the role is refused (403).

use std::sync::Arc;

use tessera_authz::TesseraAction;
use tessera_store::{Audit, Company, CompanyId, DeletionFeed, Member, SubscriptionId, Timestamp};

use crate::principal::Principal;
use crate::revocation::deletion_now;
use crate::service::{Core, RealmState};
use crate::TokenError;

/// The company role that manages the company.
pub const COMPANY_ADMIN_ROLE: &str = "company-admin";

/// What `company-admin` allows in its company: everything but creating,
/// renaming and deleting the company and changing its subscriptions, which
/// stay with realm admins.
const COMPANY_ADMIN_ACTIONS: &[TesseraAction] = &[
    TesseraAction::ListCompanies,
    TesseraAction::ReadCompanyConfig,
    TesseraAction::ManageCompanyMembers,
    TesseraAction::ReadCompanyEvents,
    TesseraAction::ListSubscriptions,
    TesseraAction::ReadSubscriptionConfig,
    TesseraAction::AssignSubscriptionUsers,
    TesseraAction::CreateSubscriptionTokens,
    TesseraAction::ListSubscriptionTokens,
    TesseraAction::UpdateSubscriptionTokens,
    TesseraAction::DeleteSubscriptionTokens,
];

/// Whether a member's company roles make them its admin.
pub(crate) fn is_company_admin(roles: &[String]) -> bool {
    roles.iter().any(|role| role == COMPANY_ADMIN_ROLE)
}

/// The caller's standing in one company, found by [`Core::company_access`].
#[derive(Debug)]
pub(crate) struct CompanyAccess<'a> {
    pub(crate) principal: &'a Principal,
    pub(crate) realm: Arc<RealmState>,
    pub(crate) company: Company,
    admin_here: bool,
}

impl CompanyAccess<'_> {
    /// What a deletion by this caller from `address` writes: its moment, how
    /// long its feed entries matter, and who did it.
    pub(crate) fn deletion<'b>(
        &'b self,
        address: Option<&'b str>,
    ) -> (Timestamp, DeletionFeed, Audit<'b>) {
        let (now, feed) = deletion_now(&self.realm.config);
        (now, feed, self.principal.audit(address))
    }

    /// May the caller do `action` here: on the company itself (a `company`
    /// action), or on `subscription` of it (a `subscription` action; `None`:
    /// on some subscription of it, as lists and the overview ask)?
    pub(crate) fn allows(
        &self,
        action: TesseraAction,
        subscription: Option<&SubscriptionId>,
    ) -> bool {
        if self.admin_here && COMPANY_ADMIN_ACTIONS.contains(&action) {
            return true;
        }
        let resource = match action.resource_type() {
            "company" => Some(self.company.id.as_str()),
            _ => subscription.map(SubscriptionId::as_str),
        };
        self.principal.may(action, resource)
    }

    pub(crate) fn require(
        &self,
        action: TesseraAction,
        subscription: Option<&SubscriptionId>,
    ) -> Result<(), TokenError> {
        if self.allows(action, subscription) {
            Ok(())
        } else {
            Err(TokenError::Forbidden(action))
        }
    }
}

impl Core {
    /// The caller's access to the company `id` of `realm`, refused unless it
    /// allows `action` (on `subscription`, for a subscription action).
    pub(crate) async fn company_access<'a>(
        &self,
        (realm, id): (&str, &CompanyId),
        principal: &'a Principal,
        (action, subscription): (TesseraAction, Option<&SubscriptionId>),
    ) -> Result<CompanyAccess<'a>, TokenError> {
        let state = self.realm(realm)?;
        let company = self
            .store
            .find_company(realm, id)
            .await?
            .ok_or(TokenError::CompanyNotFound)?;
        let membership: Option<Member> = match principal.user() {
            Some(user) => self.store.company_member(&company.id, &user.id).await?,
            None => None,
        };
        let admin_here = membership
            .as_ref()
            .is_some_and(|member| is_company_admin(&member.roles));
        let holds_grant = TesseraAction::ALL
            .iter()
            .filter(|action| action.resource_type() == "company")
            .any(|action| principal.may(*action, Some(id.as_str())));
        if membership.is_none() && !holds_grant {
            return Err(TokenError::CompanyNotFound);
        }
        let access = CompanyAccess {
            principal,
            realm: state,
            company,
            admin_here,
        };
        access.require(action, subscription)?;
        Ok(access)
    }
}
