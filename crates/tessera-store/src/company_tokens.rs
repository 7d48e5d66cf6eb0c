//! Company tokens: opaque tokens a company admin generates for a subscription,
//! for an assigned member or userless (for a machine). Stored only as keyed
//! digests. However they end (deleted one by one or all together, or by a
//! cascade from a member, an assignment, a subscription or a company), they go
//! on the revocation feed and into the company's audit trail in the same
//! transaction: [`retire_company_tokens`] is the one place that deletes them.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::company_events::{CompanyEventKind, CompanyEventRow};
use crate::time::duration_millis;
use crate::token_uses::{TokenUsage, Tracked};
use crate::{
    Audit, Company, CompanyId, CompanyTokenId, DeletionFeed, Page, RevokedKind, Store, StoreResult,
    SubscriptionId, Timestamp, UserId,
};

/// A company token about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCompanyToken {
    pub token: CompanyToken,
    pub digest: Vec<u8>,
}

/// A company token as stored: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyToken {
    pub id: CompanyTokenId,
    pub realm: String,
    pub company_id: CompanyId,
    pub subscription_id: SubscriptionId,
    /// `None`: a userless token.
    pub user_id: Option<UserId>,
    pub name: String,
    pub hint: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Which of a company's tokens an operation concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanyTokenScope<'a> {
    /// Every token of the company.
    Company(&'a CompanyId),
    /// Every token of the user, in every company.
    User(&'a UserId),
    /// Every token of a member in the company.
    Member(&'a CompanyId, &'a UserId),
    /// Every token of the subscription.
    Subscription(&'a SubscriptionId),
    /// Every token of the subscription for this user.
    Assignment(&'a SubscriptionId, &'a UserId),
    /// Every userless token of the subscription.
    Userless(&'a SubscriptionId),
    /// One token of the subscription.
    One(&'a SubscriptionId, &'a CompanyTokenId),
}

impl<'a> CompanyTokenScope<'a> {
    /// The `WHERE` condition on `company_tokens`, its placeholders numbered
    /// from `first`, and their values in order.
    fn condition(self, first: usize) -> (String, Vec<&'a str>) {
        use Term::{Is, IsNull};
        let terms = match self {
            Self::Company(company) => vec![Is("company_id", company.as_str())],
            Self::User(user) => vec![Is("user_id", user.as_str())],
            Self::Member(company, user) => {
                vec![
                    Is("company_id", company.as_str()),
                    Is("user_id", user.as_str()),
                ]
            }
            Self::Subscription(subscription) => vec![Is("subscription_id", subscription.as_str())],
            Self::Assignment(subscription, user) => {
                vec![
                    Is("subscription_id", subscription.as_str()),
                    Is("user_id", user.as_str()),
                ]
            }
            Self::Userless(subscription) => {
                vec![
                    Is("subscription_id", subscription.as_str()),
                    IsNull("user_id"),
                ]
            }
            Self::One(subscription, token) => {
                vec![
                    Is("subscription_id", subscription.as_str()),
                    Is("id", token.as_str()),
                ]
            }
        };
        let mut values = Vec::new();
        let clauses: Vec<String> = terms
            .into_iter()
            .map(|term| match term {
                Is(column, value) => {
                    let number = first + values.len();
                    values.push(value);
                    format!("{column} = ${number}")
                }
                IsNull(column) => format!("{column} IS NULL"),
            })
            .collect();
        (clauses.join(" AND "), values)
    }
}

/// One term of a [`CompanyTokenScope`]'s condition.
enum Term<'a> {
    /// The column equals the value.
    Is(&'static str, &'a str),
    IsNull(&'static str),
}

/// Which of a company's tokens a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanyTokenHolder<'a> {
    Anyone,
    User(&'a UserId),
    Userless,
}

/// How storing a new company token ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanyTokenInsertion {
    Stored,
    /// The user holds as many tokens for the subscription as the realm allows.
    UserLimitReached,
    /// The subscription has as many tokens as the realm allows.
    SubscriptionLimitReached,
    /// The user is not (any more) assigned to the subscription.
    NotAssigned,
}

/// The most tokens a user may hold for one subscription, and a subscription
/// may have in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompanyTokenLimits {
    pub per_user: i64,
    pub per_subscription: i64,
}

const COMPANY_TOKEN_COLUMNS: &str =
    "t.id, t.realm, t.company_id, t.subscription_id, t.user_id, t.name, t.hint, t.created_at, \
     t.expires_at, t.last_used_at, t.last_used_ip, t.use_count, t.refused_uses";

pub(crate) fn company_token_from_row(row: &AnyRow) -> StoreResult<Tracked<CompanyToken>> {
    let token = CompanyToken {
        id: row.try_get("id")?,
        realm: row.try_get("realm")?,
        company_id: row.try_get("company_id")?,
        subscription_id: row.try_get("subscription_id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        hint: row.try_get("hint")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    };
    Ok(Tracked {
        token,
        usage: TokenUsage::from_row(row)?,
    })
}

async fn count_tokens(
    conn: &mut sqlx::AnyConnection,
    scope: CompanyTokenScope<'_>,
) -> StoreResult<i64> {
    let (condition, values) = scope.condition(1);
    let sql = format!("SELECT COUNT(*) AS n FROM company_tokens WHERE {condition}");
    let mut query = sqlx::query(&sql);
    for value in values {
        query = query.bind(value);
    }
    Ok(query.fetch_one(conn).await?.try_get("n")?)
}

/// Puts the tokens of `scope` on the feed as revoked, inside the caller's
/// transaction. Each entry matters until no verifier can hold a cached answer
/// for the token any more, or until the token expires (plus leeway) if sooner.
pub(crate) async fn feed_company_tokens(
    conn: &mut sqlx::AnyConnection,
    scope: CompanyTokenScope<'_>,
    (now, feed): (Timestamp, &DeletionFeed),
) -> StoreResult<()> {
    let (condition, values) = scope.condition(5);
    let sql = format!(
        "INSERT INTO revocations (realm, kind, id, revoked_at, relevant_until) \
         SELECT realm, $1, id, $2, CASE WHEN expires_at + $3 < $4 THEN expires_at + $3 \
         ELSE $4 END FROM company_tokens WHERE {condition} ON CONFLICT DO NOTHING"
    );
    let mut query = sqlx::query(&sql)
        .bind(RevokedKind::AccessToken.as_str())
        .bind(now)
        .bind(duration_millis(feed.leeway))
        .bind(feed.expose_until);
    for value in &values {
        query = query.bind(*value);
    }
    query.execute(conn).await?;
    Ok(())
}

/// Puts the tokens of `scope` on the feed, records their deletion and
/// deletes them, inside the caller's transaction; returns how many.
pub(crate) async fn retire_company_tokens(
    conn: &mut sqlx::AnyConnection,
    scope: CompanyTokenScope<'_>,
    (now, feed): (Timestamp, &DeletionFeed),
    audit: Audit<'_>,
) -> StoreResult<u64> {
    feed_company_tokens(&mut *conn, scope, (now, feed)).await?;
    let (condition, values) = scope.condition(7);
    let sql = format!(
        "INSERT INTO company_events (realm, company_id, event, subscription_id, user_id, \
         token_id, actor, actor_id, address, outcome, at) \
         SELECT realm, company_id, $1, subscription_id, user_id, id, $2, $3, $4, $5, $6 \
         FROM company_tokens WHERE {condition}"
    );
    let mut query = sqlx::query(&sql)
        .bind(CompanyEventKind::TokenDeleted.as_str())
        .bind(audit.actor.as_str())
        .bind(audit.actor_id)
        .bind(audit.address)
        .bind(crate::EventOutcome::Success.as_str())
        .bind(now);
    for value in &values {
        query = query.bind(*value);
    }
    query.execute(&mut *conn).await?;

    let (condition, values) = scope.condition(1);
    let sql = format!("DELETE FROM company_tokens WHERE {condition}");
    let mut query = sqlx::query(&sql);
    for value in values {
        query = query.bind(value);
    }
    Ok(query.execute(conn).await?.rows_affected())
}

/// Gives every token of `scope` a `changed` feed entry mattering until
/// `notice_until`, inside the caller's transaction (see `add_token_entry`).
pub(crate) async fn announce_changed_tokens(
    conn: &mut sqlx::AnyConnection,
    scope: CompanyTokenScope<'_>,
    (now, notice_until): (Timestamp, Timestamp),
) -> StoreResult<()> {
    let (condition, values) = scope.condition(4);
    let sql = format!(
        "INSERT INTO revocations (realm, kind, id, revoked_at, relevant_until) \
         SELECT realm, $1, id, $2, $3 FROM company_tokens WHERE {condition} \
         ON CONFLICT (realm, kind, id) DO UPDATE \
         SET revoked_at = excluded.revoked_at, relevant_until = excluded.relevant_until"
    );
    let mut query = sqlx::query(&sql)
        .bind(RevokedKind::Changed.as_str())
        .bind(now)
        .bind(notice_until);
    for value in values {
        query = query.bind(value);
    }
    query.execute(conn).await?;
    Ok(())
}

impl Store {
    /// Stores a new token within `limits`, if its user (for a user token) is
    /// still assigned to the subscription, and records its creation.
    pub async fn insert_company_token(
        &self,
        (company, new): (&Company, &NewCompanyToken),
        limits: CompanyTokenLimits,
        audit: Audit<'_>,
    ) -> StoreResult<CompanyTokenInsertion> {
        let token = &new.token;
        let mut tx = self.begin_write().await?;
        // The subscription's row lock serialises its token creations on
        // PostgreSQL, so that two at once cannot both pass the limits.
        sqlx::query("UPDATE subscriptions SET id = id WHERE id = $1")
            .bind(&token.subscription_id)
            .execute(&mut *tx)
            .await?;
        let subscription = &token.subscription_id;
        if let Some(user_id) = &token.user_id {
            if !is_assigned(&mut tx, subscription, user_id).await? {
                return Ok(CompanyTokenInsertion::NotAssigned);
            }
            let held = count_tokens(
                &mut tx,
                CompanyTokenScope::Assignment(subscription, user_id),
            );
            if held.await? >= limits.per_user {
                return Ok(CompanyTokenInsertion::UserLimitReached);
            }
        }
        let issued = count_tokens(&mut tx, CompanyTokenScope::Subscription(subscription)).await?;
        if issued >= limits.per_subscription {
            return Ok(CompanyTokenInsertion::SubscriptionLimitReached);
        }
        sqlx::query(
            "INSERT INTO company_tokens (id, realm, company_id, subscription_id, user_id, name, \
             digest, hint, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&token.id)
        .bind(&token.realm)
        .bind(&token.company_id)
        .bind(&token.subscription_id)
        .bind(&token.user_id)
        .bind(&token.name)
        .bind(&new.digest)
        .bind(&token.hint)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&mut *tx)
        .await?;
        let event = CompanyEventRow::new(company, CompanyEventKind::TokenCreated, audit)
            .about_subscription(subscription)
            .about_user(token.user_id.as_ref())
            .about_token(&token.id);
        event
            .commit_with(tx, token.created_at, CompanyTokenInsertion::Stored)
            .await
    }

    /// A page of the company's tokens, newest first, of one subscription or
    /// all, held by anyone, one user or no user.
    pub async fn company_tokens(
        &self,
        company_id: &CompanyId,
        (subscription, holder): (Option<&SubscriptionId>, CompanyTokenHolder<'_>),
        page: Page,
    ) -> StoreResult<Vec<Tracked<CompanyToken>>> {
        let mut sql =
            format!("SELECT {COMPANY_TOKEN_COLUMNS} FROM company_tokens t WHERE t.company_id = $1");
        let mut values = vec![company_id.as_str()];
        if let Some(subscription) = subscription {
            values.push(subscription.as_str());
            sql.push_str(&format!(" AND t.subscription_id = ${}", values.len()));
        }
        match holder {
            CompanyTokenHolder::Anyone => {}
            CompanyTokenHolder::User(user) => {
                values.push(user.as_str());
                sql.push_str(&format!(" AND t.user_id = ${}", values.len()));
            }
            CompanyTokenHolder::Userless => sql.push_str(" AND t.user_id IS NULL"),
        }
        sql.push_str(&format!(
            " ORDER BY t.created_at DESC, t.id LIMIT ${} OFFSET ${}",
            values.len() + 1,
            values.len() + 2
        ));
        let mut query = sqlx::query(&sql);
        for value in values {
            query = query.bind(value);
        }
        let rows = query
            .bind(page.max)
            .bind(page.first)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(company_token_from_row).collect()
    }

    /// Renames one token and records it; false when the subscription has no
    /// such token.
    pub async fn rename_company_token(
        &self,
        (company, subscription, id): (&Company, &SubscriptionId, &CompanyTokenId),
        name: &str,
        (now, audit): (Timestamp, Audit<'_>),
    ) -> StoreResult<Option<Tracked<CompanyToken>>> {
        let mut tx = self.begin_write().await?;
        let renamed = sqlx::query(
            "UPDATE company_tokens SET name = $1 WHERE id = $2 AND subscription_id = $3",
        )
        .bind(name)
        .bind(id)
        .bind(subscription)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if renamed == 0 {
            return Ok(None);
        }
        let sql = format!("SELECT {COMPANY_TOKEN_COLUMNS} FROM company_tokens t WHERE t.id = $1");
        let renamed =
            company_token_from_row(&sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await?)?;
        let user_id = renamed.token.user_id.clone();
        let event = CompanyEventRow::new(company, CompanyEventKind::TokenRenamed, audit)
            .about_subscription(subscription)
            .about_user(user_id.as_ref())
            .about_token(id);
        event.commit_with(tx, now, Some(renamed)).await
    }

    /// Deletes the tokens of `scope` (after putting them on the feed),
    /// atomically; returns how many.
    pub async fn delete_company_tokens(
        &self,
        scope: CompanyTokenScope<'_>,
        (now, feed): (Timestamp, &DeletionFeed),
        audit: Audit<'_>,
    ) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let deleted = retire_company_tokens(&mut tx, scope, (now, feed), audit).await?;
        tx.commit().await?;
        Ok(deleted)
    }
}

pub(crate) async fn is_assigned(
    conn: &mut sqlx::AnyConnection,
    subscription: &SubscriptionId,
    user_id: &UserId,
) -> StoreResult<bool> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM subscription_assignments \
         WHERE subscription_id = $1 AND user_id = $2",
    )
    .bind(subscription)
    .bind(user_id)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}
