//! Companies, their members and their subscriptions, with the assignments of
//! members to subscriptions. Every change that takes something away (a member
//! removed, an assignment ended, a subscription or a company deleted) deletes
//! the company tokens it ends in the same transaction, after putting them on
//! the revocation feed, and each change is recorded in the company's audit
//! trail with its actor.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::company_events::{CompanyEventKind, CompanyEventRow};
use crate::company_tokens::{is_assigned, retire_company_tokens, CompanyTokenScope};
use crate::rows::{
    prefixed_user_columns, subscription_from_row, user_from_prefixed_row, ROLE_SEPARATOR,
    SUBSCRIPTION_COLUMNS,
};
use crate::sql::{all_by_key, find_by_keys, flag, realm_page};
use crate::{
    Audit, Company, CompanyId, DeletionFeed, Page, Store, StoreResult, Subscription,
    SubscriptionId, Timestamp, User, UserId,
};

/// A user of the realm in a company, with their roles there.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: User,
    pub roles: Vec<String>,
    pub added_at: Timestamp,
}

/// What an edit of a subscription sets; `None` keeps the field, and
/// `Some(None)` clears a validity bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionChanges {
    pub name: Option<String>,
    pub permissions: Option<String>,
    pub valid_from: Option<Option<Timestamp>>,
    pub valid_until: Option<Option<Timestamp>>,
    pub enabled: Option<bool>,
}

/// How a change that must keep a name unique ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    Done,
    /// Another one of the same scope has that name.
    Taken,
    /// What was to change does not exist.
    Missing,
}

const COMPANY_COLUMNS: &str = "c.id, c.realm, c.name, c.created_at";

