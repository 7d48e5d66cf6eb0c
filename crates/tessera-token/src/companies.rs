//! Companies and their members. A realm admin creates, renames and deletes
//! companies; a member with `company-admin` there manages its members and
//! reads its audit trail (see `company_access.rs`). Removing a member ends
//! their assignments and deletes their tokens in the company, at once.

use tessera_authz::TesseraAction;
use tessera_store::{Company, CompanyEvent, CompanyId, Member, Naming, Page, Timestamp, UserId};

use crate::company_access::{is_company_admin, CompanyAccess};
use crate::input::checked_text;
use crate::principal::Principal;
use crate::service::CompanyService;
use crate::{new_uuid, TokenError};

/// Longest company name, in characters.
const MAX_NAME_CHARS: usize = 100;
/// Roles one member may hold in a company, and the longest role name.
const MAX_MEMBER_ROLES: usize = 20;
const MAX_ROLE_CHARS: usize = 64;
/// Companies and events per page at most.
pub const MAX_COMPANY_PAGE: i64 = 500;

impl CompanyService {
    /// Creates a company; needs `company:CreateCompany` on every company.
    pub async fn create_company(
        &self,
        realm: &str,
        principal: &Principal,
        name: String,
        address: Option<&str>,
    ) -> Result<Company, TokenError> {
        self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::CreateCompany)?;
        let company = Company {
            id: CompanyId::new(new_uuid()?),
            realm: realm.to_owned(),
            name: checked_text("name", name, MAX_NAME_CHARS)?,
            created_at: Timestamp::now(),
        };
        let audit = principal.audit(address);
        let inserted = self.core.store.insert_company(&company, audit).await?;
        TokenError::when_done(inserted, company, TokenError::DuplicateCompanyName)
    }

    /// The companies the caller may list, by name: every company of the realm
    /// for a caller holding `company:ListCompanies` on every company, else
    /// those it belongs to and may list (a company admin's own).
    pub async fn list_companies(
        &self,
        realm: &str,
        principal: &Principal,
        page: Page,
    ) -> Result<Vec<Company>, TokenError> {
        self.core.realm(realm)?;
        if principal
            .require_on_every(TesseraAction::ListCompanies)
            .is_ok()
        {
            return Ok(self.core.store.list_companies(realm, page).await?);
        }
        let Some(user) = principal.user() else {
            return Err(TokenError::Forbidden(TesseraAction::ListCompanies));
        };
        let listed: Vec<Company> = self
            .core
            .store
            .companies_of_member(&user.id)
            .await?
            .into_iter()
            .filter(|(company, roles)| {
                is_company_admin(roles)
                    || principal.may(TesseraAction::ListCompanies, Some(company.id.as_str()))
            })
            .map(|(company, _)| company)
            .collect();
        if listed.is_empty() && !principal.may(TesseraAction::ListCompanies, None) {
            return Err(TokenError::Forbidden(TesseraAction::ListCompanies));
        }
        Ok(listed
            .into_iter()
            .skip(usize::try_from(page.first).unwrap_or(0))
            .take(usize::try_from(page.max).unwrap_or(0))
            .collect())
    }

    pub async fn company(
        &self,
        realm: &str,
        principal: &Principal,
        id: &CompanyId,
    ) -> Result<Company, TokenError> {
        let action = TesseraAction::ReadCompanyConfig;
        let access = self.access((realm, id), principal, action).await?;
        Ok(access.company)
    }

    pub async fn rename_company(
        &self,
        realm: &str,
        principal: &Principal,
        id: &CompanyId,
        (name, address): (String, Option<&str>),
    ) -> Result<Company, TokenError> {
        self.core.realm(realm)?;
        let name = checked_text("name", name, MAX_NAME_CHARS)?;
        let action = TesseraAction::UpdateCompany;
        let access = self.access((realm, id), principal, action).await?;
        let audit = principal.audit(address);
        match self
            .core
            .store
            .rename_company(&access.company, &name, (Timestamp::now(), audit))
            .await?
        {
            Naming::Done => Ok(Company {
                name,
                ..access.company
            }),
            Naming::Taken => Err(TokenError::DuplicateCompanyName),
            Naming::Missing => Err(TokenError::CompanyNotFound),
        }
    }

    /// Deletes the company with its members, subscriptions and tokens.
    pub async fn delete_company(
        &self,
        realm: &str,
        principal: &Principal,
        id: &CompanyId,
        address: Option<&str>,
    ) -> Result<(), TokenError> {
        let action = TesseraAction::DeleteCompany;
        let access = self.access((realm, id), principal, action).await?;
        let (now, feed, audit) = access.deletion(address);
        let done = self
            .core
            .store
            .delete_company(&access.company, (now, &feed), audit)
            .await?;
        TokenError::when_done(done, (), TokenError::CompanyNotFound)
    }

    /// The company's members, by username.
    pub async fn members(
        &self,
        realm: &str,
        principal: &Principal,
        id: &CompanyId,
    ) -> Result<Vec<Member>, TokenError> {
        let action = TesseraAction::ReadCompanyConfig;
        let access = self.access((realm, id), principal, action).await?;
        Ok(self.core.store.company_members(&access.company.id).await?)
    }

    /// Makes the realm's user `user_id` a member with `roles`, or gives a
    /// member these roles instead of theirs; returns whether they were new.
    pub async fn put_member(
        &self,
        realm: &str,
        principal: &Principal,
        (id, user_id): (&CompanyId, &UserId),
        (roles, address): (Vec<String>, Option<&str>),
    ) -> Result<bool, TokenError> {
        self.core.realm(realm)?;
        let roles = checked_roles(roles)?;
        let action = TesseraAction::ManageCompanyMembers;
        let access = self.access((realm, id), principal, action).await?;
        let user = self.core.realm_user(realm, user_id).await?;
        let audit = principal.audit(address);
        Ok(self
            .core
            .store
            .put_company_member(&access.company, &user.id, &roles, (Timestamp::now(), audit))
            .await?)
    }

    /// Removes a member: their assignments and tokens in the company go too.
    pub async fn remove_member(
        &self,
        realm: &str,
        principal: &Principal,
        (id, user_id): (&CompanyId, &UserId),
        address: Option<&str>,
    ) -> Result<(), TokenError> {
        let action = TesseraAction::ManageCompanyMembers;
        let access = self.access((realm, id), principal, action).await?;
        let (now, feed, audit) = access.deletion(address);
        let done = self
            .core
            .store
            .remove_company_member(&access.company, user_id, (now, &feed), audit)
            .await?;
        TokenError::when_done(done, (), TokenError::UserNotFound)
    }

    /// The company's audit trail, newest first: at most `max` events before
    /// the event `before`.
    pub async fn events(
        &self,
        realm: &str,
        principal: &Principal,
        id: &CompanyId,
        (before, max): (Option<i64>, i64),
    ) -> Result<Vec<CompanyEvent>, TokenError> {
        let action = TesseraAction::ReadCompanyEvents;
        let access = self.access((realm, id), principal, action).await?;
        let max = max.clamp(1, MAX_COMPANY_PAGE);
        Ok(self
            .core
            .store
            .company_events(&access.company.id, before, max)
            .await?)
    }

    /// The caller's access to the company, refused unless it allows `action`
    /// on the company itself.
    async fn access<'a>(
        &self,
        company: (&str, &CompanyId),
        principal: &'a Principal,
        action: TesseraAction,
    ) -> Result<CompanyAccess<'a>, TokenError> {
        self.core
            .company_access(company, principal, (action, None))
            .await
    }
}

/// Company roles: at most [`MAX_MEMBER_ROLES`] distinct slugs.
fn checked_roles(roles: Vec<String>) -> Result<Vec<String>, TokenError> {
    let mut checked: Vec<String> = Vec::with_capacity(roles.len());
    for role in roles {
        let slug = !role.is_empty()
            && role.chars().count() <= MAX_ROLE_CHARS
            && role
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !slug {
            return Err(TokenError::InvalidRequest(format!(
                "a company role is 1 to {MAX_ROLE_CHARS} letters, digits, '-', '_' or '.'"
            )));
        }
        if !checked.contains(&role) {
            checked.push(role);
        }
    }
    if checked.len() > MAX_MEMBER_ROLES {
        return Err(TokenError::InvalidRequest(format!(
            "a member holds at most {MAX_MEMBER_ROLES} company roles"
        )));
    }
    Ok(checked)
}
