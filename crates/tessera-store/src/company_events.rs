//! The audit trail of companies: who did what to which member, subscription
//! or token, and every use of a company token. Kept after what it names is
//! deleted; the retention job prunes it by age.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{
    Audit, AuditActor, Company, CompanyId, CompanyTokenId, EventOutcome, StoreError, StoreResult,
    SubscriptionId, Timestamp, UserId,
};

macro_rules! company_event_kinds {
    ($($kind:ident => $text:literal),+ $(,)?) => {
        /// What happened in a company.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum CompanyEventKind {
            $($kind,)+
        }

        impl CompanyEventKind {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$kind => $text,)+
                }
            }

            pub fn parse(value: &str) -> Option<Self> {
                match value {
                    $($text => Some(Self::$kind),)+
                    _ => None,
                }
            }
        }
    };
}

company_event_kinds! {
    CompanyCreated => "company_created",
    CompanyRenamed => "company_renamed",
    CompanyDeleted => "company_deleted",
    MemberAdded => "member_added",
    MemberChanged => "member_changed",
    MemberRemoved => "member_removed",
    SubscriptionCreated => "subscription_created",
    SubscriptionUpdated => "subscription_updated",
    SubscriptionDeleted => "subscription_deleted",
    UserAssigned => "user_assigned",
    UserUnassigned => "user_unassigned",
    TokenCreated => "token_created",
    TokenRenamed => "token_renamed",
    TokenDeleted => "token_deleted",
    TokenUsed => "token_used",
}

/// One entry of a company's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyEvent {
    /// Increasing; pages are cut by it.
    pub id: i64,
    pub event: CompanyEventKind,
    pub subscription_id: Option<SubscriptionId>,
    /// The user the event concerns (a member, an assignee, a token's user).
    pub user_id: Option<UserId>,
    pub token_id: Option<CompanyTokenId>,
    /// Who did it; none for a use (the token itself).
    pub actor: Option<AuditActor>,
    /// The acting user (the caller, or a token profile's owner); none for an
    /// operator or a use.
    pub actor_id: Option<UserId>,
    /// For a use: the client that introspected the token.
    pub client_id: Option<String>,
    pub address: Option<String>,
    pub outcome: EventOutcome,
    pub at: Timestamp,
}

/// A row of `company_events` about to be written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompanyEventRow<'a> {
    realm: &'a str,
    company_id: &'a CompanyId,
    event: CompanyEventKind,
    subscription_id: Option<&'a SubscriptionId>,
    user_id: Option<&'a UserId>,
    token_id: Option<&'a CompanyTokenId>,
    audit: Audit<'a>,
}

impl<'a> CompanyEventRow<'a> {
    /// An event about the company as a whole; [`Self::about_subscription`],
    /// [`Self::about_user`] and [`Self::about_token`] narrow it.
    pub(crate) fn new(company: &'a Company, event: CompanyEventKind, audit: Audit<'a>) -> Self {
        Self {
            realm: &company.realm,
            company_id: &company.id,
            event,
            subscription_id: None,
            user_id: None,
            token_id: None,
            audit,
        }
    }

    pub(crate) fn about_subscription(self, id: &'a SubscriptionId) -> Self {
        Self {
            subscription_id: Some(id),
            ..self
        }
    }

    pub(crate) fn about_user(self, id: Option<&'a UserId>) -> Self {
        Self {
            user_id: id,
            ..self
        }
    }

    pub(crate) fn about_token(self, id: &'a CompanyTokenId) -> Self {
        Self {
            token_id: Some(id),
            ..self
        }
    }

    /// When the write it records changed `rows` (a statement's count), records
    /// the event at `at` and commits; otherwise rolls the transaction back.
    /// Whether it committed.
    pub(crate) async fn commit_if_changed(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Any>,
        at: Timestamp,
        rows: u64,
    ) -> StoreResult<bool> {
        if rows == 0 {
            return Ok(false);
        }
        self.commit_with(tx, at, true).await
    }

    /// Records the event at `at`, commits the write it records (the last
    /// step of a company write) and answers `outcome`.
    pub(crate) async fn commit_with<T>(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        at: Timestamp,
        outcome: T,
    ) -> StoreResult<T> {
        insert_company_event(&mut tx, self, at).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

async fn insert_company_event(
    conn: &mut sqlx::AnyConnection,
    row: &CompanyEventRow<'_>,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO company_events (realm, company_id, event, subscription_id, user_id, \
         token_id, actor, actor_id, address, outcome, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(row.realm)
    .bind(row.company_id)
    .bind(row.event.as_str())
    .bind(row.subscription_id)
    .bind(row.user_id)
    .bind(row.token_id)
    .bind(row.audit.actor.as_str())
    .bind(row.audit.actor_id)
    .bind(row.audit.address)
    .bind(EventOutcome::Success.as_str())
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

fn event_from_row(row: &AnyRow) -> StoreResult<CompanyEvent> {
    let corrupt = StoreError::Corrupt;
    let event: String = row.try_get("event")?;
    let actor: Option<String> = row.try_get("actor")?;
    let outcome: String = row.try_get("outcome")?;
    Ok(CompanyEvent {
        id: row.try_get("id")?,
        event: CompanyEventKind::parse(&event).ok_or(corrupt("unknown company event"))?,
        subscription_id: row.try_get("subscription_id")?,
        user_id: row.try_get("user_id")?,
        token_id: row.try_get("token_id")?,
        actor: actor
            .map(|actor| AuditActor::parse(&actor).ok_or(corrupt("unknown company event actor")))
            .transpose()?,
        actor_id: row.try_get("actor_id")?,
        client_id: row.try_get("client_id")?,
        address: row.try_get("address")?,
        outcome: EventOutcome::parse(&outcome).ok_or(corrupt("unknown event outcome"))?,
        at: row.try_get("at")?,
    })
}

impl crate::Store {
    /// The company's audit trail, newest first: at most `limit` events older
    /// than the event `before` (the whole trail from the newest without it).
    pub async fn company_events(
        &self,
        company_id: &CompanyId,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<CompanyEvent>> {
        let rows = sqlx::query(
            "SELECT id, event, subscription_id, user_id, token_id, actor, actor_id, client_id, \
             address, outcome, at FROM company_events WHERE company_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(company_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }
}