fn company_from_row(row: &AnyRow) -> StoreResult<Company> {
    Ok(Company {
        id: row.try_get("id")?,
        realm: row.try_get("realm")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

fn member_from_row(row: &AnyRow) -> StoreResult<Member> {
    let roles: String = row.try_get("member_roles")?;
    Ok(Member {
        user: user_from_prefixed_row(row, "u_")?,
        roles: split_roles(&roles),
        added_at: row.try_get("added_at")?,
    })
}

fn split_roles(roles: &str) -> Vec<String> {
    roles
        .split(ROLE_SEPARATOR)
        .filter(|role| !role.is_empty())
        .map(str::to_owned)
        .collect()
}

fn join_roles(roles: &[String]) -> String {
    roles.join(&ROLE_SEPARATOR.to_string())
}

/// Whether an insert or update was refused by a unique index.
fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(error) if error.is_unique_violation())
}

impl Store {
    /// Stores a new company and records it; false when the realm has a
    /// company of that name.
    pub async fn insert_company(&self, company: &Company, audit: Audit<'_>) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO companies (id, realm, name, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&company.id)
        .bind(&company.realm)
        .bind(&company.name)
        .bind(company.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let event = CompanyEventRow::new(company, CompanyEventKind::CompanyCreated, audit);
        event
            .commit_if_changed(tx, company.created_at, inserted)
            .await
    }

    pub async fn find_company(&self, realm: &str, id: &CompanyId) -> StoreResult<Option<Company>> {
        let sql =
            format!("SELECT {COMPANY_COLUMNS} FROM companies c WHERE c.id = $1 AND c.realm = $2");
        find_by_keys(&self.pool, &sql, (id, realm), company_from_row).await
    }

    /// A page of the realm's companies, by name: `max` from the `first`.
    pub async fn list_companies(&self, realm: &str, page: Page) -> StoreResult<Vec<Company>> {
        let listing = ("companies c", COMPANY_COLUMNS, "c.name");
        realm_page(&self.pool, listing, (realm, page), company_from_row).await
    }

    /// The companies the user is a member of, with their roles in each, by name.
    pub async fn companies_of_member(
        &self,
        user_id: &UserId,
    ) -> StoreResult<Vec<(Company, Vec<String>)>> {
        let sql = format!(
            "SELECT {COMPANY_COLUMNS}, m.roles AS member_roles FROM company_members m \
             JOIN companies c ON c.id = m.company_id WHERE m.user_id = $1 ORDER BY c.name"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let roles: String = row.try_get("member_roles")?;
                Ok((company_from_row(row)?, split_roles(&roles)))
            })
            .collect()
    }

    pub async fn rename_company(
        &self,
        company: &Company,
        name: &str,
        (now, audit): (Timestamp, Audit<'_>),
    ) -> StoreResult<Naming> {
        let mut tx = self.begin_write().await?;
        let renamed = sqlx::query("UPDATE companies SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(&company.id)
            .execute(&mut *tx)
            .await;
        match renamed {
            Err(error) if is_unique_violation(&error) => return Ok(Naming::Taken),
            Err(error) => return Err(error.into()),
            Ok(done) if done.rows_affected() == 0 => return Ok(Naming::Missing),
            Ok(_) => {}
        }
        let event = CompanyEventRow::new(company, CompanyEventKind::CompanyRenamed, audit);
        event.commit_with(tx, now, Naming::Done).await
    }

    /// Deletes the company with its members, subscriptions, assignments and
    /// tokens (put on the feed first), atomically; false when it is gone.
    pub async fn delete_company(
        &self,
        company: &Company,
        (now, feed): (Timestamp, &DeletionFeed),
        audit: Audit<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let scope = CompanyTokenScope::Company(&company.id);
        retire_company_tokens(&mut tx, scope, (now, feed), audit).await?;
        let deleted = sqlx::query("DELETE FROM companies WHERE id = $1")
            .bind(&company.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let event = CompanyEventRow::new(company, CompanyEventKind::CompanyDeleted, audit);
        event.commit_if_changed(tx, now, deleted).await
    }

    pub async fn company_member(
        &self,
        company_id: &CompanyId,
        user_id: &UserId,
    ) -> StoreResult<Option<Member>> {
        let sql = format!(
            "SELECT {}, m.roles AS member_roles, m.added_at FROM company_members m \
             JOIN users u ON u.id = m.user_id WHERE m.company_id = $1 AND m.user_id = $2",
            prefixed_user_columns("u", "u_")
        );
        find_by_keys(&self.pool, &sql, (company_id, user_id), member_from_row).await
    }

    /// The company's members, by username.
    pub async fn company_members(&self, company_id: &CompanyId) -> StoreResult<Vec<Member>> {
        let sql = format!(
            "SELECT {}, m.roles AS member_roles, m.added_at FROM company_members m \
             JOIN users u ON u.id = m.user_id WHERE m.company_id = $1 ORDER BY u.username",
            prefixed_user_columns("u", "u_")
        );
        all_by_key(&self.pool, &sql, company_id, member_from_row).await
    }

    /// Adds the user to the company with `roles`, or gives a member these
    /// roles instead of theirs; returns whether they were new.
    pub async fn put_company_member(
        &self,
        company: &Company,
        user_id: &UserId,
        roles: &[String],
        (now, audit): (Timestamp, Audit<'_>),
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE company_members SET roles = $1 WHERE company_id = $2 AND user_id = $3",
        )
        .bind(join_roles(roles))
        .bind(&company.id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let added = changed == 0;
        if added {
            sqlx::query(
                "INSERT INTO company_members (company_id, user_id, roles, added_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&company.id)
            .bind(user_id)
            .bind(join_roles(roles))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let kind = if added {
            CompanyEventKind::MemberAdded
        } else {
            CompanyEventKind::MemberChanged
        };
        let event = CompanyEventRow::new(company, kind, audit).about_user(Some(user_id));
        event.commit_with(tx, now, added).await
    }

    /// Removes a member, their assignments to the company's subscriptions and
    /// every token of theirs in it (put on the feed first), atomically; false
    /// when they were no member.
    pub async fn remove_company_member(
        &self,
        company: &Company,
        user_id: &UserId,
        (now, feed): (Timestamp, &DeletionFeed),
        audit: Audit<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let membership = (
            "DELETE FROM company_members WHERE company_id = $1 AND user_id = $2",
            [company.id.as_str(), user_id.as_str()],
        );
        let scope = CompanyTokenScope::Member(&company.id, user_id);
        if !unlink(&mut tx, membership, scope, (now, feed, audit)).await? {
            return Ok(false);
        }
        sqlx::query(
            "DELETE FROM subscription_assignments WHERE user_id = $1 AND subscription_id IN \
             (SELECT id FROM subscriptions WHERE company_id = $2)",
        )
        .bind(user_id)
        .bind(&company.id)
        .execute(&mut *tx)
        .await?;
        let event = CompanyEventRow::new(company, CompanyEventKind::MemberRemoved, audit)
            .about_user(Some(user_id));
        event.commit_with(tx, now, true).await
    }

    /// Stores a new subscription and records it; false when the company has
    /// one of that name.
    pub async fn insert_subscription(
        &self,
        (company, subscription): (&Company, &Subscription),
        audit: Audit<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO subscriptions (id, company_id, name, audience, permissions, \
             valid_from, valid_until, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(&subscription.id)
        .bind(&subscription.company_id)
        .bind(&subscription.name)
        .bind(&subscription.audience)
        .bind(&subscription.permissions)
        .bind(subscription.valid_from)
        .bind(subscription.valid_until)
        .bind(flag(subscription.enabled))
        .bind(subscription.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let event = CompanyEventRow::new(company, CompanyEventKind::SubscriptionCreated, audit)
            .about_subscription(&subscription.id);
        event
            .commit_if_changed(tx, subscription.created_at, inserted)
            .await
    }

    pub async fn find_subscription(
        &self,
        company_id: &CompanyId,
        id: &SubscriptionId,
    ) -> StoreResult<Option<Subscription>> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1 AND company_id = $2"
        );
        find_by_keys(&self.pool, &sql, (id, company_id), subscription_from_row).await
    }

    /// The company's subscriptions, by name.
    pub async fn list_subscriptions(
        &self,
        company_id: &CompanyId,
    ) -> StoreResult<Vec<Subscription>> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE company_id = $1 ORDER BY name"
        );
        all_by_key(&self.pool, &sql, company_id, subscription_from_row).await
    }

    /// Applies `changes` and records them; every token of the subscription
    /// gets a `changed` feed entry mattering until `notice_until`, so that
    /// verifiers drop the answers they cached. Returns the subscription as it
    /// is now.
    pub async fn update_subscription(
        &self,
        (company, id): (&Company, &SubscriptionId),
        changes: &SubscriptionChanges,
        (now, notice_until): (Timestamp, Timestamp),
        audit: Audit<'_>,
    ) -> StoreResult<(Naming, Option<Subscription>)> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE subscriptions SET name = COALESCE($1, name), \
             permissions = COALESCE($2, permissions), \
             valid_from = CASE WHEN $3 = 1 THEN $4 ELSE valid_from END, \
             valid_until = CASE WHEN $5 = 1 THEN $6 ELSE valid_until END, \
             enabled = COALESCE($7, enabled), updated_at = $8 \
             WHERE id = $9 AND company_id = $10",
        )
        .bind(&changes.name)
        .bind(&changes.permissions)
        .bind(flag(changes.valid_from.is_some()))
        .bind(changes.valid_from.flatten())
        .bind(flag(changes.valid_until.is_some()))
        .bind(changes.valid_until.flatten())
        .bind(changes.enabled.map(flag))
        .bind(now)
        .bind(id)
        .bind(&company.id)
        .execute(&mut *tx)
        .await;
        match updated {
            Err(error) if is_unique_violation(&error) => return Ok((Naming::Taken, None)),
            Err(error) => return Err(error.into()),
            Ok(done) if done.rows_affected() == 0 => return Ok((Naming::Missing, None)),
            Ok(_) => {}
        }
        let scope = CompanyTokenScope::Subscription(id);
        crate::company_tokens::announce_changed_tokens(&mut tx, scope, (now, notice_until)).await?;
        let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await?;
        let subscription = subscription_from_row(&row)?;
        CompanyEventRow::new(company, CompanyEventKind::SubscriptionUpdated, audit)
            .about_subscription(id)
            .commit_with(tx, now, (Naming::Done, Some(subscription)))
            .await
    }

    /// Deletes the subscription with its assignments and tokens (put on the
    /// feed first), atomically; false when it is gone.
    pub async fn delete_subscription(
        &self,
        (company, id): (&Company, &SubscriptionId),
        (now, feed): (Timestamp, &DeletionFeed),
        audit: Audit<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let scope = CompanyTokenScope::Subscription(id);
        retire_company_tokens(&mut tx, scope, (now, feed), audit).await?;
        let deleted = sqlx::query("DELETE FROM subscriptions WHERE id = $1 AND company_id = $2")
            .bind(id)
            .bind(&company.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let event = CompanyEventRow::new(company, CompanyEventKind::SubscriptionDeleted, audit)
            .about_subscription(id);
        event.commit_if_changed(tx, now, deleted).await
    }

    /// The members assigned to the subscription, by username.
    pub async fn subscription_assignees(&self, id: &SubscriptionId) -> StoreResult<Vec<Member>> {
        let sql = format!(
            "SELECT {}, m.roles AS member_roles, a.assigned_at AS added_at \
             FROM subscription_assignments a JOIN subscriptions s ON s.id = a.subscription_id \
             JOIN company_members m ON m.company_id = s.company_id AND m.user_id = a.user_id \
             JOIN users u ON u.id = a.user_id WHERE a.subscription_id = $1 ORDER BY u.username",
            prefixed_user_columns("u", "u_")
        );
        all_by_key(&self.pool, &sql, id, member_from_row).await
    }

    pub async fn is_assigned(&self, id: &SubscriptionId, user_id: &UserId) -> StoreResult<bool> {
        let mut conn = self.pool.acquire().await?;
        is_assigned(&mut conn, id, user_id).await
    }

    /// Assigns a member to the subscription; false when they already were, or
    /// are no member (any more).
    pub async fn assign_subscription(
        &self,
        (company, id): (&Company, &SubscriptionId),
        user_id: &UserId,
        (now, audit): (Timestamp, Audit<'_>),
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let assigned = sqlx::query(
            "INSERT INTO subscription_assignments (subscription_id, user_id, assigned_at) \
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM company_members \
             WHERE company_id = $4 AND user_id = $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(user_id)
        .bind(now)
        .bind(&company.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let event = CompanyEventRow::new(company, CompanyEventKind::UserAssigned, audit)
            .about_subscription(id)
            .about_user(Some(user_id));
        event.commit_if_changed(tx, now, assigned).await
    }

    /// Ends an assignment and deletes the user's tokens for the subscription
    /// (put on the feed first), atomically; false when there was none.
    pub async fn unassign_subscription(
        &self,
        (company, id): (&Company, &SubscriptionId),
        user_id: &UserId,
        (now, feed): (Timestamp, &DeletionFeed),
        audit: Audit<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let assignment = (
            "DELETE FROM subscription_assignments WHERE subscription_id = $1 AND user_id = $2",
            [id.as_str(), user_id.as_str()],
        );
        let scope = CompanyTokenScope::Assignment(id, user_id);
        if !unlink(&mut tx, assignment, scope, (now, feed, audit)).await? {
            return Ok(false);
        }
        let event = CompanyEventRow::new(company, CompanyEventKind::UserUnassigned, audit)
            .about_subscription(id)
            .about_user(Some(user_id));
        event.commit_with(tx, now, true).await
    }
}

/// Deletes the one link row (a membership, an assignment) that `delete`
/// names by its two keys and, when there was one, retires the company tokens
/// it held up, on the feed first. False when there was none.
async fn unlink(
    conn: &mut sqlx::AnyConnection,
    (delete, [first, second]): (&str, [&str; 2]),
    scope: CompanyTokenScope<'_>,
    (now, feed, audit): (Timestamp, &DeletionFeed, Audit<'_>),
) -> StoreResult<bool> {
    let removed = sqlx::query(delete)
        .bind(first)
        .bind(second)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if removed == 0 {
        return Ok(false);
    }
    retire_company_tokens(conn, scope, (now, feed), audit).await?;
    Ok(true)
}
